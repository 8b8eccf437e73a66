//! Stored datasets and the upload flow: validate → preview → map → commit.
//!
//! Owns: turning stored versions into servable [`Dataset`]s, importing the bundled dataset
//! into an empty store, previewing uploaded files (what was detected, which indicators are new)
//! and committing an upload as a new dataset or a new version of an existing one — after the
//! merged data and framework have been proven to compute, so that nothing invalid is stored.
//! Must not: write files itself (the store does) or know HTTP.

use std::collections::{BTreeMap, HashMap};

use chrono::SecondsFormat;
use polars::prelude::{DataFrame, df};
use serde::{Deserialize, Serialize};

use super::dashboard::Dataset;
use super::download::{DownloadLink, download_links};
use super::revisions::{Reconciled, RevisedCell, merged_panel, reconcile};
use super::{FileReport, InputFile, RegionChoice, compute_index, load_data};
use crate::error::{Error, Result};
use crate::framework::Framework;
use crate::ingest::RegionSet;
use crate::method::MethodSpec;
use crate::store::{Base, NewVersion, Revision, Store, StoreError, VersionInfo};
use crate::types::{DatasetId, Dimension, Direction, IndicatorId, Lang, Panel};

/// Id of the bundled dataset in every store.
pub const BUNDLED_ID: &str = "cn-provinces";
/// The actor recorded when nqp itself writes (first-start import).
pub const SYSTEM_ACTOR: &str = "nqp";

fn region_set_for(id: Option<&str>) -> Option<RegionSet> {
    let bundled = RegionSet::cn_provinces();
    (id == Some(bundled.id())).then_some(bundled)
}

/// Import every bundled dataset as version 1 of its id when the store is empty; returns the
/// default one's version.
pub fn import_bundled_if_empty(store: &Store) -> Result<Option<VersionInfo>> {
    if !store.is_empty()? {
        return Ok(None);
    }
    let regions = RegionSet::cn_provinces();
    let mut first = None;
    for bundled in &super::bundled::BUNDLED {
        let ds = bundled.dataset()?;
        let info = store.put_version(
            NewVersion {
                dataset: &ds.id,
                base: Base::New,
                title_zh: &ds.title_zh,
                title_en: &ds.title_en,
                panel: &ds.panel,
                framework_toml: super::bundled::FRAMEWORK_TOML,
                region_set_id: Some(regions.id()),
                source_files: &[(
                    "panel.csv".to_owned(),
                    super::content_version(&[bundled.panel_csv.as_bytes()]),
                )],
                note: "bundled dataset (nqp import)",
                revisions: &[],
            },
            SYSTEM_ACTOR,
        )?;
        first.get_or_insert(info);
    }
    Ok(first)
}

/// Which version of a stored dataset to open.
pub fn pick_version(store: &Store, id: &str, number: Option<u32>) -> Result<VersionInfo> {
    let not_found = |key: String| Error::NotFound {
        what: "dataset",
        key,
    };
    let dataset_id = DatasetId::new(id).map_err(|_| not_found(id.to_owned()))?;
    let info = store
        .dataset(&dataset_id)?
        .filter(|d| !d.deleted)
        .ok_or_else(|| not_found(id.to_owned()))?;
    match number {
        None => info.latest_version.ok_or_else(|| not_found(id.to_owned())),
        Some(n) => store
            .versions(&dataset_id)?
            .into_iter()
            .find(|v| v.number == n)
            .ok_or_else(|| not_found(format!("{id} v{n}"))),
    }
}

/// Open a stored version as a servable dataset.
pub fn stored_dataset(store: &Store, version: &VersionInfo) -> Result<Dataset> {
    let info = store
        .dataset(&version.dataset)?
        .ok_or_else(|| Error::NotFound {
            what: "dataset",
            key: version.dataset.to_string(),
        })?;
    let panel = store.load_panel(&version.dataset, version.number)?;
    let toml = store.framework_toml(&version.dataset, version.number)?;
    let framework = Framework::from_toml(&toml, "framework.toml")?;
    Ok(Dataset {
        id: version.dataset.clone(),
        version: version.hash.clone(),
        number: Some(version.number),
        title_zh: info.title_zh,
        title_en: info.title_en,
        panel,
        framework,
        framework_toml: toml,
        regions: region_set_for(version.region_set_id.as_deref()),
        units: BTreeMap::new(),
    })
}

/// One version of a dataset, as listed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VersionRef {
    /// 1, 2, … in commit order (`v=` on pages and API); `null` for a dataset not from the store.
    pub number: Option<u32>,
    /// Content hash (SHA-256, hex): the version in download URLs.
    pub version: String,
    /// RFC 3339, UTC; `null` for a dataset not from the store.
    pub created_at: Option<String>,
    /// The actor that committed it; `null` for a dataset not from the store.
    pub created_by: Option<String>,
    /// Panel rows; `null` for a dataset not from the store.
    pub rows: Option<u64>,
    pub note: Option<String>,
    /// Cells this version revised (`/datasets/{id}/{v}/revisions.csv` lists them); 0 for a
    /// dataset not from the store.
    pub revised: u64,
}

impl From<&VersionInfo> for VersionRef {
    fn from(v: &VersionInfo) -> VersionRef {
        VersionRef {
            number: Some(v.number),
            version: v.hash.clone(),
            created_at: Some(v.created_at.to_rfc3339_opts(SecondsFormat::Secs, true)),
            created_by: Some(v.created_by.clone()),
            rows: Some(v.rows),
            note: Some(v.note.clone()),
            revised: v.revised,
        }
    }
}

/// A dataset served, as listed on `/datasets` and by `/api/v1/datasets`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DatasetEntry {
    pub id: String,
    /// Title in the requested language.
    pub title: String,
    pub title_zh: String,
    pub title_en: String,
    /// The latest version.
    pub latest: VersionRef,
    /// Every version, oldest first.
    pub versions: Vec<VersionRef>,
    /// Downloads of the latest version under the requested method.
    pub downloads: Vec<DownloadLink>,
}

/// The datasets served: every stored dataset that is not deleted when there is a store, else
/// the one dataset `served` (from files or bundled); each with its versions and the downloads
/// of its latest version under `spec`. Blocking (reads the catalog).
pub fn listing(
    store: Option<&Store>,
    served: &Dataset,
    spec: &MethodSpec,
    lang: Lang,
) -> Result<Vec<DatasetEntry>> {
    let entry = |id: &str, titles: (&str, &str), versions: Vec<VersionRef>| {
        let latest = versions.last()?.clone();
        Some(DatasetEntry {
            id: id.to_owned(),
            title: lang.pick(titles.0, titles.1).to_owned(),
            title_zh: titles.0.to_owned(),
            title_en: titles.1.to_owned(),
            downloads: download_links(id, &latest.version, spec),
            latest,
            versions,
        })
    };
    let Some(store) = store else {
        let only = VersionRef {
            number: served.number,
            version: served.version.clone(),
            created_at: None,
            created_by: None,
            rows: None,
            note: None,
            revised: 0,
        };
        let titles = (served.title_zh.as_str(), served.title_en.as_str());
        return Ok(entry(served.id.as_str(), titles, vec![only])
            .into_iter()
            .collect());
    };
    let mut out = Vec::new();
    for dataset in store.datasets(false)? {
        let versions = store.versions(&dataset.id)?;
        let titles = (dataset.title_zh.as_str(), dataset.title_en.as_str());
        let refs = versions.iter().map(VersionRef::from).collect();
        out.extend(entry(dataset.id.as_str(), titles, refs));
    }
    Ok(out)
}

/// A file of a stored version, as served at `/datasets/{id}/{v}/{file}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionFile {
    /// `panel.csv`: the panel in long form (region, year, indicator, value).
    PanelCsv,
    /// `framework.toml`: the framework text exactly as committed.
    FrameworkToml,
    /// `revisions.csv`: the cells the version revised, with old and new value, who, when and
    /// from which file.
    RevisionsCsv,
}

impl VersionFile {
    pub fn parse(name: &str) -> Option<VersionFile> {
        match name {
            "panel.csv" => Some(VersionFile::PanelCsv),
            "framework.toml" => Some(VersionFile::FrameworkToml),
            "revisions.csv" => Some(VersionFile::RevisionsCsv),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            VersionFile::PanelCsv | VersionFile::RevisionsCsv => "text/csv; charset=utf-8",
            VersionFile::FrameworkToml => "application/toml; charset=utf-8",
        }
    }
}

/// The bytes of one file of a stored version, so it can be re-uploaded or audited. The panel
/// goes through the same CSV writer as every download: a region or indicator name that a
/// spreadsheet would run as a formula is neutralised ([`super::download::neutralise_cell`]).
pub fn version_file(store: &Store, id: &str, number: u32, file: VersionFile) -> Result<Vec<u8>> {
    let version = pick_version(store, id, Some(number))?;
    match file {
        VersionFile::PanelCsv => {
            let panel = store.load_panel(&version.dataset, version.number)?;
            super::download::csv_bytes(panel.frame(), false)
        }
        VersionFile::FrameworkToml => Ok(store
            .framework_toml(&version.dataset, version.number)?
            .into_bytes()),
        VersionFile::RevisionsCsv => {
            let revisions = store.revisions(&version.dataset, version.number)?;
            super::download::csv_bytes(&revisions_frame(&version, &revisions)?, false)
        }
    }
}

/// The revision records of a version as a table: the cell, old and new value, the change in
/// per cent, and the version's author, time and the upload's files.
fn revisions_frame(version: &VersionInfo, revisions: &[Revision]) -> Result<DataFrame> {
    let time = version
        .created_at
        .to_rfc3339_opts(SecondsFormat::Secs, true);
    let change = |r: &Revision| (r.old != 0.0).then(|| (r.new - r.old) / r.old.abs() * 100.0);
    Ok(df!(
        "region" => revisions.iter().map(|r| r.region.as_str()).collect::<Vec<_>>(),
        "year" => revisions.iter().map(|r| r.year).collect::<Vec<_>>(),
        "indicator" => revisions.iter().map(|r| r.indicator.as_str()).collect::<Vec<_>>(),
        "old" => revisions.iter().map(|r| r.old).collect::<Vec<_>>(),
        "new" => revisions.iter().map(|r| r.new).collect::<Vec<_>>(),
        "change_pct" => revisions.iter().map(change).collect::<Vec<_>>(),
        "actor" => vec![version.created_by.as_str(); revisions.len()],
        "time" => vec![time.as_str(); revisions.len()],
        "file" => revisions.iter().map(|r| r.file.as_str()).collect::<Vec<_>>(),
    )?)
}

/// Where an upload goes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum UploadTarget {
    /// A new dataset with this id and titles.
    New {
        id: DatasetId,
        title_zh: String,
        title_en: String,
    },
    /// A new version of an existing dataset, merging the uploaded indicators into it.
    Existing { id: DatasetId },
}

impl UploadTarget {
    pub fn id(&self) -> &DatasetId {
        match self {
            UploadTarget::New { id, .. } | UploadTarget::Existing { id } => id,
        }
    }
}

/// One indicator found in the uploaded files.
#[derive(Debug, Clone, Serialize)]
pub struct FoundIndicator {
    /// The name in the file (an NBS indicator name such as `地区生产总值`, or a column name).
    pub name: String,
    /// The framework id it maps to, when the target's framework already knows it.
    pub known_as: Option<String>,
    pub unit: Option<String>,
    /// Share of (region, year) cells of the upload that hold a value.
    pub coverage: f64,
    /// A suggested id for a new indicator (`[a-z0-9_]`, unique in the framework).
    pub suggested_id: String,
}

/// What a user sees before committing.
#[derive(Debug, Clone, Serialize)]
pub struct UploadPreview {
    pub target: UploadTarget,
    /// What the preview was built on: `new`, or `{"version": n}` — the latest version of the
    /// target at staging time. The commit merges onto exactly this version and is refused (409)
    /// if the dataset has changed since, because the preview would no longer tell the truth.
    pub base: Base,
    pub files: Vec<FileReport>,
    pub region_set: Option<String>,
    pub regions: usize,
    pub years: Vec<i32>,
    pub indicators: Vec<FoundIndicator>,
    /// Whether the user gave a framework file (then no mapping is needed).
    pub has_framework: bool,
    /// Years of the upload left out because they lie outside the target dataset's years.
    pub years_left_out: Vec<i32>,
    /// Cells of the upload equal to the stored ones (docs/method.md, "Merging uploads and
    /// revisions"): one observation each, nothing to store.
    pub agreed: usize,
    /// Cells of the upload that give a stored cell another value: committed only as a
    /// revision (`revise`), else the commit is refused (409).
    pub revised: Vec<RevisedCell>,
}

/// Validated upload kept between preview and commit (in memory: nothing is stored until
/// the commit succeeds).
#[derive(Debug, Clone)]
pub struct StagedUpload {
    pub files: Vec<InputFile>,
    pub framework_toml: Option<String>,
    pub panel: Panel,
    pub region_set: Option<RegionSet>,
    pub preview: UploadPreview,
    /// The upload compared with its base version (`None` for a new dataset).
    pub reconciled: Option<Reconciled>,
}

/// Validate uploaded files against the target and describe them. Errors name file, line and
/// column; nothing is written.
pub fn stage_upload(
    store: &Store,
    target: UploadTarget,
    files: Vec<InputFile>,
    framework_toml: Option<String>,
) -> Result<StagedUpload> {
    let existing = match &target {
        UploadTarget::Existing { id } => {
            let version = pick_version(store, id.as_str(), None)?;
            Some((stored_dataset(store, &version)?, version.number))
        }
        UploadTarget::New { id, .. } => {
            if store.dataset(id)?.is_some() {
                return Err(Error::Conflict(format!(
                    "a dataset with the id '{id}' already exists; choose another id or add a version to it"
                )));
            }
            None
        }
    };
    let base = existing
        .as_ref()
        .map_or(Base::New, |(_, number)| Base::Version(*number));
    let existing = existing.map(|(ds, _)| ds);
    let framework = match (&framework_toml, &existing) {
        (Some(text), _) => Some(Framework::from_toml(text, "framework.toml")?),
        (None, Some(ds)) => Some(ds.framework.clone()),
        (None, None) => None,
    };
    let regions = match existing.as_ref().and_then(|d| d.regions.clone()) {
        Some(set) => RegionChoice::Set(set),
        None => RegionChoice::Auto,
    };
    let data = load_data(&files, &regions)?;
    // NBS exports cover "the last 20 years"; merged as they come, a *new* indicator would add
    // years in which the dataset's other indicators have no data, lowering their coverage until
    // the coverage rule drops them. So new indicators keep the dataset's years (the preview says
    // what is left out); indicators the dataset already has may extend it (e.g. a new year).
    let (panel, decimals, years_left_out) = match (&existing, &framework) {
        (Some(ds), Some(framework)) => {
            let known: Vec<String> = data
                .panel
                .indicators()?
                .into_iter()
                .filter(|name| framework.canonical_id(name).is_some())
                .collect();
            within_years(&data.panel, &data.decimals, &ds.panel.years()?, &known)?
        }
        _ => (data.panel, data.decimals, Vec::new()),
    };
    let reconciled = match (&existing, &framework) {
        (Some(ds), Some(framework)) => Some(reconcile(
            &ds.panel,
            &panel,
            &decimals,
            framework,
            &data.units,
        )?),
        _ => None,
    };
    let indicators = found_indicators(&panel, &data.units, framework.as_ref())?;
    let preview = UploadPreview {
        target,
        base,
        regions: panel.regions()?.len(),
        years: panel.years()?,
        region_set: data.region_set.as_ref().map(|s| s.id().to_owned()),
        files: data.files,
        indicators,
        has_framework: framework_toml.is_some(),
        years_left_out,
        agreed: reconciled.as_ref().map_or(0, |r| r.agreed),
        revised: reconciled
            .as_ref()
            .map(|r| r.revised.clone())
            .unwrap_or_default(),
    };
    Ok(StagedUpload {
        files,
        framework_toml,
        panel,
        region_set: data.region_set,
        preview,
        reconciled,
    })
}

/// The upload (its panel and the decimals each value shows) with rows of indicators not in
/// `known` restricted to the years `keep` spans (first to last), and the years that lost rows.
fn within_years(
    upload: &Panel,
    decimals: &[i8],
    keep: &[i32],
    known: &[String],
) -> Result<(Panel, Vec<i8>, Vec<i32>)> {
    use polars::prelude::*;
    let (Some(&first), Some(&last)) = (keep.first(), keep.last()) else {
        return Ok((upload.clone(), decimals.to_vec(), Vec::new()));
    };
    let known = Series::new("known".into(), known);
    let keep_row = col("indicator")
        .is_in(lit(known).implode(true), false)
        .or(col("year")
            .gt_eq(lit(first))
            .and(col("year").lt_eq(lit(last))));
    let mask = upload
        .frame()
        .clone()
        .lazy()
        .select([keep_row.alias("keep")])
        .collect()?;
    let mask = mask.column("keep")?.bool()?;
    let kept = Panel::new(upload.frame().filter(mask)?)?;
    let left_out = Panel::new(upload.frame().filter(&!mask)?)?.years()?;
    let decimals = decimals
        .iter()
        .zip(mask.iter())
        .filter_map(|(d, keep)| keep.unwrap_or(false).then_some(*d))
        .collect();
    Ok((kept, decimals, left_out))
}

fn found_indicators(
    panel: &Panel,
    units: &BTreeMap<String, String>,
    framework: Option<&Framework>,
) -> Result<Vec<FoundIndicator>> {
    use polars::prelude::*;
    let cells = (panel.regions()?.len() * panel.years()?.len()).max(1) as f64;
    let counts = panel
        .frame()
        .clone()
        .lazy()
        .group_by([col("indicator")])
        .agg([col("value").count().alias("n")])
        .collect()?;
    let names = counts.column("indicator")?.str()?.clone();
    let ns = counts.column("n")?.cast(&DataType::Float64)?;
    let ns = ns.f64()?;
    let mut taken: Vec<String> = framework
        .map(|f| {
            f.indicators
                .iter()
                .map(|d| d.id.to_string())
                .chain(f.inputs.iter().map(|d| d.id.to_string()))
                .collect()
        })
        .unwrap_or_default();
    let mut found = Vec::new();
    for (name, n) in names.iter().zip(ns.iter()) {
        let name = name.unwrap_or_default().to_owned();
        let known_as = framework
            .and_then(|f| f.canonical_id(&name))
            .map(|id| id.to_string());
        let suggested_id = suggest_id(&name, found.len() + 1, &taken);
        taken.push(suggested_id.clone());
        found.push(FoundIndicator {
            unit: units.get(&name).cloned(),
            coverage: n.unwrap_or(0.0) / cells,
            known_as,
            suggested_id,
            name,
        });
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

/// An id for a new indicator: the name slugged when it is ASCII, else `indicator_<n>`.
fn suggest_id(name: &str, n: usize, taken: &[String]) -> String {
    let slug: String = name
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect::<String>()
        .split('_')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("_");
    let base = if IndicatorId::new(slug.clone()).is_ok() {
        slug
    } else {
        format!("indicator_{n}")
    };
    let mut id = base.clone();
    let mut k = 2;
    while taken.contains(&id) {
        id = format!("{base}_{k}");
        k += 1;
    }
    id
}

/// How the user mapped one new indicator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndicatorMapping {
    /// The name in the uploaded file.
    pub source_name: String,
    pub id: IndicatorId,
    pub name_zh: String,
    pub name_en: String,
    pub dimension: Dimension,
    pub subdimension: Option<String>,
    pub direction: Direction,
    pub unit: String,
    pub source: String,
}

/// TOML basic-string quoting (JSON string escapes are valid TOML basic-string escapes).
fn quote(s: &str) -> String {
    serde_json::to_string(s).expect("strings always serialise")
}

/// The framework text of the committed version: the base (uploaded file, the target's current
/// framework, or a fresh `[index]` for a new dataset) plus one `[[indicator]]` per mapping.
pub fn framework_with_mappings(
    base: Option<&str>,
    target: &UploadTarget,
    mappings: &[IndicatorMapping],
) -> String {
    let mut text = match (base, target) {
        (Some(base), _) => base.trim_end().to_owned(),
        (
            None,
            UploadTarget::New {
                id,
                title_zh,
                title_en,
            },
        ) => format!(
            "[index]\nid = {}\nname_en = {}\nname_zh = {}",
            quote(id.as_str()),
            quote(title_en),
            quote(title_zh)
        ),
        (None, UploadTarget::Existing { id }) => format!(
            "[index]\nid = {}\nname_en = {}\nname_zh = {}",
            quote(id.as_str()),
            quote(id.as_str()),
            quote(id.as_str())
        ),
    };
    for m in mappings {
        text.push_str("\n\n[[indicator]]\n");
        text.push_str(&format!("id = {}\n", quote(m.id.as_str())));
        text.push_str(&format!("name_en = {}\n", quote(&m.name_en)));
        text.push_str(&format!("name_zh = {}\n", quote(&m.name_zh)));
        text.push_str(&format!("dimension = {}\n", quote(m.dimension.as_str())));
        if let Some(sub) = m.subdimension.as_deref().filter(|s| !s.trim().is_empty()) {
            text.push_str(&format!("subdimension = {}\n", quote(sub.trim())));
        }
        text.push_str(&format!("direction = {}\n", quote(m.direction.as_str())));
        text.push_str(&format!("unit = {}\n", quote(&m.unit)));
        text.push_str(&format!("source = {}\n", quote(&m.source)));
        if m.source_name != m.id.as_str() {
            text.push_str(&format!("aliases = [{}]\n", quote(&m.source_name)));
        }
    }
    text.push('\n');
    text
}

/// Commit a staged upload: merge it into the version its preview was built on (if any), prove
/// the result computes with the default method, then store it as one new version. Cells that
/// agree with the stored ones are one observation; cells that differ are stored only when
/// `revise` (and recorded as the version's revisions), else the commit is refused
/// (`data.revision_needed`); `revise` with no differing cell is refused too, as it would record
/// nothing. The store refuses it (`store.changed`, `store.id_taken`) when another commit got
/// there first.
pub fn commit_upload(
    store: &Store,
    staged: &StagedUpload,
    mappings: &[IndicatorMapping],
    actor: &str,
    revise: bool,
) -> Result<VersionInfo> {
    let revised = &staged.preview.revised;
    match (revised.is_empty(), revise) {
        (false, false) => {
            return Err(Error::RevisionNeeded {
                cells: revised.iter().take(10).map(describe_revision).collect(),
                total: revised.len(),
            });
        }
        (true, true) => {
            return Err(Error::invalid_field(
                "revise",
                "no value of the upload differs from the stored ones, so there is no cell to revise; commit it without `revise`",
            ));
        }
        _ => {}
    }
    let target = &staged.preview.target;
    let base = staged.preview.base;
    let existing = match base {
        Base::Version(number) => {
            let version = pick_version(store, target.id().as_str(), Some(number))?;
            Some((
                stored_dataset(store, &version)?,
                store.framework_toml(&version.dataset, number)?,
            ))
        }
        Base::New => None,
    };
    let base_framework = staged
        .framework_toml
        .as_deref()
        .or(existing.as_ref().map(|(_, toml)| toml.as_str()));
    let framework_toml = framework_with_mappings(base_framework, target, mappings);
    let framework = Framework::from_toml(&framework_toml, "framework.toml")?;
    let panel = match (&existing, &staged.reconciled) {
        (Some((ds, _)), Some(reconciled)) => merged_panel(&ds.panel, reconciled, revise)?,
        _ => staged.panel.clone(),
    };
    // Nothing is stored unless the merged data computes.
    compute_index(&panel, &framework, &MethodSpec::default())?;
    let (title_zh, title_en) = match (target, &existing) {
        (
            UploadTarget::New {
                title_zh, title_en, ..
            },
            _,
        ) => (title_zh.clone(), title_en.clone()),
        (UploadTarget::Existing { .. }, Some((ds, _))) => {
            (ds.title_zh.clone(), ds.title_en.clone())
        }
        (UploadTarget::Existing { id }, None) => (id.to_string(), id.to_string()),
    };
    let region_set_id = staged
        .region_set
        .as_ref()
        .map(|s| s.id().to_owned())
        .or_else(|| {
            existing
                .as_ref()
                .and_then(|(ds, _)| ds.regions.as_ref().map(|s| s.id().to_owned()))
        });
    let sources: Vec<(String, String)> = staged
        .files
        .iter()
        .map(|f| (f.name.clone(), super::content_version(&[&f.bytes])))
        .collect();
    let names: Vec<&str> = staged.files.iter().map(|f| f.name.as_str()).collect();
    let revisions: Vec<Revision> = revised
        .iter()
        .map(|c| Revision {
            region: c.region.clone(),
            year: c.year,
            indicator: c.indicator.clone(),
            old: c.old,
            new: c.new,
            file: names.join(", "),
        })
        .collect();
    let note = if revisions.is_empty() {
        format!("upload: {}", names.join(", "))
    } else {
        format!(
            "revision of {} cell(s): {}",
            revisions.len(),
            names.join(", ")
        )
    };
    Ok(store.put_version(
        NewVersion {
            dataset: target.id(),
            base,
            title_zh: &title_zh,
            title_en: &title_en,
            panel: &panel,
            framework_toml: &framework_toml,
            region_set_id: region_set_id.as_deref(),
            source_files: &sources,
            note: &note,
            revisions: &revisions,
        },
        actor,
    )?)
}

/// `CN-AH 2016 budget_total: 5522.95 → 5600`, as an error names a revised cell.
fn describe_revision(c: &RevisedCell) -> String {
    format!(
        "{} {} {}: {} → {}",
        c.region, c.year, c.indicator, c.old, c.new
    )
}

// ---------------------------------------------------------------------------------------------
// The upload requests, parsed once for the upload pages and the JSON API

/// Where an upload goes, from the upload form's fields (the page's form and the API's
/// multipart body send the same ones): `target` = `new` (with `new_id`, optional `title_zh` /
/// `title_en`, default the id) or `existing` (with `existing_id`).
pub fn upload_target(fields: &HashMap<String, String>) -> Result<UploadTarget> {
    let field = |k: &str| fields.get(k).map(|v| v.trim()).unwrap_or_default();
    let dataset_id = |key: &str| {
        DatasetId::new(field(key)).map_err(|e| Error::invalid_field(key, e.to_string()))
    };
    match field("target") {
        "new" => {
            let id = dataset_id("new_id")?;
            let title = |key: &str| {
                Some(field(key))
                    .filter(|t| !t.is_empty())
                    .unwrap_or(id.as_str())
                    .to_owned()
            };
            Ok(UploadTarget::New {
                title_zh: title("title_zh"),
                title_en: title("title_en"),
                id,
            })
        }
        "existing" => Ok(UploadTarget::Existing {
            id: dataset_id("existing_id")?,
        }),
        other => Err(Error::invalid_field(
            "target",
            format!("'{other}' is neither 'new' nor 'existing'"),
        )),
    }
}

/// How to score one new indicator of an upload, as sent (the preview page's form row, or an
/// item of the API's commit body); [`mappings_for`] checks it.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MappingRequest {
    /// The indicator's name in the uploaded file (`preview.indicators[].name`).
    pub source_name: String,
    /// Its id in the framework (`[a-z0-9_]`, e.g. the preview's `suggested_id`).
    pub id: String,
    /// Chinese name; default the source name.
    pub name_zh: Option<String>,
    /// English name; default the source name.
    pub name_en: Option<String>,
    /// laborers | tools | objects.
    pub dimension: String,
    /// Free-text sub-dimension, e.g. `automation`.
    pub subdimension: Option<String>,
    /// `+` (higher is better) or `-`.
    #[schema(example = "+")]
    pub direction: String,
    /// Unit label, e.g. `万人`; default none.
    pub unit: Option<String>,
    /// Default `upload`.
    pub source: Option<String>,
}

impl MappingRequest {
    /// The rows of the preview page's form: `map.<i>.<field>` for the `i`-th indicator of the
    /// preview, included when `map.<i>.include` is `on`.
    pub fn from_form(
        preview: &UploadPreview,
        form: &HashMap<String, String>,
    ) -> Vec<MappingRequest> {
        preview
            .indicators
            .iter()
            .enumerate()
            .filter(|(_, found)| found.known_as.is_none())
            .filter_map(|(i, found)| {
                let get = |k: &str| {
                    form.get(&format!("map.{i}.{k}"))
                        .map(|v| v.trim().to_owned())
                };
                (get("include").as_deref() == Some("on")).then(|| MappingRequest {
                    source_name: found.name.clone(),
                    id: get("id").unwrap_or_default(),
                    name_zh: get("name_zh"),
                    name_en: get("name_en"),
                    dimension: get("dimension").unwrap_or_default(),
                    subdimension: get("subdimension"),
                    direction: get("direction").unwrap_or_default(),
                    unit: get("unit"),
                    source: get("source"),
                })
            })
            .collect()
    }
}

/// The mappings of a commit, with their defaults; each must name a new indicator of the
/// upload, once, with a valid id, dimension and direction.
pub fn mappings_for(
    preview: &UploadPreview,
    requested: Vec<MappingRequest>,
) -> Result<Vec<IndicatorMapping>> {
    let mut out: Vec<IndicatorMapping> = Vec::with_capacity(requested.len());
    for m in requested {
        let invalid = |what: &str, detail: String| {
            Error::invalid_field(format!("mappings['{}'].{what}", m.source_name), detail)
        };
        let found = preview
            .indicators
            .iter()
            .find(|f| f.name == m.source_name)
            .ok_or_else(|| {
                invalid(
                    "source_name",
                    "the upload has no indicator of this name".into(),
                )
            })?;
        if let Some(known) = &found.known_as {
            return Err(invalid(
                "source_name",
                format!("already the framework's indicator '{known}'; it needs no mapping"),
            ));
        }
        if out.iter().any(|o| o.source_name == m.source_name) {
            return Err(invalid("source_name", "mapped twice".into()));
        }
        let text = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        out.push(IndicatorMapping {
            id: IndicatorId::new(m.id.trim()).map_err(|e| invalid("id", e.to_string()))?,
            dimension: m
                .dimension
                .trim()
                .parse()
                .map_err(|e: String| invalid("dimension", e))?,
            direction: m
                .direction
                .trim()
                .parse()
                .map_err(|e: String| invalid("direction", e))?,
            name_zh: text(m.name_zh).unwrap_or_else(|| found.name.clone()),
            name_en: text(m.name_en).unwrap_or_else(|| found.name.clone()),
            subdimension: text(m.subdimension),
            unit: text(m.unit).unwrap_or_default(),
            source: text(m.source).unwrap_or_else(|| "upload".to_owned()),
            source_name: m.source_name,
        });
    }
    Ok(out)
}

/// Where validated uploads wait for their commit (the web state keeps them in memory).
pub trait UploadStaging {
    /// Remove a staged upload of `actor` for committing it: a second, simultaneous commit of
    /// the same upload finds nothing, so one upload never becomes two versions.
    fn take(&self, id: &str, actor: &str) -> Option<std::sync::Arc<StagedUpload>>;
    /// Put back an upload whose commit failed, so the user can correct it and retry.
    fn restore(&self, id: &str, actor: &str, upload: std::sync::Arc<StagedUpload>);
}

/// The commit sequence of the upload page and the API: take the staged upload, map and commit
/// it, and put it back when anything fails — unless another commit got there first, which makes
/// its preview stale (it has to be uploaded and reviewed again).
pub fn commit_staged(
    store: &Store,
    staging: &impl UploadStaging,
    id: &str,
    actor: &str,
    revise: bool,
    requests: impl FnOnce(&UploadPreview) -> Vec<MappingRequest>,
) -> Result<VersionInfo> {
    let staged = staging.take(id, actor).ok_or_else(|| Error::NotFound {
        what: "pending upload",
        key: id.to_owned(),
    })?;
    let committed = mappings_for(&staged.preview, requests(&staged.preview))
        .and_then(|mappings| commit_upload(store, &staged, &mappings, actor, revise));
    match &committed {
        // Its preview no longer describes the dataset: it must be reviewed again, not retried.
        Err(Error::Store(e))
            if matches!(
                e.as_ref(),
                StoreError::Changed { .. } | StoreError::IdTaken { .. }
            ) => {}
        Err(_) => staging.restore(id, actor, staged),
        Ok(_) => {}
    }
    committed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggested_ids_are_valid_and_unique() {
        let taken = vec!["gdp".to_owned()];
        assert_eq!(suggest_id("Broadband ports", 1, &taken), "broadband_ports");
        assert_eq!(suggest_id("GDP", 2, &taken), "gdp_2");
        assert_eq!(suggest_id("互联网宽带接入端口", 3, &taken), "indicator_3");
        assert!(IndicatorId::new(suggest_id("9 lives", 4, &taken)).is_ok());
    }

    #[test]
    fn mappings_become_a_valid_framework_with_aliases() {
        let target = UploadTarget::New {
            id: DatasetId::new("demo").unwrap(),
            title_zh: "演示 \"引号\"".into(),
            title_en: "Demo".into(),
        };
        let mapping = |id: &str, dim: Dimension| IndicatorMapping {
            source_name: format!("指标{id}"),
            id: IndicatorId::new(id).unwrap(),
            name_zh: format!("指标{id}"),
            name_en: id.to_owned(),
            dimension: dim,
            subdimension: Some("Sub".into()),
            direction: Direction::Benefit,
            unit: "万人".into(),
            source: "NBS".into(),
        };
        let text = framework_with_mappings(
            None,
            &target,
            &[
                mapping("a", Dimension::Laborers),
                mapping("b", Dimension::Tools),
                mapping("c", Dimension::Objects),
            ],
        );
        let framework = Framework::from_toml(&text, "generated.toml").expect(&text);
        assert_eq!(framework.indicators.len(), 3);
        assert_eq!(framework.index.name_zh, "演示 \"引号\"");
        assert_eq!(
            framework.canonical_id("指标b").map(|i| i.as_str()),
            Some("b")
        );
    }
}
