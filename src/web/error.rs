//! Request errors: the one place where a failure becomes an HTTP status, a stable code and a
//! message in the reader's language — for pages and the JSON API alike.
//!
//! Owns: [`WebError`] (the crate's [`crate::Error`] plus what only HTTP knows: sign-in, CSRF,
//! size limits, bad parameters, no store), the map [`Problem::new`] from an error to
//! `{status, code, message, errors}`, and the [`render_errors`] middleware that renders a
//! problem as the bilingual error page or as the JSON envelope, depending on the URL.
//! Handlers and extractors only return `WebError` (`?` works on every `crate::Error`); none
//! chooses a status or builds an error body. Internal errors are logged with their detail and
//! shown to the reader only as a generic message.
//!
//! JSON envelope: `{"ok": false, "status": 404, "code": "not_found", "message": "…",
//! "errors": [{"code", "message", "file", "line", "column", "column_name"}]}`; the position
//! fields are set for ingest and framework errors, one item per problem of an upload.

use std::sync::Arc;

use askama::Template;
use axum::Json;
use axum::extract::Request;
use axum::http::header::{ACCEPT_LANGUAGE, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::chrome::Chrome;
use super::i18n::{Texts, error_message, negotiate};
use crate::Error;
use crate::service::figure::FigureError;
use crate::store::StoreError;
use crate::types::Lang;

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// A failure of the service layer (bad data, unknown region, store trouble, …).
    #[error(transparent)]
    App(#[from] Error),
    /// A page that changes data, requested without a signed-in session.
    #[error("sign-in needed")]
    SignInNeeded,
    /// An API write without a valid bearer token (a browser session is not accepted there).
    #[error("bearer token needed")]
    BearerNeeded,
    /// Sign-in with a token that is unknown or revoked.
    #[error("invalid access token")]
    BadToken,
    /// A form post without the session's CSRF token.
    #[error("CSRF check failed")]
    Csrf,
    /// A request body over the server's upload limit (bytes).
    #[error("over the upload limit")]
    TooLarge { limit: usize },
    /// A query parameter that does not parse or names nothing (400).
    #[error("{name}: {detail}")]
    InvalidParameter { name: String, detail: String },
    /// A body that cannot be read at all (not multipart, malformed JSON).
    #[error("{0}")]
    BadRequest(String),
    /// The server runs without a store: nothing to upload to or sign in against.
    #[error("no store")]
    NoStore,
    /// An upload id that is not pending for this actor (committed, expired, restarted).
    #[error("upload {0} is not pending")]
    UploadNotPending(String),
    /// A sign-in form posted from another site (`Origin` / `Referer` check).
    #[error("sign-in form from another site")]
    CrossSite,
    /// Too many failed sign-ins from this address or for this token prefix; the response
    /// carries `Retry-After`.
    #[error("too many failed sign-ins; retry after {retry_after} s")]
    Throttled { retry_after: u64 },
}

impl WebError {
    pub fn invalid_parameter(name: &str, detail: impl Into<String>) -> WebError {
        WebError::InvalidParameter {
            name: name.to_owned(),
            detail: detail.into(),
        }
    }
}

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

/// What the reader is told about a failure: the body of every API error response, and the
/// content of every error page.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = ErrorEnvelope)]
pub struct Problem {
    /// Always `false`.
    pub ok: bool,
    /// The HTTP status, repeated.
    pub status: u16,
    /// Stable code of the failure as a whole (the error page shows it too).
    pub code: String,
    /// Summary in the requested language.
    pub message: String,
    /// Every individual problem (at least one).
    pub errors: Vec<ErrorItem>,
}

/// How the OpenAPI document describes the refusal of a query parameter that does not parse
/// (`year`, `measure`, `sort`, method, dataset/version), for every endpoint reading them.
#[derive(utoipa::IntoResponses)]
#[response(status = 400, description = "A query parameter that does not parse.")]
pub struct BadQuery(pub Problem);

/// How the OpenAPI document describes the answer to a request for something the data does not
/// have, for the read endpoints keyed by region, indicator or year.
#[derive(utoipa::IntoResponses)]
#[response(status = 404, description = "Unknown region, indicator or year.")]
pub struct UnknownKey(pub Problem);

impl Problem {
    /// The one error → HTTP map.
    pub fn new(err: &WebError, lang: Lang) -> Problem {
        let (status, code, message) = classify(err, lang);
        let mut errors = match err {
            WebError::App(Error::Ingest(e)) => e
                .errors()
                .iter()
                .map(|one| {
                    let mut item = ErrorItem::new(
                        one.code(),
                        error_message(one.code(), &one.to_string(), lang),
                    );
                    if let Some(pos) = one.position() {
                        item.file = Some(pos.file.clone());
                        item.line = pos.line;
                        item.column = pos.column.map(|c| c as u64);
                        item.column_name = pos.column_name.clone();
                    }
                    item
                })
                .collect(),
            WebError::App(Error::Framework(e)) => {
                let mut item = ErrorItem::new(code, message.clone());
                if let Some(pos) = e.position() {
                    item.file = Some(pos.file.clone());
                    item.line = pos.line.map(u64::from);
                    item.column = pos.column.map(u64::from);
                }
                vec![item]
            }
            WebError::App(Error::DuplicateAcrossFiles { second_file, .. }) => {
                let mut item = ErrorItem::new(code, message.clone());
                item.file = Some(second_file.clone());
                vec![item]
            }
            _ => Vec::new(),
        };
        if errors.is_empty() {
            errors.push(ErrorItem::new(code, message.clone()));
        }
        Problem {
            ok: false,
            status: status.as_u16(),
            code: code.to_owned(),
            message,
            errors,
        }
    }

    fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The JSON envelope.
    pub fn into_json(self) -> Response {
        let status = self.status();
        let mut response = (status, Json(self)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            // RFC 9110: a 401 names the scheme the client should use.
            response.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"nqp\""),
            );
        }
        response
    }

    /// The bilingual error page.
    pub fn into_page(self, lang: Lang) -> Response {
        let t = Texts::get(lang);
        let status = self.status();
        let title = match status {
            StatusCode::NOT_FOUND => t.not_found_title,
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => t.sign_in_needed_title,
            StatusCode::PAYLOAD_TOO_LARGE => t.too_large_title,
            StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY | StatusCode::CONFLICT => {
                t.bad_request_title
            }
            _ => t.error_title,
        };
        // A single item repeats the message; several are listed one by one.
        let details: Vec<String> = if self.errors.len() > 1 {
            self.errors.iter().map(|e| e.message.clone()).collect()
        } else {
            Vec::new()
        };
        let page = ErrorPage {
            chrome: Chrome::minimal(lang),
            title,
            status: self.status,
            code: &self.code,
            message: &self.message,
            details: &details,
        };
        match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(e) => {
                tracing::error!(error = %e, "error page failed to render");
                (status, self.message).into_response()
            }
        }
    }
}

/// Status, code and message of an error; exhaustive, so a new variant must be placed here.
fn classify(err: &WebError, lang: Lang) -> (StatusCode, &'static str, String) {
    let msg = |zh: &str, en: &str| lang.pick(zh, en).to_owned();
    match err {
        WebError::App(app) => classify_app(app, lang),
        WebError::SignInNeeded => (
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            msg(
                "需要登录才能上传或修改数据。请在“数据集”页面用访问令牌登录。",
                "You need to sign in to upload or change data. Sign in with an access token on the Datasets page.",
            ),
        ),
        WebError::BearerNeeded => (
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            msg(
                "API 写操作需要请求头 `Authorization: Bearer <令牌>`（不接受浏览器会话）。",
                "API writes need the header `Authorization: Bearer <token>` with a valid access \
                 token (a browser session is not accepted here).",
            ),
        ),
        WebError::BadToken => (
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            msg(
                "访问令牌无效或已被撤销。",
                "That access token is not valid or has been revoked.",
            ),
        ),
        WebError::Csrf => (
            StatusCode::FORBIDDEN,
            "csrf",
            msg(
                "表单已过期或来源不明（CSRF 校验失败），请刷新页面后重试。",
                "The form is stale or did not come from this site (CSRF check failed); reload the page and try again.",
            ),
        ),
        WebError::TooLarge { limit } => {
            let mb = limit / (1024 * 1024);
            (
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                msg(
                    &format!(
                        "上传内容超过了 {mb} MB 的上限。请拆分文件或联系管理员调高上限（--upload-limit-mb）。"
                    ),
                    &format!(
                        "The upload is larger than the {mb} MB limit. Split the files or ask the administrator to raise it (--upload-limit-mb)."
                    ),
                ),
            )
        }
        WebError::InvalidParameter { name, detail } => (
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
            msg(
                &format!("参数 {name} 无效：{detail}"),
                &format!("{name}: {detail}"),
            ),
        ),
        WebError::BadRequest(detail) => (
            StatusCode::BAD_REQUEST,
            "bad_request",
            msg(
                &format!("请求无法读取：{detail}"),
                &format!("The request cannot be read: {detail}"),
            ),
        ),
        WebError::NoStore => (
            StatusCode::NOT_FOUND,
            "no_store",
            msg(
                "此服务器未启用数据存储（只读演示）。",
                "This server runs without a data store (read-only): there is nothing to upload to.",
            ),
        ),
        WebError::UploadNotPending(id) => (
            StatusCode::NOT_FOUND,
            "not_found",
            msg(
                &format!("找不到这次上传（{id}；可能已提交、已过期或服务器已重启），请重新上传。"),
                &format!(
                    "There is no pending upload '{id}' (committed, expired or the server restarted); please upload again."
                ),
            ),
        ),
        WebError::CrossSite => (
            StatusCode::FORBIDDEN,
            "cross_site",
            msg(
                "登录表单必须来自本站。",
                "The sign-in form must be sent from this site.",
            ),
        ),
        WebError::Throttled { retry_after } => (
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            msg(
                &format!("登录失败次数过多，请 {retry_after} 秒后再试。"),
                &format!("Too many failed sign-ins; try again in {retry_after} seconds."),
            ),
        ),
    }
}

fn classify_app(err: &Error, lang: Lang) -> (StatusCode, &'static str, String) {
    let localized = || error_message(err.code(), &err.to_string(), lang);
    let msg = |zh: &str, en: &str| lang.pick(zh, en).to_owned();
    let internal = || {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            lang.pick(
                "服务器内部错误，已记录。",
                "An internal error occurred; it has been logged.",
            )
            .to_owned(),
        )
    };
    match err {
        Error::NotFound { what, key } => (
            StatusCode::NOT_FOUND,
            err.code(),
            msg(
                &format!("找不到{}“{key}”。", zh_what(what)),
                &format!("There is no {what} '{key}' in this dataset."),
            ),
        ),
        Error::Ingest(_)
        | Error::Framework(_)
        | Error::Method(_)
        | Error::BaseMap(_)
        | Error::DuplicateAcrossFiles { .. } => {
            (StatusCode::UNPROCESSABLE_ENTITY, err.code(), localized())
        }
        Error::InvalidField { field, detail } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            err.code(),
            msg(
                &format!("字段 {field} 无效：{detail}"),
                &format!("{field}: {detail}"),
            ),
        ),
        Error::Conflict(_) | Error::RevisionNeeded { .. } => {
            (StatusCode::CONFLICT, err.code(), localized())
        }
        Error::Store(store) => match store.as_ref() {
            StoreError::Conflict(_) | StoreError::Changed { .. } | StoreError::IdTaken { .. } => {
                (StatusCode::CONFLICT, err.code(), localized())
            }
            StoreError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, err.code(), localized()),
            StoreError::NotFound { .. } => (StatusCode::NOT_FOUND, err.code(), localized()),
            StoreError::Io { .. }
            | StoreError::Sqlite(_)
            | StoreError::Parquet(_)
            | StoreError::Corrupt { .. }
            | StoreError::CatalogLost { .. }
            | StoreError::SchemaTooNew { .. } => internal(),
        },
        Error::Figure(figure) => match figure.as_ref() {
            // The server lacks a font: say which package to install rather than hide it.
            FigureError::NoFont { .. } => {
                (StatusCode::SERVICE_UNAVAILABLE, err.code(), localized())
            }
            FigureError::Option { .. } => (StatusCode::BAD_REQUEST, err.code(), localized()),
            FigureError::Svg(_) | FigureError::Render(_) => internal(),
        },
        Error::Io { .. } | Error::Internal(_) | Error::Polars(_) => internal(),
    }
}

fn zh_what(what: &str) -> &'static str {
    match what {
        "region" => "地区",
        "year" => "年份",
        "indicator" => "指标",
        "page" => "页面",
        "dataset" => "数据集",
        "dataset version" => "数据集版本",
        "file" | "download" => "文件",
        _ => "对象",
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    chrome: Chrome,
    title: &'a str,
    status: u16,
    code: &'a str,
    message: &'a str,
    details: &'a [String],
}

/// Without [`render_errors`] around it (a router built for a test), an error answers with the
/// English JSON envelope; the middleware re-renders it for the request's language and surface.
impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let problem = Problem::new(&self, Lang::En);
        if problem.status().is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let mut response = problem.into_json();
        response.extensions_mut().insert(Arc::new(self));
        response
    }
}

/// Does this URL answer in JSON (the API, and the `.json` form of a page)?
pub fn wants_json(uri: &Uri) -> bool {
    let path = uri.path();
    path.starts_with("/api/") || path.ends_with(".json") || format_param(uri) == Some("json")
}

fn format_param(uri: &Uri) -> Option<&str> {
    uri.query()?
        .split('&')
        .find_map(|kv| kv.strip_prefix("format="))
}

/// Middleware: render a handler's [`WebError`] in the request's language, as the error page
/// or, for JSON URLs, as the envelope.
pub async fn render_errors(request: Request, next: Next) -> Response {
    let query_lang = request.uri().query().and_then(|q| {
        q.split('&')
            .find_map(|kv| kv.strip_prefix("lang="))
            .map(str::to_owned)
    });
    let accept = request
        .headers()
        .get(ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let lang = negotiate(query_lang.as_deref(), accept.as_deref());
    let json = wants_json(request.uri());
    let mut response = next.run(request).await;
    let Some(err) = response.extensions_mut().remove::<Arc<WebError>>() else {
        return response;
    };
    let problem = Problem::new(&err, lang);
    let mut rendered = if json {
        problem.into_json()
    } else {
        problem.into_page(lang)
    };
    // Set by the handler or middleware that failed (429 of the sign-in throttle).
    if let Some(retry) = response.headers().get(RETRY_AFTER) {
        rendered.headers_mut().insert(RETRY_AFTER, retry.clone());
    }
    rendered
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::extract::Path;
    use axum::routing;
    use tower::ServiceExt;

    /// The name of each variant; a match without a wildcard, so a new variant does not compile
    /// until it is named here — and then [`samples`] must hold one of it.
    fn variant(err: &WebError) -> &'static str {
        match err {
            WebError::App(app) => match app {
                Error::Ingest(_) => "ingest",
                Error::Framework(_) => "framework",
                Error::Method(_) => "method",
                Error::DuplicateAcrossFiles { .. } => "duplicate_across_files",
                // `StoreError::code` names every store variant (no wildcard there).
                Error::Store(store) => store.code(),
                Error::Figure(figure) => figure.code(),
                Error::BaseMap(_) => "basemap",
                Error::Conflict(_) => "conflict",
                Error::RevisionNeeded { .. } => "revision_needed",
                Error::InvalidField { .. } => "invalid_field",
                Error::NotFound { .. } => "not_found",
                Error::Io { .. } => "io",
                Error::Internal(_) => "internal",
                Error::Polars(_) => "polars",
            },
            WebError::SignInNeeded => "sign_in_needed",
            WebError::BearerNeeded => "bearer_needed",
            WebError::BadToken => "bad_token",
            WebError::Csrf => "csrf",
            WebError::TooLarge { .. } => "too_large",
            WebError::InvalidParameter { .. } => "invalid_parameter",
            WebError::BadRequest(_) => "bad_request",
            WebError::NoStore => "no_store",
            WebError::UploadNotPending(_) => "upload_not_pending",
            WebError::CrossSite => "cross_site",
            WebError::Throttled { .. } => "throttled",
        }
    }

    /// The number of arms of [`variant`].
    const VARIANTS: usize = 38;

    fn samples() -> Vec<WebError> {
        let io = || std::io::Error::other("disk on fire");
        let store = |e: StoreError| WebError::App(Error::Store(Box::new(e)));
        let ingest = crate::ingest::ingest(
            b"region,year,indicator,value\nCN-BJ,2020,x,abc\n",
            "a.csv",
            None,
        )
        .expect_err("a value that is not a number");
        let framework =
            crate::framework::Framework::from_toml("[index", "f.toml").expect_err("not TOML");
        vec![
            WebError::App(ingest.into()),
            WebError::App(framework.into()),
            WebError::App(crate::method::MethodError::NoData.into()),
            WebError::App(Error::DuplicateAcrossFiles {
                indicator: "x".into(),
                region: "CN-BJ".into(),
                year: 2020,
                first_file: "a.csv".into(),
                second_file: "b.csv".into(),
            }),
            store(StoreError::Io {
                path: "/srv/data".into(),
                source: io(),
            }),
            store(StoreError::Sqlite(rusqlite::Error::InvalidQuery)),
            store(StoreError::Parquet(polars::error::PolarsError::NoData(
                "empty".into(),
            ))),
            store(StoreError::Corrupt {
                what: "v1".into(),
                detail: "hash".into(),
            }),
            store(StoreError::NotFound {
                what: "dataset",
                key: "x".into(),
            }),
            store(StoreError::Conflict("deleted meanwhile".into())),
            store(StoreError::Changed {
                dataset: "x".into(),
                base: 1,
                latest: Some(2),
            }),
            store(StoreError::IdTaken {
                dataset: "x".into(),
            }),
            store(StoreError::Invalid("empty name".into())),
            store(StoreError::SchemaTooNew {
                found: 9,
                supported: 1,
            }),
            store(StoreError::CatalogLost {
                data_dir: "/srv/nqp".into(),
                files: 3,
            }),
            WebError::App(
                FigureError::NoFont {
                    missing: "'广'".into(),
                }
                .into(),
            ),
            WebError::App(
                FigureError::Option {
                    name: "width_cm",
                    detail: "'0' is too narrow".into(),
                }
                .into(),
            ),
            WebError::App(FigureError::Svg("no root".into()).into()),
            WebError::App(FigureError::Render("0×0 px".into()).into()),
            WebError::App(
                crate::service::basemap::BaseMapError::Missing(vec![
                    "西藏自治区 Tibet (CN-XZ)".into(),
                ])
                .into(),
            ),
            WebError::App(Error::Conflict("id taken".into())),
            WebError::App(Error::RevisionNeeded {
                cells: vec!["CN-AH 2016 gdp: 1 → 2".into()],
                total: 1,
            }),
            WebError::App(Error::invalid_field("target", "neither")),
            WebError::App(Error::NotFound {
                what: "region",
                key: "CN-XX".into(),
            }),
            WebError::App(Error::Io {
                path: "/srv".into(),
                source: io(),
            }),
            WebError::App(Error::Internal("secret".into())),
            WebError::App(Error::Polars(polars::error::PolarsError::NoData(
                "x".into(),
            ))),
            WebError::SignInNeeded,
            WebError::BearerNeeded,
            WebError::BadToken,
            WebError::Csrf,
            WebError::TooLarge { limit: 1 << 20 },
            WebError::invalid_parameter("year", "'abc' is not a whole number"),
            WebError::BadRequest("not multipart".into()),
            WebError::NoStore,
            WebError::UploadNotPending("abc".into()),
            WebError::CrossSite,
            WebError::Throttled { retry_after: 6 },
        ]
    }

    async fn get(app: &Router, uri: &str) -> (StatusCode, String) {
        let response = app
            .clone()
            .oneshot(
                axum::http::Request::builder()
                    .uri(uri)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn pages_and_api_give_every_error_the_same_status_and_code() {
        let mut names: Vec<&str> = samples().iter().map(variant).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(
            names.len(),
            VARIANTS,
            "one sample of every variant: {names:?}"
        );

        let fail = |Path(i): Path<usize>| async move { samples().swap_remove(i) };
        let app = Router::new()
            .route("/page/{i}", routing::get(fail))
            .route("/api/v1/e/{i}", routing::get(fail))
            .layer(axum::middleware::from_fn(render_errors));
        let code_attr = scraper::Selector::parse("section.error").unwrap();
        for (i, sample) in samples().iter().enumerate() {
            for lang in ["zh", "en"] {
                let (page_status, html) = get(&app, &format!("/page/{i}?lang={lang}")).await;
                let (api_status, json) = get(&app, &format!("/api/v1/e/{i}?lang={lang}")).await;
                let what = variant(sample);
                assert_eq!(page_status, api_status, "{what}: status");
                let envelope: serde_json::Value = serde_json::from_str(&json).unwrap();
                let doc = scraper::Html::parse_document(&html);
                let page_code = doc
                    .select(&code_attr)
                    .next()
                    .and_then(|e| e.value().attr("data-code"))
                    .unwrap_or_else(|| panic!("{what}: an error page: {html}"));
                assert_eq!(envelope["code"], page_code, "{what}: code");
                assert_eq!(envelope["status"], api_status.as_u16(), "{what}");
                // The message is the same text in both, in the requested language.
                let message = envelope["message"].as_str().unwrap();
                assert!(
                    html.contains(&askama_escape(message)),
                    "{what} ({lang}): the page shows {message:?}"
                );
                if api_status.is_server_error() {
                    assert!(!json.contains("secret") && !json.contains("/srv"), "{what}");
                    assert!(!html.contains("secret") && !html.contains("/srv"), "{what}");
                }
            }
        }
    }

    /// The HTML escaping askama applies to text.
    fn askama_escape(text: &str) -> String {
        text.replace('&', "&#38;")
            .replace('<', "&#60;")
            .replace('>', "&#62;")
            .replace('"', "&#34;")
            .replace('\'', "&#39;")
    }

    #[test]
    fn statuses_are_those_the_api_documents() {
        let status = |e: WebError| Problem::new(&e, Lang::En).status;
        assert_eq!(status(WebError::Csrf), 403);
        assert_eq!(status(WebError::TooLarge { limit: 1 }), 413);
        assert_eq!(
            status(WebError::App(Error::Store(Box::new(StoreError::Conflict(
                "x".into()
            ))))),
            409,
            "a store conflict is a 409 for pages and API alike"
        );
        assert_eq!(status(WebError::invalid_parameter("year", "x")), 400);
        assert_eq!(status(WebError::App(Error::Internal("x".into()))), 500);
    }
}
