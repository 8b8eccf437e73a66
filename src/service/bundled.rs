//! The bundled default dataset: China's 31 provinces, compiled into the binary.
//!
//! Owns: turning the files under `data/` (the panel produced by `nqp import`, the `nqp-triad`
//! framework and the `cn-provinces` region set) into a [`Dataset`]. Compiling them in makes the
//! binary self-contained (`cargo run --release`, the Docker image). Must not: compute indices.

use super::dashboard::Dataset;
use super::{InputFile, RegionChoice, build_dataset};
use crate::error::Result;
use crate::ingest::RegionSet;
use crate::types::DatasetId;

pub const PANEL_CSV: &str = include_str!("../../data/datasets/cn-provinces/panel.csv");
pub const FRAMEWORK_TOML: &str = include_str!("../../data/frameworks/nqp-triad.toml");

/// Load the bundled dataset.
pub fn dataset() -> Result<Dataset> {
    build_dataset(
        DatasetId::new("cn-provinces").expect("a valid literal id"),
        ("中国31个省份（内置数据）", "China, 31 provinces (bundled)"),
        &[InputFile {
            name: "panel.csv".into(),
            bytes: PANEL_CSV.as_bytes().to_vec(),
        }],
        (FRAMEWORK_TOML, "nqp-triad.toml"),
        &RegionChoice::Set(RegionSet::cn_provinces()),
    )
}
