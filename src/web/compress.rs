//! Response compression: gzip for clients that accept it, computed once per response and then
//! served from the cache.
//!
//! Owns: the choice of encoding (`Accept-Encoding`), which responses are worth compressing (text,
//! JSON, SVG, CSV… of at least [`MIN_BYTES`]), and the middleware that compresses them. A GET
//! answered with the entity tag the `etag` middleware computed ([`Tagged`]) is a pure function
//! of that tag (`docs/architecture.md`, "ETag"), so its compressed form is kept in the cache under
//! (tag, encoding) and a repeat request is answered from it without running the handler. Requests
//! that carry a `Cookie` or `Authorization` header are compressed per request instead: their
//! pages may show state the tag does not name (a staged upload, a bearer token's rights). Must
//! not: choose or change the entity tag (that is `etag` in `web`).

use std::io::Write;

use axum::body::{Body, Bytes, HttpBody, to_bytes};
use axum::extract::{Request, State};
use axum::http::header::{
    ACCEPT_ENCODING, AUTHORIZATION, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE,
    COOKIE, SET_COOKIE, VARY,
};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::state::AppState;
use crate::error::{Error, Result};

/// Responses smaller than this go out as they are: below about one network packet gzip saves
/// no round trip, and its header and the CPU cost outweigh the bytes saved.
pub const MIN_BYTES: usize = 1024;

/// Largest body compressed (bytes); a larger one goes out as it is rather than be held in memory
/// twice. Pages and text downloads are far below it.
const MAX_BYTES: usize = 32 << 20;

/// The content codings the server produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    Identity,
    Gzip,
}

impl Encoding {
    /// The coding for a request: gzip when `Accept-Encoding` accepts it (by name or `*`, with a
    /// non-zero quality), else the identity.
    pub fn negotiate(headers: &HeaderMap) -> Encoding {
        let (mut gzip, mut any) = (None, None);
        for value in headers.get_all(ACCEPT_ENCODING) {
            let Ok(value) = value.to_str() else { continue };
            for item in value.split(',') {
                let mut parts = item.split(';');
                let coding = parts.next().unwrap_or_default().trim();
                let quality = parts
                    .find_map(|p| {
                        let p = p.trim();
                        p.strip_prefix("q=").or_else(|| p.strip_prefix("Q="))
                    })
                    .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())
                    .unwrap_or(0.0);
                if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
                    gzip = Some(quality);
                } else if coding == "*" {
                    any = Some(quality);
                }
            }
        }
        match gzip.or(any) {
            Some(q) if q > 0.0 => Encoding::Gzip,
            _ => Encoding::Identity,
        }
    }

    /// The token of the coding (`Content-Encoding`, and what the entity tag hashes).
    pub fn token(self) -> &'static str {
        match self {
            Encoding::Identity => "identity",
            Encoding::Gzip => "gzip",
        }
    }
}

/// The entity tag the `etag` middleware computed for a GET request (a request extension).
#[derive(Debug, Clone)]
pub struct Tagged(pub String);

/// A compressed response as kept in the cache: its headers (with `Content-Encoding`, without
/// `Content-Length`) and its encoded body.
#[derive(Debug)]
pub struct EncodedResponse {
    pub headers: HeaderMap,
    /// Shared, not copied, by every response that serves it.
    pub body: Bytes,
}

impl EncodedResponse {
    fn response(&self) -> Response {
        let mut response = Response::new(Body::from(self.body.clone()));
        *response.headers_mut() = self.headers.clone();
        response
    }
}

/// gzip of `bytes` at the default level (a page of 200 kB in a few milliseconds).
pub fn gzip(bytes: &[u8]) -> Result<Bytes> {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 4),
        flate2::Compression::default(),
    );
    encoder
        .write_all(bytes)
        .map_err(|e| Error::Internal(format!("gzip: {e}")))?;
    let mut out = encoder
        .finish()
        .map_err(|e| Error::Internal(format!("gzip: {e}")))?;
    // What the cache weighs is the length; it must also be what the buffer holds.
    out.shrink_to_fit();
    Ok(Bytes::from(out))
}

/// The compression middleware (see the module doc). It runs inside `etag`, which answers
/// revalidations with 304 before it and adds the tag and `Vary` to what it returns.
pub async fn compress(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let encoding = if request.method() == Method::HEAD {
        Encoding::Identity
    } else {
        Encoding::negotiate(request.headers())
    };
    let shared = shared_tag(&request);
    if encoding != Encoding::Identity
        && let Some(tag) = &shared
        && let Some(hit) = state.encoded(tag, encoding)
    {
        return hit.response();
    }
    let response = next.run(request).await;
    if !worth_compressing(&response) {
        return response;
    }
    let mut response = response;
    vary_on_encoding(response.headers_mut());
    if encoding == Encoding::Identity {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = match to_bytes(body, MAX_BYTES).await {
        Ok(bytes) => bytes,
        Err(e) => {
            tracing::error!(error = %e, "reading a response body to compress it");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    parts.headers.remove(CONTENT_LENGTH);
    parts
        .headers
        .insert(CONTENT_ENCODING, HeaderValue::from_static(encoding.token()));
    let cacheable = parts.status == StatusCode::OK && !parts.headers.contains_key(SET_COOKIE);
    let encoded = match shared.filter(|_| cacheable) {
        Some(tag) => state
            .encode_once(tag, encoding, parts.headers.clone(), bytes)
            .await
            .map(|encoded| encoded.body.clone()),
        None => state.encode(encoding, bytes).await,
    };
    match encoded {
        Ok(body) => Response::from_parts(parts, Body::from(body)),
        Err(e) => {
            tracing::error!(error = %e, "compressing a response");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// The tag under which the response to `request` may be shared between clients: a tagged GET
/// without credentials.
fn shared_tag(request: &Request) -> Option<String> {
    let headers = request.headers();
    if request.method() != Method::GET
        || headers.contains_key(COOKIE)
        || headers.contains_key(AUTHORIZATION)
    {
        return None;
    }
    request
        .extensions()
        .get::<Tagged>()
        .map(|tag| tag.0.clone())
}

/// A response whose body is text-like, not yet encoded, not partial, and of a known size
/// between [`MIN_BYTES`] and [`MAX_BYTES`].
fn worth_compressing(response: &Response) -> bool {
    let status = response.status();
    let headers = response.headers();
    !status.is_informational()
        && status != StatusCode::NO_CONTENT
        && status != StatusCode::NOT_MODIFIED
        && !headers.contains_key(CONTENT_ENCODING)
        && !headers.contains_key(CONTENT_RANGE)
        && headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(compressible_type)
        && response
            .body()
            .size_hint()
            .exact()
            .is_some_and(|n| (MIN_BYTES as u64..=MAX_BYTES as u64).contains(&n))
}

/// Text and the structured text formats; archives, spreadsheets, Parquet and images are
/// compressed already.
fn compressible_type(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let Some((kind, sub)) = essence.split_once('/') else {
        return false;
    };
    kind == "text"
        || matches!(
            sub,
            "json" | "javascript" | "xml" | "toml" | "x-tex" | "x-bibtex"
        )
        || sub.ends_with("+json")
        || sub.ends_with("+xml")
}

fn vary_on_encoding(headers: &mut HeaderMap) {
    let present = headers
        .get_all(VARY)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| v.trim().eq_ignore_ascii_case("accept-encoding") || v.trim() == "*");
    if !present {
        headers.append(VARY, HeaderValue::from_static("Accept-Encoding"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> Encoding {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT_ENCODING, HeaderValue::from_str(value).unwrap());
        Encoding::negotiate(&headers)
    }

    #[test]
    fn gzip_is_chosen_only_when_accepted_with_a_nonzero_quality() {
        assert_eq!(Encoding::negotiate(&HeaderMap::new()), Encoding::Identity);
        assert_eq!(accept("gzip, deflate, br"), Encoding::Gzip);
        assert_eq!(accept("br;q=1.0, GZIP;q=0.5"), Encoding::Gzip);
        assert_eq!(accept("*"), Encoding::Gzip);
        assert_eq!(accept("gzip;q=0, *"), Encoding::Identity);
        assert_eq!(accept("*;q=0"), Encoding::Identity);
        assert_eq!(accept("br, deflate"), Encoding::Identity);
        assert_eq!(accept("identity"), Encoding::Identity);
    }

    #[test]
    fn only_text_like_types_are_compressed() {
        for t in [
            "text/html; charset=utf-8",
            "text/csv; charset=utf-8",
            "application/json",
            "application/problem+json",
            "image/svg+xml",
            "text/javascript; charset=utf-8",
            "application/toml; charset=utf-8",
        ] {
            assert!(compressible_type(t), "{t}");
        }
        for t in [
            "application/zip",
            "image/png",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "application/vnd.apache.parquet",
            "application/octet-stream",
        ] {
            assert!(!compressible_type(t), "{t}");
        }
    }

    #[test]
    fn gzip_round_trips() {
        use std::io::Read;
        let text = "地区,得分\n".repeat(500);
        let packed = gzip(text.as_bytes()).unwrap();
        assert!(packed.len() < text.len() / 10);
        let mut out = String::new();
        flate2::read::GzDecoder::new(&packed[..])
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, text);
    }
}
