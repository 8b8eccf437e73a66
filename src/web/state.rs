//! Shared application state: the datasets served, the store, staged uploads and the result cache.
//!
//! Owns: which dataset a request means (the `dataset` / `v` parameters, else the default),
//! loading stored versions once, and caching computed results so an index is computed once
//! per (dataset version, method) and shared by every request. Must not: render HTML or choose
//! HTTP statuses.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::analysis::robustness::{Robustness, RobustnessOptions};
use crate::error::{Error, Result};
use crate::method::MethodSpec;
use crate::service::analysis::{AnalysisChoice, AnalysisView};
use crate::service::dashboard::{Dataset, ResultTables};
use crate::service::datasets::{self, BUNDLED_ID, StagedUpload, UploadStaging};
use crate::store::Store;

/// How many validated-but-uncommitted uploads are kept (oldest dropped first).
const MAX_STAGED_UPLOADS: usize = 32;
/// Default upload size limit, bytes.
pub const DEFAULT_UPLOAD_LIMIT: usize = 50 * 1024 * 1024;

#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    /// Served when a request names no dataset and there is no store (tests, `compute` demos).
    default: Arc<Dataset>,
    store: Option<Arc<Store>>,
    /// Stored versions opened so far, by content hash.
    loaded: Mutex<HashMap<String, Arc<Dataset>>>,
    cache: Mutex<HashMap<(String, String), Arc<ResultTables>>>,
    /// The analyses of a cached result, keyed the same way (computed on first use).
    analyses: Mutex<HashMap<(String, String), Arc<AnalysisView>>>,
    /// Robustness reports by (dataset version, method, options).
    robustness: Mutex<HashMap<(String, String, String), Arc<Robustness>>>,
    staged: Mutex<VecDeque<(String, String, Arc<StagedUpload>)>>,
    /// Bumped on every change to the store: part of every ETag, so "latest" views refresh.
    generation: AtomicU64,
    upload_limit: usize,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl AppState {
    /// State serving one dataset, without a store (no uploads).
    pub fn new(dataset: Dataset) -> AppState {
        AppState::build(Arc::new(dataset), None, DEFAULT_UPLOAD_LIMIT)
    }

    /// State over a store: the bundled dataset is imported on first start, and the default
    /// view is the latest version of `cn-provinces` (or the bundled data if that was deleted).
    pub fn with_store(store: Store, upload_limit: usize) -> Result<AppState> {
        datasets::import_bundled_if_empty(&store)?;
        let default = match datasets::pick_version(&store, BUNDLED_ID, None) {
            Ok(version) => datasets::stored_dataset(&store, &version)?,
            Err(Error::NotFound { .. }) => crate::service::bundled::dataset()?,
            Err(e) => return Err(e),
        };
        Ok(AppState::build(
            Arc::new(default),
            Some(Arc::new(store)),
            upload_limit,
        ))
    }

    fn build(default: Arc<Dataset>, store: Option<Arc<Store>>, upload_limit: usize) -> AppState {
        AppState {
            inner: Arc::new(Inner {
                default,
                store,
                loaded: Mutex::new(HashMap::new()),
                cache: Mutex::new(HashMap::new()),
                analyses: Mutex::new(HashMap::new()),
                robustness: Mutex::new(HashMap::new()),
                staged: Mutex::new(VecDeque::new()),
                generation: AtomicU64::new(0),
                upload_limit,
            }),
        }
    }

    /// The default dataset.
    pub fn dataset(&self) -> Arc<Dataset> {
        Arc::clone(&self.inner.default)
    }

    pub fn store(&self) -> Option<Arc<Store>> {
        self.inner.store.clone()
    }

    pub fn upload_limit(&self) -> usize {
        self.inner.upload_limit
    }

    /// Changes whenever stored data changes (used in ETags).
    pub fn generation(&self) -> u64 {
        self.inner.generation.load(Ordering::SeqCst)
    }

    /// Record that the store changed (a commit, a delete).
    pub fn bump_generation(&self) {
        self.inner.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// The dataset a request names: `dataset` (id) and `v` (version number), both optional.
    pub async fn resolve(&self, id: Option<&str>, number: Option<u32>) -> Result<Arc<Dataset>> {
        let default = &self.inner.default;
        let Some(store) = self.inner.store.clone() else {
            return match id {
                None => Ok(Arc::clone(default)),
                Some(id) if id == default.id.as_str() && number.is_none() => {
                    Ok(Arc::clone(default))
                }
                Some(id) => Err(Error::NotFound {
                    what: "dataset",
                    key: id.to_owned(),
                }),
            };
        };
        let id = id.unwrap_or(BUNDLED_ID).to_owned();
        let inner = Arc::clone(&self.inner);
        super::blocking(move || {
            let version = datasets::pick_version(&store, &id, number)?;
            if let Some(hit) = lock(&inner.loaded).get(&version.hash) {
                return Ok(Arc::clone(hit));
            }
            let dataset = Arc::new(datasets::stored_dataset(&store, &version)?);
            lock(&inner.loaded).insert(version.hash.clone(), Arc::clone(&dataset));
            Ok(dataset)
        })
        .await
    }

    /// The result for the default dataset and `spec`.
    pub async fn tables(&self, spec: &MethodSpec) -> Result<Arc<ResultTables>> {
        self.tables_for(self.dataset(), spec).await
    }

    /// The result for `dataset` and `spec`, computed on first use (on a blocking thread: polars
    /// must not run on the async runtime) and cached for the life of the process.
    pub async fn tables_for(
        &self,
        dataset: Arc<Dataset>,
        spec: &MethodSpec,
    ) -> Result<Arc<ResultTables>> {
        let key = (dataset.version.clone(), crate::service::method_key(spec));
        if let Some(hit) = lock(&self.inner.cache).get(&key) {
            return Ok(Arc::clone(hit));
        }
        let spec = spec.clone();
        let tables =
            super::blocking(move || crate::service::compute_tables(&dataset, &spec)).await?;
        let mut cache = lock(&self.inner.cache);
        Ok(Arc::clone(cache.entry(key).or_insert(Arc::new(tables))))
    }

    /// The analyses (inequality, dynamics, spatial, diagnosis) of `dataset` under `spec` and
    /// the page's `choice` (weight matrix, controls), computed once on a blocking thread from
    /// the cached result and kept like it.
    pub async fn analysis_for(
        &self,
        dataset: Arc<Dataset>,
        spec: &MethodSpec,
        choice: &AnalysisChoice,
    ) -> Result<Arc<AnalysisView>> {
        let key = (
            dataset.version.clone(),
            format!("{}|{}", crate::service::method_key(spec), choice.key()),
        );
        if let Some(hit) = lock(&self.inner.analyses).get(&key) {
            return Ok(Arc::clone(hit));
        }
        let tables = self.tables_for(Arc::clone(&dataset), spec).await?;
        let choice = choice.clone();
        let view = super::blocking(move || {
            crate::service::analysis::analysis_view_with(&dataset, &tables, &choice)
        })
        .await?;
        let mut cache = lock(&self.inner.analyses);
        Ok(Arc::clone(cache.entry(key).or_insert(Arc::new(view))))
    }

    /// The robustness report of `dataset` with nominal method `spec` over `options`, computed
    /// once on a blocking thread and kept like the result it describes.
    pub async fn robustness_for(
        &self,
        dataset: Arc<Dataset>,
        spec: &MethodSpec,
        options: &RobustnessOptions,
    ) -> Result<Arc<Robustness>> {
        let options_key =
            serde_json::to_string(options).map_err(|e| Error::Internal(e.to_string()))?;
        let key = (
            dataset.version.clone(),
            crate::service::method_key(spec),
            options_key,
        );
        if let Some(hit) = lock(&self.inner.robustness).get(&key) {
            return Ok(Arc::clone(hit));
        }
        let (spec, options) = (spec.clone(), options.clone());
        let report = super::blocking(move || {
            crate::service::robustness::robustness(
                &dataset.panel,
                &dataset.framework,
                &spec,
                &options,
            )
        })
        .await?;
        let mut cache = lock(&self.inner.robustness);
        Ok(Arc::clone(cache.entry(key).or_insert(Arc::new(report))))
    }

    /// Keep a validated upload until it is committed; returns its (random, unguessable) id.
    pub fn stage(&self, actor: &str, upload: StagedUpload) -> Result<String> {
        // 128 of the OS's random bits are plenty for an id that only its actor can use.
        let mut id = crate::store::random_hex()?;
        id.truncate(32);
        let mut staged = lock(&self.inner.staged);
        if staged.len() >= MAX_STAGED_UPLOADS {
            staged.pop_front();
        }
        staged.push_back((id.clone(), actor.to_owned(), Arc::new(upload)));
        Ok(id)
    }

    /// A staged upload, only for the actor who made it.
    pub fn staged(&self, id: &str, actor: &str) -> Option<Arc<StagedUpload>> {
        lock(&self.inner.staged)
            .iter()
            .find(|(i, a, _)| i == id && a == actor)
            .map(|(_, _, u)| Arc::clone(u))
    }
}

impl UploadStaging for AppState {
    fn take(&self, id: &str, actor: &str) -> Option<Arc<StagedUpload>> {
        let mut staged = lock(&self.inner.staged);
        let at = staged.iter().position(|(i, a, _)| i == id && a == actor)?;
        staged.remove(at).map(|(_, _, upload)| upload)
    }

    fn restore(&self, id: &str, actor: &str, upload: Arc<StagedUpload>) {
        lock(&self.inner.staged).push_back((id.to_owned(), actor.to_owned(), upload));
    }
}
