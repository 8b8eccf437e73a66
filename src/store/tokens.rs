//! Who may change data: API tokens and the browser sessions signed in with them.
//!
//! Only SHA-256 hashes of tokens and session ids reach the catalog, so a copy of the data dir
//! (a backup, a bug report) cannot be used to sign in. A token is 32 random bytes from the
//! kernel, hex-encoded; its hash is compared in constant time. Sessions carry a CSRF secret
//! that forms must echo back.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use serde::Serialize;

use super::audit::{self, AuditAction};
use super::fsio::{constant_time_eq, random_hex, sha256_hex};
use super::{Store, StoreError, now_text, parse_opt_time, parse_time};

/// How long a browser session stays valid after sign-in (also the cookie's `Max-Age`).
pub const SESSION_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// Actor recorded for changes the server makes by itself.
const SYSTEM_ACTOR: &str = "system";
const MAX_NAME_CHARS: usize = 100;

/// A stored token (never the token itself).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenInfo {
    pub id: i64,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl TokenInfo {
    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none()
    }
}

const TOKEN_SELECT: &str = "SELECT id, name, created_at, revoked_at FROM tokens";

fn token_row(r: &Row<'_>) -> rusqlite::Result<TokenInfo> {
    Ok(TokenInfo {
        id: r.get(0)?,
        name: r.get(1)?,
        created_at: parse_time(r, 2)?,
        revoked_at: parse_opt_time(r, 3)?,
    })
}

fn insert_token(conn: &Connection, name: &str, hash: &str) -> Result<TokenInfo, StoreError> {
    Ok(conn.query_row(
        "INSERT INTO tokens (name, hash, created_at) VALUES (?1, ?2, ?3)
         RETURNING id, name, created_at, revoked_at",
        params![name, hash, now_text()],
        token_row,
    )?)
}

fn token_by_id(conn: &Connection, id: i64) -> Result<TokenInfo, StoreError> {
    conn.query_row(&format!("{TOKEN_SELECT} WHERE id = ?1"), [id], token_row)
        .optional()?
        .ok_or_else(|| StoreError::NotFound {
            what: "token",
            key: id.to_string(),
        })
}

impl Store {
    /// Make sure someone can sign in on a fresh install (Jupyter-style).
    ///
    /// * `from_env` given (`NQP_ADMIN_TOKEN`): its hash is stored unless already known (a
    ///   revoked one stays revoked); returns `None`.
    /// * otherwise, when no active token exists, a fresh one is generated and returned once —
    ///   the caller prints it; only its hash is kept.
    pub fn ensure_admin_token(&self, from_env: Option<&str>) -> Result<Option<String>, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (token, name, fresh) = match from_env {
            Some(token) if token.trim().is_empty() => {
                return Err(StoreError::Invalid(
                    "NQP_ADMIN_TOKEN is set but empty".into(),
                ));
            }
            Some(token) => {
                let known: bool = tx.query_row(
                    "SELECT EXISTS (SELECT 1 FROM tokens WHERE hash = ?1)",
                    [sha256_hex(token.as_bytes())],
                    |r| r.get(0),
                )?;
                if known {
                    return Ok(None);
                }
                (token.to_owned(), "admin (NQP_ADMIN_TOKEN)", false)
            }
            None => {
                let active: i64 = tx.query_row(
                    "SELECT COUNT(*) FROM tokens WHERE revoked_at IS NULL",
                    [],
                    |r| r.get(0),
                )?;
                if active > 0 {
                    return Ok(None);
                }
                (random_hex()?, "admin", true)
            }
        };
        let info = insert_token(&tx, name, &sha256_hex(token.as_bytes()))?;
        audit::record(
            &tx,
            SYSTEM_ACTOR,
            AuditAction::TokenAdmin,
            &format!("token/{}", info.id),
            name,
        )?;
        tx.commit()?;
        Ok(fresh.then_some(token))
    }

    /// A new token named `name`; the token text is returned once and never stored.
    pub fn create_token(&self, name: &str, actor: &str) -> Result<(TokenInfo, String), StoreError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            return Err(StoreError::Invalid(format!(
                "a token name must have 1–{MAX_NAME_CHARS} characters"
            )));
        }
        let token = random_hex()?;
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let info = insert_token(&tx, name, &sha256_hex(token.as_bytes()))?;
        audit::record(
            &tx,
            actor,
            AuditAction::TokenCreate,
            &format!("token/{}", info.id),
            name,
        )?;
        tx.commit()?;
        Ok((info, token))
    }

    /// All tokens, revoked ones included, by id.
    pub fn list_tokens(&self) -> Result<Vec<TokenInfo>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!("{TOKEN_SELECT} ORDER BY id"))?;
        let rows = stmt.query_map([], token_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Revoke a token and end its sessions. Revoking twice is a `store.conflict`.
    pub fn revoke_token(&self, id: i64, actor: &str) -> Result<TokenInfo, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let info = token_by_id(&tx, id)?;
        if !info.is_active() {
            return Err(StoreError::Conflict(format!(
                "token {id} is already revoked"
            )));
        }
        tx.execute(
            "UPDATE tokens SET revoked_at = ?2 WHERE id = ?1",
            params![id, now_text()],
        )?;
        tx.execute("DELETE FROM sessions WHERE token_id = ?1", [id])?;
        audit::record(
            &tx,
            actor,
            AuditAction::TokenRevoke,
            &format!("token/{id}"),
            &info.name,
        )?;
        let revoked = token_by_id(&tx, id)?;
        tx.commit()?;
        Ok(revoked)
    }

    /// The active token whose text is `token`, or `None` (unknown or revoked). Every stored
    /// hash is compared, in constant time, so timing reveals nothing about the hashes.
    pub fn verify_token(&self, token: &str) -> Result<Option<TokenInfo>, StoreError> {
        let wanted = sha256_hex(token.as_bytes());
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT id, name, created_at, revoked_at, hash FROM tokens")?;
        let mut found = None;
        for row in stmt.query_map([], |r| Ok((token_row(r)?, r.get::<_, String>(4)?)))? {
            let (info, hash) = row?;
            if constant_time_eq(hash.as_bytes(), wanted.as_bytes()) {
                found = Some(info);
            }
        }
        Ok(found.filter(TokenInfo::is_active))
    }

    /// Sign a browser in with an active token: returns the session id for the cookie. Only
    /// its hash is stored, next to a fresh CSRF secret. Expired sessions are cleared here.
    pub fn create_session(&self, token_id: i64) -> Result<String, StoreError> {
        let session = random_hex()?;
        let csrf = random_hex()?;
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let token = token_by_id(&tx, token_id)?;
        if !token.is_active() {
            return Err(StoreError::Conflict(format!("token {token_id} is revoked")));
        }
        tx.execute(
            "DELETE FROM sessions WHERE created_at < ?1",
            [session_cutoff().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)],
        )?;
        tx.execute(
            "INSERT INTO sessions (id_hash, token_id, csrf, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![sha256_hex(session.as_bytes()), token_id, csrf, now_text()],
        )?;
        audit::record(
            &tx,
            &token.name,
            AuditAction::SignIn,
            &format!("token/{token_id}"),
            "",
        )?;
        tx.commit()?;
        Ok(session)
    }

    /// The active token behind a session, `None` if the session is unknown, expired or its
    /// token was revoked.
    pub fn session_token(&self, session: &str) -> Result<Option<TokenInfo>, StoreError> {
        Ok(self.live_session(session)?.map(|(token, _)| token))
    }

    /// The CSRF secret of a live session (see [`Store::session_token`]).
    pub fn csrf_token(&self, session: &str) -> Result<Option<String>, StoreError> {
        Ok(self.live_session(session)?.map(|(_, csrf)| csrf))
    }

    fn live_session(&self, session: &str) -> Result<Option<(TokenInfo, String)>, StoreError> {
        let conn = self.conn();
        let row = conn
            .query_row(
                "SELECT t.id, t.name, t.created_at, t.revoked_at, s.csrf, s.created_at
                 FROM sessions s JOIN tokens t ON t.id = s.token_id WHERE s.id_hash = ?1",
                [sha256_hex(session.as_bytes())],
                |r| Ok((token_row(r)?, r.get::<_, String>(4)?, parse_time(r, 5)?)),
            )
            .optional()?;
        Ok(row.and_then(|(token, csrf, created_at)| {
            (token.is_active() && created_at >= session_cutoff()).then_some((token, csrf))
        }))
    }

    /// Sign out. Unknown sessions are fine (signing out twice is not an error).
    pub fn delete_session(&self, session: &str) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let id_hash = sha256_hex(session.as_bytes());
        let owner: Option<(i64, String)> = tx
            .query_row(
                "SELECT t.id, t.name FROM sessions s JOIN tokens t ON t.id = s.token_id
                 WHERE s.id_hash = ?1",
                [&id_hash],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        if let Some((token_id, name)) = owner {
            tx.execute("DELETE FROM sessions WHERE id_hash = ?1", [&id_hash])?;
            audit::record(
                &tx,
                &name,
                AuditAction::SignOut,
                &format!("token/{token_id}"),
                "",
            )?;
        }
        tx.commit()?;
        Ok(())
    }
}

/// Sessions created before this instant have expired.
fn session_cutoff() -> DateTime<Utc> {
    Utc::now() - TimeDelta::from_std(SESSION_MAX_AGE).unwrap_or(TimeDelta::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_cutoff_is_max_age_ago() {
        let age = Utc::now() - session_cutoff();
        assert!((age.num_seconds() - 7 * 24 * 60 * 60).abs() <= 1);
    }
}
