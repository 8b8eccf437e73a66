//! `/compare?r=a,b,c` — 2 to 5 regions side by side: dimension scores and score trends. The
//! region picker is a plain GET form of checkboxes, so it works without JavaScript.

use askama::Template;
use axum::extract::State;

use super::{PageResult, fmt_num, fmt_rank, render};
use crate::chart::bar::{self, BarDatum, BarSpec};
use crate::chart::line::{self, LineSpec, Series};
use crate::service::dashboard::{
    self, COMPARE_MAX, COMPARE_MIN, Comparison, Dataset, ResultTables,
};
use crate::types::Dimension;
use crate::web::chrome::Chrome;
use crate::web::ctx::PageCtx;
use crate::web::download::{ViewDownloads, view_file};
use crate::web::state::AppState;

pub struct Pick {
    pub code: String,
    pub name: String,
    pub checked: bool,
}

pub struct CompareRow {
    pub name: String,
    pub url: String,
    pub score: String,
    pub rank: String,
    pub dims: Vec<String>,
}

#[derive(Template)]
#[template(path = "pages/compare.html")]
pub struct ComparePage {
    pub downloads: ViewDownloads,
    pub chrome: Chrome,
    pub hidden: Vec<(String, String)>,
    pub picks: Vec<Pick>,
    pub message: String,
    pub year: i32,
    pub rows: Vec<CompareRow>,
    pub dim_labels: Vec<&'static str>,
    pub dim_charts: Vec<String>,
    pub trend_svg: String,
}

pub async fn page(State(state): State<AppState>, ctx: PageCtx) -> PageResult {
    let (ds, tables) = super::load(&state, &ctx).await?;
    let (year, codes) = (ctx.year()?, ctx.regions());
    let mut page = ComparePage::picker(&ctx, &ds, &tables, &codes);
    if !(COMPARE_MIN..=COMPARE_MAX).contains(&codes.len()) {
        return render(&page);
    }
    let comparison = dashboard::compare(&ds, &tables, &codes, year, ctx.lang)?;
    let name = format!("compare-{}-{}", comparison.year, codes.join("-"));
    if let Some(file) = view_file(
        &ctx,
        &ds,
        &tables,
        &name,
        &comparison,
        &comparison.regions,
        None,
    )
    .await?
    {
        return Ok(file);
    }
    page.show(&ctx, &comparison);
    render(&page)
}

impl ComparePage {
    /// The region picker with `codes` checked (and a hint when they are too few or too many).
    fn picker(ctx: &PageCtx, ds: &Dataset, tables: &ResultTables, codes: &[String]) -> Self {
        let picks = tables
            .regions()
            .into_iter()
            .map(|code| Pick {
                name: ds.region_name(&code, ctx.lang),
                checked: codes.contains(&code),
                code,
            })
            .collect();
        let enough = (COMPARE_MIN..=COMPARE_MAX).contains(&codes.len());
        ComparePage {
            downloads: ViewDownloads::new(ctx, ds, &[]),
            chrome: Chrome::new(ctx, ds, "compare"),
            hidden: ctx.hidden_fields(),
            picks,
            message: if codes.is_empty() || enough {
                String::new()
            } else {
                ctx.t.compare_need.to_owned()
            },
            year: 0,
            rows: Vec::new(),
            dim_labels: Dimension::ALL.iter().map(|d| d.label(ctx.lang)).collect(),
            dim_charts: Vec::new(),
            trend_svg: String::new(),
        }
    }

    /// The comparison's table and charts.
    fn show(&mut self, ctx: &PageCtx, comparison: &Comparison) {
        self.year = comparison.year;
        self.rows = comparison
            .regions
            .iter()
            .map(|r| CompareRow {
                name: r.name.clone(),
                url: ctx.region_url(&r.code),
                score: fmt_num(r.current.scores.score, 2),
                rank: fmt_rank(r.current.rank),
                dims: Dimension::ALL
                    .iter()
                    .map(|&d| fmt_num(r.current.scores.dimension(d), 2))
                    .collect(),
            })
            .collect();
        self.dim_charts = std::iter::once(None)
            .chain(Dimension::ALL.into_iter().map(Some))
            .map(|dim| measure_chart(ctx, comparison, dim))
            .collect();
        self.trend_svg = trend_chart(ctx, comparison);
    }
}

/// The regions' overall score (`None`) or score on one dimension, as bars.
fn measure_chart(ctx: &PageCtx, comparison: &Comparison, dim: Option<Dimension>) -> String {
    let label = dim.map_or(ctx.t.overall_score, |d| d.label(ctx.lang));
    let data: Vec<BarDatum> = comparison
        .regions
        .iter()
        .map(|r| {
            let s = &r.current.scores;
            let v = dim.map_or(s.score, |d| s.dimension(d));
            BarDatum {
                label: r.name.clone(),
                value: v,
                display: fmt_num(v, 2),
                href: Some(ctx.region_url(&r.code)),
                highlight: false,
            }
        })
        .collect();
    bar::render(&BarSpec {
        head: ctx.chart_head(
            &format!("cmp-{}", dim.map_or("score", |d| d.as_str())),
            &format!("{label} · {}", comparison.year),
            label,
        ),
        data: &data,
        width: 360.0,
        value_label: label,
    })
}

/// Every region's score over the years.
fn trend_chart(ctx: &PageCtx, comparison: &Comparison) -> String {
    let series: Vec<Series> = comparison
        .regions
        .iter()
        .map(|r| Series {
            name: r.name.clone(),
            points: r.trend.iter().map(|p| (p.year, p.scores.score)).collect(),
            emphasis: false,
        })
        .collect();
    line::render(&LineSpec {
        head: ctx.chart_head("cmp-trend", ctx.t.trend_score, ctx.t.trend_score),
        series: &series,
        size: (720.0, 320.0),
        y_label: ctx.t.score,
        invert_y: false,
        integer_y: false,
        y_domain: None,
        decimals: 2,
    })
}
