//! The replication pack: one zip with everything needed to recompute a result with the `nqp`
//! command line and check that the numbers come out byte for byte the same.
//!
//! Layout (inside one folder `<dataset>-<version12>-replication/`):
//! - `dataset.json` — dataset id, titles, version hash, framework id, region set, nqp version;
//! - `method.json` — the method spec (`nqp compute` options);
//! - `data/panel.csv` (long: region, year, indicator, value), `data/framework.toml` (the file
//!   as it was read), `data/regions.csv` (the region set, when the dataset has one),
//!   `data/groups.csv` (the region groups of the Dagum and Theil decompositions, when the region
//!   set assigns every region one);
//! - `expected/` — the outputs `nqp compute` (`scores.csv`, `weights.csv`) and `nqp analyse`
//!   (`analysis/*.csv`) give on these inputs, plus the caller's extra files (the paper tables);
//! - `SHA256SUMS` — checksums of every file under `expected/` except the extras, with the
//!   paths `replicate.sh` writes them to (`out/…`);
//! - `replicate.sh` — reruns both commands into `out/` and checks `SHA256SUMS`.
//!
//! The expected outputs are computed here by the same service calls the command line makes, on
//! the very bytes the pack ships (not on the dataset in memory), so the checksums say what a
//! rerun of the pack gives.

use std::io::{Cursor, Write};

use sha2::{Digest, Sha256};

use crate::analysis::GroupMap;
use crate::analysis::report::{Inputs, ReportOptions, render_all, scores_from_csv};
use crate::error::{Error, Result};
use crate::framework::Framework;
use crate::ingest::RegionSet;
use crate::method::MethodSpec;
use crate::service::analysis::dataset_groups;
use crate::service::dashboard::{Dataset, ResultTables};
use crate::service::download::SHORT_VERSION;
use crate::service::{
    InputFile, OutputFormat, RegionChoice, compute_index, frame_to_csv, load_data, render_scores,
};

/// The pack's folder name: `<dataset>-<version12>-replication`.
pub fn folder(ds: &Dataset) -> String {
    let version: String = ds.version.chars().take(SHORT_VERSION).collect();
    format!("{}-{version}-replication", ds.id)
}

/// The `nqp compute` options of a method spec, one argument per element.
fn method_args(spec: &MethodSpec) -> Vec<String> {
    [
        ("--normalise", spec.normalise.as_str().to_owned()),
        ("--weights", spec.weights.to_string()),
        ("--shift", spec.shift.to_string()),
        ("--aggregate", spec.aggregate.as_str().to_owned()),
        ("--coverage-threshold", spec.coverage_threshold.to_string()),
        ("--treat", spec.treat.as_str().to_owned()),
        ("--treat-max-points", spec.treat_max_points.to_string()),
    ]
    .into_iter()
    .map(|(flag, value)| format!("{flag}={value}"))
    .collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    crate::store::hex(&Sha256::digest(bytes))
}

/// Single-quote a word for the shell.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

fn script(spec: &MethodSpec, has_regions: bool, has_groups: bool) -> String {
    let method: Vec<String> = method_args(spec).iter().map(|a| shell_quote(a)).collect();
    let regions = if has_regions {
        "--regions data/regions.csv"
    } else {
        "--regions none"
    };
    let groups = if has_groups {
        " --groups data/groups.csv"
    } else {
        ""
    };
    format!(
        r#"#!/usr/bin/env bash
# Recompute this pack's results with the nqp command line and check them against SHA256SUMS.
# NQP names the nqp binary (default: nqp on the PATH).
set -euo pipefail
cd "$(dirname "$0")"
NQP="${{NQP:-nqp}}"
rm -rf out
mkdir -p out/analysis
"$NQP" compute --data data/panel.csv --framework data/framework.toml {regions} \
  {method} \
  --out out/scores.csv --weights-out out/weights.csv
"$NQP" analyse --scores out/scores.csv{groups} --out-dir out/analysis > /dev/null
if command -v sha256sum > /dev/null; then
  sha256sum -c SHA256SUMS
else
  shasum -a 256 -c SHA256SUMS
fi
echo "replication: every output matches"
"#,
        method = method.join(" ")
    )
}

/// Build the pack of `ds` under `spec`; `extra` files (name, bytes) go to `expected/` beside
/// the command-line outputs but are not checksummed (they are not command-line outputs).
pub fn pack(
    ds: &Dataset,
    tables: &ResultTables,
    spec: &MethodSpec,
    extra: &[(String, Vec<u8>)],
) -> Result<Vec<u8>> {
    let panel = frame_to_csv(ds.panel.frame())?;
    let regions = ds.regions.as_ref().map(RegionSet::to_csv);
    let groups = dataset_groups(ds, tables).map(|_| {
        let mut text = String::from("region,group\n");
        for region in tables.regions() {
            let group = ds.region_group(&region).unwrap_or_default();
            text.push_str(&format!("{region},{group}\n"));
        }
        text
    });

    // What `nqp compute` reads and writes, on the pack's own bytes.
    let choice = match &regions {
        Some(text) => RegionChoice::Set(RegionSet::from_csv("regions.csv", text, "regions.csv")?),
        None => RegionChoice::None,
    };
    let data = load_data(
        &[InputFile {
            name: "panel.csv".into(),
            bytes: panel.clone().into(),
            layout: None,
        }],
        &choice,
    )?;
    let framework = Framework::from_toml(&ds.framework_toml, "framework.toml")?;
    let result = compute_index(&data.panel, &framework, spec)?;
    let scores = render_scores(&result, OutputFormat::Csv)?;
    let weights = frame_to_csv(&result.weights)?;

    // What `nqp analyse --scores` writes with the default options.
    let analysis_error = |e: crate::analysis::AnalysisError| Error::Internal(e.to_string());
    let group_map = match &groups {
        Some(text) => Some(GroupMap::from_csv(text, "groups.csv").map_err(analysis_error)?),
        None => None,
    };
    let inputs = Inputs {
        groups: group_map.as_ref(),
        ..Inputs::default()
    };
    let frame = scores_from_csv(&scores, "scores.csv").map_err(analysis_error)?;
    let analysis = render_all(&frame, &inputs, &ReportOptions::default())
        .map_err(analysis_error)?
        .files;

    let mut outputs: Vec<(String, Vec<u8>)> = vec![
        ("scores.csv".into(), scores),
        ("weights.csv".into(), weights),
    ];
    outputs.extend(
        analysis
            .into_iter()
            .map(|(name, text)| (format!("analysis/{name}"), text.into_bytes())),
    );
    let sums: String = outputs
        .iter()
        .map(|(name, bytes)| format!("{}  out/{name}\n", sha256_hex(bytes)))
        .collect();

    let dataset_json = serde_json::json!({
        "id": ds.id.as_str(),
        "title_zh": ds.title_zh,
        "title_en": ds.title_en,
        "version": format!("sha256:{}", ds.version),
        "framework": ds.framework.index.id,
        "region_set": ds.regions.as_ref().map(RegionSet::id),
        "nqp_version": env!("CARGO_PKG_VERSION"),
    });
    let json = |v: &serde_json::Value| -> Result<Vec<u8>> {
        serde_json::to_vec_pretty(v).map_err(|e| Error::Internal(format!("json: {e}")))
    };
    let method_json = serde_json::to_value(spec).map_err(|e| Error::Internal(e.to_string()))?;

    let mut files: Vec<(String, Vec<u8>, bool)> = vec![
        ("dataset.json".into(), json(&dataset_json)?, false),
        ("method.json".into(), json(&method_json)?, false),
        ("data/panel.csv".into(), panel, false),
        (
            "data/framework.toml".into(),
            ds.framework_toml.clone().into_bytes(),
            false,
        ),
    ];
    if let Some(text) = regions {
        files.push(("data/regions.csv".into(), text.into_bytes(), false));
    }
    let has_groups = groups.is_some();
    if let Some(text) = groups {
        files.push(("data/groups.csv".into(), text.into_bytes(), false));
    }
    files.extend(
        outputs
            .into_iter()
            .chain(extra.iter().cloned())
            .map(|(name, bytes)| (format!("expected/{name}"), bytes, false)),
    );
    files.push(("SHA256SUMS".into(), sums.into_bytes(), false));
    files.push((
        "replicate.sh".into(),
        script(spec, ds.regions.is_some(), has_groups).into_bytes(),
        true,
    ));
    zip_files(&folder(ds), &files)
}

/// A zip of `files` (path, bytes, executable) under `root/`, with a fixed timestamp so equal
/// content gives an equal pack.
fn zip_files(root: &str, files: &[(String, Vec<u8>, bool)]) -> Result<Vec<u8>> {
    let zip_error = |e: ::zip::result::ZipError| Error::Internal(format!("zip: {e}"));
    let options = ::zip::write::SimpleFileOptions::default()
        .compression_method(::zip::CompressionMethod::Deflated)
        .last_modified_time(::zip::DateTime::default());
    let mut zip = ::zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, bytes, executable) in files {
        let mode = if *executable { 0o755 } else { 0o644 };
        zip.start_file(format!("{root}/{name}"), options.unix_permissions(mode))
            .map_err(zip_error)?;
        zip.write_all(bytes)
            .map_err(|e| Error::Internal(format!("zip: {e}")))?;
    }
    Ok(zip.finish().map_err(zip_error)?.into_inner())
}
