//! Who may change data: sessions for the browser, bearer tokens for scripts, CSRF checks.
//!
//! Owns: reading the session cookie and the `Authorization: Bearer` header into a [`User`],
//! the cookie attributes (`HttpOnly; SameSite=Strict`) and the CSRF comparison. Reading is
//! public; every handler that changes data takes a [`User`] and calls [`User::check_csrf`] for
//! form posts. Must not: store anything itself (sessions and tokens live in the store).

use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;

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
