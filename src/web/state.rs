//! Shared application state: the datasets served and the per-(version, method) result cache.
//!
//! Owns: loading the bundled dataset at start-up and caching computed results so an index is
//! computed once per (dataset version, method) and shared by every request. Must not: render
//! HTML or choose HTTP statuses.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::error::Result;
use crate::method::MethodSpec;
use crate::service::dashboard::{Dataset, ResultTables};

#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    dataset: Arc<Dataset>,
    cache: Mutex<HashMap<(String, String), Arc<ResultTables>>>,
}

impl AppState {
    pub fn new(dataset: Dataset) -> AppState {
        AppState {
            inner: Arc::new(Inner {
                dataset: Arc::new(dataset),
                cache: Mutex::new(HashMap::new()),
            }),
        }
    }

    pub fn dataset(&self) -> Arc<Dataset> {
        Arc::clone(&self.inner.dataset)
    }

    /// The result for `spec`, computed on first use (on a blocking thread: polars must not run
    /// on the async runtime) and cached for the life of the process.
    pub async fn tables(&self, spec: &MethodSpec) -> Result<Arc<ResultTables>> {
        let key = (
            self.inner.dataset.version.clone(),
            crate::service::method_key(spec),
        );
        if let Some(hit) = self.cached(&key) {
            return Ok(hit);
        }
        let dataset = self.dataset();
        let spec = spec.clone();
        let tables = tokio::task::spawn_blocking(move || {
            crate::service::compute_tables(&dataset, &spec)
        })
        .await
        .map_err(|e| crate::Error::Internal(format!("compute task failed: {e}")))??;
        let tables = Arc::new(tables);
        let mut cache = self.inner.cache.lock().unwrap_or_else(|p| p.into_inner());
        Ok(Arc::clone(cache.entry(key).or_insert(tables)))
    }

    fn cached(&self, key: &(String, String)) -> Option<Arc<ResultTables>> {
        let cache = self.inner.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.get(key).cloned()
    }
}
