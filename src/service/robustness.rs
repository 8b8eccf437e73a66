//! The robustness service: one call from a panel, a framework, the nominal method and the
//! robustness options to the typed report (CLI, pages, JSON and downloads all render it).
//!
//! Owns: deriving and preparing the panel once for the analysis. Must not: compute anything
//! itself (that is `analysis::robustness` on `method::Prepared`).

use polars::prelude::DataFrame;

use crate::analysis::robustness::{self, Robustness, RobustnessOptions};
use crate::error::{Error, Result};
use crate::framework::Framework;
use crate::method::{MethodSpec, Prepared};
use crate::types::Panel;

/// Derive the framework's indicators (without the regions it excludes) and prepare the panel
/// for many methods.
pub fn prepare(panel: &Panel, framework: &Framework, nominal: &MethodSpec) -> Result<Prepared> {
    let included = super::included_panel(panel, framework)?;
    let wide = framework.derive(&included)?;
    let specs = framework.indicator_specs();
    let prepared = Prepared::new(&wide, &specs, nominal.coverage_threshold)?;
    prepared.validate(nominal)?;
    Ok(prepared)
}

/// The whole robustness report of `nominal` on the panel.
pub fn robustness(
    panel: &Panel,
    framework: &Framework,
    nominal: &MethodSpec,
    options: &RobustnessOptions,
) -> Result<Robustness> {
    let prepared = prepare(panel, framework, nominal)?;
    Ok(robustness::run(&prepared, nominal, options)?)
}

/// One table of the report (see [`robustness::TABLES`]) as a frame.
pub fn table(report: &Robustness, name: &str) -> Result<DataFrame> {
    robustness::table(report, name)?.ok_or_else(|| Error::NotFound {
        what: "robustness table",
        key: name.to_owned(),
    })
}
