//! Page errors: the one place where a failure becomes an HTTP status and an error page.
//!
//! Owns: mapping `nqp::Error` to a status and a bilingual, helpful error page. Internal errors
//! are logged with their detail and shown to the reader only as a generic message.
//! Must not: be bypassed — handlers return `PageError`, never build error responses themselves.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::chrome::Chrome;
use super::i18n::{Texts, error_message};
use crate::types::Lang;

#[derive(Debug)]
pub struct PageError {
    pub status: StatusCode,
    pub lang: Lang,
    pub message: String,
    /// Individual problems (e.g. every bad row of an upload), each naming file, line, column.
    pub details: Vec<String>,
}

impl PageError {
    pub fn not_found(lang: Lang, message: String) -> PageError {
        PageError {
            status: StatusCode::NOT_FOUND,
            lang,
            message,
            details: Vec::new(),
        }
    }

    pub fn bad_request(lang: Lang, message: String) -> PageError {
        PageError {
            status: StatusCode::BAD_REQUEST,
            lang,
            message,
            details: Vec::new(),
        }
    }

    pub fn from_error(lang: Lang, err: crate::Error) -> PageError {
        use crate::Error;
        match err {
            Error::NotFound { what, key } => {
                let message = match lang {
                    Lang::Zh => format!("找不到{}“{key}”。", zh_what(what)),
                    Lang::En => format!("There is no {what} '{key}' in this dataset."),
                };
                PageError::not_found(lang, message)
            }
            Error::Ingest(_)
            | Error::Framework(_)
            | Error::Method(_)
            | Error::DuplicateAcrossFiles { .. } => {
                let details = match &err {
                    Error::Ingest(e) => e
                        .errors()
                        .iter()
                        .filter(|inner| !std::ptr::eq(*inner, e.as_ref()))
                        .map(|inner| error_message(inner.code(), &inner.to_string(), lang))
                        .collect(),
                    _ => Vec::new(),
                };
                PageError {
                    status: StatusCode::UNPROCESSABLE_ENTITY,
                    lang,
                    message: error_message(err.code(), &err.to_string(), lang),
                    details,
                }
            }
            Error::Store(ref e) if matches!(e.as_ref(), crate::store::StoreError::Invalid(_)) => {
                PageError {
                    status: StatusCode::CONFLICT,
                    lang,
                    message: error_message("conflict", &err.to_string(), lang),
                    details: Vec::new(),
                }
            }
            _ if err.is_conflict() => PageError {
                status: StatusCode::CONFLICT,
                lang,
                message: error_message(err.code(), &err.to_string(), lang),
                details: Vec::new(),
            },
            other => {
                tracing::error!(error = %other, "page failed");
                PageError {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    lang,
                    message: lang
                        .pick(
                            "服务器内部错误，已记录。",
                            "An internal error occurred; it has been logged.",
                        )
                        .to_owned(),
                    details: Vec::new(),
                }
            }
        }
    }
}

fn zh_what(what: &str) -> &'static str {
    match what {
        "region" => "地区",
        "year" => "年份",
        "indicator" => "指标",
        "page" => "页面",
        _ => "对象",
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    chrome: Chrome,
    title: &'a str,
    status: u16,
    message: &'a str,
    details: &'a [String],
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let t = Texts::get(self.lang);
        let title = match self.status {
            StatusCode::NOT_FOUND => t.not_found_title,
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => t.sign_in_needed_title,
            StatusCode::PAYLOAD_TOO_LARGE => t.too_large_title,
            StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY | StatusCode::CONFLICT => {
                t.bad_request_title
            }
            _ => t.error_title,
        };
        let page = ErrorPage {
            chrome: Chrome::minimal(self.lang),
            title,
            status: self.status.as_u16(),
            message: &self.message,
            details: &self.details,
        };
        match page.render() {
            Ok(html) => (self.status, Html(html)).into_response(),
            Err(e) => {
                tracing::error!(error = %e, "error page failed to render");
                (self.status, self.message).into_response()
            }
        }
    }
}
