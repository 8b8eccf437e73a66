//! The audit log: one row per change, written in the same transaction as the change itself.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};
use serde::Serialize;

use super::{StoreError, now_text, parse_time};

/// What a change did. Stored as [`AuditAction::as_str`]; the strings are a contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    /// A new dataset version was committed.
    Put,
    /// An upload was identical to the latest version; nothing was stored.
    Noop,
    Delete,
    Undelete,
    Purge,
    TokenCreate,
    TokenRevoke,
    /// The first admin token was stored (generated or from `NQP_ADMIN_TOKEN`).
    TokenAdmin,
    SignIn,
    SignOut,
    /// A version was added to the catalog from its file's own record (`nqp dataset recover`).
    Recover,
    /// The data dir's base map was stored or replaced.
    BaseMapPut,
    /// The base map was removed (maps are schematic again).
    BaseMapRemove,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Put => "put",
            AuditAction::Noop => "noop",
            AuditAction::Delete => "delete",
            AuditAction::Undelete => "undelete",
            AuditAction::Purge => "purge",
            AuditAction::TokenCreate => "token.create",
            AuditAction::TokenRevoke => "token.revoke",
            AuditAction::TokenAdmin => "token.admin",
            AuditAction::SignIn => "sign_in",
            AuditAction::SignOut => "sign_out",
            AuditAction::Recover => "recover",
            AuditAction::BaseMapPut => "basemap.put",
            AuditAction::BaseMapRemove => "basemap.remove",
        }
    }
}

/// One audit-log row. `action` is a string so rows written by newer builds still read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    /// What was changed, e.g. `cn-provinces/3` or `token/2`.
    pub target: String,
    pub detail: String,
}

/// Append a row; the caller passes its open transaction so the row commits with the change.
pub(crate) fn record(
    conn: &Connection,
    actor: &str,
    action: AuditAction,
    target: &str,
    detail: &str,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO audit (at, actor, action, target, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![now_text(), actor, action.as_str(), target, detail],
    )?;
    Ok(())
}

/// The newest `limit` rows, newest first.
pub(crate) fn read(conn: &Connection, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut stmt = conn.prepare(
        "SELECT id, at, actor, action, target, detail FROM audit ORDER BY id DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit], |r| {
        Ok(AuditEntry {
            id: r.get(0)?,
            at: parse_time(r, 1)?,
            actor: r.get(2)?,
            action: r.get(3)?,
            target: r.get(4)?,
            detail: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
