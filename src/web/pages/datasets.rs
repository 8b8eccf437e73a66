//! `/datasets` and the upload flow, as plain HTML forms (no JavaScript needed):
//! sign in → choose files (`/datasets/new`) → validate and preview (`/datasets/uploads/{id}`)
//! → map new indicators → commit → the dashboard shows the new version (`/?dataset=…&v=…`).
//! Also sign-out, delete (hide, history kept) and the raw downloads of a version's panel and
//! framework. Every change needs a signed-in session and the session's CSRF token.

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE, LOCATION, SET_COOKIE};
use axum::response::{IntoResponse, Response};

use super::{PageResult, render};
use crate::service::InputFile;
use crate::service::datasets::{
    self, FoundIndicator, IndicatorMapping, StagedUpload, UploadTarget,
};
use crate::store::{DatasetInfo, Store, VersionInfo};
use crate::types::{DatasetId, Dimension, Direction, IndicatorId, Lang};
use crate::web::auth::{MaybeUser, RequireUser, User, session_clear_cookie, session_set_cookie};
use crate::web::chrome::Chrome;
use crate::web::ctx::PageCtx;
use crate::web::error::PageError;
use crate::web::state::AppState;

fn no_store(lang: Lang) -> PageError {
    PageError::not_found(
        lang,
        lang.pick(
            "此服务器未启用数据存储（只读演示）。",
            "This server runs without a data store (read-only).",
        )
        .to_owned(),
    )
}

fn store_of(state: &AppState, lang: Lang) -> Result<std::sync::Arc<Store>, PageError> {
    state.store().ok_or_else(|| no_store(lang))
}

/// Run store work on a blocking thread, mapping errors to pages.
async fn blocking<T: Send + 'static>(
    lang: Lang,
    f: impl FnOnce() -> crate::Result<T> + Send + 'static,
) -> Result<T, PageError> {
    crate::web::blocking(f)
        .await
        .map_err(|e| PageError::from_error(lang, e))
}

fn see_other(location: &str) -> Response {
    (StatusCode::SEE_OTHER, [(LOCATION, location.to_owned())]).into_response()
}

pub struct VersionRow {
    pub number: u32,
    pub hash: String,
    pub created: String,
    pub created_by: String,
    pub rows: u64,
    pub note: String,
    pub view_url: String,
    pub panel_url: String,
    pub framework_url: String,
    pub bundle_url: String,
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
}

pub async fn list(
    State(state): State<AppState>,
    ctx: PageCtx,
    MaybeUser(user): MaybeUser,
) -> PageResult {
    let lang = ctx.lang;
    let ds = state.dataset();
    let infos: Vec<(DatasetInfo, Vec<VersionInfo>)> = match state.store() {
        None => Vec::new(),
        Some(store) => {
            blocking(lang, move || {
                let mut out = Vec::new();
                for info in store.datasets(false)? {
                    let versions = store.versions(&info.id)?;
                    out.push((info, versions));
                }
                Ok(out)
            })
            .await?
        }
    };
    let datasets = infos
        .into_iter()
        .map(|(info, versions)| {
            let id = info.id.to_string();
            DatasetRow {
                title: lang.pick(&info.title_zh, &info.title_en).to_owned(),
                delete_url: format!("/datasets/{id}/delete"),
                versions: versions
                    .iter()
                    .rev()
                    .map(|v| {
                        let n = v.number.to_string();
                        VersionRow {
                            number: v.number,
                            hash: v.hash.chars().take(12).collect(),
                            created: v.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                            created_by: v.created_by.clone(),
                            rows: v.rows,
                            note: v.note.clone(),
                            view_url: format!("/?lang={}&dataset={id}&v={n}", lang.as_str()),
                            panel_url: format!("/datasets/{id}/{n}/panel.csv"),
                            framework_url: format!("/datasets/{id}/{n}/framework.toml"),
                            bundle_url: format!("/download/{id}/{}/bundle.zip", v.hash),
                        }
                    })
                    .collect(),
                id,
            }
        })
        .collect();
    let page = DatasetsPage {
        chrome: Chrome::new(&ctx, &ds, "datasets"),
        lang: lang.as_str(),
        has_store: state.store().is_some(),
        csrf: user
            .as_ref()
            .and_then(|u| u.csrf.clone())
            .unwrap_or_default(),
        user: user.map(|u| u.name),
        datasets,
        upload_url: ctx.url("/datasets/new", &[]),
    };
    render(&page, lang)
}

pub async fn login(
    State(state): State<AppState>,
    ctx: PageCtx,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let store = store_of(&state, lang)?;
    let token = form.get("token").cloned().unwrap_or_default();
    let session = blocking(lang, move || {
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
        None => Err(PageError {
            status: StatusCode::UNAUTHORIZED,
            lang,
            message: lang
                .pick(
                    "访问令牌无效或已被撤销。",
                    "That access token is not valid or has been revoked.",
                )
                .to_owned(),
            details: Vec::new(),
        }),
    }
}

pub async fn logout(
    State(state): State<AppState>,
    ctx: PageCtx,
    RequireUser(user): RequireUser,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    user.check_csrf(form.get("csrf").map(String::as_str), ctx.lang)?;
    let store = store_of(&state, ctx.lang)?;
    if let Some(session) = user.session.clone() {
        blocking(ctx.lang, move || Ok(store.delete_session(&session)?)).await?;
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
    RequireUser(user): RequireUser,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    user.check_csrf(form.get("csrf").map(String::as_str), ctx.lang)?;
    let store = store_of(&state, ctx.lang)?;
    let id = DatasetId::new(id.clone()).map_err(|_| {
        PageError::from_error(
            ctx.lang,
            crate::Error::NotFound {
                what: "dataset",
                key: id,
            },
        )
    })?;
    let actor = user.name.clone();
    blocking(ctx.lang, move || Ok(store.delete_dataset(&id, &actor)?)).await?;
    state.bump_generation();
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
    let store = store_of(&state, lang)?;
    let existing = blocking(lang, move || Ok(store.datasets(false)?)).await?;
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
    render(&page, lang)
}

/// A user's file name, reduced to its last path component and printable characters: it is
/// only ever displayed and recorded, never used as a path.
fn clean_file_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base.chars().filter(|c| !c.is_control()).take(200).collect();
    if cleaned.trim().is_empty() {
        "upload.csv".to_owned()
    } else {
        cleaned
    }
}

fn too_large(lang: Lang, limit: usize) -> PageError {
    let mb = limit / (1024 * 1024);
    PageError {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        lang,
        message: match lang {
            Lang::Zh => format!(
                "上传内容超过了 {mb} MB 的上限。请拆分文件或联系管理员调高上限（--upload-limit-mb）。"
            ),
            Lang::En => format!(
                "The upload is larger than the {mb} MB limit. Split the files or ask the administrator to raise it (--upload-limit-mb)."
            ),
        },
        details: Vec::new(),
    }
}

fn bad_form(lang: Lang, zh: &str, en: &str) -> PageError {
    PageError {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        lang,
        message: lang.pick(zh, en).to_owned(),
        details: Vec::new(),
    }
}

/// What the upload form sent.
pub(crate) struct UploadForm {
    pub(crate) fields: HashMap<String, String>,
    pub(crate) files: Vec<InputFile>,
    pub(crate) framework: Option<String>,
}

pub(crate) async fn read_upload(
    mut multipart: Multipart,
    lang: Lang,
    limit: usize,
) -> Result<UploadForm, PageError> {
    let mut form = UploadForm {
        fields: HashMap::new(),
        files: Vec::new(),
        framework: None,
    };
    let multipart_error = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large(lang, limit)
        } else {
            PageError::bad_request(lang, e.body_text())
        }
    };
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        let file_name = field.file_name().map(clean_file_name);
        let bytes = field.bytes().await.map_err(multipart_error)?;
        match (name.as_str(), file_name) {
            ("files", Some(file_name)) if !bytes.is_empty() => form.files.push(InputFile {
                name: file_name,
                bytes: bytes.to_vec(),
            }),
            ("framework", Some(_)) if !bytes.is_empty() => {
                let text = String::from_utf8(bytes.to_vec()).map_err(|_| {
                    bad_form(
                        lang,
                        "指标体系文件必须是 UTF-8 文本。",
                        "The framework file must be UTF-8 text.",
                    )
                })?;
                form.framework = Some(text);
            }
            (_, None) => {
                form.fields
                    .insert(name, String::from_utf8_lossy(&bytes).into_owned());
            }
            _ => {}
        }
    }
    Ok(form)
}

pub async fn upload(
    State(state): State<AppState>,
    ctx: PageCtx,
    RequireUser(user): RequireUser,
    multipart: Multipart,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let store = store_of(&state, lang)?;
    let form = read_upload(multipart, lang, state.upload_limit()).await?;
    user.check_csrf(form.fields.get("csrf").map(String::as_str), lang)?;
    if form.files.is_empty() {
        return Err(bad_form(
            lang,
            "请至少选择一个数据文件。",
            "Choose at least one data file.",
        ));
    }
    let field = |k: &str| {
        form.fields
            .get(k)
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    };
    let target = match field("target").as_str() {
        "existing" => UploadTarget::Existing {
            id: DatasetId::new(field("existing_id"))
                .map_err(|e| PageError::bad_request(lang, e.to_string()))?,
        },
        _ => UploadTarget::New {
            id: DatasetId::new(field("new_id")).map_err(|e| {
                bad_form(
                    lang,
                    &format!("数据集编号无效：{e}"),
                    &format!("Invalid dataset id: {e}"),
                )
            })?,
            title_zh: Some(field("title_zh"))
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| field("new_id")),
            title_en: Some(field("title_en"))
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| field("new_id")),
        },
    };
    let (files, framework) = (form.files, form.framework);
    let staged = blocking(lang, move || {
        datasets::stage_upload(&store, target, files, framework)
    })
    .await?;
    let id = state
        .stage(&user.name, staged)
        .map_err(|e| PageError::from_error(lang, e))?;
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

fn staged_or_404(
    state: &AppState,
    id: &str,
    user: &User,
    lang: Lang,
) -> Result<std::sync::Arc<StagedUpload>, PageError> {
    state.staged(id, &user.name).ok_or_else(|| {
        PageError::not_found(
            lang,
            lang.pick(
                "找不到这次上传（可能已提交、已过期或服务器已重启），请重新上传。",
                "This upload is not pending any more (committed, expired or the server restarted); please upload again.",
            )
            .to_owned(),
        )
    })
}

pub async fn preview(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<String>,
    RequireUser(user): RequireUser,
) -> PageResult {
    let lang = ctx.lang;
    let staged = staged_or_404(&state, &id, &user, lang)?;
    let p = &staged.preview;
    let (known, new): (Vec<_>, Vec<_>) = p
        .indicators
        .iter()
        .enumerate()
        .map(|(i, f)| indicator_view(i, f))
        .partition(|v| !v.known_as.is_empty());
    let page = PreviewPage {
        chrome: Chrome::new(&ctx, &state.dataset(), "datasets"),
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
        files: p
            .files
            .iter()
            .map(|f| FileView {
                name: f.name.clone(),
                encoding: f.encoding.to_owned(),
                layout: f.layout.to_owned(),
                rows: f.rows,
                regions: f.regions,
                years: year_span(&f.years),
                notices: f.notices.iter().map(|n| n.message.clone()).collect(),
            })
            .collect(),
        known,
        new,
        has_framework: p.has_framework,
        dimensions: Dimension::ALL
            .iter()
            .map(|d| (d.as_str(), d.label(lang)))
            .collect(),
        years_left_out: years_left_out_note(&p.years, &p.years_left_out, lang),
    };
    render(&page, lang)
}

pub async fn commit(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<String>,
    RequireUser(user): RequireUser,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    user.check_csrf(form.get("csrf").map(String::as_str), lang)?;
    let store = store_of(&state, lang)?;
    staged_or_404(&state, &id, &user, lang)?;
    let staged = state.take(&id, &user.name).ok_or_else(|| {
        PageError::from_error(
            lang,
            crate::Error::Conflict("this upload is being committed".into()),
        )
    })?;
    let attempt = async {
        let mappings = mappings_from_form(&staged, &form, lang)?;
        let actor = user.name.clone();
        let staged = std::sync::Arc::clone(&staged);
        blocking(lang, move || {
            datasets::commit_upload(&store, &staged, &mappings, &actor)
        })
        .await
    };
    let committed = match attempt.await {
        Ok(committed) => committed,
        Err(e) => {
            state.restore(&id, &user.name, staged);
            return Err(e);
        }
    };
    state.bump_generation();
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

/// Read `map.<i>.<field>` entries for every new indicator the user chose to score.
fn mappings_from_form(
    staged: &StagedUpload,
    form: &HashMap<String, String>,
    lang: Lang,
) -> Result<Vec<IndicatorMapping>, PageError> {
    let mut mappings = Vec::new();
    for (i, found) in staged.preview.indicators.iter().enumerate() {
        if found.known_as.is_some() {
            continue;
        }
        let get = |k: &str| {
            form.get(&format!("map.{i}.{k}"))
                .map(|v| v.trim().to_owned())
                .unwrap_or_default()
        };
        if get("include") != "on" {
            continue;
        }
        let invalid = |what: &str, value: String| {
            bad_form(
                lang,
                &format!("指标“{}”的{what}无效：{value}", found.name),
                &format!("Indicator '{}': invalid {what}: {value}", found.name),
            )
        };
        let id = IndicatorId::new(get("id")).map_err(|e| invalid("id", e.to_string()))?;
        let dimension: Dimension = get("dimension")
            .parse()
            .map_err(|e: String| invalid("dimension", e))?;
        let direction: Direction = get("direction")
            .parse()
            .map_err(|e: String| invalid("direction", e))?;
        let name_zh = Some(get("name_zh"))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| found.name.clone());
        let name_en = Some(get("name_en"))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| found.name.clone());
        mappings.push(IndicatorMapping {
            source_name: found.name.clone(),
            id,
            name_zh,
            name_en,
            dimension,
            subdimension: Some(get("subdimension")).filter(|s| !s.is_empty()),
            direction,
            unit: get("unit"),
            source: Some(get("source"))
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "upload".into()),
        });
    }
    Ok(mappings)
}

/// `/datasets/{id}/{v}/panel.csv` and `/datasets/{id}/{v}/framework.toml`: a version's data (in
/// long form, formula-injection-safe like every CSV download) and framework, so it can be
/// re-uploaded or audited.
pub async fn raw_file(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path((id, number, file)): Path<(String, u32, String)>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let store = store_of(&state, lang)?;
    let Some(kind) = datasets::VersionFile::parse(&file) else {
        return Err(PageError::from_error(
            lang,
            crate::Error::NotFound {
                what: "file",
                key: file,
            },
        ));
    };
    let key = id.clone();
    let bytes = blocking(lang, move || {
        datasets::version_file(&store, &key, number, kind)
    })
    .await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_lose_their_directories() {
        assert_eq!(clean_file_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_file_name("C:\\Users\\x\\gdp.csv"), "gdp.csv");
        assert_eq!(clean_file_name("a\u{0}b.csv"), "ab.csv");
        assert_eq!(clean_file_name("../"), "upload.csv");
    }
}
