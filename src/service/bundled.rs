//! The bundled datasets: China's 31 provinces, compiled into the binary.
//!
//! Owns: turning the files under `data/` (the panels produced by `nqp import`, the `nqp-triad`
//! framework and the `cn-provinces` region set) into [`Dataset`]s: the default `cn-provinces`
//! (2013–2019) and `cn-provinces-recent` (2016–2022), see `data/README.md`. Compiling them in
//! makes the binary self-contained (`cargo run --release`, the Docker image). Must not: compute
//! indices.

use super::dashboard::Dataset;
use super::{InputFile, RegionChoice, build_dataset};
use crate::error::Result;
use crate::importer::{DatasetPlan, FULL, RECENT};
use crate::ingest::RegionSet;
use crate::types::DatasetId;

pub const FRAMEWORK_TOML: &str = include_str!("../../data/frameworks/nqp-triad.toml");

/// One bundled dataset: its plan (id, titles, years) and its committed panel.
pub struct Bundled {
    pub plan: &'static DatasetPlan,
    pub panel_csv: &'static str,
}

/// Every bundled dataset, the default first.
pub const BUNDLED: [Bundled; 2] = [
    Bundled {
        plan: &FULL,
        panel_csv: include_str!("../../data/datasets/cn-provinces/panel.csv"),
    },
    Bundled {
        plan: &RECENT,
        panel_csv: include_str!("../../data/datasets/cn-provinces-recent/panel.csv"),
    },
];

impl Bundled {
    /// Load this dataset.
    pub fn dataset(&self) -> Result<Dataset> {
        let (title_zh, title_en) = self.plan.titles();
        build_dataset(
            DatasetId::new(self.plan.id).expect("a valid literal id"),
            (&title_zh, &title_en),
            &[InputFile {
                name: "panel.csv".into(),
                bytes: self.panel_csv.as_bytes().to_vec().into(),
                layout: None,
            }],
            (FRAMEWORK_TOML, "nqp-triad.toml"),
            &RegionChoice::Set(RegionSet::cn_provinces()),
        )
    }
}

/// Load the default bundled dataset.
pub fn dataset() -> Result<Dataset> {
    BUNDLED[0].dataset()
}
