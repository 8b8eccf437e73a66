//! Web: the axum router, thin page handlers, server-rendered pages (charts drawn by
//! [`crate::chart`]) and the i18n texts.
//!
//! Owns: HTTP — routes, headers (CSP, ETag, caching), static assets and page rendering.
//! Must not: compute index values or query data directly; every page calls
//! `crate::service` through [`state::AppState`], and every failure is a [`error::WebError`]. `build_router` builds the app apart
//! from serving it, so tests drive it in-process with `tower::ServiceExt::oneshot`.

pub mod api;
pub mod auth;
pub mod cache;
pub mod chrome;
pub mod compress;
pub mod ctx;
pub mod download;
pub mod error;
pub mod figures;
pub mod i18n;
pub mod pages;
pub mod serve;
pub mod staging;
pub mod state;
pub mod upload;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::{Request, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, IF_NONE_MATCH, REFERRER_POLICY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use sha2::{Digest, Sha256};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use self::state::AppState;

/// No inline script, no external origin: everything is served by this binary.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
                   form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The app: the page routes below, with the API (`api::api_routes`) and the downloads
/// (`download::download_routes`) merged in; `docs/architecture.md` has the whole route map.
pub fn build_router(state: AppState) -> Router {
    Router::new()
        .route("/", get(pages::rankings::page))
        .route("/regions/{code}", get(pages::region::page))
        .route("/regions/{code}/change", get(pages::change::page))
        .route("/regions/{code}/brief", get(pages::brief::page))
        .route("/compare", get(pages::compare::page))
        .route("/indicators/{id}", get(pages::indicator::page))
        .route("/analysis", get(pages::analysis::index))
        .route("/analysis/{page}", get(pages::analysis::page))
        .route("/analysis/robustness", get(pages::robustness::page))
        .route(
            "/analysis/robustness/{file}",
            get(pages::robustness::download),
        )
        .route("/sandbox", get(pages::sandbox::page))
        .route("/methodology", get(pages::methodology::page))
        .route("/publish", get(pages::publish::page))
        .route("/publish/{file}", get(pages::publish::file))
        .route(
            "/publish/basemap",
            post(pages::basemap::upload).layer(DefaultBodyLimit::disable()),
        )
        .route("/publish/basemap/remove", post(pages::basemap::remove))
        .route("/datasets", get(pages::datasets::list))
        .route(
            "/login",
            post(pages::datasets::login).layer(middleware::from_fn_with_state(
                state.clone(),
                auth::login_guard,
            )),
        )
        .route("/logout", post(pages::datasets::logout))
        .route(
            "/datasets/new",
            get(pages::datasets::new_form)
                .post(pages::datasets::upload)
                // `UploadForm` enforces the server's limit itself (a clear 413).
                .layer(DefaultBodyLimit::disable()),
        )
        .route("/datasets/uploads/{id}", get(pages::datasets::preview))
        .route(
            "/datasets/uploads/{id}/commit",
            post(pages::datasets::commit),
        )
        .route("/datasets/{id}/delete", post(pages::datasets::delete))
        .route("/datasets/{id}/diff", get(pages::diff::page))
        .route("/datasets/{id}/{v}/{file}", get(pages::datasets::raw_file))
        .route(
            "/static/style.css",
            get(|| asset("text/css; charset=utf-8", STYLE_CSS)),
        )
        .route(
            "/static/app.js",
            get(|| asset("text/javascript; charset=utf-8", APP_JS)),
        )
        .route(
            "/static/favicon.svg",
            get(|| asset("image/svg+xml", FAVICON_SVG)),
        )
        .route("/favicon.ico", get(|| asset("image/svg+xml", FAVICON_SVG)))
        .route("/healthz", get(|| async { "ok" }))
        .merge(api::api_routes())
        .merge(download::download_routes())
        .fallback(pages::not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            figures::figures,
        ))
        .layer(middleware::from_fn(error::render_errors))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            compress::compress,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), etag))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::cookie_policy,
        ))
        .layer(SetResponseHeaderLayer::overriding(
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Run synchronous work (polars, SQLite) on tokio's blocking pool — polars must not run on the
/// async runtime; a task that panicked becomes an internal error.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> crate::Result<T> + Send + 'static,
) -> crate::Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| crate::Error::Internal(format!("background task failed: {e}")))?
}

const STYLE_CSS: &str = include_str!("../../static/style.css");
const APP_JS: &str = include_str!("../../static/app.js");
const FAVICON_SVG: &str = include_str!("../../static/favicon.svg");

async fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (CONTENT_TYPE, content_type),
            (CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// Pages are a pure function of (the store's content, nqp version, URL, Accept-Language,
/// Cookie), so their ETag is a hash of exactly that — and of the content coding the response
/// will have (`compress::Encoding`), since a gzip body and the plain one are two representations:
/// a repeat view is answered with 304 before any rendering, and `compress` keeps the gzip form
/// of a response under its tag. The store's content enters as [`AppState::fingerprint`] (dataset ids, titles
/// and latest version hashes), never as a process-local counter, so a tag cannot match changed
/// content after a restart. Generated files (downloads) get a weak tag: a rebuild may differ in
/// its timestamps, not in its content.
async fn etag(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    if request.method() != Method::GET {
        return next.run(request).await;
    }
    let fingerprint = match state.fingerprint().await {
        Ok(fingerprint) => fingerprint,
        Err(e) => {
            // Without a tag the page is still served, just not revalidated.
            tracing::error!(error = %e, "reading the store's fingerprint for an ETag");
            return next.run(request).await;
        }
    };
    let mut hasher = Sha256::new();
    hasher.update(fingerprint.as_bytes());
    hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
    hasher.update(request.uri().to_string().as_bytes());
    // What the page depends on besides the URL: the language header, and the session cookie
    // (signed-in pages carry the user's name and CSRF token).
    for header in [
        axum::http::header::ACCEPT_LANGUAGE,
        axum::http::header::COOKIE,
    ] {
        for value in request.headers().get_all(&header) {
            hasher.update(header.as_str().as_bytes());
            hasher.update(value.as_bytes());
        }
    }
    hasher.update(
        compress::Encoding::negotiate(request.headers())
            .token()
            .as_bytes(),
    );
    let digest = hasher.finalize();
    let opaque = format!("\"{}\"", crate::store::hex(&digest[..10]));
    // If-None-Match compares weakly (RFC 9110 §13.1.2): `W/` does not matter.
    let matches = request
        .headers()
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim().trim_start_matches("W/") == opaque)
        });
    let generated = request.uri().path().starts_with("/download/");
    let tag = if generated {
        format!("W/{opaque}")
    } else {
        opaque.clone()
    };
    if matches {
        return (StatusCode::NOT_MODIFIED, [(ETAG, tag)]).into_response();
    }
    request.extensions_mut().insert(compress::Tagged(opaque));
    let mut response = next.run(request).await;
    if response.status().is_success()
        && let Ok(value) = HeaderValue::from_str(&tag)
    {
        response.headers_mut().insert(ETAG, value);
        response.headers_mut().insert(
            axum::http::header::VARY,
            HeaderValue::from_static("Accept-Language, Accept-Encoding, Cookie"),
        );
    }
    response
}
