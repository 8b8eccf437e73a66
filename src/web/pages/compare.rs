//! `/compare?r=a,b,c` — 2 to 5 regions side by side: dimension scores and score trends. The
//! region picker is a plain GET form of checkboxes, so it works without JavaScript.

use askama::Template;
use axum::extract::State;

use super::{PageResult, fmt_num, fmt_rank, render};
use crate::service::dashboard::{self, COMPARE_MAX, COMPARE_MIN};
use crate::types::Dimension;
use crate::web::charts::bar::{self, BarDatum, BarSpec};
use crate::web::charts::line::{self, LineSpec, Series};
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
    let lang = ctx.lang;
    let (ds, tables) = super::load(&state, &ctx).await?;
    let year = ctx.year()?;
    let codes = ctx.regions();
    let picks = tables
        .regions()
        .into_iter()
        .map(|code| Pick {
            name: ds.region_name(&code, lang),
            checked: codes.contains(&code),
            code,
        })
        .collect();
    let enough = (COMPARE_MIN..=COMPARE_MAX).contains(&codes.len());
    let mut page = ComparePage {
        downloads: ViewDownloads::new(&ctx, &ds, &[]),
        chrome: Chrome::new(&ctx, &ds, "compare"),
        hidden: ctx.hidden_fields(),
        picks,
        message: if codes.is_empty() || enough {
            String::new()
        } else {
            ctx.t.compare_need.to_owned()
        },
        year: 0,
        rows: Vec::new(),
        dim_labels: Dimension::ALL.iter().map(|d| d.label(lang)).collect(),
        dim_charts: Vec::new(),
        trend_svg: String::new(),
    };
    if !enough {
        return render(&page);
    }
    let comparison = dashboard::compare(&ds, &tables, &codes, year, lang)?;
    let name = format!("compare-{}-{}", comparison.year, codes.join("-"));
    if let Some(file) =
        view_file(&ctx, &ds, &tables, &name, &comparison, &comparison.regions).await?
    {
        return Ok(file);
    }
    page.year = comparison.year;
    page.rows = comparison
        .regions
        .iter()
        .map(|r| CompareRow {
            name: r.name.clone(),
            url: ctx.region_url(&r.code),
            score: fmt_num(r.current.score, 2),
            rank: fmt_rank(r.current.rank),
            dims: [r.current.laborers, r.current.tools, r.current.objects]
                .into_iter()
                .map(|v| fmt_num(v, 2))
                .collect(),
        })
        .collect();
    page.dim_charts = std::iter::once(None)
        .chain(Dimension::ALL.iter().copied().map(Some))
        .map(|dim| {
            let label = dim.map_or(ctx.t.overall_score, |d| d.label(lang));
            let data: Vec<BarDatum> = comparison
                .regions
                .iter()
                .map(|r| {
                    let v = match dim {
                        None => r.current.score,
                        Some(Dimension::Laborers) => r.current.laborers,
                        Some(Dimension::Tools) => r.current.tools,
                        Some(Dimension::Objects) => r.current.objects,
                    };
                    BarDatum {
                        label: r.name.clone(),
                        value: v,
                        display: fmt_num(v, 2),
                        href: Some(ctx.region_url(&r.code)),
                        highlight: false,
                    }
                })
                .collect();
            let id = format!("cmp-{}", dim.map_or("score", |d| d.as_str()));
            bar::render(&BarSpec {
                id: &id,
                title: &format!("{label} · {}", comparison.year),
                desc: label,
                data: &data,
                width: 360.0,
                value_label: label,
                no_data_label: ctx.t.no_data,
            })
        })
        .collect();
    let series: Vec<Series> = comparison
        .regions
        .iter()
        .map(|r| Series {
            name: r.name.clone(),
            points: r.trend.iter().map(|p| (p.year, p.score)).collect(),
            emphasis: false,
        })
        .collect();
    page.trend_svg = line::render(&LineSpec {
        id: "cmp-trend",
        title: ctx.t.trend_score,
        desc: ctx.t.trend_score,
        series: &series,
        width: 720.0,
        height: 320.0,
        y_label: ctx.t.score,
        invert_y: false,
        integer_y: false,
        y_domain: None,
        decimals: 2,
        no_data_label: ctx.t.no_data,
    });
    render(&page)
}
