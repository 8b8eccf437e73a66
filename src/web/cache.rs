//! The server's one bounded cache of derived data: loaded dataset versions, computed results,
//! analyses, generated files (`bundle.zip`, tables in every format) and the compressed forms
//! of responses (`web::compress`).
//!
//! Owns: the memory budget (`nqp serve --cache-mb`), the size estimate of every entry and
//! single-flight computation — concurrent requests for one key wait for the first request's
//! computation instead of repeating it — and the number of computations running at once (one
//! per core). Entries are evicted by weight (S3-FIFO, `quick_cache`),
//! so whatever the request sequence, the accounted size stays within the budget. Staged uploads
//! reserve part of the same budget ([`Cache::reserve`]), so they count too but are never
//! evicted by readers. Must not: decide which dataset a request means (that is `state`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use quick_cache::sync::{Cache as Entries, DefaultLifecycle};
use quick_cache::{DefaultHashBuilder, OptionsBuilder, Weighter};
use serde::Serialize;

use super::compress::{EncodedResponse, Encoding};
use crate::analysis::robustness::Robustness;
use crate::error::{Error, Result};
use crate::service::analysis::AnalysisView;
use crate::service::dashboard::{Dataset, ResultTables};
use crate::service::diff::VersionDiff;
use crate::service::robustness::Baseline;

/// What an entry is the result of. Versions are content hashes, methods
/// [`crate::service::method_key`], so a key names its value exactly, across restarts too.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    Dataset {
        version: String,
    },
    Tables {
        version: String,
        method: String,
    },
    /// `method` also names the page's choice (weight matrix, controls).
    Analysis {
        version: String,
        method: String,
    },
    /// `method` also names the robustness options (space, mode, draws, seed).
    Robustness {
        version: String,
        method: String,
    },
    /// The prepared panel with the method's run on it (sandbox, change decomposition).
    Baseline {
        version: String,
        method: String,
    },
    /// The diff of two versions of a dataset (numbers `from`, `to`, content hashes
    /// `versions`) under a method, with the index of `from` recomputed with only the revised
    /// cells replaced (`service::diff`).
    Diff {
        dataset: String,
        from: u32,
        to: u32,
        versions: [String; 2],
        method: String,
    },
    /// A generated download; `file` is its URL segment plus the variant (`bom`).
    File {
        version: String,
        method: String,
        file: String,
    },
    /// The compressed form of the response whose entity tag is `tag` (`web::compress`): the
    /// tag names the response exactly (store content, URL, language, encoding).
    Encoded {
        tag: String,
        encoding: Encoding,
    },
}

impl Key {
    fn heap_bytes(&self) -> u64 {
        let strings: usize = match self {
            Key::Dataset { version } => version.len(),
            Key::Tables { version, method }
            | Key::Analysis { version, method }
            | Key::Robustness { version, method }
            | Key::Baseline { version, method } => version.len() + method.len(),
            Key::File {
                version,
                method,
                file,
            } => version.len() + method.len() + file.len(),
            Key::Diff {
                dataset,
                versions,
                method,
                ..
            } => dataset.len() + versions[0].len() + versions[1].len() + method.len(),
            Key::Encoded { tag, .. } => tag.len(),
        };
        (strings + std::mem::size_of::<Key>()) as u64
    }
}

/// A generated file, kept so that it is built once per (version, method) and every copy served
/// is byte-identical.
#[derive(Debug)]
pub struct DerivedFile {
    /// The `Content-Disposition` file name.
    pub name: String,
    /// Shared, not copied, by every response that serves it.
    pub bytes: axum::body::Bytes,
}

#[derive(Clone)]
pub enum Value {
    Dataset(Arc<Dataset>),
    Tables(Arc<ResultTables>),
    Analysis(Arc<AnalysisView>),
    Robustness(Arc<Robustness>),
    Baseline(Arc<Baseline>),
    Diff(Arc<VersionDiff>),
    File(Arc<DerivedFile>),
    Encoded(Arc<EncodedResponse>),
}

/// A value with its weight, computed once when it is inserted (the weigher is called on every
/// eviction and must be cheap and constant).
#[derive(Clone)]
struct Entry {
    value: Value,
    weight: u64,
}

#[derive(Clone)]
struct ByWeight;

impl Weighter<Key, Entry> for ByWeight {
    fn weight(&self, key: &Key, entry: &Entry) -> u64 {
        // Never 0: a zero-weight entry would never be chosen for eviction.
        (entry.weight + key.heap_bytes()).max(1)
    }
}

/// How a type is stored as a [`Value`].
pub trait Variant: Sized {
    fn wrap(this: Arc<Self>) -> Value;
    fn unwrap(value: &Value) -> Option<Arc<Self>>;
}

macro_rules! variant {
    ($ty:ty, $variant:ident) => {
        impl Variant for $ty {
            fn wrap(this: Arc<Self>) -> Value {
                Value::$variant(this)
            }
            fn unwrap(value: &Value) -> Option<Arc<Self>> {
                match value {
                    Value::$variant(v) => Some(Arc::clone(v)),
                    _ => None,
                }
            }
        }
    };
}

/// A value the cache can hold: how heavy it is.
pub trait Cacheable: Variant + Send + Sync + 'static {
    /// Estimated bytes of memory the value holds (its heap data and its inline size).
    fn weight(&self) -> u64;
}

/// Bytes of the JSON form of `value`, counted without building it: an upper estimate of the
/// memory of row structs (numbers take up to 24 characters in JSON against 8 bytes, names are
/// repeated per row against once per field), which keeps the budget on the safe side.
pub fn json_bytes<T: Serialize + ?Sized>(value: &T) -> u64 {
    struct Count(u64);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len() as u64;
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Serialising these row types cannot fail (no maps with non-string keys); a failure
    // would only undercount, so count what was written.
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

/// Polars' own estimate of a frame's buffers.
fn frame_bytes(frame: &polars::prelude::DataFrame) -> u64 {
    frame.estimated_size() as u64
}

/// Resident memory per byte an entry's weight counts, charged against the budget: the
/// allocator's headers, rounding and fragmentation after evictions, and the working memory of
/// the computations in progress come on top of the bytes the values hold. Chosen from the server
/// load check (`scripts/loadcheck.py`, `docs/benchmarks.md`): with it the peak RSS stays within
/// start-up + budget at the default budget, and at small budgets with `MALLOC_ARENA_MAX=2`.
const RESIDENT_PER_BYTE: u64 = 4;

/// Per region in a region set: codes, two names, a handful of aliases and their index entries.
const REGION_BYTES: u64 = 1024;

/// The sums of lengths below miss what small strings and hash indexes really cost (allocation
/// headers, string headers, table slack): measured with a counting allocator
/// (`tests/cache_weights.rs`), a loaded dataset holds up to 1.8×, a computed result up to 1.3×,
/// an analysis view up to 1.01× and a version diff 1.3× its summed lengths, so those estimates
/// are scaled by 2, 3/2, 5/4 and 2.
fn scaled(estimate: u64, numerator: u64, denominator: u64) -> u64 {
    estimate.saturating_mul(numerator) / denominator
}

variant!(Dataset, Dataset);

impl Cacheable for Dataset {
    fn weight(&self) -> u64 {
        let regions = self
            .regions
            .as_ref()
            .map_or(0, |set| set.regions().len() as u64 * REGION_BYTES);
        let estimate = frame_bytes(self.panel.frame())
            + json_bytes(&self.framework)
            + json_bytes(&self.units)
            + regions
            + std::mem::size_of::<Dataset>() as u64;
        scaled(estimate, 2, 1)
    }
}

variant!(ResultTables, Tables);

impl Cacheable for ResultTables {
    fn weight(&self) -> u64 {
        let result = &self.result;
        // The lookup indexes hold one (key strings, position) entry per score and value row.
        let index = (self.scores.len() + self.values.len()) as u64 * 96;
        let estimate = json_bytes(&self.scores)
            + json_bytes(&self.values)
            + json_bytes(&self.weights)
            + json_bytes(&self.coverage)
            + json_bytes(&self.notices)
            + json_bytes(&self.method)
            + frame_bytes(&result.scores)
            + frame_bytes(&result.weights)
            + result.normalised_bytes() as u64
            + frame_bytes(&result.coverage)
            + json_bytes(&result.method)
            + index
            + std::mem::size_of::<ResultTables>() as u64;
        scaled(estimate, 3, 2)
    }
}

variant!(AnalysisView, Analysis);

impl Cacheable for AnalysisView {
    fn weight(&self) -> u64 {
        let estimate = json_bytes(&self.results)
            + json_bytes(&self.obstacles)
            + std::mem::size_of::<AnalysisView>() as u64;
        scaled(estimate, 5, 4)
    }
}

variant!(Robustness, Robustness);

impl Cacheable for Robustness {
    fn weight(&self) -> u64 {
        json_bytes(self) + std::mem::size_of::<Robustness>() as u64
    }
}

variant!(Baseline, Baseline);

impl Cacheable for Baseline {
    fn weight(&self) -> u64 {
        Baseline::weight(self)
    }
}

variant!(VersionDiff, Diff);

impl Cacheable for VersionDiff {
    fn weight(&self) -> u64 {
        // The JSON form leaves out each revised cell's stored series name, counted besides.
        // Its rows are mostly two short strings and two numbers, each string a heap allocation
        // its JSON does not show: measured (`tests/cache_weights.rs`) it holds 1.3× its JSON
        // length, so the estimate is doubled.
        let names: usize = self.revised.iter().map(|c| c.stored_name.len()).sum();
        let estimate = json_bytes(self) + names as u64 + std::mem::size_of::<VersionDiff>() as u64;
        scaled(estimate, 2, 1)
    }
}

variant!(DerivedFile, File);

impl Cacheable for DerivedFile {
    fn weight(&self) -> u64 {
        (self.bytes.len() + self.name.len() + std::mem::size_of::<DerivedFile>()) as u64
    }
}

variant!(EncodedResponse, Encoded);

impl Cacheable for EncodedResponse {
    fn weight(&self) -> u64 {
        // A header map holds each entry (name, value, hash links) in a bucket of about 100
        // bytes besides its text, and allocates its index and buckets in steps: 128 bytes per
        // entry and 512 per map cover both (measured: `tests/cache_weights.rs`).
        let headers: usize = self
            .headers
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 128)
            .sum();
        (self.body.len() + headers + 512 + std::mem::size_of::<EncodedResponse>()) as u64
    }
}

/// The accounted state of the cache (for tests, logs and the load check).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheStats {
    /// Sum of the weights of the entries held.
    pub weight: u64,
    /// What the entries may weigh now: the budget less the reserved bytes.
    pub capacity: u64,
    /// Bytes reserved by staged uploads.
    pub reserved: u64,
    pub entries: usize,
    /// Computations started (one per miss, whatever the number of waiting requests).
    pub computations: u64,
    /// Lookups answered from the cache without computing.
    pub hits: u64,
}

type Store = Entries<Key, Entry, ByWeight, DefaultHashBuilder, DefaultLifecycle<Key, Entry>>;

pub struct Cache {
    entries: Store,
    budget: u64,
    reserved: std::sync::Mutex<u64>,
    computations: AtomicU64,
    hits: AtomicU64,
    /// Computations that may run at once: one per core. More would not finish sooner on the
    /// cores there are, and each holds its working memory (frames, matrices) until it ends, so
    /// this bounds the memory outside the cache whatever the number of clients.
    slots: tokio::sync::Semaphore,
}

impl Cache {
    /// A cache whose entries and reservations together stay within `budget` bytes.
    pub fn new(budget: u64) -> Cache {
        // One shard: an entry may then use the whole budget (quick_cache refuses entries
        // heavier than a shard), and the server's concurrency is a few threads anyway.
        let options = OptionsBuilder::new()
            .shards(1)
            .estimated_items_capacity(1024)
            .weight_capacity(budget)
            .build()
            .expect("one shard and a capacity are valid options");
        Cache {
            entries: Entries::with_options(
                options,
                ByWeight,
                DefaultHashBuilder::default(),
                DefaultLifecycle::default(),
            ),
            budget,
            reserved: std::sync::Mutex::new(0),
            computations: AtomicU64::new(0),
            hits: AtomicU64::new(0),
            slots: tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
            ),
        }
    }

    pub fn budget(&self) -> u64 {
        self.budget
    }

    /// The value of `key`, computed by `compute` on a blocking thread on a miss. Concurrent
    /// callers with the same key wait for that one computation; an error is returned to its
    /// caller and not cached (the next request tries again).
    pub async fn get_or_compute<T: Cacheable>(
        &self,
        key: Key,
        compute: impl FnOnce() -> Result<T> + Send + 'static,
    ) -> Result<Arc<T>> {
        let guard = match self.entries.get_value_or_guard_async(&key).await {
            Ok(entry) => {
                self.hits.fetch_add(1, Ordering::Relaxed);
                return typed(&key, &entry.value);
            }
            Err(guard) => guard,
        };
        self.computations.fetch_add(1, Ordering::Relaxed);
        // Never closed, so acquiring only waits.
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|e| Error::Internal(format!("computation slots: {e}")))?;
        let (value, weight) = super::blocking(move || {
            let value = compute()?;
            let weight = value.weight().saturating_mul(RESIDENT_PER_BYTE);
            Ok((value, weight))
        })
        .await?;
        let value = Arc::new(value);
        // An entry heavier than the whole budget is served but not kept.
        let _ = guard.insert(Entry {
            value: T::wrap(Arc::clone(&value)),
            weight,
        });
        Ok(value)
    }

    /// The value of `key` if the cache holds it; nothing is computed.
    pub fn peek<T: Cacheable>(&self, key: &Key) -> Option<Arc<T>> {
        let entry = self.entries.get(key)?;
        self.hits.fetch_add(1, Ordering::Relaxed);
        T::unwrap(&entry.value)
    }

    /// Set aside `bytes` of the budget (a staged upload); entries are evicted to make room.
    /// Refused when the reservations would exceed the budget.
    pub fn reserve(&self, bytes: u64) -> bool {
        let mut reserved = self.reserved.lock().unwrap_or_else(|p| p.into_inner());
        let Some(total) = reserved.checked_add(bytes).filter(|t| *t <= self.budget) else {
            return false;
        };
        *reserved = total;
        self.entries.set_capacity(self.budget - total);
        true
    }

    /// Give back a reservation made with [`Cache::reserve`].
    pub fn release(&self, bytes: u64) {
        let mut reserved = self.reserved.lock().unwrap_or_else(|p| p.into_inner());
        *reserved = reserved.saturating_sub(bytes);
        self.entries.set_capacity(self.budget - *reserved);
    }

    pub fn stats(&self) -> CacheStats {
        let reserved = *self.reserved.lock().unwrap_or_else(|p| p.into_inner());
        CacheStats {
            weight: self.entries.weight(),
            capacity: self.entries.capacity(),
            reserved,
            entries: self.entries.len(),
            computations: self.computations.load(Ordering::Relaxed),
            hits: self.hits.load(Ordering::Relaxed),
        }
    }
}

fn typed<T: Cacheable>(key: &Key, value: &Value) -> Result<Arc<T>> {
    T::unwrap(value).ok_or_else(|| Error::Internal(format!("cache entry {key:?} has another type")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(n: usize) -> DerivedFile {
        DerivedFile {
            name: "f".into(),
            bytes: vec![0; n].into(),
        }
    }

    fn key(i: usize) -> Key {
        Key::File {
            version: "v".into(),
            method: "m".into(),
            file: i.to_string(),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn weight_stays_within_the_budget_and_reservations_shrink_it() {
        let cache = Cache::new(100_000);
        for i in 0..500 {
            let got = cache
                .get_or_compute(key(i), move || Ok(file(1_000 + i)))
                .await;
            assert_eq!(got.unwrap().bytes.len(), 1_000 + i);
            let stats = cache.stats();
            assert!(stats.weight <= stats.capacity, "{stats:?}");
        }
        let stats = cache.stats();
        assert_eq!(stats.computations, 500);
        assert!(stats.entries < 100, "evicted: {stats:?}");
        assert!(cache.reserve(60_000));
        let stats = cache.stats();
        assert_eq!((stats.capacity, stats.reserved), (40_000, 60_000));
        assert!(stats.weight <= 40_000, "{stats:?}");
        assert!(
            !cache.reserve(50_000),
            "reservations never exceed the budget"
        );
        cache.release(60_000);
        assert_eq!(cache.stats().capacity, 100_000);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_entry_heavier_than_the_budget_is_served_not_kept() {
        let cache = Cache::new(1_000);
        let got = cache.get_or_compute(key(0), || Ok(file(5_000))).await;
        assert_eq!(got.unwrap().bytes.len(), 5_000);
        assert_eq!(cache.stats().entries, 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn errors_are_not_cached() {
        let cache = Cache::new(10_000);
        let failed = cache
            .get_or_compute::<DerivedFile>(key(0), || Err(Error::Internal("boom".into())))
            .await;
        assert!(failed.is_err());
        let got = cache.get_or_compute(key(0), || Ok(file(10))).await;
        assert_eq!(got.unwrap().bytes.len(), 10);
        assert_eq!(cache.stats().computations, 2);
    }

    #[test]
    fn json_bytes_counts_the_serialised_length() {
        let rows = vec![("CN-GD", 1.5), ("CN-BJ", 2.0)];
        assert_eq!(
            json_bytes(&rows),
            serde_json::to_string(&rows).unwrap().len() as u64
        );
    }
}
