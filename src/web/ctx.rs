//! Per-request page context: language, method choice and URL building that keeps them.
//!
//! Owns: the query parameters every page shares (`lang`, `normalise`, `weights`, `aggregate`)
//! and typed URL builders, so every link is a permalink that keeps the reader's language and
//! method. Templates never concatenate URLs themselves. Must not: compute anything.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::ACCEPT_LANGUAGE;
use axum::http::request::Parts;

use super::error::WebError;
use super::i18n::{Texts, negotiate};
use super::state::AppState;
use crate::chart::ChartHead;
use crate::chart::map::ChinaMap;
use crate::framework::Framework;
use crate::method::{Aggregate, MethodSpec, Normalise, WeightScheme};
use crate::service::dashboard::Measure;
use crate::service::sort::{Sort, SortKey};
use crate::types::Lang;

/// How the OpenAPI document describes `year=` as [`PageCtx::year`] reads it, for every endpoint
/// showing one year.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct YearParam {
    /// Year; default the latest.
    pub year: Option<i32>,
}

/// Query keys shared by every page; they survive navigation.
const SHARED_KEYS: [&str; 6] = ["lang", "dataset", "v", "normalise", "weights", "aggregate"];

#[derive(Debug, Clone)]
pub struct PageCtx {
    pub lang: Lang,
    pub t: &'static Texts,
    pub spec: MethodSpec,
    /// The dataset (`dataset=`) and version number (`v=`) the reader chose, if any.
    pub dataset: Option<String>,
    pub version: Option<u32>,
    /// The request path, e.g. `/regions/CN-GD`.
    pub path: String,
    /// Every query pair of the request, in order.
    pub query: Vec<(String, String)>,
    /// The map choropleths are drawn on (the user's standard map or the schematic one).
    pub map: Arc<ChinaMap>,
}

impl PageCtx {
    /// The head of a chart on this page: `id` (unique within the page), its accessible name and
    /// description, and this language's "no data" label.
    pub fn chart_head<'a>(&'a self, id: &'a str, title: &'a str, desc: &'a str) -> ChartHead<'a> {
        ChartHead {
            id,
            title,
            desc,
            no_data_label: self.t.no_data,
        }
    }

    /// Look up a page-specific query parameter.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// `year=`: a whole number, or `None` for the page's default year.
    pub fn year(&self) -> Result<Option<i32>, WebError> {
        self.year_param("year")
    }

    /// A year under another name (`from=`, `to=`), parsed and rejected as `year=` is.
    pub fn year_param(&self, key: &str) -> Result<Option<i32>, WebError> {
        self.param(key)
            .map(|raw| {
                raw.parse::<i32>().map_err(|_| {
                    WebError::invalid_parameter(key, format!("'{raw}' is not a whole number"))
                })
            })
            .transpose()
    }

    /// `table=` of a page with several tables: one of `tables`, the first when absent.
    pub fn table<'t>(&self, tables: &[&'t str]) -> Result<&'t str, WebError> {
        match self.param("table") {
            None => Ok(tables[0]),
            Some(raw) => tables.iter().copied().find(|t| *t == raw).ok_or_else(|| {
                WebError::invalid_parameter(
                    "table",
                    format!("'{raw}' is not one of {}", tables.join(", ")),
                )
            }),
        }
    }

    /// `measure=`: `score` (default), a dimension or an indicator id of `framework`.
    pub fn measure(&self, framework: &Framework) -> Result<Measure, WebError> {
        let raw = self.param("measure").unwrap_or("score");
        Measure::parse(raw, framework).ok_or_else(|| {
            WebError::invalid_parameter("measure", format!("there is no measure '{raw}'"))
        })
    }

    /// `sort=` (a column, default `rank`) and `dir=` (`asc`, the default, or `desc`) of the
    /// rankings table.
    pub fn sort(&self) -> Result<Sort, WebError> {
        let key = self
            .param("sort")
            .map(str::parse::<SortKey>)
            .transpose()
            .map_err(|e| WebError::invalid_parameter("sort", e.to_string()))?
            .unwrap_or_default();
        let descending = match self.param("dir") {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(raw) => {
                return Err(WebError::invalid_parameter(
                    "dir",
                    format!("'{raw}' is neither asc nor desc"),
                ));
            }
        };
        Ok(Sort { key, descending })
    }

    /// `measure=` of the analysis pages: `score` (default) or a dimension.
    pub fn analysis_measure(&self) -> Result<String, WebError> {
        let raw = self.param("measure").unwrap_or("score");
        if crate::service::analysis::is_measure(raw) {
            Ok(raw.to_owned())
        } else {
            Err(WebError::invalid_parameter(
                "measure",
                format!("there is no analysis measure '{raw}' (score, laborers, tools or objects)"),
            ))
        }
    }

    /// `r=`: region codes, comma-separated or repeated (what a checkbox form sends), each once.
    pub fn regions(&self) -> Vec<String> {
        let mut codes: Vec<String> = Vec::new();
        for code in self
            .query
            .iter()
            .filter(|(k, _)| k == "r")
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            if !codes.iter().any(|c| c == code) {
                codes.push(code.to_owned());
            }
        }
        codes
    }

    /// The shared parameters that differ from their defaults (language is always kept).
    fn shared_pairs(&self, lang: Lang) -> Vec<(String, String)> {
        let default = MethodSpec::default();
        let mut pairs = vec![("lang".to_owned(), lang.as_str().to_owned())];
        if let Some(dataset) = &self.dataset {
            pairs.push(("dataset".into(), dataset.clone()));
        }
        if let Some(v) = self.version {
            pairs.push(("v".into(), v.to_string()));
        }
        if self.spec.normalise != default.normalise {
            pairs.push(("normalise".into(), self.spec.normalise.as_str().to_owned()));
        }
        if self.spec.weights != default.weights {
            pairs.push(("weights".into(), self.spec.weights.to_string()));
        }
        if self.spec.aggregate != default.aggregate {
            pairs.push(("aggregate".into(), self.spec.aggregate.as_str().to_owned()));
        }
        pairs
    }

    /// A link to `path` with the shared parameters plus `extra`; a shared key given in `extra`
    /// (e.g. another `dataset`) replaces the current one.
    pub fn url(&self, path: &str, extra: &[(&str, &str)]) -> String {
        let mut pairs = self.shared_pairs(self.lang);
        pairs.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
        pairs.extend(
            extra
                .iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        with_query(path, &pairs)
    }

    /// This very page with one parameter replaced (or removed when `value` is empty).
    pub fn with_param(&self, key: &str, value: &str) -> String {
        self.with_params(&[(key, value)])
    }

    /// This very page with several parameters replaced (empty values remove them).
    pub fn with_params(&self, changes: &[(&str, &str)]) -> String {
        let mut pairs = self.shared_pairs(self.lang);
        for (k, v) in &self.query {
            if !SHARED_KEYS.contains(&k.as_str()) && !changes.iter().any(|(c, _)| c == k) {
                pairs.push((k.clone(), v.clone()));
            }
        }
        pairs.extend(
            changes
                .iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        with_query(&self.path, &pairs)
    }

    /// This very page, every parameter kept, in the other language.
    pub fn lang_switch_url(&self) -> String {
        let other = match self.lang {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        };
        let mut pairs = self.shared_pairs(other);
        pairs.extend(
            self.query
                .iter()
                .filter(|(k, _)| !SHARED_KEYS.contains(&k.as_str()))
                .cloned(),
        );
        with_query(&self.path, &pairs)
    }

    pub fn region_url(&self, code: &str) -> String {
        self.url(&format!("/regions/{code}"), &[])
    }

    pub fn indicator_url(&self, id: &str) -> String {
        self.url(&format!("/indicators/{id}"), &[])
    }

    /// Hidden form fields that carry the shared parameters through a GET form.
    pub fn hidden_fields(&self) -> Vec<(String, String)> {
        self.shared_pairs(self.lang)
    }

    pub fn method_summary(&self) -> String {
        format!(
            "{} · {} · {}",
            self.spec.normalise.as_str(),
            self.spec.weights,
            self.spec.aggregate.as_str()
        )
    }
}

fn with_query(path: &str, pairs: &[(String, String)]) -> String {
    if pairs.is_empty() {
        return path.to_owned();
    }
    let query = serde_urlencoded::to_string(pairs).unwrap_or_default();
    format!("{path}?{query}")
}

impl<S: Send + Sync> FromRequestParts<S> for PageCtx
where
    AppState: FromRef<S>,
{
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let query: Vec<(String, String)> =
            serde_urlencoded::from_str(parts.uri.query().unwrap_or_default()).unwrap_or_default();
        let get = |key: &str| {
            query
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
                .filter(|v| !v.is_empty())
        };
        let accept = parts
            .headers
            .get(ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok());
        let lang = negotiate(get("lang"), accept);
        let mut spec = MethodSpec::default();
        let bad = |key: &str, e: String| WebError::invalid_parameter(key, e);
        if let Some(v) = get("normalise") {
            spec.normalise = v
                .parse::<Normalise>()
                .map_err(|e| bad("normalise", e.to_string()))?;
        }
        if let Some(v) = get("weights") {
            spec.weights = v
                .parse::<WeightScheme>()
                .map_err(|e| bad("weights", e.to_string()))?;
        }
        if let Some(v) = get("aggregate") {
            spec.aggregate = v
                .parse::<Aggregate>()
                .map_err(|e| bad("aggregate", e.to_string()))?;
        }
        let version = match get("v") {
            None => None,
            Some(v) => Some(
                v.parse::<u32>()
                    .map_err(|_| bad("v", format!("'{v}' is not a version number")))?,
            ),
        };
        Ok(PageCtx {
            dataset: get("dataset").map(str::to_owned),
            version,
            lang,
            t: Texts::get(lang),
            spec,
            path: parts.uri.path().to_owned(),
            query,
            map: AppState::from_ref(state).china_map(),
        })
    }
}
