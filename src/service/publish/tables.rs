//! The builders: one computed result and its analyses laid out as the tables a paper reports.
//! Every number is copied from [`ResultTables`] or the [`AnalysisView`]; the only arithmetic
//! here is the mean row of the index table (the arithmetic mean of its column) and the
//! descriptive statistics, which call [`crate::analysis::describe`].

use super::{Cell, PubTable, Source, source_note};
use crate::analysis::describe;
use crate::types::{Dimension, Lang};

/// The tables nqp writes for a paper, in the order they are numbered. "The year" below is
/// [`Source::year`] (default: the last year of the result).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableId {
    /// The indicator system: dimension, sub-dimension, indicator, unit, direction, weight.
    Indicators,
    /// The index by region × year, sorted by the year's rank, with a mean row.
    Index,
    /// The overall and dimension scores of the year.
    Dimensions,
    /// Descriptive statistics of the score, the dimensions and every scored indicator.
    Descriptive,
    /// The Dagum Gini decomposition of the score by year, with contribution rates.
    Dagum,
    /// Global Moran's I of the score by year.
    Moran,
    /// Rank agreement of the year's ranking with the alternative methods of the robustness
    /// report (when there is one).
    Robustness,
}

impl TableId {
    pub const ALL: [TableId; 7] = [
        TableId::Indicators,
        TableId::Index,
        TableId::Dimensions,
        TableId::Descriptive,
        TableId::Dagum,
        TableId::Moran,
        TableId::Robustness,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TableId::Indicators => "indicators",
            TableId::Index => "index",
            TableId::Dimensions => "dimensions",
            TableId::Descriptive => "descriptive",
            TableId::Dagum => "dagum",
            TableId::Moran => "moran",
            TableId::Robustness => "robustness",
        }
    }
}

/// Every table the result supports, numbered 1, 2, … (Moran's I is left out when no spatial
/// weights were available, the Dagum table when it has no rows, the robustness table without a
/// robustness report).
pub fn build_all(src: &Source) -> Vec<PubTable> {
    let mut out: Vec<PubTable> = TableId::ALL
        .into_iter()
        .filter_map(|id| build(src, id))
        .collect();
    for (i, t) in out.iter_mut().enumerate() {
        t.number = i + 1;
    }
    out
}

/// One table (numbered 1); `None` when the result has nothing for it.
pub fn build(src: &Source, id: TableId) -> Option<PubTable> {
    let (caption, header, body) = match id {
        TableId::Indicators => indicators(src),
        TableId::Index => index(src)?,
        TableId::Dimensions => dimensions(src)?,
        TableId::Descriptive => descriptive(src),
        TableId::Dagum => dagum(src)?,
        TableId::Moran => moran(src)?,
        TableId::Robustness => robustness(src)?,
    };
    Some(PubTable {
        id,
        number: 1,
        lang: src.lang,
        caption,
        header,
        body,
        note: source_note(src.dataset, src.tables, src.lang),
    })
}

/// Caption, header and body of one table.
type Parts = (String, Vec<String>, Vec<Vec<Cell>>);

fn text(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}

fn labels(zh: &[&str], en: &[&str], lang: Lang) -> Vec<String> {
    match lang {
        Lang::Zh => zh,
        Lang::En => en,
    }
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

fn indicators(src: &Source) -> Parts {
    let (lang, fw) = (src.lang, &src.dataset.framework);
    let direction = |d: crate::types::Direction| match (d, lang) {
        (crate::types::Direction::Benefit, Lang::Zh) => "正向",
        (crate::types::Direction::Cost, Lang::Zh) => "负向",
        (crate::types::Direction::Benefit, Lang::En) => "+",
        (crate::types::Direction::Cost, Lang::En) => "−",
    };
    let body = fw
        .indicators
        .iter()
        .map(|d| {
            vec![
                text(d.dimension.label(lang)),
                text(d.subdimension_label(lang).unwrap_or("")),
                text(d.name(lang)),
                text(d.unit_label(lang)),
                text(direction(d.direction)),
                Cell::Num(src.tables.weight(d.id.as_str()), src.precision.weight),
            ]
        })
        .collect();
    let caption = match lang {
        Lang::Zh => format!("{}指标体系", fw.index.name_zh),
        Lang::En => format!("Indicator system of the {}", fw.index.name_en),
    };
    let header = labels(
        &["维度", "子维度", "指标", "单位", "方向", "权重"],
        &[
            "Dimension",
            "Sub-dimension",
            "Indicator",
            "Unit",
            "Direction",
            "Weight",
        ],
        lang,
    );
    (caption, header, body)
}

/// The regions, best rank in `last` first (regions without a rank last, by code).
fn regions_by_last_rank(src: &Source, last: i32) -> Vec<String> {
    let mut regions = src.tables.regions();
    regions.sort_by_key(|r| {
        src.tables
            .score(r, last)
            .and_then(|s| s.rank)
            .unwrap_or(u32::MAX)
    });
    regions
}

fn index(src: &Source) -> Option<Parts> {
    let (lang, t) = (src.lang, src.tables);
    let last = src.year().ok()??;
    let p = src.precision.score;
    let mut body: Vec<Vec<Cell>> = regions_by_last_rank(src, last)
        .iter()
        .map(|r| {
            let mut row = vec![text(src.dataset.region_name(r, lang))];
            row.extend(
                t.years
                    .iter()
                    .map(|&y| Cell::Num(t.score(r, y).and_then(|s| s.scores.score), p)),
            );
            row.push(Cell::Int(
                t.score(r, last).and_then(|s| s.rank).map(u64::from),
            ));
            row
        })
        .collect();
    let mut mean_row = vec![text(lang.pick("均值", "Mean"))];
    mean_row.extend(t.years.iter().map(|&y| {
        let values: Vec<f64> = t
            .scores
            .iter()
            .filter(|s| s.year == y)
            .filter_map(|s| s.scores.score)
            .collect();
        Cell::Num(describe(&values).mean, p)
    }));
    mean_row.push(Cell::Blank);
    body.push(mean_row);
    let name = &src.dataset.framework.index;
    let mut header = vec![lang.pick("地区", "Region").to_owned()];
    header.extend(t.years.iter().map(|y| y.to_string()));
    header.push(match lang {
        Lang::Zh => format!("{last}年排名"),
        Lang::En => format!("Rank {last}"),
    });
    let caption = match lang {
        Lang::Zh => format!("各地区{}测度结果", name.name_zh),
        Lang::En => format!("The {} by region and year", name.name_en),
    };
    Some((caption, header, body))
}

fn dimensions(src: &Source) -> Option<Parts> {
    let (lang, t) = (src.lang, src.tables);
    let last = src.year().ok()??;
    let p = src.precision.score;
    let body = regions_by_last_rank(src, last)
        .iter()
        .filter_map(|r| t.score(r, last).map(|s| (r, s)))
        .map(|(r, s)| {
            let mut row = vec![
                text(src.dataset.region_name(r, lang)),
                Cell::Num(s.scores.score, p),
            ];
            row.extend(
                Dimension::ALL
                    .iter()
                    .map(|&d| Cell::Num(s.scores.dimension(d), p)),
            );
            row.push(Cell::Int(s.rank.map(u64::from)));
            row
        })
        .collect();
    let mut header = vec![
        lang.pick("地区", "Region").to_owned(),
        lang.pick("综合得分", "Score").to_owned(),
    ];
    header.extend(Dimension::ALL.iter().map(|d| d.label(lang).to_owned()));
    header.push(lang.pick("排名", "Rank").to_owned());
    let caption = match lang {
        Lang::Zh => format!("{last}年各地区综合得分与分维度得分"),
        Lang::En => format!("Overall and dimension scores, {last}"),
    };
    Some((caption, header, body))
}

fn descriptive(src: &Source) -> Parts {
    let (lang, t) = (src.lang, src.tables);
    let p = src.precision.score;
    let row = |name: String, unit: String, values: Vec<f64>| {
        let d = describe(&values);
        vec![
            text(name),
            text(unit),
            Cell::Int(Some(d.n as u64)),
            Cell::Num(d.mean, p),
            Cell::Num(d.sd, p),
            Cell::Num(d.min, p),
            Cell::Num(d.max, p),
        ]
    };
    let nan = f64::NAN;
    let mut body = vec![row(
        lang.pick("综合得分", "Score").to_owned(),
        String::new(),
        t.scores
            .iter()
            .map(|s| s.scores.score.unwrap_or(nan))
            .collect(),
    )];
    for d in Dimension::ALL {
        body.push(row(
            d.label(lang).to_owned(),
            String::new(),
            t.scores
                .iter()
                .map(|s| s.scores.dimension(d).unwrap_or(nan))
                .collect(),
        ));
    }
    for def in &src.dataset.framework.indicators {
        let values: Vec<f64> = t
            .values
            .iter()
            .filter(|v| v.indicator == def.id.as_str())
            .map(|v| v.raw.unwrap_or(nan))
            .collect();
        if !values.is_empty() {
            body.push(row(
                def.name(lang).to_owned(),
                def.unit_label(lang).to_owned(),
                values,
            ));
        }
    }
    let header = labels(
        &[
            "变量",
            "单位",
            "观测值",
            "均值",
            "标准差",
            "最小值",
            "最大值",
        ],
        &["Variable", "Unit", "N", "Mean", "SD", "Min", "Max"],
        lang,
    );
    let caption = lang.pick("描述性统计", "Descriptive statistics").to_owned();
    (caption, header, body)
}

fn dagum(src: &Source) -> Option<Parts> {
    let (lang, r) = (src.lang, &src.analysis.results);
    let p = src.precision.score;
    let body: Vec<Vec<Cell>> = r
        .dagum
        .iter()
        .filter(|d| d.measure == "score")
        .map(|d| {
            let share = r
                .dagum_shares
                .iter()
                .find(|s| s.measure == "score" && s.year == d.year);
            vec![
                text(d.year.to_string()),
                Cell::Num(Some(d.total), p),
                Cell::Num(Some(d.within), p),
                Cell::Num(Some(d.between), p),
                Cell::Num(Some(d.transvariation), p),
                Cell::Num(share.map(|s| s.within_pct), 2),
                Cell::Num(share.map(|s| s.between_pct), 2),
                Cell::Num(share.map(|s| s.transvariation_pct), 2),
            ]
        })
        .collect();
    if body.is_empty() {
        return None;
    }
    let header = labels(
        &[
            "年份",
            "总体基尼系数 G",
            "组内 Gw",
            "组间 Gnb",
            "超变密度 Gt",
            "组内贡献率(%)",
            "组间贡献率(%)",
            "超变密度贡献率(%)",
        ],
        &[
            "Year",
            "Gini G",
            "Within Gw",
            "Between Gnb",
            "Transvariation Gt",
            "Within (%)",
            "Between (%)",
            "Transvariation (%)",
        ],
        lang,
    );
    let caption = lang
        .pick(
            "综合得分的 Dagum 基尼系数及其分解",
            "Dagum Gini coefficient of the score and its decomposition",
        )
        .to_owned();
    Some((caption, header, body))
}

fn moran(src: &Source) -> Option<Parts> {
    let (lang, r) = (src.lang, &src.analysis.results);
    let p = src.precision.score;
    let body: Vec<Vec<Cell>> = r
        .moran
        .as_ref()?
        .iter()
        .filter(|m| m.measure == "score")
        .map(|m| {
            vec![
                text(m.year.to_string()),
                Cell::Num(Some(m.i), p),
                Cell::Num(Some(m.expected_i), p),
                Cell::Num(Some(m.z_norm), p),
                Cell::Num(Some(m.p_norm), p),
                Cell::Num(m.p_perm, p),
            ]
        })
        .collect();
    if body.is_empty() {
        return None;
    }
    let header = labels(
        &["年份", "Moran's I", "E(I)", "Z 值", "P 值", "置换 P 值"],
        &[
            "Year",
            "Moran's I",
            "E(I)",
            "z",
            "p (normal)",
            "p (permutation)",
        ],
        lang,
    );
    let caption = lang
        .pick("综合得分的全局 Moran's I", "Global Moran's I of the score")
        .to_owned();
    Some((caption, header, body))
}

fn robustness(src: &Source) -> Option<Parts> {
    let (lang, p) = (src.lang, src.precision.score);
    let year = src.year().ok()??;
    let body: Vec<Vec<Cell>> = src
        .robustness?
        .comparison
        .iter()
        .filter(|c| c.year == year)
        .map(|c| {
            vec![
                text(c.method.clone()),
                Cell::Num(c.spearman, p),
                Cell::Num(c.kendall_tau_b, p),
                Cell::Num(c.ws, p),
                Cell::Int(Some(u64::from(c.max_rank_shift))),
                Cell::Num(Some(c.mean_abs_rank_shift), p),
            ]
        })
        .collect();
    if body.is_empty() {
        return None;
    }
    let header = labels(
        &[
            "替代方法",
            "Spearman ρ",
            "Kendall τ-b",
            "WS",
            "最大名次变动",
            "平均名次变动",
        ],
        &[
            "Alternative method",
            "Spearman ρ",
            "Kendall τ-b",
            "WS",
            "Max rank shift",
            "Mean |rank shift|",
        ],
        lang,
    );
    let caption = match lang {
        Lang::Zh => format!("稳健性检验：{year}年排名与替代方法的一致性"),
        Lang::En => format!("Robustness: agreement of the {year} ranking with alternative methods"),
    };
    Some((caption, header, body))
}
