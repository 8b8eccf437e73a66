//! `/datasets` and the upload flow, as plain HTML forms (no JavaScript needed):
//! sign in → choose files (`/datasets/new`) → validate and preview (`/datasets/uploads/{id}`)
//! → map new indicators → commit → the dashboard shows the new version (`/?dataset=…&v=…`).
//! Also sign-out, delete (hide, history kept) and the raw downloads of a version's panel and
//! framework. Every change needs a signed-in session and the session's CSRF token.

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE, LOCATION, SET_COOKIE};
use axum::response::{IntoResponse, Response};

use super::{PageResult, render};
use crate::method::MethodSpec;
use crate::service::FileReport;
use crate::service::datasets::{self, FoundIndicator, MappingRequest, UploadPreview, UploadTarget};
use crate::service::datasets::{DatasetEntry, VersionRef};
use crate::service::download::{FileRequest, SHORT_VERSION, download_url};
use crate::service::revisions::RevisedCell;
use crate::store::Store;
use crate::types::{DatasetId, Dimension, Lang};
use crate::web::auth::{
    MaybeUser, RequireUser, SignedForm, User, session_clear_cookie, session_set_cookie,
};
use crate::web::chrome::Chrome;
use crate::web::ctx::PageCtx;
use crate::web::download::{ViewDownloads, listing_file};
use crate::web::error::WebError;
use crate::web::i18n::RevisionTexts;
use crate::web::state::AppState;
use crate::web::upload::{self, SignedUpload};

fn store_of(state: &AppState) -> Result<Arc<Store>, WebError> {
    state.store().ok_or(WebError::NoStore)
}

pub(super) fn see_other(location: &str) -> Response {
    (StatusCode::SEE_OTHER, [(LOCATION, location.to_owned())]).into_response()
}

pub struct VersionRow {
    /// `v3`, or empty for a dataset not from the store.
    pub label: String,
    pub hash: String,
    pub created: String,
    pub created_by: String,
    pub rows: String,
    pub note: String,
    pub view_url: String,
    /// `/datasets/{id}/{v}/…` (empty for a dataset not from the store: nothing to re-read).
    pub panel_url: String,
    pub framework_url: String,
    pub bundle_url: String,
    /// `/datasets/{id}/{v}/revisions.csv` when the version revised cells, else empty.
    pub revisions_url: String,
    /// The diff with the previous version (empty for the first version).
    pub diff_url: String,
}

pub struct DatasetRow {
    pub id: String,
    pub title: String,
    pub versions: Vec<VersionRow>,
    pub delete_url: String,
}

#[derive(Template)]
#[template(path = "pages/datasets.html")]
pub struct DatasetsPage {
    pub chrome: Chrome,
    pub lang: &'static str,
    pub has_store: bool,
    pub user: Option<String>,
    pub csrf: String,
    pub datasets: Vec<DatasetRow>,
    pub upload_url: String,
    pub downloads: ViewDownloads,
    pub r: &'static RevisionTexts,
}

/// The dataset listing of `/datasets` and `/api/v1/datasets`.
pub async fn listing(state: &AppState, ctx: &PageCtx) -> Result<Vec<DatasetEntry>, WebError> {
    let (store, served, spec, lang) = (state.store(), state.dataset(), ctx.spec.clone(), ctx.lang);
    Ok(
        crate::web::blocking(move || datasets::listing(store.as_deref(), &served, &spec, lang))
            .await?,
    )
}

pub async fn list(
    State(state): State<AppState>,
    ctx: PageCtx,
    MaybeUser(user): MaybeUser,
) -> PageResult {
    let view = listing(&state, &ctx).await?;
    if let Some(file) = listing_file(&state, &ctx, "datasets", &view, &view).await? {
        return Ok(file);
    }
    render(&DatasetsPage::new(&ctx, &state, user, &view))
}

fn version_row(ctx: &PageCtx, id: &str, v: &VersionRef) -> VersionRow {
    let n = v.number.map(|n| n.to_string()).unwrap_or_default();
    let stored = |file: &str| match v.number {
        Some(n) => format!("/datasets/{id}/{n}/{file}"),
        None => String::new(),
    };
    let created = v.created_at.as_deref().and_then(|t| {
        chrono::DateTime::parse_from_rfc3339(t)
            .ok()
            .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
    });
    VersionRow {
        label: v.number.map(|n| format!("v{n}")).unwrap_or_default(),
        hash: v.version.chars().take(SHORT_VERSION).collect(),
        created: created.unwrap_or_default(),
        created_by: v.created_by.clone().unwrap_or_default(),
        rows: v.rows.map(|r| r.to_string()).unwrap_or_default(),
        note: v.note.clone().unwrap_or_default(),
        view_url: ctx.url("/", &[("dataset", id), ("v", &n)]),
        panel_url: stored("panel.csv"),
        framework_url: stored("framework.toml"),
        bundle_url: download_url(id, &v.version, FileRequest::Bundle, &MethodSpec::default()),
        revisions_url: if v.revised > 0 {
            stored("revisions.csv")
        } else {
            String::new()
        },
        diff_url: match v.number {
            Some(n) if n > 1 => ctx.url(
                &format!("/datasets/{id}/diff"),
                &[("from", &(n - 1).to_string()), ("to", &n.to_string())],
            ),
            _ => String::new(),
        },
    }
}

impl DatasetsPage {
    fn new(
        ctx: &PageCtx,
        state: &AppState,
        user: Option<User>,
        view: &[DatasetEntry],
    ) -> DatasetsPage {
        let datasets = view
            .iter()
            .map(|d| DatasetRow {
                id: d.id.clone(),
                title: d.title.clone(),
                delete_url: format!("/datasets/{}/delete", d.id),
                versions: d
                    .versions
                    .iter()
                    .rev()
                    .map(|v| version_row(ctx, &d.id, v))
                    .collect(),
            })
            .collect();
        DatasetsPage {
            chrome: Chrome::new(ctx, &state.dataset(), "datasets"),
            lang: ctx.lang.as_str(),
            has_store: state.store().is_some(),
            csrf: user
                .as_ref()
                .and_then(|u| u.csrf.clone())
                .unwrap_or_default(),
            user: user.map(|u| u.name),
            datasets,
            upload_url: ctx.url("/datasets/new", &[]),
            downloads: ViewDownloads::new(ctx, &state.dataset(), &[]),
            r: RevisionTexts::get(ctx.lang),
        }
    }
}

pub async fn login(
    State(state): State<AppState>,
    ctx: PageCtx,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let store = store_of(&state)?;
    let token = form.get("token").cloned().unwrap_or_default();
    let session = crate::web::blocking(move || {
        Ok(match store.verify_token(token.trim())? {
            Some(info) => Some(store.create_session(info.id)?),
            None => None,
        })
    })
    .await?;
    match session {
        Some(session) => {
            let mut response = see_other(&ctx.url("/datasets", &[]));
            response.headers_mut().insert(
                SET_COOKIE,
                session_set_cookie(&session).parse().expect("ASCII cookie"),
            );
            Ok(response)
        }
        None => Err(WebError::BadToken),
    }
}

pub async fn logout(
    State(state): State<AppState>,
    ctx: PageCtx,
    SignedForm { user, .. }: SignedForm,
) -> Result<Response, WebError> {
    let store = store_of(&state)?;
    if let Some(session) = user.session.clone() {
        crate::web::blocking(move || Ok(store.delete_session(&session)?)).await?;
    }
    let mut response = see_other(&ctx.url("/datasets", &[]));
    response.headers_mut().insert(
        SET_COOKIE,
        session_clear_cookie().parse().expect("ASCII cookie"),
    );
    Ok(response)
}

pub async fn delete(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<String>,
    SignedForm { user, .. }: SignedForm,
) -> Result<Response, WebError> {
    let store = store_of(&state)?;
    let id = DatasetId::new(id.clone()).map_err(|_| crate::Error::NotFound {
        what: "dataset",
        key: id,
    })?;
    let actor = user.name.clone();
    crate::web::blocking(move || Ok(store.delete_dataset(&id, &actor)?)).await?;
    state.store_changed();
    Ok(see_other(&ctx.url("/datasets", &[])))
}

#[derive(Template)]
#[template(path = "pages/upload_new.html")]
pub struct UploadNewPage {
    pub chrome: Chrome,
    pub lang: &'static str,
    pub csrf: String,
    pub existing: Vec<(String, String)>,
    pub limit_mb: usize,
}

pub async fn new_form(
    State(state): State<AppState>,
    ctx: PageCtx,
    RequireUser(user): RequireUser,
) -> PageResult {
    let lang = ctx.lang;
    let store = store_of(&state)?;
    let existing = crate::web::blocking(move || Ok(store.datasets(false)?)).await?;
    let page = UploadNewPage {
        chrome: Chrome::new(&ctx, &state.dataset(), "datasets"),
        lang: lang.as_str(),
        csrf: user.csrf.unwrap_or_default(),
        existing: existing
            .into_iter()
            .map(|d| {
                (
                    d.id.to_string(),
                    lang.pick(&d.title_zh, &d.title_en).to_owned(),
                )
            })
            .collect(),
        limit_mb: state.upload_limit() / (1024 * 1024),
    };
    render(&page)
}

pub async fn upload(
    State(state): State<AppState>,
    ctx: PageCtx,
    SignedUpload { user, form }: SignedUpload,
) -> Result<Response, WebError> {
    let (id, _) = upload::stage(&state, &user, form).await?;
    Ok(see_other(&ctx.url(&format!("/datasets/uploads/{id}"), &[])))
}

pub struct FileView {
    pub name: String,
    pub encoding: String,
    pub layout: String,
    pub rows: usize,
    pub regions: usize,
    pub years: String,
    pub notices: Vec<String>,
}

impl FileView {
    fn new(f: &FileReport) -> FileView {
        FileView {
            name: f.name.clone(),
            encoding: f.encoding.to_owned(),
            layout: f.layout.to_owned(),
            rows: f.rows,
            regions: f.regions,
            years: year_span(&f.years),
            notices: f.notices.iter().map(|n| n.message.clone()).collect(),
        }
    }
}

pub struct IndicatorView {
    pub index: usize,
    pub name: String,
    pub known_as: String,
    pub unit: String,
    pub coverage: String,
    pub suggested_id: String,
}

#[derive(Template)]
#[template(path = "pages/upload_preview.html")]
pub struct PreviewPage {
    pub chrome: Chrome,
    pub lang: &'static str,
    pub csrf: String,
    pub commit_url: String,
    pub target: String,
    pub region_set: String,
    pub regions: usize,
    pub years: String,
    pub files: Vec<FileView>,
    pub known: Vec<IndicatorView>,
    pub new: Vec<IndicatorView>,
    pub has_framework: bool,
    pub dimensions: Vec<(&'static str, &'static str)>,
    /// A sentence listing the upload's years outside the dataset's span (empty when none).
    pub years_left_out: String,
    /// A sentence counting the cells equal to the stored ones (empty when none).
    pub agreed_note: String,
    /// The cells whose uploaded value differs from the stored one.
    pub revised: Vec<RevisedRow>,
    pub r: &'static RevisionTexts,
}

/// One differing cell as the preview lists it.
pub struct RevisedRow {
    pub region: String,
    pub year: i32,
    pub indicator: String,
    pub old: String,
    pub new: String,
    pub change: String,
}

impl From<&RevisedCell> for RevisedRow {
    fn from(c: &RevisedCell) -> RevisedRow {
        RevisedRow {
            region: c.region.clone(),
            year: c.year,
            indicator: c.indicator.clone(),
            old: c.old.to_string(),
            new: c.new.to_string(),
            change: c
                .change_pct
                .map_or_else(|| "—".into(), |p| format!("{p:+.2}")),
        }
    }
}

/// A sentence counting the upload's cells equal to the stored ones (empty when none).
fn agreed_note(agreed: usize, lang: Lang) -> String {
    match (agreed, lang) {
        (0, _) => String::new(),
        (n, Lang::Zh) => {
            format!("{n} 个单元格与已存储的数值相同（在文件所写精度内），按同一观测值合并。")
        }
        (n, Lang::En) => format!(
            "{n} cells equal the stored values (to the precision written in the file) and merge as one observation."
        ),
    }
}

fn year_span(years: &[i32]) -> String {
    match (years.first(), years.last()) {
        (Some(a), Some(b)) if a != b => format!("{a}–{b}"),
        (Some(a), _) => a.to_string(),
        _ => "—".into(),
    }
}

/// A sentence listing the upload's years outside the dataset's span (empty when none).
fn years_left_out_note(kept: &[i32], left_out: &[i32], lang: Lang) -> String {
    if left_out.is_empty() {
        return String::new();
    }
    let years: Vec<String> = left_out.iter().map(i32::to_string).collect();
    match lang {
        Lang::Zh => format!(
            "以下年份不在该数据集的年份范围（{}）内，不会合并：{}。",
            year_span(kept),
            years.join("、")
        ),
        Lang::En => format!(
            "These years lie outside the dataset's years ({}) and are not merged: {}.",
            year_span(kept),
            years.join(", ")
        ),
    }
}

fn indicator_view(index: usize, f: &FoundIndicator) -> IndicatorView {
    IndicatorView {
        index,
        name: f.name.clone(),
        known_as: f.known_as.clone().unwrap_or_default(),
        unit: f.unit.clone().unwrap_or_default(),
        coverage: format!("{:.0}%", f.coverage * 100.0),
        suggested_id: f.suggested_id.clone(),
    }
}

pub async fn preview(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<String>,
    RequireUser(user): RequireUser,
) -> PageResult {
    let staged = state
        .staged(&id, &user.name)
        .ok_or_else(|| WebError::UploadNotPending(id.clone()))?;
    render(&PreviewPage::new(&ctx, &state, &user, &id, &staged.preview))
}

impl PreviewPage {
    fn new(ctx: &PageCtx, state: &AppState, user: &User, id: &str, p: &UploadPreview) -> Self {
        let lang = ctx.lang;
        let (known, new): (Vec<_>, Vec<_>) = p
            .indicators
            .iter()
            .enumerate()
            .map(|(i, f)| indicator_view(i, f))
            .partition(|v| !v.known_as.is_empty());
        PreviewPage {
            chrome: Chrome::new(ctx, &state.dataset(), "datasets"),
            lang: lang.as_str(),
            csrf: user.csrf.clone().unwrap_or_default(),
            commit_url: ctx.url(&format!("/datasets/uploads/{id}/commit"), &[]),
            target: match &p.target {
                UploadTarget::New { id, .. } => format!("{} → {id}", ctx.t.target_new),
                UploadTarget::Existing { id } => format!("{} → {id}", ctx.t.target_existing),
            },
            region_set: p
                .region_set
                .clone()
                .unwrap_or_else(|| ctx.t.none_label.to_owned()),
            regions: p.regions,
            years: year_span(&p.years),
            files: p.files.iter().map(FileView::new).collect(),
            known,
            new,
            has_framework: p.has_framework,
            dimensions: Dimension::ALL
                .iter()
                .map(|d| (d.as_str(), d.label(lang)))
                .collect(),
            years_left_out: years_left_out_note(&p.years, &p.years_left_out, lang),
            agreed_note: agreed_note(p.agreed, lang),
            revised: p.revised.iter().map(RevisedRow::from).collect(),
            r: RevisionTexts::get(lang),
        }
    }
}

pub async fn commit(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<String>,
    SignedForm { user, fields }: SignedForm,
) -> Result<Response, WebError> {
    // An HTML checkbox sends `on` when ticked and nothing otherwise.
    let revise = fields.get("revise").is_some_and(|v| v == "on");
    let committed = upload::commit(&state, &user, id, revise, move |preview| {
        MappingRequest::from_form(preview, &fields)
    })
    .await?;
    // The dataset and version just committed replace any the page was showing.
    let url = ctx.url(
        "/",
        &[
            ("dataset", committed.dataset.as_str()),
            ("v", &committed.number.to_string()),
        ],
    );
    Ok(see_other(&url))
}

/// `/datasets/{id}/{v}/panel.csv` and `/datasets/{id}/{v}/framework.toml`: a version's data (in
/// long form, formula-injection-safe like every CSV download) and framework, so it can be
/// re-uploaded or audited.
pub async fn raw_file(
    State(state): State<AppState>,
    Path((id, number, file)): Path<(String, u32, String)>,
) -> Result<Response, WebError> {
    let store = store_of(&state)?;
    let Some(kind) = datasets::VersionFile::parse(&file) else {
        return Err(crate::Error::NotFound {
            what: "file",
            key: file,
        }
        .into());
    };
    let key = id.clone();
    let bytes =
        crate::web::blocking(move || datasets::version_file(&store, &key, number, kind)).await?;
    let content_type = kind.content_type();
    let name = format!("{id}-v{number}-{file}");
    Ok((
        [
            (CONTENT_TYPE, content_type.to_owned()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}
