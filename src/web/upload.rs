//! The HTTP side of an upload, shared by the upload pages and the JSON API: reading the
//! multipart body within the server's limit, staging it, and committing it.
//!
//! Owns: [`UploadForm`] (the multipart body as fields and files, refused with 413 as soon as it
//! passes the limit, so an oversized upload is never buffered) and the two steps [`stage`] and
//! [`commit`]. Must not: parse targets or mappings, or validate data — that is
//! `crate::service::datasets`, once for both surfaces.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;

use axum::body::{Body, HttpBody};
use axum::extract::{FromRequest, FromRequestParts, Multipart, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_LENGTH;

use super::auth::{RequireUser, User};
use super::error::WebError;
use super::state::AppState;
use crate::ingest::LayoutHint;
use crate::service::InputFile;
use crate::service::datasets::{self, MappingRequest, UploadPreview};
use crate::store::{Store, VersionInfo};

/// What an upload form sent: text fields, data files (`files`) and an optional framework.
pub struct UploadForm {
    pub fields: HashMap<String, String>,
    pub files: Vec<InputFile>,
    pub framework: Option<String>,
}

/// How the OpenAPI document describes [`UploadForm`]'s refusal of a body over the limit, for
/// every endpoint that takes it.
#[derive(utoipa::IntoResponses)]
#[response(status = 413, description = "Over the upload limit.")]
pub struct OverUploadLimit(pub super::error::Problem);

impl UploadForm {
    pub fn field(&self, key: &str) -> Option<&str> {
        self.fields.get(key).map(String::as_str)
    }
}

impl FromRequest<AppState> for UploadForm {
    type Rejection = WebError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, WebError> {
        let limit = state.upload_limit();
        let (parts, body) = request.into_parts();
        let declared = parts
            .headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(WebError::TooLarge { limit });
        }
        let bytes = read_limited(body, limit).await?;
        let multipart =
            Multipart::from_request(Request::from_parts(parts, Body::from(bytes)), state)
                .await
                .map_err(|e| WebError::BadRequest(e.body_text()))?;
        read_form(multipart, limit).await
    }
}

/// A signed-in user's upload form whose `csrf` field matched: the multipart twin of
/// [`super::auth::SignedForm`]. The token travels in the body, so it is checked after the body is
/// read; every upload form takes this, so none can forget the check.
pub struct SignedUpload {
    pub user: User,
    pub form: UploadForm,
}

impl FromRequest<AppState> for SignedUpload {
    type Rejection = WebError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, WebError> {
        let (mut parts, body) = request.into_parts();
        let RequireUser(user) = RequireUser::from_request_parts(&mut parts, state).await?;
        let form = UploadForm::from_request(Request::from_parts(parts, body), state).await?;
        user.check_csrf(form.field("csrf"))?;
        Ok(SignedUpload { user, form })
    }
}

/// The whole body, refused as soon as it passes `limit` bytes.
async fn read_limited(mut body: Body, limit: usize) -> Result<Vec<u8>, WebError> {
    let mut bytes = Vec::new();
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let frame =
            frame.map_err(|e| WebError::BadRequest(format!("reading the body failed: {e}")))?;
        if let Ok(data) = frame.into_data() {
            if bytes.len() + data.len() > limit {
                return Err(WebError::TooLarge { limit });
            }
            bytes.extend_from_slice(&data);
        }
    }
    Ok(bytes)
}

async fn read_form(mut multipart: Multipart, limit: usize) -> Result<UploadForm, WebError> {
    let mut form = UploadForm {
        fields: HashMap::new(),
        files: Vec::new(),
        framework: None,
    };
    let multipart_error = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            WebError::TooLarge { limit }
        } else {
            WebError::BadRequest(e.body_text())
        }
    };
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        let file_name = field.file_name().map(clean_file_name);
        let bytes = field.bytes().await.map_err(multipart_error)?;
        match (name.as_str(), file_name) {
            ("files", Some(file_name)) if !bytes.is_empty() => form.files.push(InputFile {
                name: file_name,
                bytes,
                layout: None,
            }),
            ("framework", Some(_)) if !bytes.is_empty() => {
                let text = String::from_utf8(bytes.to_vec()).map_err(|_| {
                    crate::Error::invalid_field(
                        "framework",
                        "the framework file must be UTF-8 text",
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

fn store(state: &AppState) -> Result<Arc<Store>, WebError> {
    state.store().ok_or(WebError::NoStore)
}

/// Validate an upload and keep it for `user` until the commit; its id and preview.
pub async fn stage(
    state: &AppState,
    user: &User,
    form: UploadForm,
) -> Result<(String, UploadPreview), WebError> {
    let store = store(state)?;
    let target = datasets::upload_target(&form.fields)?;
    if form.files.is_empty() {
        return Err(crate::Error::invalid_field(
            "files",
            "choose at least one data file (a `files` part with a file name)",
        )
        .into());
    }
    let layout = match form
        .field("layout")
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        Some(text) => Some(text.parse::<LayoutHint>().map_err(|e| {
            crate::Error::invalid_field("layout", format!("layout hint '{text}': {e}"))
        })?),
        None => None,
    };
    let mut files = form.files;
    for file in &mut files {
        file.layout = layout.clone();
    }
    let framework = form.framework;
    let staged =
        super::blocking(move || datasets::stage_upload(&store, target, files, framework)).await?;
    let preview = staged.preview.clone();
    Ok((state.stage(&user.name, staged)?, preview))
}

/// Commit `user`'s staged upload `id` with the mappings `requests` reads from its preview;
/// `revise` stores cells that differ from the stored ones as a revision.
pub async fn commit(
    state: &AppState,
    user: &User,
    id: String,
    revise: bool,
    requests: impl FnOnce(&UploadPreview) -> Vec<MappingRequest> + Send + 'static,
) -> Result<VersionInfo, WebError> {
    let store = store(state)?;
    let (staging, actor) = (state.clone(), user.name.clone());
    let committed = super::blocking(move || {
        datasets::commit_staged(&store, &staging, &id, &actor, revise, requests)
    })
    .await?;
    state.store_changed();
    Ok(committed)
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
