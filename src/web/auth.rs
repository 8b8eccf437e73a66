//! Who may change data: sessions for the browser, bearer tokens for scripts, CSRF checks.
//!
//! Owns: reading the session cookie and the `Authorization: Bearer` header into a [`User`],
//! the cookie attributes (`HttpOnly; SameSite=Strict`, `Secure` with `--secure-cookies`), the
//! CSRF comparison, and the guard in front of `/login` (same-origin forms only, failed
//! attempts throttled per client address and per token prefix). Reading is public; every
//! handler that changes data takes a [`User`] and calls [`User::check_csrf`] for form posts.
//! Must not: store anything itself (sessions and tokens live in the store).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::Form;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request, State};
use axum::http::header::{AUTHORIZATION, COOKIE, HOST, ORIGIN, REFERER, RETRY_AFTER, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::WebError;
use super::state::AppState;
use crate::store::constant_time_eq;

pub const SESSION_COOKIE: &str = "nqp_session";

/// The signed-in actor (from a session cookie or a bearer token).
#[derive(Debug, Clone)]
pub struct User {
    /// The token's name, recorded as the actor in the audit log.
    pub name: String,
    /// The session id when signed in through the browser (None for bearer tokens).
    pub session: Option<String>,
    /// The session's CSRF secret.
    pub csrf: Option<String>,
}

impl User {
    /// Form posts must carry the session's CSRF token (bearer-token requests carry no cookie,
    /// so they cannot be forged cross-site and need none).
    pub fn check_csrf(&self, sent: Option<&str>) -> Result<(), WebError> {
        match &self.csrf {
            Some(expected)
                if !sent.is_some_and(|s| constant_time_eq(s.as_bytes(), expected.as_bytes())) =>
            {
                Err(WebError::Csrf)
            }
            _ => Ok(()),
        }
    }
}

/// The value of the session cookie, if any.
pub fn session_cookie(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.to_owned())
}

/// `Set-Cookie` value for a new session.
pub fn session_set_cookie(session: &str) -> String {
    format!("{SESSION_COOKIE}={session}; HttpOnly; SameSite=Strict; Path=/")
}

/// `Set-Cookie` value that ends the session in the browser.
pub fn session_clear_cookie() -> String {
    format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0")
}

/// Failed sign-ins a client address or token prefix may make in a burst.
const LOGIN_BURST: f64 = 10.0;
/// After the burst, one more attempt per this interval (10 a minute).
const LOGIN_INTERVAL: Duration = Duration::from_secs(6);
/// Throttled keys remembered at most (memory bound; keys that have drained are dropped first).
const LOGIN_MAX_KEYS: usize = 10_000;
/// Characters of a submitted token that key its throttle.
const TOKEN_PREFIX: usize = 8;
/// Largest `/login` form read (a token is 64 characters).
const LOGIN_FORM_LIMIT: usize = 16 * 1024;

/// Leaky buckets of failed sign-ins: each failure adds one, one drains per [`LOGIN_INTERVAL`];
/// a key whose bucket holds [`LOGIN_BURST`] must wait.
#[derive(Default)]
pub struct LoginThrottle {
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl LoginThrottle {
    fn level(bucket: (f64, Instant), now: Instant) -> f64 {
        let drained =
            now.saturating_duration_since(bucket.1).as_secs_f64() / LOGIN_INTERVAL.as_secs_f64();
        (bucket.0 - drained).max(0.0)
    }

    /// Whole seconds to wait before another attempt with these keys is heard, if any.
    pub fn wait(&self, keys: &[String], now: Instant) -> Option<u64> {
        let buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let level = keys
            .iter()
            .filter_map(|k| buckets.get(k))
            .map(|b| Self::level(*b, now))
            .fold(0.0, f64::max);
        (level > LOGIN_BURST - 1.0)
            .then(|| ((level - (LOGIN_BURST - 1.0)) * LOGIN_INTERVAL.as_secs_f64()).ceil() as u64)
    }

    /// Count a failed attempt against every key.
    pub fn failed(&self, keys: &[String], now: Instant) {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() + keys.len() > LOGIN_MAX_KEYS {
            buckets.retain(|_, b| Self::level(*b, now) > 0.0);
        }
        for key in keys {
            if buckets.len() >= LOGIN_MAX_KEYS && !buckets.contains_key(key) {
                // Still full of active keys: forget the one closest to drained.
                let lowest = buckets
                    .iter()
                    .min_by(|a, b| Self::level(*a.1, now).total_cmp(&Self::level(*b.1, now)))
                    .map(|(k, _)| k.clone());
                if let Some(lowest) = lowest {
                    buckets.remove(&lowest);
                }
            }
            let level = buckets.get(key).map_or(0.0, |b| Self::level(*b, now));
            buckets.insert(key.clone(), (level + 1.0, now));
        }
    }
}

/// The `scheme://host[:port]` a form was posted from, from `Origin` or else `Referer`;
/// `Some(None)` when the browser sent neither (scripts), `None` when unreadable.
fn form_origin(parts: &Parts) -> Option<Option<String>> {
    let header = |name| parts.headers.get(name).map(|v| v.to_str().ok());
    if let Some(origin) = header(ORIGIN) {
        return origin.map(|o| Some(o.trim_end_matches('/').to_owned()));
    }
    let Some(referer) = header(REFERER) else {
        return Some(None);
    };
    let referer = referer?;
    let (scheme, rest) = referer.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    Some(Some(format!("{scheme}://{host}")))
}

/// Is a `/login` form from this site? With a configured public origin it must be exactly that
/// origin; otherwise its host must be the request's `Host` (the scheme is not known behind a
/// proxy). Forms from no page at all (no `Origin`, no `Referer`: scripts) pass — they carry no
/// victim's cookies, and the throttle still applies.
fn same_origin(parts: &Parts, public_origin: Option<&str>) -> bool {
    let Some(origin) = form_origin(parts) else {
        return false;
    };
    let Some(origin) = origin else {
        return true;
    };
    match public_origin {
        Some(public) => origin.eq_ignore_ascii_case(public.trim_end_matches('/')),
        None => {
            let host = parts.headers.get(HOST).and_then(|v| v.to_str().ok());
            let origin_host = origin.split_once("://").map(|(_, h)| h);
            matches!((host, origin_host), (Some(h), Some(o)) if h.eq_ignore_ascii_case(o))
        }
    }
}

/// Middleware on `POST /login`: refuse cross-site forms (403) and clients that failed too
/// often (429 with `Retry-After`), and count every refused token (401) against the client's
/// address and the token's first characters.
pub async fn login_guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    if !same_origin(&parts, state.config().public_origin.as_deref()) {
        return WebError::CrossSite.into_response();
    }
    let Ok(bytes) = axum::body::to_bytes(body, LOGIN_FORM_LIMIT).await else {
        return WebError::BadRequest(format!(
            "the sign-in form is larger than {} KB",
            LOGIN_FORM_LIMIT / 1024
        ))
        .into_response();
    };
    let token: String = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
        .unwrap_or_default()
        .into_iter()
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.trim().chars().take(TOKEN_PREFIX).collect())
        .unwrap_or_default();
    let address = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown".to_owned(), |c| c.0.ip().to_string());
    let keys = [format!("ip:{address}"), format!("token:{token}")];
    let throttle = state.login_throttle();
    if let Some(seconds) = throttle.wait(&keys, Instant::now()) {
        let retry_after = seconds.max(1);
        let mut response = WebError::Throttled { retry_after }.into_response();
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(retry_after));
        return response;
    }
    let response = next
        .run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await;
    if response.status() == StatusCode::UNAUTHORIZED {
        throttle.failed(&keys, Instant::now());
    }
    response
}

/// Middleware: with `--secure-cookies`, every cookie the server sets is marked `Secure` (sent
/// over HTTPS only).
pub async fn cookie_policy(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    if !state.config().secure_cookies {
        return response;
    }
    let cookies: Vec<HeaderValue> = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .cloned()
        .collect();
    response.headers_mut().remove(SET_COOKIE);
    for cookie in cookies {
        let secure = match cookie.to_str() {
            Ok(text) if !text.contains("; Secure") => {
                HeaderValue::from_str(&format!("{text}; Secure")).unwrap_or(cookie)
            }
            _ => cookie,
        };
        response.headers_mut().append(SET_COOKIE, secure);
    }
    response
}

/// Look up the actor of a request; `Ok(None)` for anonymous readers.
pub async fn current_user(state: &AppState, parts: &Parts) -> Result<Option<User>, crate::Error> {
    let Some(store) = state.store() else {
        return Ok(None);
    };
    let bearer = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let session = session_cookie(parts);
    super::blocking(move || {
        if let Some(token) = bearer {
            return Ok(store.verify_token(&token)?.map(|t| User {
                name: t.name,
                session: None,
                csrf: None,
            }));
        }
        let Some(session) = session else {
            return Ok(None);
        };
        let Some(token) = store.session_token(&session)? else {
            return Ok(None);
        };
        let csrf = store.csrf_token(&session)?;
        Ok(Some(User {
            name: token.name,
            session: Some(session),
            csrf,
        }))
    })
    .await
}

/// An optional signed-in user (pages that show more to signed-in users).
pub struct MaybeUser(pub Option<User>);

impl FromRequestParts<AppState> for MaybeUser {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        Ok(MaybeUser(current_user(state, parts).await?))
    }
}

/// A required signed-in user: anonymous requests get a 401 page with a sign-in link.
pub struct RequireUser(pub User);

impl FromRequestParts<AppState> for RequireUser {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        current_user(state, parts)
            .await?
            .map(RequireUser)
            .ok_or(WebError::SignInNeeded)
    }
}

/// A signed-in user's form post whose CSRF token matched: the user and the form's fields.
/// Every form that changes data takes this, so none can forget the check.
pub struct SignedForm {
    pub user: User,
    pub fields: HashMap<String, String>,
}

impl FromRequest<AppState> for SignedForm {
    type Rejection = WebError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, WebError> {
        let (mut parts, body) = request.into_parts();
        let RequireUser(user) = RequireUser::from_request_parts(&mut parts, state).await?;
        let Form(fields) =
            Form::<HashMap<String, String>>::from_request(Request::from_parts(parts, body), state)
                .await
                .map_err(|e| WebError::BadRequest(e.body_text()))?;
        user.check_csrf(fields.get("csrf").map(String::as_str))?;
        Ok(SignedForm { user, fields })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_comparison_is_exact() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        let user = User {
            name: "admin".into(),
            session: Some("s".into()),
            csrf: Some("secret".into()),
        };
        assert!(user.check_csrf(Some("secret")).is_ok());
        assert!(matches!(user.check_csrf(None), Err(WebError::Csrf)));
        assert!(matches!(
            user.check_csrf(Some("other")),
            Err(WebError::Csrf)
        ));
    }

    #[test]
    fn cookies_are_http_only_and_strict() {
        let c = session_set_cookie("abc");
        assert!(
            c.contains("HttpOnly")
                && c.contains("SameSite=Strict")
                && c.starts_with("nqp_session=abc")
        );
    }
}
