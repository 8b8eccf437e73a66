//! One file per page: each handler extracts typed parameters, asks the service for view data,
//! formats it into a template struct and renders it. Number formatting lives here and in the
//! templates only.

pub mod analysis;
pub mod basemap;
pub mod brief;
pub mod change;
pub mod compare;
pub mod datasets;
pub mod diff;
pub mod indicator;
pub mod methodology;
pub mod publish;
pub mod rankings;
pub mod region;
pub mod robustness;
pub mod sandbox;

use askama::Template;
use axum::response::{Html, IntoResponse, Response};

use std::sync::Arc;

use super::ctx::PageCtx;
use super::error::WebError;
use super::state::AppState;
use crate::service::dashboard::{Dataset, ResultTables};
use crate::types::Lang;

pub type PageResult = Result<Response, WebError>;

/// The dataset a page shows (from `dataset=` / `v=`) and its computed result for the page's
/// method (from the cache after the first request).
pub async fn load(
    state: &AppState,
    ctx: &PageCtx,
) -> Result<(Arc<Dataset>, Arc<ResultTables>), WebError> {
    let dataset = state.resolve(ctx.dataset.as_deref(), ctx.version).await?;
    let tables = state.tables_for(Arc::clone(&dataset), &ctx.spec).await?;
    Ok((dataset, tables))
}

/// Render a template, mapping a template failure to a logged 500.
pub fn render(template: &impl Template) -> PageResult {
    template
        .render()
        .map(|html| Html(html).into_response())
        .map_err(|e| crate::Error::Internal(format!("template: {e}")).into())
}

/// A table as a CSV (formula-like cells neutralised) or JSON (array of row objects)
/// attachment named `file`; `format` is `csv` or `json` (the caller checked it).
pub fn table_response(
    frame: &polars::prelude::DataFrame,
    file: &str,
    format: &str,
) -> Result<axum::response::Response, WebError> {
    use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
    use axum::response::IntoResponse;
    let (content_type, body) = if format == "csv" {
        (
            "text/csv; charset=utf-8",
            crate::service::download::csv_bytes(frame, false)?,
        )
    } else {
        let rows = crate::service::frame_to_json_rows(frame)?;
        (
            "application/json",
            serde_json::to_vec(&rows).map_err(|e| crate::Error::Internal(e.to_string()))?,
        )
    };
    Ok((
        [
            (CONTENT_TYPE, content_type.to_owned()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        body,
    )
        .into_response())
}

/// A table of an analysis page and the URLs of its CSV and JSON downloads.
pub struct TableDownload {
    pub table: &'static str,
    pub csv: String,
    pub json: String,
}

impl TableDownload {
    /// `url` gives the table's URL for an extension (`csv`, `json`).
    pub fn new(table: &'static str, url: impl Fn(&str) -> String) -> TableDownload {
        TableDownload {
            table,
            csv: url("csv"),
            json: url("json"),
        }
    }
}

/// Unknown URLs get the helpful bilingual 404 page.
pub async fn not_found(uri: axum::http::Uri) -> WebError {
    crate::Error::NotFound {
        what: "page",
        key: uri.path().to_owned(),
    }
    .into()
}

/// `12.3456` with `decimals` places, or an em dash for no value.
pub fn fmt_num(value: Option<f64>, decimals: usize) -> String {
    match value {
        Some(v) if v.is_finite() => format!("{v:.decimals$}"),
        _ => "—".to_owned(),
    }
}

/// The method choices of a page's GET form (`templates/method_selects.html`): each option and
/// whether it is the one in use.
pub struct MethodOptions {
    pub normalise: Vec<(&'static str, bool)>,
    pub weights: Vec<(String, bool)>,
    pub aggregate: Vec<(&'static str, bool)>,
}

/// The weighting schemes offered in the forms (combined schemes are reachable by URL).
const WEIGHT_CHOICES: [&str; 6] = [
    "entropy-panel",
    "entropy-year",
    "critic",
    "sd",
    "equal",
    "manual",
];

impl MethodOptions {
    pub fn new(
        normalise: crate::method::Normalise,
        weights: &crate::method::WeightScheme,
        aggregate: crate::method::Aggregate,
    ) -> MethodOptions {
        use crate::method::{Aggregate, Normalise};
        let current_weights = weights.to_string();
        MethodOptions {
            normalise: [
                Normalise::MinmaxPanel,
                Normalise::MinmaxYear,
                Normalise::Zscore,
                Normalise::Rank,
            ]
            .into_iter()
            .map(|n| (n.as_str(), n == normalise))
            .collect(),
            weights: WEIGHT_CHOICES
                .iter()
                .map(|w| ((*w).to_owned(), *w == current_weights))
                .chain(
                    (!WEIGHT_CHOICES.contains(&current_weights.as_str()))
                        .then(|| (current_weights.clone(), true)),
                )
                .collect(),
            aggregate: [Aggregate::Sum, Aggregate::Geometric, Aggregate::Topsis]
                .into_iter()
                .map(|a| (a.as_str(), a == aggregate))
                .collect(),
        }
    }
}

/// A rank, or an em dash for none.
pub fn fmt_rank(rank: Option<u32>) -> String {
    rank.map_or_else(|| "—".to_owned(), |r| r.to_string())
}

/// A raw statistic with 4 significant figures (at least 0 decimals), so one column reads
/// consistently: 49670, 2807, 13.77, 0.9920.
pub fn fmt_raw(value: Option<f64>) -> String {
    match value {
        Some(v) if v.is_finite() => {
            let magnitude = if v == 0.0 {
                0
            } else {
                v.abs().log10().floor() as i32
            };
            let decimals = (3 - magnitude).clamp(0, 6) as usize;
            format!("{v:.decimals$}")
        }
        _ => "—".to_owned(),
    }
}

/// Sort key for a `data-sort` attribute (empty for no value, so it sorts last).
pub fn sort_key(value: Option<f64>) -> String {
    value
        .filter(|v| v.is_finite())
        .map(|v| v.to_string())
        .unwrap_or_default()
}

/// Group label in the reader's language (the NBS four regions are translated).
pub fn group_label(group: &str, lang: Lang) -> String {
    let zh = match group {
        "East" => "东部",
        "Central" => "中部",
        "West" => "西部",
        "Northeast" => "东北",
        other => return other.to_owned(),
    };
    lang.pick(zh, group).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_format_for_display() {
        assert_eq!(fmt_num(Some(12.3456), 2), "12.35");
        assert_eq!(fmt_num(None, 2), "—");
        assert_eq!(fmt_num(Some(f64::NAN), 2), "—");
        assert_eq!(fmt_raw(Some(49670.2)), "49670");
        assert_eq!(fmt_raw(Some(2.65)), "2.650");
        assert_eq!(fmt_raw(Some(13.774)), "13.77");
        assert_eq!(fmt_raw(Some(0.99204)), "0.9920");
        assert_eq!(fmt_raw(Some(0.012346)), "0.01235");
        assert_eq!(fmt_raw(Some(0.0)), "0.000");
        assert_eq!(sort_key(None), "");
        assert_eq!(
            (fmt_rank(Some(3)), fmt_rank(None)),
            ("3".into(), "—".into())
        );
        assert_eq!(group_label("East", Lang::Zh), "东部");
        assert_eq!(group_label("Scotland", Lang::Zh), "Scotland");
    }
}
