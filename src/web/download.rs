//! `/download/{dataset}/{version}/{file}`: stable URLs of every download of a computed index.
//!
//! Owns: the download URLs, their checks (dataset id, full or 12-hex-digit version) and HTTP
//! framing (content type, `Content-Disposition: attachment`, a `Link` to the metadata).
//! The method comes from the same query parameters as the pages (`normalise`, `weights`,
//! `aggregate`); `bom=1` asks for the Excel CSV variant. Must not: build tables or write file
//! formats — that is `crate::service::download` — or compute: the result and the rendered file
//! come from the cache in [`AppState`].

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::HeaderValue;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE, LINK};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::cache::DerivedFile;
use super::ctx::PageCtx;
use super::error::WebError;
use super::state::AppState;
use crate::method::MethodSpec;
use polars::prelude::DataFrame;
use serde::Serialize;

use crate::service::dashboard::{Dataset, ResultTables};
use crate::service::download::{
    Export, FileRequest, Format, SHORT_VERSION, download_url, rows_frame,
};
use crate::service::sandbox::ManualWeights;
use crate::types::DatasetId;

/// The download routes, to be merged into the app's router.
pub fn download_routes() -> Router<AppState> {
    Router::new().route("/download/{dataset}/{version}/{file}", get(download))
}

/// Does a URL's version name the content hash `hash` (in full or by its first 12 hex digits)?
fn version_matches(hash: &str, version: &str) -> bool {
    version == hash
        || (version.len() == SHORT_VERSION
            && version.bytes().all(|b| b.is_ascii_hexdigit())
            && hash.starts_with(version))
}

/// The dataset version a download URL names: a stored version when there is a store (the
/// store is the record of every version), else the one dataset the state serves.
pub async fn resolve_version(
    state: &AppState,
    id: &str,
    version: &str,
) -> crate::Result<Arc<Dataset>> {
    let not_found = || crate::Error::NotFound {
        what: "dataset version",
        key: format!("{id}/{version}"),
    };
    if let Some(store) = state.store() {
        let Ok(dataset_id) = DatasetId::new(id) else {
            return Err(not_found());
        };
        let wanted = version.to_owned();
        let number = super::blocking(move || {
            Ok(store
                .versions(&dataset_id)?
                .into_iter()
                .find(|v| version_matches(&v.hash, &wanted))
                .map(|v| v.number))
        })
        .await?;
        if let Some(number) = number {
            return state.resolve(Some(id), Some(number)).await;
        }
    }
    let default = state.dataset();
    if default.id.as_str() == id && version_matches(&default.version, version) {
        return Ok(default);
    }
    Err(not_found())
}

/// One download: a table in a format, `metadata.json` or `bundle.zip`.
#[utoipa::path(
    get,
    path = "/download/{dataset}/{version}/{file}",
    tag = "downloads",
    params(
        ("dataset" = String, Path, description = "Dataset id."),
        ("version" = String, Path, description = "Dataset version: the full content hash or its first 12 hex digits."),
        ("file" = String, Path, description = "`{table}.{ext}` with table scores | weights | normalised | imputation and ext csv | xlsx | json | parquet; or metadata.json; or bundle.zip (every table in every format plus metadata.json)."),
        ("bom" = Option<String>, Query, description = "`1`: CSV with a UTF-8 byte-order mark, for Excel."),
    ),
    responses(
        (status = 200, description = "The file, as an attachment. metadata.json has the schema Metadata.", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 404, description = "Unknown dataset, version or file."),
    )
)]
pub async fn download(
    State(state): State<AppState>,
    Path((dataset, version, file)): Path<(String, String, String)>,
    ctx: PageCtx,
) -> Result<Response, WebError> {
    let request = FileRequest::parse(&file).ok_or_else(|| crate::Error::NotFound {
        what: "download",
        key: file.clone(),
    })?;
    let ds = resolve_version(&state, &dataset, &version).await?;
    let (bom, metadata_url) = (bom(&ctx), metadata_url(&ds, &ctx.spec));
    // Built once per (version, method, file) from the cached result, then served from the cache
    // (byte-identical on every request while it stays there).
    let file = state
        .file_for(
            ds,
            &ctx.spec,
            format!("{}?bom={bom}", request.segment()),
            move |ds, tables| {
                let export = Export::new(ds, &tables.result, chrono::Utc::now());
                Ok(DerivedFile {
                    name: export.file_name(request),
                    bytes: export.render(request, bom)?.into(),
                })
            },
        )
        .await?;
    attachment(
        &file.name,
        request.content_type(),
        &metadata_url,
        file.bytes.clone(),
    )
}

/// `bom=1`: CSV with a UTF-8 byte-order mark, for Excel.
fn bom(ctx: &PageCtx) -> bool {
    matches!(ctx.param("bom"), Some("1" | "true" | "yes"))
}

fn metadata_url(ds: &Dataset, spec: &MethodSpec) -> String {
    download_url(ds.id.as_str(), &ds.version, FileRequest::Metadata, spec)
}

/// A file response: `Content-Disposition: attachment` and a `Link` to its metadata.
pub(crate) fn attachment(
    name: &str,
    content_type: &'static str,
    metadata_url: &str,
    bytes: impl Into<axum::body::Bytes>,
) -> Result<Response, WebError> {
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        .map_err(|e| internal(format!("file name {name:?}: {e}")))?;
    let link = HeaderValue::from_str(&format!("<{metadata_url}>; rel=\"describedby\""))
        .map_err(|e| internal(format!("link {metadata_url:?}: {e}")))?;
    Ok((
        [
            (CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (CONTENT_DISPOSITION, disposition),
            (LINK, link),
        ],
        bytes.into(),
    )
        .into_response())
}

/// `?format=csv|xlsx|json|parquet` on a page: the page's view as a file instead of HTML
/// (`None` without the parameter). `name` says what the view is (`rankings-2022-score`); `rows`
/// are its table (see [`Export::render_view`]); method and version come from the request.
/// `manual` is `Some` for a view whose scores use the reader's weights (the weight sandbox):
/// the metadata and the XLSX `weights` sheet record them, and the `Link` header points to the
/// view's own JSON (whose metadata says so) instead of the nominal method's `metadata.json`.
pub async fn view_file<T, R>(
    ctx: &PageCtx,
    ds: &Arc<Dataset>,
    tables: &Arc<ResultTables>,
    name: &str,
    view: &T,
    rows: &[R],
    manual: Option<ManualWeights>,
) -> Result<Option<Response>, WebError>
where
    T: Serialize + Clone + Send + 'static,
    R: Serialize,
{
    if ctx.param("format").is_none() {
        return Ok(None);
    }
    let rows = rows_frame(rows)?;
    frame_file(ctx, ds, tables, name, view, rows, manual)
        .await
        .map(Some)
}

/// [`view_file`] for rows already framed (a page that picks one of several tables of
/// different row types), once the request asked for a file.
pub async fn frame_file<T>(
    ctx: &PageCtx,
    ds: &Arc<Dataset>,
    tables: &Arc<ResultTables>,
    name: &str,
    view: &T,
    rows: DataFrame,
    manual: Option<ManualWeights>,
) -> Result<Response, WebError>
where
    T: Serialize + Clone + Send + 'static,
{
    let raw = ctx.param("format").unwrap_or_default();
    let format = Format::ALL
        .into_iter()
        .find(|f| f.extension() == raw)
        .ok_or_else(|| {
            WebError::invalid_parameter(
                "format",
                format!("'{raw}' is not csv, xlsx, json or parquet"),
            )
        })?;
    let metadata_url = match manual {
        Some(_) => ctx.with_params(&[("format", "json"), ("bom", ""), ("table", "")]),
        None => metadata_url(ds, &ctx.spec),
    };
    let bom = bom(ctx);
    let (ds, tables, view, name) = (
        Arc::clone(ds),
        Arc::clone(tables),
        view.clone(),
        name.to_owned(),
    );
    let (file, bytes) = super::blocking(move || {
        Export::new(&ds, &tables.result, chrono::Utc::now()).render_view(
            &name,
            &view,
            &rows,
            format,
            bom,
            manual.as_ref(),
        )
    })
    .await?;
    attachment(&file, format.content_type(), &metadata_url, bytes)
}

/// [`view_file`] for a page whose view needs no computed index (the dataset listing): the
/// requested dataset is loaded, for the file's name and metadata, only when a file is asked for.
pub async fn listing_file(
    state: &AppState,
    ctx: &PageCtx,
    name: &str,
    view: &(impl Serialize + Clone + Send + 'static),
    rows: &[impl Serialize],
) -> Result<Option<Response>, WebError> {
    if ctx.param("format").is_none() {
        return Ok(None);
    }
    let (ds, tables) = super::pages::load(state, ctx).await?;
    view_file(ctx, &ds, &tables, name, view, rows, None).await
}

/// The "download this view" links of a page, for `templates/downloads.html`.
pub struct ViewDownloads {
    pub title: &'static str,
    /// `(label, format, url)`, one per table (`tables`) and format, then the JSON of the view.
    pub links: Vec<(String, &'static str, String)>,
    pub metadata_url: String,
}

impl ViewDownloads {
    /// Links to this very page as files; `tables` names the page's tables when it has several
    /// (`table=`), else is empty.
    pub fn new(ctx: &PageCtx, ds: &Dataset, tables: &[&str]) -> ViewDownloads {
        let excel = ctx.lang.pick("CSV（Excel）", "CSV (Excel)");
        let mut links = Vec::new();
        for table in if tables.is_empty() { &[""][..] } else { tables } {
            let prefix = if table.is_empty() {
                String::new()
            } else {
                format!("{table}: ")
            };
            for (label, format, bom) in [
                ("CSV", "csv", ""),
                (excel, "csv", "1"),
                ("XLSX", "xlsx", ""),
            ] {
                let url = ctx.with_params(&[("format", format), ("bom", bom), ("table", table)]);
                links.push((format!("{prefix}{label}"), format, url));
            }
        }
        links.push((
            "JSON".to_owned(),
            "json",
            ctx.with_params(&[("format", "json")]),
        ));
        ViewDownloads {
            title: ctx.lang.pick("下载本页数据", "Download this view"),
            links,
            metadata_url: metadata_url(ds, &ctx.spec),
        }
    }
}

fn internal(detail: String) -> WebError {
    crate::Error::Internal(detail).into()
}
