//! JSON API v1 (`/api/v1/…`) and its OpenAPI document (`/api/openapi.json`).
//!
//! Owns: the API routes, the thin API view types that have no dashboard twin (dataset, region
//! and indicator listings) and the OpenAPI document. Every endpoint mirrors a page and takes
//! the same query parameters, parsed by the same [`PageCtx`] (`lang`, `dataset`, `v`, `year`,
//! `measure`, `r`, `normalise`, `weights`, `aggregate`); bodies are the dashboard view data of
//! `crate::service::dashboard`, serialised as they are — nothing is recomputed here.
//! Must not: compute index values, choose an error status (handlers return
//! [`WebError`]; `web::error` maps it once, for pages and API alike), or validate or store
//! uploads itself (`web::upload` and `service::datasets` do, for the pages too).
//!
//! Errors are the envelope of [`Problem`]. Successful bodies are the view objects themselves.
//!
//! Writes (`POST /api/v1/uploads`, `POST /api/v1/uploads/{id}/commit`) mirror the upload pages
//! through the same functions (`web::upload::stage`, `web::upload::commit`); they accept only
//! `Authorization: Bearer <token>` — never the browser's session cookie, which would need a
//! CSRF check a script cannot make.

use std::sync::OnceLock;

use chrono::SecondsFormat;

use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Required, Tag};
use utoipa::{Modify, OpenApi, ToSchema};

use super::auth::{User, current_user};
use super::ctx::{PageCtx, YearParam};
use super::error::{BadQuery, ErrorItem, Problem, UnknownKey, WebError};
use super::state::AppState;
use super::upload::{self, OverUploadLimit, UploadForm};
use crate::Error;
use crate::method::{MethodRecord, MethodSpec};
use crate::service::dashboard::{
    self, COMPARE_MAX, COMPARE_MIN, Comparison, IndicatorPage, Rankings, RegionProfile, ScoreRow,
    WeightRow,
};
use crate::service::datasets::{DatasetEntry, MappingRequest, UploadPreview};
use crate::service::download::{DownloadLink, Metadata, download_links};
use crate::service::methodology::{self, IndicatorInfo, MethodologyView};
use crate::store::VersionInfo;
use crate::types::Lang;

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
        .route("/api/v1/sandbox", get(super::pages::sandbox::api))
        .route(
            "/api/v1/regions/{code}/change",
            get(super::pages::change::api),
        )
        .route("/api/v1/datasets/{id}/diff", get(super::pages::diff::api))
        .route(
            "/api/v1/robustness/{part}",
            get(super::pages::robustness::api),
        )
        .route(
            "/api/v1/uploads",
            // The handler enforces the server's upload limit itself (a JSON 413): axum's 2 MB
            // default must not cut in first.
            post(upload).layer(DefaultBodyLimit::disable()),
        )
        .route("/api/v1/uploads/{id}/commit", post(commit))
        .route(
            "/api/v1/basemap",
            get(super::pages::basemap::api_get)
                .post(super::pages::basemap::api_post)
                .delete(super::pages::basemap::api_delete)
                // The form reader enforces the server's upload limit itself.
                .layer(DefaultBodyLimit::disable()),
        )
        // Unknown API URLs answer with the JSON envelope, not the HTML 404 page.
        .route("/api/{*rest}", any(unknown))
}

type ApiResult<T> = Result<Json<T>, WebError>;

// ---------------------------------------------------------------------------------------------
// API view types without a dashboard twin

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

// ---------------------------------------------------------------------------------------------
// Handlers

/// The datasets served (every stored dataset when there is a store), with their versions and
/// the download links of the latest version.
#[utoipa::path(get, path = "/api/v1/datasets", tag = "api",
    responses((status = 200, body = Vec<DatasetEntry>), BadQuery))]
pub async fn datasets(State(state): State<AppState>, ctx: PageCtx) -> ApiResult<Vec<DatasetEntry>> {
    Ok(Json(super::pages::datasets::listing(&state, &ctx).await?))
}

/// Every region with a score.
#[utoipa::path(get, path = "/api/v1/regions", tag = "api",
    responses((status = 200, body = Vec<RegionInfo>), BadQuery))]
pub async fn regions(State(state): State<AppState>, ctx: PageCtx) -> ApiResult<Vec<RegionInfo>> {
    let (ds, tables) = super::pages::load(&state, &ctx).await?;
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
           YearParam),
    responses((status = 200, body = RegionProfile), BadQuery, UnknownKey))]
pub async fn region(
    State(state): State<AppState>,
    Path(code): Path<String>,
    ctx: PageCtx,
) -> ApiResult<RegionProfile> {
    let (_, _, profile) = super::pages::region::load_profile(&state, &ctx, &code).await?;
    Ok(Json(profile))
}

/// The framework's indicators with their effective weights and coverage.
#[utoipa::path(get, path = "/api/v1/indicators", tag = "api",
    responses((status = 200, body = Vec<IndicatorInfo>), BadQuery))]
pub async fn indicators(
    State(state): State<AppState>,
    ctx: PageCtx,
) -> ApiResult<Vec<IndicatorInfo>> {
    let (ds, tables) = super::pages::load(&state, &ctx).await?;
    Ok(Json(methodology::indicator_infos(&ds, &tables, ctx.lang)))
}

/// One indicator across regions (mirrors `/indicators/{id}`).
#[utoipa::path(get, path = "/api/v1/indicators/{id}", tag = "api",
    params(("id" = String, Path, description = "Indicator id."),
           YearParam),
    responses((status = 200, body = IndicatorPage), BadQuery, UnknownKey))]
pub async fn indicator(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ctx: PageCtx,
) -> ApiResult<IndicatorPage> {
    let (_, _, view) = super::pages::indicator::load_view(&state, &ctx, &id).await?;
    Ok(Json(view))
}

/// Scores of every region-year, or of one year.
#[utoipa::path(get, path = "/api/v1/scores", tag = "api",
    params(("year" = Option<i32>, Query, description = "Only this year; default every year.")),
    responses((status = 200, body = ScoresView), BadQuery, UnknownKey))]
pub async fn scores(State(state): State<AppState>, ctx: PageCtx) -> ApiResult<ScoresView> {
    let year = ctx.year()?;
    let (_, tables) = super::pages::load(&state, &ctx).await?;
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
    params(YearParam,
           ("measure" = Option<String>, Query,
            description = "score (default), a dimension (laborers | tools | objects) or an indicator id."),
           ("sort" = Option<String>, Query,
            description = "Order of `rows` as on the page: rank (default), name, group, value, change, score, laborers, tools or objects; rows without a value last."),
           ("dir" = Option<String>, Query, description = "asc (default) or desc.")),
    responses((status = 200, body = Rankings), BadQuery, UnknownKey))]
pub async fn rankings(State(state): State<AppState>, ctx: PageCtx) -> ApiResult<Rankings> {
    let (ds, tables) = super::pages::load(&state, &ctx).await?;
    Ok(Json(super::pages::rankings::view(&ctx, &ds, &tables)?))
}

/// Two to five regions side by side (mirrors `/compare`).
#[utoipa::path(get, path = "/api/v1/compare", tag = "api",
    params(("r" = String, Query,
            description = "2 to 5 region codes, comma-separated (`r=CN-BJ,CN-SH`) or repeated (`r=CN-BJ&r=CN-SH`)."),
           YearParam),
    responses((status = 200, body = Comparison), BadQuery, UnknownKey))]
pub async fn compare(State(state): State<AppState>, ctx: PageCtx) -> ApiResult<Comparison> {
    let year = ctx.year()?;
    let codes = ctx.regions();
    if !(COMPARE_MIN..=COMPARE_MAX).contains(&codes.len()) {
        return Err(WebError::invalid_parameter(
            "r",
            format!(
                "give {COMPARE_MIN} to {COMPARE_MAX} region codes (got {})",
                codes.len()
            ),
        ));
    }
    let (ds, tables) = super::pages::load(&state, &ctx).await?;
    Ok(Json(dashboard::compare(
        &ds, &tables, &codes, year, ctx.lang,
    )?))
}

/// Effective weights of every indicator (per year for per-year schemes).
#[utoipa::path(get, path = "/api/v1/weights", tag = "api",
    responses((status = 200, body = WeightsView), BadQuery))]
pub async fn weights(State(state): State<AppState>, ctx: PageCtx) -> ApiResult<WeightsView> {
    let (_, tables) = super::pages::load(&state, &ctx).await?;
    Ok(Json(WeightsView {
        method: tables.method.clone(),
        weights: tables.weights.clone(),
    }))
}

/// The framework, the full method record, coverage and the method's notices.
#[utoipa::path(get, path = "/api/v1/methodology", tag = "api",
    responses((status = 200, body = MethodologyView), BadQuery))]
pub async fn methodology(
    State(state): State<AppState>,
    ctx: PageCtx,
) -> ApiResult<MethodologyView> {
    let (ds, tables) = super::pages::load(&state, &ctx).await?;
    Ok(Json(methodology::methodology(&ds, &tables, ctx.lang)))
}

// ---------------------------------------------------------------------------------------------
// Writes: upload and commit

/// The actor of an API write: a valid bearer token, and only that. A session cookie is refused
/// (401) rather than CSRF-checked, so a page elsewhere can never make a signed-in browser write.
pub struct BearerUser(pub User);

/// How the OpenAPI document describes [`BearerUser`]'s refusal, for every endpoint that takes it.
#[derive(utoipa::IntoResponses)]
#[response(status = 401, description = "No valid bearer token.")]
pub struct BearerRefused(pub Problem);

impl FromRequestParts<AppState> for BearerUser {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        if state.store().is_none() {
            return Err(WebError::NoStore);
        }
        match current_user(state, parts).await? {
            Some(user) if user.session.is_none() => Ok(BearerUser(user)),
            _ => Err(WebError::BearerNeeded),
        }
    }
}

/// The multipart form of `POST /api/v1/uploads` (documents the request body).
#[derive(Debug, ToSchema)]
pub struct UploadRequest {
    /// `new` (a new dataset) or `existing` (a new version of a stored dataset).
    #[schema(example = "new")]
    pub target: String,
    /// Id of the new dataset (`[a-z0-9-]`), with `target=new`.
    pub new_id: Option<String>,
    /// Chinese title of the new dataset; default its id.
    pub title_zh: Option<String>,
    /// English title of the new dataset; default its id.
    pub title_en: Option<String>,
    /// Id of the stored dataset, with `target=existing`.
    pub existing_id: Option<String>,
    /// Layout hint for tables with years across whose columns detection cannot tell:
    /// `region=B[,indicator=A][,unit=D][,years=C:V]` (letters or numbers from 1); applies to
    /// every file of the upload.
    pub layout: Option<String>,
    /// One or more data files (CSV/XLSX exports, long or wide), each with a file name.
    #[schema(value_type = Vec<String>, format = Binary)]
    pub files: Vec<Vec<u8>>,
    /// Optional framework (TOML) replacing the target's; then no mapping is needed.
    #[schema(value_type = Option<String>, format = Binary)]
    pub framework: Option<Vec<u8>>,
}

/// A validated upload waiting for its commit (nothing is stored yet).
#[derive(Debug, Serialize, ToSchema)]
pub struct StagedView {
    /// Id for `POST /api/v1/uploads/{id}/commit`; kept in memory for the token that made it.
    pub upload_id: String,
    pub commit_url: String,
    /// What was found: target, files (encoding, layout, rows, notices), regions, years, and
    /// every indicator with `known_as` (its framework id) or `suggested_id` (a new one).
    #[schema(value_type = Object)]
    pub preview: UploadPreview,
}

/// The body of a commit: the new indicators to score. New indicators without a mapping are
/// stored but not scored; indicators the framework already knows need none.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommitRequest {
    #[serde(default)]
    pub mappings: Vec<MappingRequest>,
    /// Store the cells whose values differ from the stored ones (the preview's `revised`) as a
    /// revision: a new version recording each cell's old and new value. Without it such an
    /// upload is refused (409 `data.revision_needed`).
    #[serde(default)]
    pub revise: bool,
}

/// The version a commit stored, and where to see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CommittedView {
    pub dataset: String,
    /// 1, 2, … per dataset (`v=`).
    pub number: u32,
    /// Content hash (SHA-256, hex).
    pub hash: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub created_by: String,
    pub rows: u64,
    pub note: String,
    /// The dashboard showing this version.
    pub view_url: String,
    /// Its rankings through this API.
    pub api_url: String,
    pub bundle_url: String,
    /// Every download of the version under the default method.
    pub downloads: Vec<DownloadLink>,
}

impl CommittedView {
    fn new(v: &VersionInfo) -> CommittedView {
        let spec = MethodSpec::default();
        let id = v.dataset.as_str();
        let links = download_links(id, &v.hash, &spec);
        CommittedView {
            dataset: id.to_owned(),
            number: v.number,
            hash: v.hash.clone(),
            created_at: v.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            created_by: v.created_by.clone(),
            rows: v.rows,
            note: v.note.clone(),
            view_url: format!("/?dataset={id}&v={}", v.number),
            api_url: format!("/api/v1/rankings?dataset={id}&v={}", v.number),
            bundle_url: links
                .iter()
                .find(|l| l.file == "bundle.zip")
                .map(|l| l.url.clone())
                .unwrap_or_default(),
            downloads: links,
        }
    }
}

/// Validate data files (and an optional framework) for a new dataset or a new version; nothing
/// is stored until the commit. Mirrors `POST /datasets/new`.
#[utoipa::path(post, path = "/api/v1/uploads", tag = "uploads",
    security(("bearer" = [])),
    request_body(content = UploadRequest, content_type = "multipart/form-data"),
    responses((status = 201, description = "Validated and staged; commit it next.", body = StagedView),
              BearerRefused, OverUploadLimit,
              (status = 400, description = "Not a multipart form.", body = Problem),
              (status = 404, description = "Unknown existing dataset, or no store.", body = Problem),
              (status = 409, description = "The new dataset id is taken.", body = Problem),
              (status = 422, description = "Invalid fields or files; errors name file, line and column.", body = Problem)))]
pub async fn upload(
    State(state): State<AppState>,
    BearerUser(user): BearerUser,
    form: UploadForm,
) -> Result<(StatusCode, Json<StagedView>), WebError> {
    let (upload_id, preview) = upload::stage(&state, &user, form).await?;
    Ok((
        StatusCode::CREATED,
        Json(StagedView {
            commit_url: format!("/api/v1/uploads/{upload_id}/commit"),
            upload_id,
            preview,
        }),
    ))
}

/// Store a validated upload as a new version, scoring the mapped new indicators. Mirrors the
/// commit of `/datasets/uploads/{id}`.
#[utoipa::path(post, path = "/api/v1/uploads/{id}/commit", tag = "uploads",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "`upload_id` of the staged upload.")),
    request_body(content = CommitRequest, content_type = "application/json"),
    responses((status = 201, description = "Stored as a new version.", body = CommittedView),
              BearerRefused,
              (status = 400, description = "Malformed JSON.", body = Problem),
              (status = 404, description = "No such pending upload for this token.", body = Problem),
              (status = 409, description = "Another commit came first: the dataset has a newer version than the one the upload was reviewed against (`store.changed`), or the new id was taken meanwhile (`store.id_taken`); review the upload again; or the upload gives stored cells other values and `revise` was not set (`data.revision_needed`, naming the cells).", body = Problem),
              (status = 422, description = "Invalid mappings, `revise` with no differing cell, or the result does not compute.", body = Problem)))]
pub async fn commit(
    State(state): State<AppState>,
    BearerUser(user): BearerUser,
    Path(id): Path<String>,
    body: Result<Json<CommitRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<CommittedView>), WebError> {
    let Json(request) = body.map_err(|e| WebError::BadRequest(e.body_text()))?;
    let revise = request.revise;
    let committed = upload::commit(&state, &user, id, revise, move |_| request.mappings).await?;
    Ok((StatusCode::CREATED, Json(CommittedView::new(&committed))))
}

async fn unknown(uri: axum::http::Uri) -> WebError {
    crate::Error::NotFound {
        what: "API endpoint (see /api/openapi.json)",
        key: uri.path().to_owned(),
    }
    .into()
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
        methodology, upload, commit, super::download::download,
        super::pages::sandbox::api, super::pages::robustness::api, super::pages::change::api,
        super::pages::diff::api, super::pages::basemap::api_get, super::pages::basemap::api_post,
        super::pages::basemap::api_delete
    ),
    components(schemas(Problem, ErrorItem, Metadata)),
    modifiers(&SharedParams, &BearerAuth),
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
            let keys: &[&str] = if path.starts_with("/api/v1/uploads") || path == "/api/v1/basemap"
            {
                // Writes choose no dataset or method; only the language of messages.
                &["lang"]
            } else if path.starts_with("/api/v1/") {
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
        let mut uploads = Tag::new("uploads");
        uploads.description = Some(
            "Upload data files and commit them as a new dataset or version (bearer token)."
                .to_owned(),
        );
        openapi.tags = Some(vec![api, uploads, downloads]);
    }
}

/// The `bearer` security scheme of the write endpoints: an access token made with
/// `nqp token`, sent as `Authorization: Bearer <token>`.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An access token (`nqp token create`); browser sessions are not accepted.",
                    ))
                    .build(),
            ),
        );
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
