//! Validated uploads awaiting their commit, per signed-in actor.
//!
//! Owns: the per-actor cap (an actor's oldest upload makes room for its newest, never another
//! actor's), the expiry (an upload nobody committed is dropped after the time to live) and the
//! memory accounting: every staged upload reserves its estimated size from the server's cache
//! budget, so staging and cache together stay within `--cache-mb`. Must not: validate or commit
//! uploads (that is `service::datasets`).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::cache::{Cache, json_bytes};
use crate::error::{Error, Result};
use crate::service::datasets::StagedUpload;

/// Uploads one actor may keep staged at once (the oldest is dropped for a new one).
pub const DEFAULT_PER_ACTOR: usize = 8;
/// How long an uncommitted upload is kept.
pub const DEFAULT_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// What [`Staging::find`] does with the upload it finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Look at it (the preview page).
    Peek,
    /// Remove it (a commit).
    Take,
}

struct Slot {
    id: String,
    actor: String,
    upload: Arc<StagedUpload>,
    weight: u64,
    staged_at: Instant,
}

impl Slot {
    fn new(id: String, actor: &str, upload: Arc<StagedUpload>, weight: u64, now: Instant) -> Slot {
        Slot {
            id,
            actor: actor.to_owned(),
            upload,
            weight,
            staged_at: now,
        }
    }
}

pub struct Staging {
    slots: Mutex<Vec<Slot>>,
    per_actor: usize,
    ttl: Duration,
}

/// Estimated memory of a staged upload: the raw files, the parsed panel, the framework text and
/// the preview shown to the user.
fn weight(upload: &StagedUpload) -> u64 {
    let files: usize = upload
        .files
        .iter()
        .map(|f| f.bytes.len() + f.name.len())
        .sum();
    files as u64
        + upload.panel.frame().estimated_size() as u64
        + upload.framework_toml.as_ref().map_or(0, |t| t.len() as u64)
        + upload
            .region_set
            .as_ref()
            .map_or(0, |s| s.regions().len() as u64 * 1024)
        + json_bytes(&upload.preview)
}

const MB: u64 = 1024 * 1024;

impl Staging {
    pub fn new(per_actor: usize, ttl: Duration) -> Staging {
        Staging {
            slots: Mutex::new(Vec::new()),
            per_actor: per_actor.max(1),
            ttl,
        }
    }

    fn slots(&self) -> MutexGuard<'_, Vec<Slot>> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Drop the uploads staged before `now − ttl`, giving back their memory.
    fn sweep(&self, slots: &mut Vec<Slot>, cache: &Cache, now: Instant) {
        let ttl = self.ttl;
        slots.retain(|s| {
            let fresh = now.saturating_duration_since(s.staged_at) < ttl;
            if !fresh {
                cache.release(s.weight);
            }
            fresh
        });
    }

    /// Remove the oldest upload of `actor` (slots are in staging order); false if it has none.
    fn drop_oldest_of(slots: &mut Vec<Slot>, cache: &Cache, actor: &str) -> bool {
        match slots.iter().position(|s| s.actor == actor) {
            Some(at) => {
                cache.release(slots.remove(at).weight);
                true
            }
            None => false,
        }
    }

    /// Keep `upload` for `actor` under the id `id`. Makes room among the actor's own uploads
    /// only; refused (409) when the upload does not fit in what the other actors leave of the
    /// budget.
    pub fn stage(
        &self,
        cache: &Cache,
        id: String,
        actor: &str,
        upload: StagedUpload,
        now: Instant,
    ) -> Result<()> {
        let weight = weight(&upload);
        let mut slots = self.slots();
        self.sweep(&mut slots, cache, now);
        while slots.iter().filter(|s| s.actor == actor).count() >= self.per_actor {
            Self::drop_oldest_of(&mut slots, cache, actor);
        }
        while !cache.reserve(weight) {
            if !Self::drop_oldest_of(&mut slots, cache, actor) {
                return Err(Error::Conflict(format!(
                    "this upload needs about {} MB of memory until it is committed; uploads awaiting review hold {} MB of the server's {} MB budget (nqp serve --cache-mb) — commit or discard earlier uploads, or ask the operator for a larger budget",
                    weight.div_ceil(MB),
                    cache.stats().reserved.div_ceil(MB),
                    cache.budget() / MB,
                )));
            }
        }
        slots.push(Slot::new(id, actor, Arc::new(upload), weight, now));
        Ok(())
    }

    /// A staged upload, only for the actor who made it and only until it expires. `Take`
    /// removes it for committing: a second, simultaneous commit of the same upload finds
    /// nothing, so one upload never becomes two versions.
    pub fn find(
        &self,
        cache: &Cache,
        id: &str,
        actor: &str,
        now: Instant,
        access: Access,
    ) -> Option<Arc<StagedUpload>> {
        let mut slots = self.slots();
        self.sweep(&mut slots, cache, now);
        let at = slots.iter().position(|s| s.id == id && s.actor == actor)?;
        if access == Access::Peek {
            return Some(Arc::clone(&slots[at].upload));
        }
        let slot = slots.remove(at);
        cache.release(slot.weight);
        Some(slot.upload)
    }

    /// Put back an upload whose commit failed (same id, a fresh time to live), if its memory
    /// still fits; otherwise it is dropped and the user uploads again.
    pub fn restore(
        &self,
        cache: &Cache,
        id: String,
        actor: &str,
        upload: Arc<StagedUpload>,
        now: Instant,
    ) {
        let weight = weight(&upload);
        let mut slots = self.slots();
        if cache.reserve(weight) {
            slots.push(Slot::new(id, actor, upload, weight, now));
        } else {
            tracing::warn!(
                actor,
                "a failed commit's upload no longer fits the budget; dropped"
            );
        }
    }
}
