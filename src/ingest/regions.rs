//! Region sets and name matching: raw region names as statistics files spell them → codes.
//!
//! Owns: [`RegionSet`] (loaded from `data/regions/<set>.csv`: `code,name_zh,name_en,group,aliases`
//! with `|`-separated aliases), [`RegionMatch`] and the normalisation rules. Must not: guess.
//! Matching is exact after normalisation (whitespace of every width removed, full-width ASCII
//! folded, case folded) against codes, names and the explicit aliases column, plus a fixed list of
//! administrative suffixes (`省`, `市`, `自治区`, `Province`, …). OCR misspellings such as `内蒙占`
//! are listed as aliases in the CSV, never inferred; edit distance is used only to *suggest* a
//! code in an error message.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::error::{IngestError, Position};
use super::table;
use crate::types::RegionCode;

/// One region of a set.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Region {
    pub code: RegionCode,
    pub name_zh: String,
    pub name_en: String,
    pub group: String,
    pub aliases: Vec<String>,
}

/// The outcome of matching one raw name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegionMatch {
    Matched(RegionCode),
    /// A total or regional aggregate (`全国`, `东部地区`, a group name): not a region; the row is
    /// excluded with a notice.
    Aggregate,
    /// Not in the set; `suggestion` is the nearest region by edit distance, never applied.
    Unknown {
        suggestion: Option<RegionCode>,
    },
}

/// A named list of regions with a lookup index over every accepted spelling.
#[derive(Debug, Clone)]
pub struct RegionSet {
    id: String,
    regions: Vec<Region>,
    /// normalised spelling → index into `regions`
    index: HashMap<String, usize>,
    /// Normalised non-empty group names (aggregates), computed once rather than per name.
    group_keys: Vec<String>,
}

const BUNDLED_CN_PROVINCES: &str = include_str!("../../data/regions/cn-provinces.csv");

/// Administrative suffixes, longest first, stripped (after normalisation) when a name does not
/// match as written: `北京市` ↔ `北京`, `Guangdong Province` ↔ `Guangdong`.
const SUFFIXES: &[&str] = &[
    "维吾尔自治区",
    "壮族自治区",
    "回族自治区",
    "特别行政区",
    "自治区",
    "省",
    "市",
    "specialadministrativeregion",
    "autonomousregion",
    "municipality",
    "province",
];

/// Names of totals and multi-province aggregates (normalised).
const AGGREGATES: &[&str] = &[
    "全国",
    "全国合计",
    "全国总计",
    "合计",
    "总计",
    "中国",
    "东部",
    "中部",
    "西部",
    "东北",
    "china",
    "national",
    "nationwide",
    "total",
    "all",
];

/// The matching key of a name: whitespace of any width removed (`北   京`, U+3000, NBSP),
/// zero-width characters dropped, full-width ASCII folded to ASCII, lower-cased.
pub fn normalize(raw: &str) -> String {
    raw.chars()
        .filter(|c| {
            !c.is_whitespace() && !matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}')
        })
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{2E80}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}' | '\u{20000}'..='\u{3FFFF}')
}

/// The region id used when no region set is configured: trimmed, whitespace runs collapsed to
/// one space, and no space at all between two CJK characters (`北   京` → `北京`,
/// `Inner  Mongolia` → `Inner Mongolia`).
pub fn clean_name(raw: &str) -> String {
    let words: Vec<&str> = raw
        .split(|c: char| c.is_whitespace() || matches!(c, '\u{200B}'..='\u{200D}' | '\u{FEFF}'))
        .filter(|w| !w.is_empty())
        .collect();
    let mut out = String::new();
    for word in words {
        let join_tight = match (out.chars().last(), word.chars().next()) {
            (Some(a), Some(b)) => is_cjk(a) && is_cjk(b),
            _ => true,
        };
        if !join_tight {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

fn strip_suffix(key: &str) -> Option<&str> {
    SUFFIXES
        .iter()
        .find_map(|s| key.strip_suffix(s).filter(|rest| rest.chars().count() >= 2))
}

/// Longest name (in characters, after normalisation) that gets an edit-distance suggestion.
pub const MAX_SUGGESTED_CHARS: usize = 64;

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

impl RegionSet {
    /// Parse a region-set CSV. Required columns: `code`, `name_zh`, `name_en`, `group`; optional
    /// `aliases`. Codes must be unique and valid [`RegionCode`]s; no spelling may point at two
    /// regions.
    pub fn from_csv(id: &str, text: &str, file_name: &str) -> Result<RegionSet, IngestError> {
        let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
        let records = table::records(text, 1, ',', file_name)?;
        let mut rows = records.into_iter().filter(|r| !r.is_blank());
        let header = rows.next().ok_or_else(|| IngestError::Empty {
            pos: Position::file(file_name),
        })?;
        let names: Vec<String> = header.fields.iter().map(|f| normalize(&f.text)).collect();
        let col = |name: &'static str| -> Result<usize, IngestError> {
            names
                .iter()
                .position(|n| n == name)
                .ok_or_else(|| IngestError::MissingColumn {
                    pos: Position::line(file_name, header.line),
                    column: name,
                    found: header.fields.iter().map(|f| f.text.to_string()).collect(),
                })
        };
        let (c_code, c_zh, c_en, c_group) = (
            col("code")?,
            col("name_zh")?,
            col("name_en")?,
            col("group")?,
        );
        let c_aliases = names.iter().position(|n| n == "aliases");

        let mut set = RegionSet {
            id: id.to_owned(),
            regions: Vec::new(),
            index: HashMap::new(),
            group_keys: Vec::new(),
        };
        let mut errors = Vec::new();
        for row in rows {
            let cell = |c: usize| row.get(c).trim().to_owned();
            let code = match RegionCode::new(cell(c_code)) {
                Ok(code) => code,
                Err(e) => {
                    errors.push(IngestError::RegionSet {
                        pos: Position::cell(file_name, row.line, c_code + 1, Some("code")),
                        detail: e.to_string(),
                    });
                    continue;
                }
            };
            let aliases: Vec<String> = c_aliases
                .map(|c| {
                    row.get(c)
                        .split('|')
                        .map(str::trim)
                        .filter(|a| !a.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            let region = Region {
                code,
                name_zh: cell(c_zh),
                name_en: cell(c_en),
                group: cell(c_group),
                aliases,
            };
            let at = set.regions.len();
            let spellings = [region.code.as_str(), &region.name_zh, &region.name_en]
                .into_iter()
                .chain(region.aliases.iter().map(String::as_str));
            for spelling in spellings {
                let key = normalize(spelling);
                if key.is_empty() {
                    continue;
                }
                match set.index.get(&key) {
                    Some(&other) if other != at => errors.push(IngestError::RegionSet {
                        pos: Position::line(file_name, row.line),
                        detail: format!(
                            "'{spelling}' would match both {} and {}",
                            set.regions[other].code, region.code
                        ),
                    }),
                    _ => {
                        set.index.insert(key, at);
                    }
                }
            }
            set.regions.push(region);
        }
        if let Some(err) = IngestError::from_list(file_name, errors) {
            return Err(err);
        }
        if set.regions.is_empty() {
            return Err(IngestError::HeaderOnly {
                pos: Position::line(file_name, header.line),
            });
        }
        set.group_keys = set
            .groups()
            .iter()
            .map(|g| normalize(g))
            .filter(|g| !g.is_empty())
            .collect();
        // Short forms derived from the official names (河北省 → 河北) where unambiguous.
        for (at, region) in set.regions.iter().enumerate() {
            for name in [&region.name_zh, &region.name_en] {
                if let Some(short) = strip_suffix(&normalize(name)) {
                    set.index.entry(short.to_owned()).or_insert(at);
                }
            }
        }
        Ok(set)
    }

    /// The bundled 31 mainland provinces of China (`data/regions/cn-provinces.csv`), parsed once
    /// per process.
    pub fn cn_provinces() -> RegionSet {
        static BUNDLED: OnceLock<RegionSet> = OnceLock::new();
        BUNDLED
            .get_or_init(|| {
                let file = "data/regions/cn-provinces.csv";
                Self::from_csv("cn-provinces", BUNDLED_CN_PROVINCES, file)
                    .expect("the bundled cn-provinces.csv is valid (checked by a unit test)")
            })
            .clone()
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn regions(&self) -> &[Region] {
        &self.regions
    }

    /// The set as the CSV [`RegionSet::from_csv`] reads (`code,name_zh,name_en,group,aliases`,
    /// aliases `|`-separated), so a set can travel with a replication pack.
    pub fn to_csv(&self) -> String {
        let field = |s: &str| {
            if s.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s.to_owned()
            }
        };
        let mut out = String::from("code,name_zh,name_en,group,aliases\n");
        for r in &self.regions {
            let row = [
                r.code.as_str(),
                &r.name_zh,
                &r.name_en,
                &r.group,
                &r.aliases.join("|"),
            ]
            .map(field);
            out.push_str(&row.join(","));
            out.push('\n');
        }
        out
    }

    pub fn get(&self, code: &str) -> Option<&Region> {
        self.regions.iter().find(|r| r.code.as_str() == code)
    }

    /// The regions in the order of their GB/T 2260 codes (the two-digit province code among
    /// the aliases: 11 北京 … 65 新疆), the order numbered spatial weight matrices use; `None`
    /// when a region has no such code.
    pub fn gb2260_order(&self) -> Option<Vec<RegionCode>> {
        let mut coded: Vec<(u32, RegionCode)> = self
            .regions
            .iter()
            .map(|r| {
                r.aliases
                    .iter()
                    .find(|a| a.len() == 2 && a.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|a| a.parse().ok())
                    .map(|k| (k, r.code.clone()))
            })
            .collect::<Option<_>>()?;
        coded.sort_by_key(|(k, _)| *k);
        Some(coded.into_iter().map(|(_, code)| code).collect())
    }

    /// Distinct groups in file order.
    pub fn groups(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for r in &self.regions {
            if !r.group.is_empty() && !out.contains(&r.group) {
                out.push(r.group.clone());
            }
        }
        out
    }

    fn lookup(&self, key: &str) -> Option<RegionCode> {
        self.index.get(key).map(|&i| self.regions[i].code.clone())
    }

    fn is_aggregate(&self, key: &str) -> bool {
        AGGREGATES.contains(&key)
            || key.ends_with("地区")
            || self.group_keys.iter().any(|group| {
                key == group.as_str() || key.strip_suffix("region") == Some(group.as_str())
            })
    }

    /// Match one raw name: exact spelling (after normalisation), then aggregates, then the name
    /// without its administrative suffix; otherwise unknown with a suggestion.
    pub fn resolve(&self, raw: &str) -> RegionMatch {
        self.classify(raw).unwrap_or_else(|| RegionMatch::Unknown {
            suggestion: self.suggest(raw),
        })
    }

    /// [`RegionSet::resolve`] without the suggestion: `None` for an unknown name. Costs a few
    /// hash lookups, so it may run on every distinct name of a file.
    pub fn classify(&self, raw: &str) -> Option<RegionMatch> {
        let key = normalize(raw);
        if let Some(code) = self.lookup(&key) {
            return Some(RegionMatch::Matched(code));
        }
        if self.is_aggregate(&key) {
            return Some(RegionMatch::Aggregate);
        }
        strip_suffix(&key)
            .and_then(|short| self.lookup(short))
            .map(RegionMatch::Matched)
    }

    /// The nearest spelling by edit distance, if it is close enough to be a plausible typo
    /// (at most a third of the longer name, at least one character), or a known spelling that
    /// the name contains (`北京市朝阳区` → 北京). Names longer than [`MAX_SUGGESTED_CHARS`] get
    /// no suggestion: edit distance costs their length times every spelling's.
    pub fn suggest(&self, raw: &str) -> Option<RegionCode> {
        let key = normalize(raw);
        let key = key.as_str();
        if key.is_empty() || key.chars().count() > MAX_SUGGESTED_CHARS {
            return None;
        }
        let mut best: Option<(usize, usize)> = None;
        for (spelling, &at) in &self.index {
            let d = edit_distance(key, spelling);
            let longer = key.chars().count().max(spelling.chars().count());
            if d <= (longer / 3).max(1) && best.is_none_or(|(bd, bi)| (d, at) < (bd, bi)) {
                best = Some((d, at));
            }
        }
        if best.is_none() {
            best = self
                .index
                .iter()
                .filter(|(s, _)| s.chars().count() >= 2 && key.contains(s.as_str()))
                .map(|(_, &at)| (0, at))
                .min();
        }
        best.map(|(_, at)| self.regions[at].code.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gb2260_order_runs_from_beijing_to_xinjiang() {
        let order = RegionSet::cn_provinces().gb2260_order().unwrap();
        let codes: Vec<&str> = order.iter().map(RegionCode::as_str).collect();
        // GB/T 2260: 11 北京 12 天津 13 河北 14 山西 15 内蒙古 21 辽宁 … 65 新疆.
        assert_eq!(codes.len(), 31);
        assert_eq!(
            &codes[..6],
            ["CN-BJ", "CN-TJ", "CN-HE", "CN-SX", "CN-NM", "CN-LN"]
        );
        assert_eq!(&codes[29..], ["CN-NX", "CN-XJ"]);
    }

    fn code(set: &RegionSet, raw: &str) -> String {
        match set.resolve(raw) {
            RegionMatch::Matched(c) => c.to_string(),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn bundled_set_has_31_provinces_in_four_groups() {
        let set = RegionSet::cn_provinces();
        assert_eq!(set.id(), "cn-provinces");
        assert_eq!(set.regions().len(), 31);
        assert_eq!(set.groups(), vec!["East", "Central", "West", "Northeast"]);
        let count = |g: &str| set.regions().iter().filter(|r| r.group == g).count();
        assert_eq!(
            (
                count("East"),
                count("Central"),
                count("West"),
                count("Northeast")
            ),
            (10, 6, 12, 3)
        );
        assert_eq!(set.regions()[0].name_zh, "北京市");
        assert_eq!(set.regions()[30].name_zh, "新疆维吾尔自治区");
        assert_eq!(set.get("CN-NM").unwrap().name_en, "Inner Mongolia");
    }

    #[test]
    fn resolves_every_kind_of_spelling() {
        let set = RegionSet::cn_provinces();
        let cases = [
            ("北京市", "CN-BJ"),
            ("北京", "CN-BJ"),
            ("北   京", "CN-BJ"),
            ("\u{3000}北\u{00A0}京 ", "CN-BJ"),
            ("内蒙古自治区", "CN-NM"),
            ("内蒙 古", "CN-NM"),
            ("内蒙占", "CN-NM"),
            ("广西壮族自治区", "CN-GX"),
            ("广西", "CN-GX"),
            ("新疆维吾尔自治区", "CN-XJ"),
            ("beijing", "CN-BJ"),
            ("INNER MONGOLIA", "CN-NM"),
            ("Guangxi", "CN-GX"),
            ("Tibet", "CN-XZ"),
            ("Xizang", "CN-XZ"),
            ("Guangdong Province", "CN-GD"),
            ("cn-bj", "CN-BJ"),
            ("CN-HA", "CN-HA"),
            ("ＣＮ－ＨＥ", "CN-HE"),
            ("11", "CN-BJ"),
            ("410000", "CN-HA"),
            ("江两", "CN-JX"),
            ("江四", "CN-JX"),
            ("两藏", "CN-XZ"),
            ("四藏", "CN-XZ"),
            ("山两", "CN-SX"),
            ("浙汀", "CN-ZJ"),
            ("陕西", "CN-SN"),
            ("Shaanxi", "CN-SN"),
            ("Shanxi", "CN-SX"),
        ];
        for (raw, want) in cases {
            assert_eq!(code(&set, raw), want, "{raw}");
        }
    }

    #[test]
    fn aggregates_are_recognised_and_unknowns_get_suggestions() {
        let set = RegionSet::cn_provinces();
        for raw in [
            "全国",
            "全 国",
            "东部地区",
            "尔部地区",
            "东北地区",
            "East",
            "West region",
            "China",
        ] {
            assert_eq!(set.resolve(raw), RegionMatch::Aggregate, "{raw}");
        }
        let unknown = |raw| match set.resolve(raw) {
            RegionMatch::Unknown { suggestion } => suggestion.map(|c| c.to_string()),
            other => panic!("{raw}: {other:?}"),
        };
        assert_eq!(unknown("Bejing").as_deref(), Some("CN-BJ"));
        assert_eq!(unknown("北京市朝阳区").as_deref(), Some("CN-BJ"));
        assert_eq!(unknown("Atlantis"), None);
        assert_eq!(unknown(""), None);
    }

    #[test]
    fn region_set_csv_is_validated() {
        let ok = RegionSet::from_csv(
            "uk",
            "code,name_zh,name_en,group\nUKC1,,Tees Valley,North East\n",
            "uk.csv",
        )
        .unwrap();
        assert_eq!(code(&ok, "tees valley"), "UKC1");
        let clash = "code,name_zh,name_en,group,aliases\nA1,甲,Alpha,g,x\nB1,乙,Beta,g,X\n";
        let err = RegionSet::from_csv("t", clash, "t.csv").unwrap_err();
        assert_eq!(
            (err.code(), err.position().unwrap().line),
            ("ingest.region_set", Some(3))
        );
        let bad_code =
            RegionSet::from_csv("t", "code,name_zh,name_en,group\n../x,a,b,c\n", "t.csv")
                .unwrap_err();
        assert_eq!(bad_code.code(), "ingest.region_set");
        let missing = RegionSet::from_csv("t", "code,name_en,group\nA,b,c\n", "t.csv").unwrap_err();
        assert_eq!(missing.code(), "ingest.missing_column");
    }

    #[test]
    fn clean_name_collapses_whitespace_but_keeps_english_words_apart() {
        assert_eq!(clean_name(" 北   京 "), "北京");
        assert_eq!(clean_name("Inner \u{3000} Mongolia"), "Inner Mongolia");
        assert_eq!(clean_name("内蒙 古"), "内蒙古");
    }

    #[test]
    fn edit_distance_counts_characters() {
        assert_eq!(edit_distance("北京", "北京市"), 1);
        assert_eq!(edit_distance("bejing", "beijing"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
