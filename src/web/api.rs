//! JSON API v1 (`/api/v1/…`) and its OpenAPI document (`/api/openapi.json`).
//!
//! Owns: the API routes, the thin API view types that have no dashboard twin (dataset, region
//! and indicator listings), the error envelope [`ApiError`] and the OpenAPI document. Every
//! endpoint mirrors a page and takes the same query parameters (`lang`, `dataset`, `v`,
//! `year`, `measure`, `r`, `normalise`, `weights`, `aggregate`); bodies are the dashboard view data of
//! `crate::service::dashboard`, serialised as they are — nothing is recomputed here.
//! Must not: compute index values, or choose an HTTP status anywhere but [`ApiError`].
//!
//! Errors are one envelope: `{"ok": false, "status": 404, "errors": [{"code": "not_found",
//! "message": "…", "file": null, "line": null, "column": null, "column_name": null}]}`; the
//! position fields are set for ingest and framework errors. Successful bodies are the view
//! objects themselves.

use std::sync::{Arc, OnceLock};

use chrono::SecondsFormat;

use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Json, Router};
use serde::Serialize;
use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{Required, Tag};
use utoipa::{Modify, OpenApi, ToSchema};

use super::ctx::PageCtx;
use super::download::download_url;
use super::state::AppState;
use crate::Error;
use crate::method::{MethodRecord, MethodSpec};
use crate::service::dashboard::{
    self, COMPARE_MAX, COMPARE_MIN, Comparison, Dataset, IndicatorPage, Measure, Rankings,
    RegionProfile, ResultTables, ScoreRow, WeightRow,
};
use crate::service::download::{CoverageMeta, Metadata, all_requests};
use crate::types::{Dimension, Lang};

/// The API routes and the OpenAPI document, to be merged into the app's router.
pub fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/api/openapi.json", get(openapi_json))
        .route("/api/v1/datasets", get(datasets))
        .route("/api/v1/regions", get(regions))
        .route("/api/v1/regions/{code}", get(region))
        .route("/api/v1/indicators", get(indicators))
        .route("/api/v1/indicators/{id}", get(indicator))
        .route("/api/v1/scores", get(scores))
        .route("/api/v1/rankings", get(rankings))
        .route("/api/v1/compare", get(compare))
        .route("/api/v1/weights", get(weights))
        .route("/api/v1/methodology", get(methodology))
        // Unknown API URLs answer with the JSON envelope, not the HTML 404 page.
        .route("/api/{*rest}", any(unknown))
}

// ---------------------------------------------------------------------------------------------
// Errors

/// One problem, with its position in the user's file when there is one.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ErrorItem {
    /// Stable machine-readable code, e.g. `not_found`, `invalid_parameter`, `ingest.not_numeric`.
    pub code: String,
    pub message: String,
    pub file: Option<String>,
    /// 1-based line of the decoded file.
    pub line: Option<u64>,
    /// 1-based column.
    pub column: Option<u64>,
    pub column_name: Option<String>,
}

impl ErrorItem {
    fn new(code: &str, message: String) -> ErrorItem {
        ErrorItem {
            code: code.to_owned(),
            message,
            file: None,
            line: None,
            column: None,
            column_name: None,
        }
    }
}

/// The body of every API error response.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorEnvelope {
    /// Always `false`.
    pub ok: bool,
    /// The HTTP status, repeated.
    pub status: u16,
    pub errors: Vec<ErrorItem>,
}

/// An API failure: the one place where an `nqp::Error` becomes a JSON status and envelope.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub errors: Vec<ErrorItem>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            errors: vec![ErrorItem::new(code, message.into())],
        }
    }

    /// A malformed or unknown query parameter (400, `invalid_parameter`).
    pub fn invalid_parameter(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_parameter", message)
    }

    pub fn from_error(err: Error) -> ApiError {
        let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
        match &err {
            Error::NotFound { .. } => {
                ApiError::new(StatusCode::NOT_FOUND, err.code(), err.to_string())
            }
            Error::Ingest(e) => ApiError {
                status: unprocessable,
                errors: e
                    .errors()
                    .iter()
                    .map(|one| {
                        let mut item = ErrorItem::new(one.code(), one.to_string());
                        if let Some(pos) = one.position() {
                            item.file = Some(pos.file.clone());
                            item.line = pos.line;
                            item.column = pos.column.map(|c| c as u64);
                            item.column_name = pos.column_name.clone();
                        }
                        item
                    })
                    .collect(),
            },
            Error::Framework(e) => {
                let mut item = ErrorItem::new(e.code(), e.to_string());
                if let Some(pos) = e.position() {
                    item.file = Some(pos.file.clone());
                    item.line = pos.line.map(u64::from);
                    item.column = pos.column.map(u64::from);
                }
                ApiError {
                    status: unprocessable,
                    errors: vec![item],
                }
            }
            Error::DuplicateAcrossFiles { second_file, .. } => {
                let mut item = ErrorItem::new(err.code(), err.to_string());
                item.file = Some(second_file.clone());
                ApiError {
                    status: unprocessable,
                    errors: vec![item],
                }
            }
            // A method the data cannot support (e.g. manual weights the framework lacks).
            Error::Method(_) => ApiError::new(unprocessable, err.code(), err.to_string()),
            _ if err.code() == "conflict" => {
                ApiError::new(StatusCode::CONFLICT, err.code(), err.to_string())
            }
            _ => {
                tracing::error!(error = %err, "API request failed");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "An internal error occurred; it has been logged.",
                )
            }
        }
    }
}

impl From<Error> for ApiError {
    fn from(err: Error) -> ApiError {
        ApiError::from_error(err)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let envelope = ErrorEnvelope {
            ok: false,
            status: self.status.as_u16(),
            errors: self.errors,
        };
        (self.status, Json(envelope)).into_response()
    }
}

type ApiResult<T> = Result<Json<T>, ApiError>;

// ---------------------------------------------------------------------------------------------
// Request context

/// The shared query parameters, parsed exactly as the pages parse them (see `PageCtx`), with
/// failures as the JSON envelope.
pub struct ApiCtx {
    pub lang: Lang,
    pub spec: MethodSpec,
    /// `dataset=` (id) and `v=` (version number): which dataset; default the default one.
    pub dataset: Option<String>,
    pub version: Option<u32>,
    query: Vec<(String, String)>,
}

impl ApiCtx {
    fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    fn year(&self) -> Result<Option<i32>, ApiError> {
        self.param("year")
            .map(|raw| {
                raw.parse::<i32>().map_err(|_| {
                    ApiError::invalid_parameter(format!("year: '{raw}' is not a whole number"))
                })
            })
            .transpose()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ApiCtx {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let ctx = PageCtx::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::invalid_parameter(e.message))?;
        Ok(ApiCtx {
            lang: ctx.lang,
            spec: ctx.spec,
            dataset: ctx.dataset,
            version: ctx.version,
            query: ctx.query,
        })
    }
}

/// The dataset a request names and its cached result for the request's method, exactly as
/// the pages resolve them.
async fn load(
    state: &AppState,
    ctx: &ApiCtx,
) -> Result<(Arc<Dataset>, Arc<ResultTables>), ApiError> {
    let dataset = state.resolve(ctx.dataset.as_deref(), ctx.version).await?;
    let tables = state.tables_for(Arc::clone(&dataset), &ctx.spec).await?;
    Ok((dataset, tables))
}

// ---------------------------------------------------------------------------------------------
// API view types without a dashboard twin

/// A download of the dataset under the requested method.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DownloadLink {
    /// `scores.csv`, `metadata.json`, `bundle.zip`, …
    pub file: String,
    pub url: String,
}

/// One version of a dataset.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VersionRef {
    /// 1, 2, … in commit order (`v=` on pages and API); `null` for a dataset not from the store.
    pub number: Option<u32>,
    /// Content hash (SHA-256, hex): the version in download URLs.
    pub version: String,
    /// RFC 3339, UTC; `null` for a dataset not from the store.
    pub created_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DatasetInfo {
    pub id: String,
    /// Title in the requested language.
    pub title: String,
    pub title_zh: String,
    pub title_en: String,
    /// The latest version.
    pub latest: VersionRef,
    /// Every version, oldest first.
    pub versions: Vec<VersionRef>,
    /// Downloads of the latest version under the requested method.
    pub downloads: Vec<DownloadLink>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RegionInfo {
    pub code: String,
    /// Name in the requested language.
    pub name: String,
    pub name_zh: String,
    pub name_en: String,
    pub group: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IndicatorInfo {
    pub id: String,
    /// Name in the requested language.
    pub name: String,
    pub name_zh: String,
    pub name_en: String,
    pub dimension: Dimension,
    pub subdimension: Option<String>,
    /// Mechanism level: micro | meso | macro.
    pub level: Option<String>,
    /// `+` (higher is better) or `-`.
    pub direction: String,
    pub unit: String,
    pub source: String,
    pub publisher: Option<String>,
    pub formula: Option<String>,
    /// Effective weight under the requested method (mean over years for per-year schemes).
    pub weight: Option<f64>,
    /// Share of region-years observed before imputation.
    pub coverage: Option<f64>,
    pub excluded: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScoresView {
    /// The year asked for; `null` = every year.
    pub year: Option<i32>,
    pub years: Vec<i32>,
    pub method: MethodRecord,
    pub rows: Vec<ScoreRow>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WeightsView {
    pub method: MethodRecord,
    pub weights: Vec<WeightRow>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FrameworkInfo {
    pub id: String,
    pub name: String,
    pub name_zh: String,
    pub name_en: String,
    pub description: Option<String>,
    pub indicators: Vec<IndicatorInfo>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MethodologyView {
    pub dataset: String,
    pub version: String,
    pub framework: FrameworkInfo,
    pub method: MethodRecord,
    pub coverage: Vec<CoverageMeta>,
    /// What the method did on its own (exclusions, constant indicators, …).
    pub notices: Vec<String>,
}

fn indicator_infos(ds: &Dataset, tables: &ResultTables, lang: Lang) -> Vec<IndicatorInfo> {
    ds.framework
        .indicators
        .iter()
        .map(|d| {
            let id = d.id.as_str();
            let coverage = tables.coverage.iter().find(|c| c.0 == id);
            IndicatorInfo {
                id: id.to_owned(),
                name: lang.pick(&d.name_zh, &d.name_en).to_owned(),
                name_zh: d.name_zh.clone(),
                name_en: d.name_en.clone(),
                dimension: d.dimension,
                subdimension: d.subdimension.clone(),
                level: d.level.map(|l| l.as_str().to_owned()),
                direction: d.direction.as_str().to_owned(),
                unit: d.unit.clone(),
                source: d.source.clone(),
                publisher: d.publisher.clone(),
                formula: d.formula.as_ref().map(|f| f.to_string()),
                weight: tables.weight(id),
                coverage: coverage.map(|c| c.1),
                excluded: coverage.is_some_and(|c| c.2),
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Handlers

const NOT_FOUND: &str = "Unknown region, indicator or year.";

/// The datasets served (every stored dataset when there is a store), with their versions and
/// the download links of the latest version.
#[utoipa::path(get, path = "/api/v1/datasets", tag = "api",
    responses((status = 200, body = Vec<DatasetInfo>), (status = 400, body = ErrorEnvelope)))]
pub async fn datasets(State(state): State<AppState>, ctx: ApiCtx) -> ApiResult<Vec<DatasetInfo>> {
    let lang = ctx.lang;
    let info = |id: &str, titles: (&str, &str), versions: Vec<VersionRef>| -> Option<DatasetInfo> {
        let latest = versions.last()?.clone();
        Some(DatasetInfo {
            id: id.to_owned(),
            title: lang.pick(titles.0, titles.1).to_owned(),
            title_zh: titles.0.to_owned(),
            title_en: titles.1.to_owned(),
            downloads: all_requests()
                .into_iter()
                .map(|r| DownloadLink {
                    file: r.segment(),
                    url: download_url(id, &latest.version, r, &ctx.spec),
                })
                .collect(),
            latest,
            versions,
        })
    };
    let Some(store) = state.store() else {
        let ds = state.dataset();
        let only = VersionRef {
            number: ds.number,
            version: ds.version.clone(),
            created_at: None,
        };
        let titles = (ds.title_zh.as_str(), ds.title_en.as_str());
        return Ok(Json(
            info(ds.id.as_str(), titles, vec![only])
                .into_iter()
                .collect(),
        ));
    };
    let listed = tokio::task::spawn_blocking(move || -> crate::Result<_> {
        let mut out = Vec::new();
        for dataset in store.datasets(false)? {
            let versions = store.versions(&dataset.id)?;
            out.push((dataset, versions));
        }
        Ok(out)
    })
    .await
    .map_err(|e| Error::Internal(format!("listing failed: {e}")))??;
    let rows = listed
        .into_iter()
        .filter_map(|(dataset, versions)| {
            let refs = versions
                .into_iter()
                .map(|v| VersionRef {
                    number: Some(v.number),
                    version: v.hash,
                    created_at: Some(v.created_at.to_rfc3339_opts(SecondsFormat::Secs, true)),
                })
                .collect();
            let titles = (dataset.title_zh.as_str(), dataset.title_en.as_str());
            info(dataset.id.as_str(), titles, refs)
        })
        .collect();
    Ok(Json(rows))
}

/// Every region with a score.
#[utoipa::path(get, path = "/api/v1/regions", tag = "api",
    responses((status = 200, body = Vec<RegionInfo>), (status = 400, body = ErrorEnvelope)))]
pub async fn regions(State(state): State<AppState>, ctx: ApiCtx) -> ApiResult<Vec<RegionInfo>> {
    let (ds, tables) = load(&state, &ctx).await?;
    let rows = tables
        .regions()
        .into_iter()
        .map(|code| RegionInfo {
            name: ds.region_name(&code, ctx.lang),
            name_zh: ds.region_name(&code, Lang::Zh),
            name_en: ds.region_name(&code, Lang::En),
            group: ds.region_group(&code),
            code,
        })
        .collect();
    Ok(Json(rows))
}

/// A region's profile (mirrors `/regions/{code}`).
#[utoipa::path(get, path = "/api/v1/regions/{code}", tag = "api",
    params(("code" = String, Path, description = "Region code, e.g. CN-GD."),
           ("year" = Option<i32>, Query, description = "Year; default the latest.")),
    responses((status = 200, body = RegionProfile), (status = 400, body = ErrorEnvelope),
              (status = 404, description = NOT_FOUND, body = ErrorEnvelope)))]
pub async fn region(
    State(state): State<AppState>,
    Path(code): Path<String>,
    ctx: ApiCtx,
) -> ApiResult<RegionProfile> {
    let year = ctx.year()?;
    let (ds, tables) = load(&state, &ctx).await?;
    Ok(Json(dashboard::region_profile(
        &ds, &tables, &code, year, ctx.lang,
    )?))
}

/// The framework's indicators with their effective weights and coverage.
#[utoipa::path(get, path = "/api/v1/indicators", tag = "api",
    responses((status = 200, body = Vec<IndicatorInfo>), (status = 400, body = ErrorEnvelope)))]
pub async fn indicators(
    State(state): State<AppState>,
    ctx: ApiCtx,
) -> ApiResult<Vec<IndicatorInfo>> {
    let (ds, tables) = load(&state, &ctx).await?;
    Ok(Json(indicator_infos(&ds, &tables, ctx.lang)))
}

/// One indicator across regions (mirrors `/indicators/{id}`).
#[utoipa::path(get, path = "/api/v1/indicators/{id}", tag = "api",
    params(("id" = String, Path, description = "Indicator id."),
           ("year" = Option<i32>, Query, description = "Year; default the latest.")),
    responses((status = 200, body = IndicatorPage), (status = 400, body = ErrorEnvelope),
              (status = 404, description = NOT_FOUND, body = ErrorEnvelope)))]
pub async fn indicator(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ctx: ApiCtx,
) -> ApiResult<IndicatorPage> {
    let year = ctx.year()?;
    let (ds, tables) = load(&state, &ctx).await?;
    Ok(Json(dashboard::indicator_page(
        &ds, &tables, &id, year, ctx.lang,
    )?))
}

/// Scores of every region-year, or of one year.
#[utoipa::path(get, path = "/api/v1/scores", tag = "api",
    params(("year" = Option<i32>, Query, description = "Only this year; default every year.")),
    responses((status = 200, body = ScoresView), (status = 400, body = ErrorEnvelope),
              (status = 404, description = NOT_FOUND, body = ErrorEnvelope)))]
pub async fn scores(State(state): State<AppState>, ctx: ApiCtx) -> ApiResult<ScoresView> {
    let year = ctx.year()?;
    let (_, tables) = load(&state, &ctx).await?;
    if let Some(y) = year.filter(|y| !tables.years.contains(y)) {
        return Err(Error::NotFound {
            what: "year",
            key: y.to_string(),
        }
        .into());
    }
    let rows = tables
        .scores
        .iter()
        .filter(|r| year.is_none_or(|y| r.year == y))
        .cloned()
        .collect();
    Ok(Json(ScoresView {
        year,
        years: tables.years.clone(),
        method: tables.method.clone(),
        rows,
    }))
}

/// Regions ranked by a measure in one year (mirrors `/`).
#[utoipa::path(get, path = "/api/v1/rankings", tag = "api",
    params(("year" = Option<i32>, Query, description = "Year; default the latest."),
           ("measure" = Option<String>, Query,
            description = "score (default), a dimension (laborers | tools | objects) or an indicator id.")),
    responses((status = 200, body = Rankings), (status = 400, body = ErrorEnvelope),
              (status = 404, description = NOT_FOUND, body = ErrorEnvelope)))]
pub async fn rankings(State(state): State<AppState>, ctx: ApiCtx) -> ApiResult<Rankings> {
    let year = ctx.year()?;
    let (ds, tables) = load(&state, &ctx).await?;
    let raw = ctx.param("measure").unwrap_or("score");
    let measure = Measure::parse(raw, &ds.framework).ok_or_else(|| {
        ApiError::invalid_parameter(format!("measure: there is no measure '{raw}'"))
    })?;
    Ok(Json(dashboard::rankings(
        &ds, &tables, year, measure, ctx.lang,
    )?))
}

/// Two to five regions side by side (mirrors `/compare`).
#[utoipa::path(get, path = "/api/v1/compare", tag = "api",
    params(("r" = String, Query,
            description = "2 to 5 region codes, comma-separated (`r=CN-BJ,CN-SH`) or repeated (`r=CN-BJ&r=CN-SH`)."),
           ("year" = Option<i32>, Query, description = "Year; default the latest.")),
    responses((status = 200, body = Comparison), (status = 400, body = ErrorEnvelope),
              (status = 404, description = NOT_FOUND, body = ErrorEnvelope)))]
pub async fn compare(State(state): State<AppState>, ctx: ApiCtx) -> ApiResult<Comparison> {
    let year = ctx.year()?;
    let mut codes: Vec<String> = Vec::new();
    for code in ctx
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
    if !(COMPARE_MIN..=COMPARE_MAX).contains(&codes.len()) {
        return Err(ApiError::invalid_parameter(format!(
            "r: give {COMPARE_MIN} to {COMPARE_MAX} region codes (got {})",
            codes.len()
        )));
    }
    let (ds, tables) = load(&state, &ctx).await?;
    Ok(Json(dashboard::compare(
        &ds, &tables, &codes, year, ctx.lang,
    )?))
}

/// Effective weights of every indicator (per year for per-year schemes).
#[utoipa::path(get, path = "/api/v1/weights", tag = "api",
    responses((status = 200, body = WeightsView), (status = 400, body = ErrorEnvelope)))]
pub async fn weights(State(state): State<AppState>, ctx: ApiCtx) -> ApiResult<WeightsView> {
    let (_, tables) = load(&state, &ctx).await?;
    Ok(Json(WeightsView {
        method: tables.method.clone(),
        weights: tables.weights.clone(),
    }))
}

/// The framework, the full method record, coverage and the method's notices.
#[utoipa::path(get, path = "/api/v1/methodology", tag = "api",
    responses((status = 200, body = MethodologyView), (status = 400, body = ErrorEnvelope)))]
pub async fn methodology(State(state): State<AppState>, ctx: ApiCtx) -> ApiResult<MethodologyView> {
    let (ds, tables) = load(&state, &ctx).await?;
    let index = &ds.framework.index;
    let lang = ctx.lang;
    Ok(Json(MethodologyView {
        dataset: ds.id.to_string(),
        version: ds.version.clone(),
        framework: FrameworkInfo {
            id: index.id.clone(),
            name: lang.pick(&index.name_zh, &index.name_en).to_owned(),
            name_zh: index.name_zh.clone(),
            name_en: index.name_en.clone(),
            description: match lang {
                Lang::Zh => index
                    .description_zh
                    .clone()
                    .or_else(|| index.description_en.clone()),
                Lang::En => index
                    .description_en
                    .clone()
                    .or_else(|| index.description_zh.clone()),
            },
            indicators: indicator_infos(&ds, &tables, lang),
        },
        method: tables.method.clone(),
        coverage: tables
            .coverage
            .iter()
            .map(|(indicator, coverage, excluded)| CoverageMeta {
                indicator: indicator.clone(),
                coverage: *coverage,
                excluded: *excluded,
            })
            .collect(),
        notices: tables.notices.clone(),
    }))
}

async fn unknown(uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!(
            "There is no API endpoint {}; see /api/openapi.json.",
            uri.path()
        ),
    )
}

// ---------------------------------------------------------------------------------------------
// OpenAPI

#[derive(OpenApi)]
#[openapi(
    info(
        title = "nqp API",
        description = "JSON API of the new-quality-productivity index: the data behind every \
                       dashboard page, and stable download URLs of computed results. Every \
                       endpoint takes the method parameters of the pages (normalise, weights, \
                       aggregate) and lang (zh | en) for names."
    ),
    paths(
        datasets, regions, region, indicators, indicator, scores, rankings, compare, weights,
        methodology, super::download::download
    ),
    components(schemas(ErrorEnvelope, ErrorItem, Metadata)),
    modifiers(&SharedParams),
)]
pub struct ApiDoc;

/// The query parameters every API endpoint (and download) shares are documented once, here,
/// and added to each path: they are read by `PageCtx`, not declared per handler.
struct SharedParams;

impl Modify for SharedParams {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let weights: Vec<String> = crate::method::WeightScheme::BASIC
            .iter()
            .map(|w| w.to_string())
            .collect();
        let shared = [
            (
                "lang",
                "Language of names and messages: zh | en (default from Accept-Language)."
                    .to_owned(),
            ),
            (
                "dataset",
                "Dataset id (see /api/v1/datasets); default the default dataset.".to_owned(),
            ),
            (
                "v",
                "Version number of the dataset; default its latest version.".to_owned(),
            ),
            (
                "normalise",
                "minmax-panel (default) | minmax-year | zscore | rank.".to_owned(),
            ),
            (
                "weights",
                format!(
                    "{} (default entropy-panel), or combined:<a>+<b>:<geometric|arithmetic>.",
                    weights.join(" | ")
                ),
            ),
            (
                "aggregate",
                "sum (default) | geometric | topsis.".to_owned(),
            ),
        ];
        for (path, item) in openapi.paths.paths.iter_mut() {
            let keys: &[&str] = if path.starts_with("/api/v1/") {
                &["lang", "dataset", "v", "normalise", "weights", "aggregate"]
            } else if path.starts_with("/download/") {
                &["normalise", "weights", "aggregate"]
            } else {
                continue;
            };
            let params = item.parameters.get_or_insert_with(Vec::new);
            for (name, description) in shared.iter().filter(|(n, _)| keys.contains(n)) {
                params.push(
                    ParameterBuilder::new()
                        .name(*name)
                        .parameter_in(ParameterIn::Query)
                        .required(Required::False)
                        .description(Some(description.clone()))
                        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                        .build(),
                );
            }
        }
        let mut api = Tag::new("api");
        api.description = Some("The data behind the dashboard pages.".to_owned());
        let mut downloads = Tag::new("downloads");
        downloads.description =
            Some("Computed results as CSV, XLSX, JSON, Parquet and zip.".to_owned());
        openapi.tags = Some(vec![api, downloads]);
    }
}

/// The OpenAPI 3 document of the API, built once.
pub fn openapi_document() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        ApiDoc::openapi()
            .to_pretty_json()
            .expect("the OpenAPI document always serialises")
    })
}

async fn openapi_json() -> Response {
    ([(CONTENT_TYPE, "application/json")], openapi_document()).into_response()
}
