//! Shared application state: the datasets served, the store, staged uploads and the cache.
//!
//! Owns: which dataset a request means (the `dataset` / `v` parameters, else the default),
//! the server's limits ([`Config`]), and getting every derived value — a loaded version, a
//! result per (dataset version, method), its analyses, a generated file — through the one
//! bounded cache (`web::cache`), so each is computed once however many requests ask at the same
//! time, and memory stays within `--cache-mb`. Must not: render HTML or choose HTTP statuses.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::auth::LoginThrottle;
use super::cache::{Cache, CacheStats, DerivedFile, Key};
use super::compress::{EncodedResponse, Encoding};
use super::staging::{Access, Staging};
use crate::analysis::robustness::{Robustness, RobustnessOptions};
use crate::chart::map::ChinaMap;
use crate::error::{Error, Result};
use crate::method::MethodSpec;
use crate::service::analysis::{AnalysisChoice, AnalysisView};
use crate::service::basemap::{self, BaseMap, BaseMapStatus};
use crate::service::dashboard::{Dataset, ResultTables};
use crate::service::datasets::{self, BUNDLED_ID, StagedUpload, UploadStaging};
use crate::service::diff::{Side, VersionDiff, version_diff};
use crate::service::figure::Fonts;
use crate::service::robustness::Baseline;
use crate::store::Store;

/// Default upload size limit, bytes.
pub const DEFAULT_UPLOAD_LIMIT: usize = 50 * 1024 * 1024;
/// Default memory budget of the cache and the staged uploads, bytes.
pub const DEFAULT_CACHE_BYTES: u64 = 256 * 1024 * 1024;

/// The limits and policies of one server (`nqp serve` flags; see SECURITY.md).
#[derive(Debug, Clone)]
pub struct Config {
    /// Largest accepted upload body, bytes.
    pub upload_limit: usize,
    /// Memory budget of the cache plus the staged uploads, bytes.
    pub cache_bytes: u64,
    /// Uploads one actor may keep staged at once.
    pub staged_per_actor: usize,
    /// How long an uncommitted upload is kept.
    pub staged_ttl: Duration,
    /// Mark the session cookie `Secure` (the site is served over HTTPS).
    pub secure_cookies: bool,
    /// The site's public origin (`https://example.org`): `/login` accepts forms from it only.
    /// `None`: from the request's own `Host`.
    pub public_origin: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            upload_limit: DEFAULT_UPLOAD_LIMIT,
            cache_bytes: DEFAULT_CACHE_BYTES,
            staged_per_actor: super::staging::DEFAULT_PER_ACTOR,
            staged_ttl: super::staging::DEFAULT_TTL,
            secure_cookies: false,
            public_origin: None,
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    /// Served when a request names no dataset and there is no store (tests, `compute` demos).
    default: Arc<Dataset>,
    store: Option<Arc<Store>>,
    config: Config,
    cache: Cache,
    staging: Staging,
    login_throttle: LoginThrottle,
    /// Response bodies compressed (cached or not): what the compression cache saves.
    compressions: AtomicU64,
    /// Counts changes to the store; the fingerprint below is valid for one count.
    changes: AtomicU64,
    fingerprint: Mutex<Option<(u64, String)>>,
    /// The system's fonts for PNG figures, read at the first PNG (a few ms to scan the font
    /// directories; the files are memory-mapped).
    fonts: OnceLock<Fonts>,
    /// The map every choropleth is drawn on: the user's standard base map when one is stored,
    /// else the bundled schematic map (`None`).
    basemap: RwLock<Option<(Arc<ChinaMap>, BaseMapStatus)>>,
}

impl AppState {
    /// State serving one dataset, without a store (no uploads).
    pub fn new(dataset: Dataset) -> AppState {
        AppState::with_config(dataset, Config::default())
    }

    /// State serving one dataset under the given limits.
    pub fn with_config(dataset: Dataset, config: Config) -> AppState {
        AppState::build(Arc::new(dataset), None, config)
    }

    /// State over a store: the bundled dataset is imported on first start, and the default
    /// view is the latest version of `cn-provinces` (or the bundled data if that was deleted).
    pub fn with_store(store: Store, config: Config) -> Result<AppState> {
        datasets::import_bundled_if_empty(&store)?;
        // A stored map that no longer validates is reported, and maps stay schematic: the
        // server still starts, and the publish page says what is wrong when it is uploaded again.
        let stored = basemap::load(&store).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "the stored base map cannot be used; maps are schematic");
            None
        });
        let default = match datasets::pick_version(&store, BUNDLED_ID, None) {
            Ok(version) => datasets::stored_dataset(&store, &version)?,
            Err(Error::NotFound { .. }) => crate::service::bundled::dataset()?,
            Err(e) => return Err(e),
        };
        let state = AppState::build(Arc::new(default), Some(Arc::new(store)), config);
        if let Some((stored, map)) = stored {
            state.set_basemap(Some((&map, &stored.file_name)))?;
        }
        Ok(state)
    }

    fn build(default: Arc<Dataset>, store: Option<Arc<Store>>, config: Config) -> AppState {
        AppState {
            inner: Arc::new(Inner {
                default,
                store,
                cache: Cache::new(config.cache_bytes),
                staging: Staging::new(config.staged_per_actor, config.staged_ttl),
                login_throttle: LoginThrottle::default(),
                config,
                compressions: AtomicU64::new(0),
                changes: AtomicU64::new(0),
                fingerprint: Mutex::new(None),
                fonts: OnceLock::new(),
                basemap: RwLock::new(None),
            }),
        }
    }

    /// The map choropleths are drawn on (see [`Inner::basemap`]).
    pub fn china_map(&self) -> Arc<ChinaMap> {
        static BUNDLED: OnceLock<Arc<ChinaMap>> = OnceLock::new();
        match read(&self.inner.basemap).as_ref() {
            Some((map, _)) => Arc::clone(map),
            None => Arc::clone(BUNDLED.get_or_init(|| Arc::new(ChinaMap::bundled().clone()))),
        }
    }

    /// What the maps are drawn on: the user's base map, or `None` for the schematic map.
    pub fn basemap_status(&self) -> Option<BaseMapStatus> {
        read(&self.inner.basemap).as_ref().map(|(_, s)| s.clone())
    }

    /// Draws maps on `map` (a validated base map and its file name) from now on, or on the
    /// schematic map again with `None`; every page's ETag changes with it.
    pub fn set_basemap(&self, map: Option<(&BaseMap, &str)>) -> Result<()> {
        let next = match map {
            Some((map, file_name)) => {
                let chart = map
                    .chart()
                    .map_err(|e| Error::Internal(format!("base map: {e}")))?;
                Some((Arc::new(chart), BaseMapStatus::of(map, file_name)))
            }
            None => None,
        };
        *self
            .inner
            .basemap
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = next;
        self.store_changed();
        Ok(())
    }

    /// The default dataset.
    pub fn dataset(&self) -> Arc<Dataset> {
        Arc::clone(&self.inner.default)
    }

    /// The fonts figures are rasterised with, read from the system on first use (call it on a
    /// blocking thread: the first call reads the font directories).
    pub fn fonts(&self) -> Fonts {
        self.inner.fonts.get_or_init(Fonts::system).clone()
    }

    pub fn store(&self) -> Option<Arc<Store>> {
        self.inner.store.clone()
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn upload_limit(&self) -> usize {
        self.inner.config.upload_limit
    }

    pub fn login_throttle(&self) -> &LoginThrottle {
        &self.inner.login_throttle
    }

    /// What the cache holds and has computed (tests, logs, the load check).
    pub fn cache_stats(&self) -> CacheStats {
        self.inner.cache.stats()
    }

    /// How many response bodies have been compressed since the start.
    pub fn compressions(&self) -> u64 {
        self.inner.compressions.load(Ordering::Relaxed)
    }

    /// The response tagged `tag` in `encoding`, if the cache holds it.
    pub fn encoded(&self, tag: &str, encoding: Encoding) -> Option<Arc<EncodedResponse>> {
        self.inner.cache.peek(&Key::Encoded {
            tag: tag.to_owned(),
            encoding,
        })
    }

    /// The response tagged `tag` (`headers` already naming `encoding`, `body` as the handler
    /// gave it) in `encoding`: compressed once on a blocking thread, then served from the cache.
    pub async fn encode_once(
        &self,
        tag: String,
        encoding: Encoding,
        headers: axum::http::HeaderMap,
        body: axum::body::Bytes,
    ) -> Result<Arc<EncodedResponse>> {
        let inner = Arc::clone(&self.inner);
        self.inner
            .cache
            .get_or_compute(Key::Encoded { tag, encoding }, move || {
                let body = inner.compress(encoding, &body)?;
                Ok(EncodedResponse { headers, body })
            })
            .await
    }

    /// `body` in `encoding`, compressed for one response (on a blocking thread).
    pub async fn encode(
        &self,
        encoding: Encoding,
        body: axum::body::Bytes,
    ) -> Result<axum::body::Bytes> {
        let inner = Arc::clone(&self.inner);
        super::blocking(move || inner.compress(encoding, &body)).await
    }

    /// Record that the store changed (a commit, a delete): the next [`AppState::fingerprint`]
    /// reads the catalog again.
    pub fn store_changed(&self) {
        self.inner.changes.fetch_add(1, Ordering::SeqCst);
    }

    /// A hash of everything a page can show from the store: every dataset's id, titles,
    /// deletion and latest version (number and content hash); without a store, the served
    /// version. Equal across restarts for equal content, so an ETag built on it never
    /// matches changed content.
    pub async fn fingerprint(&self) -> Result<String> {
        // Every map on every page is drawn on the base map: its caption is part of the content.
        let map = self
            .basemap_status()
            .map(|s| format!("|{}|{}", s.caption, s.file_name))
            .unwrap_or_default();
        let Some(store) = self.inner.store.clone() else {
            return Ok(format!("{}{map}", self.inner.default.version));
        };
        let changes = self.inner.changes.load(Ordering::SeqCst);
        if let Some((at, fingerprint)) = lock(&self.inner.fingerprint).as_ref()
            && *at == changes
        {
            return Ok(fingerprint.clone());
        }
        let fingerprint = super::blocking(move || {
            let mut hasher = Sha256::new();
            for info in store.datasets(true)? {
                for part in [info.id.as_str(), &info.title_zh, &info.title_en] {
                    hasher.update(part.as_bytes());
                    hasher.update([0]);
                }
                hasher.update([u8::from(info.deleted)]);
                if let Some(v) = info.latest_version {
                    hasher.update(v.number.to_le_bytes());
                    hasher.update(v.hash.as_bytes());
                }
                hasher.update([0xff]);
            }
            hasher.update(map.as_bytes());
            Ok(crate::store::hex(&hasher.finalize()))
        })
        .await?;
        // Kept only if no change happened meanwhile (else the next request reads again).
        if self.inner.changes.load(Ordering::SeqCst) == changes {
            *lock(&self.inner.fingerprint) = Some((changes, fingerprint.clone()));
        }
        Ok(fingerprint)
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
        let picker = Arc::clone(&store);
        let version = super::blocking(move || datasets::pick_version(&picker, &id, number)).await?;
        if version.hash == default.version {
            return Ok(Arc::clone(default));
        }
        let key = Key::Dataset {
            version: version.hash.clone(),
        };
        self.inner
            .cache
            .get_or_compute(key, move || datasets::stored_dataset(&store, &version))
            .await
    }

    /// The result for the default dataset and `spec`.
    pub async fn tables(&self, spec: &MethodSpec) -> Result<Arc<ResultTables>> {
        self.tables_for(self.dataset(), spec).await
    }

    /// The result for `dataset` and `spec`: computed once on a blocking thread (polars must not
    /// run on the async runtime), then served from the cache while it stays there.
    pub async fn tables_for(
        &self,
        dataset: Arc<Dataset>,
        spec: &MethodSpec,
    ) -> Result<Arc<ResultTables>> {
        let key = Key::Tables {
            version: dataset.version.clone(),
            method: crate::service::method_key(spec),
        };
        let spec = spec.clone();
        self.inner
            .cache
            .get_or_compute(key, move || crate::service::compute_tables(&dataset, &spec))
            .await
    }

    /// The diff of version `from` to version `to` of one dataset under `spec`
    /// (`service::diff::version_diff`): both versions' results are the cached ones the other
    /// pages use, and the diff itself — with the index of `from` recomputed with only the
    /// revised cells replaced — is computed once per (from, to, method) and cached like them.
    /// A cached diff is answered without looking the two results up (they may have been
    /// evicted, and would then be computed again for nothing).
    pub async fn diff_for(
        &self,
        from: Arc<Dataset>,
        to: Arc<Dataset>,
        numbers: (u32, u32),
        spec: &MethodSpec,
    ) -> Result<Arc<VersionDiff>> {
        let key = Key::Diff {
            dataset: to.id.to_string(),
            from: numbers.0,
            to: numbers.1,
            versions: [from.version.clone(), to.version.clone()],
            method: crate::service::method_key(spec),
        };
        if let Some(diff) = self.inner.cache.peek(&key) {
            return Ok(diff);
        }
        let from_tables = self.tables_for(Arc::clone(&from), spec).await?;
        let to_tables = self.tables_for(Arc::clone(&to), spec).await?;
        let spec = spec.clone();
        self.inner
            .cache
            .get_or_compute(key, move || {
                let from = Side {
                    dataset: &from,
                    number: numbers.0,
                    result: &from_tables.result,
                };
                let to = Side {
                    dataset: &to,
                    number: numbers.1,
                    result: &to_tables.result,
                };
                version_diff(from, to, &spec)
            })
            .await
    }

    /// The analyses (inequality, dynamics, spatial, diagnosis) of `dataset` under `spec` and
    /// the page's `choice` (weight matrix, controls), computed once from the cached result and
    /// cached like it.
    pub async fn analysis_for(
        &self,
        dataset: Arc<Dataset>,
        spec: &MethodSpec,
        choice: &AnalysisChoice,
    ) -> Result<Arc<AnalysisView>> {
        let key = Key::Analysis {
            version: dataset.version.clone(),
            method: format!("{}|{}", crate::service::method_key(spec), choice.key()),
        };
        let tables = self.tables_for(Arc::clone(&dataset), spec).await?;
        let choice = choice.clone();
        self.inner
            .cache
            .get_or_compute(key, move || {
                crate::service::analysis::analysis_view_with(&dataset, &tables, &choice)
            })
            .await
    }

    /// A generated file of `dataset` under `spec` (`variant` names it among the files of that
    /// result: URL segment and options), built by `build` once and then served from the cache.
    pub async fn file_for(
        &self,
        dataset: Arc<Dataset>,
        spec: &MethodSpec,
        variant: String,
        build: impl FnOnce(&Dataset, &ResultTables) -> Result<DerivedFile> + Send + 'static,
    ) -> Result<Arc<DerivedFile>> {
        let key = Key::File {
            version: dataset.version.clone(),
            method: crate::service::method_key(spec),
            file: variant,
        };
        let tables = self.tables_for(Arc::clone(&dataset), spec).await?;
        self.inner
            .cache
            .get_or_compute(key, move || build(&dataset, &tables))
            .await
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
        let key = Key::Robustness {
            version: dataset.version.clone(),
            method: format!("{}|{options_key}", crate::service::method_key(spec)),
        };
        let (spec, options) = (spec.clone(), options.clone());
        self.inner
            .cache
            .get_or_compute(key, move || {
                crate::service::robustness::robustness(
                    &dataset.panel,
                    &dataset.framework,
                    &spec,
                    &options,
                )
            })
            .await
    }

    /// The prepared panel of `dataset` with `spec` run on it, computed once on a blocking
    /// thread: the weight sandbox and the change decomposition start from it.
    pub async fn baseline_for(
        &self,
        dataset: Arc<Dataset>,
        spec: &MethodSpec,
    ) -> Result<Arc<Baseline>> {
        let key = Key::Baseline {
            version: dataset.version.clone(),
            method: crate::service::method_key(spec),
        };
        let spec = spec.clone();
        self.inner
            .cache
            .get_or_compute(key, move || {
                crate::service::robustness::baseline(&dataset.panel, &dataset.framework, &spec)
            })
            .await
    }

    /// Keep a validated upload until it is committed; returns its (random, unguessable) id.
    pub fn stage(&self, actor: &str, upload: StagedUpload) -> Result<String> {
        self.stage_at(actor, upload, Instant::now())
    }

    /// [`AppState::stage`] at a given time (tests of the expiry).
    pub fn stage_at(&self, actor: &str, upload: StagedUpload, now: Instant) -> Result<String> {
        // 128 of the OS's random bits are plenty for an id that only its actor can use.
        let mut id = crate::store::random_hex()?;
        id.truncate(32);
        let inner = &self.inner;
        inner
            .staging
            .stage(&inner.cache, id.clone(), actor, upload, now)?;
        Ok(id)
    }

    /// A staged upload, only for the actor who made it and only until it expires.
    pub fn staged(&self, id: &str, actor: &str) -> Option<Arc<StagedUpload>> {
        self.staged_at(id, actor, Instant::now())
    }

    /// [`AppState::staged`] at a given time (tests of the expiry).
    pub fn staged_at(&self, id: &str, actor: &str, now: Instant) -> Option<Arc<StagedUpload>> {
        let inner = &self.inner;
        inner
            .staging
            .find(&inner.cache, id, actor, now, Access::Peek)
    }
}

impl UploadStaging for AppState {
    fn take(&self, id: &str, actor: &str) -> Option<Arc<StagedUpload>> {
        let inner = &self.inner;
        inner
            .staging
            .find(&inner.cache, id, actor, Instant::now(), Access::Take)
    }

    fn restore(&self, id: &str, actor: &str, upload: Arc<StagedUpload>) {
        let inner = &self.inner;
        inner
            .staging
            .restore(&inner.cache, id.to_owned(), actor, upload, Instant::now());
    }
}

impl Inner {
    fn compress(&self, encoding: Encoding, body: &[u8]) -> Result<axum::body::Bytes> {
        match encoding {
            Encoding::Identity => Ok(axum::body::Bytes::copy_from_slice(body)),
            Encoding::Gzip => {
                self.compressions.fetch_add(1, Ordering::Relaxed);
                super::compress::gzip(body)
            }
        }
    }
}

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|p| p.into_inner())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
