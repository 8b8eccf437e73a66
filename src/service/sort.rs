//! The order of the rankings table: the columns a reader may sort by (`sort=`, `dir=`), parsed
//! once into [`Sort`] and applied by [`sort_rankings`] for the page, its downloads and the API.
//!
//! Owns: the sortable columns and their order rules. Must not: parse requests or pick labels.

use std::str::FromStr;

use super::dashboard::RankingRow;
use crate::types::Subindex;

/// A sortable column of the rankings table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    #[default]
    Rank,
    Name,
    Group,
    /// The chosen measure (a column only for indicators).
    Value,
    Change,
    Score,
    Laborers,
    Tools,
    Objects,
    /// A mechanism level or the intelligence-and-digital sub-index (columns after the
    /// elements, for the sub-indices the framework defines).
    Subindex(Subindex),
}

impl SortKey {
    /// Every fixed column, in table order (the sub-index columns follow them).
    pub const ALL: [SortKey; 9] = [
        SortKey::Rank,
        SortKey::Name,
        SortKey::Group,
        SortKey::Value,
        SortKey::Change,
        SortKey::Score,
        SortKey::Laborers,
        SortKey::Tools,
        SortKey::Objects,
    ];

    /// The query value (`sort=…`).
    pub fn as_str(self) -> &'static str {
        match self {
            SortKey::Rank => "rank",
            SortKey::Name => "name",
            SortKey::Group => "group",
            SortKey::Value => "value",
            SortKey::Change => "change",
            SortKey::Score => "score",
            SortKey::Laborers => "laborers",
            SortKey::Tools => "tools",
            SortKey::Objects => "objects",
            SortKey::Subindex(sub) => sub.column(),
        }
    }

    /// Whether a first click sorts descending (scores: best first; rank, names: A first).
    pub fn descending_first(self) -> bool {
        !matches!(self, SortKey::Rank | SortKey::Name | SortKey::Group)
    }

    /// Text columns sort by label, the others by number.
    pub fn is_numeric(self) -> bool {
        !matches!(self, SortKey::Name | SortKey::Group)
    }

    fn number(self, r: &RankingRow) -> Option<f64> {
        match self {
            SortKey::Value => r.value,
            SortKey::Change => r.rank_change.map(f64::from),
            SortKey::Score => r.scores.score,
            SortKey::Laborers => r.scores.laborers,
            SortKey::Tools => r.scores.tools,
            SortKey::Objects => r.scores.objects,
            SortKey::Subindex(sub) => r.scores.subscores.get(sub),
            SortKey::Rank | SortKey::Name | SortKey::Group => r.rank.map(f64::from),
        }
    }
}

/// The value is not a column; the error lists the ones there are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "there is no column '{0}' to sort by ({list})",
    list = SortKey::ALL
        .map(SortKey::as_str)
        .into_iter()
        .chain(Subindex::ALL.map(Subindex::column))
        .collect::<Vec<_>>()
        .join(", ")
)]
pub struct UnknownSortKey(pub String);

impl FromStr for SortKey {
    type Err = UnknownSortKey;

    fn from_str(s: &str) -> Result<SortKey, UnknownSortKey> {
        SortKey::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .or_else(|| Subindex::from_column(s).map(SortKey::Subindex))
            .ok_or_else(|| UnknownSortKey(s.to_owned()))
    }
}

/// A column and a direction; the default is by rank, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sort {
    pub key: SortKey,
    pub descending: bool,
}

/// Sort `rows` by `sort`. Rows without a value go last in both directions (as `static/app.js`
/// does); groups sort by the label the reader sees (`group_label`), then by rank; ties by code.
pub fn sort_rankings(rows: &mut [RankingRow], sort: Sort, group_label: impl Fn(&str) -> String) {
    let group = |r: &RankingRow| r.group.as_deref().map(&group_label);
    rows.sort_by(|a, b| {
        let (missing, ord) = match sort.key {
            SortKey::Name => (false.cmp(&false), a.name.cmp(&b.name)),
            SortKey::Group => {
                let (x, y) = (group(a), group(b));
                (
                    x.is_none().cmp(&y.is_none()),
                    x.cmp(&y)
                        .then((a.rank.is_none(), a.rank).cmp(&(b.rank.is_none(), b.rank))),
                )
            }
            key => {
                let (x, y) = (key.number(a), key.number(b));
                (
                    x.is_none().cmp(&y.is_none()),
                    x.unwrap_or_default().total_cmp(&y.unwrap_or_default()),
                )
            }
        };
        missing
            .then(if sort.descending { ord.reverse() } else { ord })
            .then_with(|| a.code.cmp(&b.code))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::dashboard::DimScores;

    fn row(code: &str, group: Option<&str>, rank: Option<u32>, tools: Option<f64>) -> RankingRow {
        RankingRow {
            code: code.into(),
            name: code.to_lowercase(),
            group: group.map(str::to_owned),
            value: None,
            rank,
            rank_change: None,
            scores: DimScores {
                tools,
                ..DimScores::default()
            },
            incomplete: false,
        }
    }

    fn codes(rows: &[RankingRow]) -> Vec<&str> {
        rows.iter().map(|r| r.code.as_str()).collect()
    }

    #[test]
    fn every_key_round_trips_and_unknown_keys_are_named() {
        for k in SortKey::ALL
            .into_iter()
            .chain(Subindex::ALL.map(SortKey::Subindex))
        {
            assert_eq!(k.as_str().parse::<SortKey>(), Ok(k));
        }
        let err = "Rank".parse::<SortKey>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "there is no column 'Rank' to sort by (rank, name, group, value, change, score, \
             laborers, tools, objects, level/micro, level/meso, level/macro, subindex/ai_digital)"
        );
    }

    #[test]
    fn missing_values_go_last_both_ways_and_groups_sort_by_label() {
        let mut rows = vec![
            row("C", Some("West"), Some(3), Some(0.2)),
            row("A", Some("East"), None, None),
            row("B", None, Some(1), Some(0.9)),
            row("D", Some("East"), Some(2), Some(0.2)),
        ];
        let by = |key, descending| Sort { key, descending };
        sort_rankings(&mut rows, by(SortKey::Tools, true), str::to_owned);
        assert_eq!(codes(&rows), ["B", "C", "D", "A"]);
        sort_rankings(&mut rows, by(SortKey::Tools, false), str::to_owned);
        assert_eq!(codes(&rows), ["C", "D", "B", "A"]);
        sort_rankings(&mut rows, Sort::default(), str::to_owned);
        assert_eq!(codes(&rows), ["B", "D", "C", "A"]);
        // "West" reads "Z…" to this reader: the label decides, not the key.
        let label = |g: &str| {
            if g == "West" {
                "Zw".into()
            } else {
                g.to_owned()
            }
        };
        sort_rankings(&mut rows, by(SortKey::Group, false), label);
        assert_eq!(codes(&rows), ["D", "A", "C", "B"]);
    }
}
