//! One file per page: each handler extracts typed parameters, asks the service for view data,
//! formats it into a template struct and renders it. Number formatting lives here and in the
//! templates only.

pub mod compare;
pub mod indicator;
pub mod methodology;
pub mod rankings;
pub mod region;

use askama::Template;
use axum::response::Html;

use super::ctx::PageCtx;
use super::error::PageError;
use crate::types::Lang;

pub type PageResult = Result<Html<String>, PageError>;

/// Render a template, mapping a template failure to a logged 500.
pub fn render(template: &impl Template, lang: Lang) -> PageResult {
    template.render().map(Html).map_err(|e| {
        tracing::error!(error = %e, "template failed");
        PageError::from_error(lang, crate::Error::Internal(e.to_string()))
    })
}

/// Unknown URLs get the helpful bilingual 404 page.
pub async fn not_found(ctx: PageCtx) -> PageError {
    PageError::from_error(
        ctx.lang,
        crate::Error::NotFound {
            what: "page",
            key: ctx.path.clone(),
        },
    )
}

/// `12.3456` with `decimals` places, or an em dash for no value.
pub fn fmt_num(value: Option<f64>, decimals: usize) -> String {
    match value {
        Some(v) if v.is_finite() => format!("{v:.decimals$}"),
        _ => "—".to_owned(),
    }
}

/// A raw statistic: thousands separators would confuse zh/en readers less than too many
/// digits, so show 4 significant figures for small values and 1 decimal for large ones.
pub fn fmt_raw(value: Option<f64>) -> String {
    match value {
        Some(v) if v.is_finite() => {
            let abs = v.abs();
            if abs >= 1000.0 {
                format!("{v:.0}")
            } else if abs >= 100.0 {
                format!("{v:.1}")
            } else if abs >= 1.0 {
                format!("{v:.2}")
            } else {
                format!("{v:.4}")
            }
        }
        _ => "—".to_owned(),
    }
}

/// Sort key for a `data-sort` attribute (empty for no value, so it sorts last).
pub fn sort_key(value: Option<f64>) -> String {
    value.filter(|v| v.is_finite()).map(|v| v.to_string()).unwrap_or_default()
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

/// Resolve an optional `year` parameter; a malformed one is a 400 naming the value.
pub fn year_param(ctx: &PageCtx) -> Result<Option<i32>, PageError> {
    match ctx.param("year") {
        None => Ok(None),
        Some(raw) => raw.parse::<i32>().map(Some).map_err(|_| {
            PageError::bad_request(
                ctx.lang,
                match ctx.lang {
                    Lang::Zh => format!("年份“{raw}”不是整数。"),
                    Lang::En => format!("The year '{raw}' is not a whole number."),
                },
            )
        }),
    }
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
        assert_eq!(fmt_raw(Some(2.65)), "2.65");
        assert_eq!(fmt_raw(Some(0.012345)), "0.0123");
        assert_eq!(sort_key(None), "");
        assert_eq!(group_label("East", Lang::Zh), "东部");
        assert_eq!(group_label("Scotland", Lang::Zh), "Scotland");
    }
}
