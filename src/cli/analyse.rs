//! `nqp analyse`: the follow-up analyses of a score table, written as CSV files.
//!
//! Owns: the clap arguments and reading the input files. Must not: compute anything — the
//! scores come from a file or from `service::compute_index`, the analyses from
//! `analysis::report` (which also writes the files).

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;

use super::{MethodArgs, RegionArg};
use crate::analysis::diagnosis::{CouplingForm, obstacle_or_skip};
use crate::analysis::report::{ReportOptions, scores_from_csv, write_all, write_obstacle};
use crate::analysis::{Adjacency, GroupMap};
use crate::service;

const AFTER_HELP: &str = "\
Outputs (in --out-dir): dagum.csv, dagum_groups.csv, theil.csv, sigma.csv, beta.csv, kernel.csv,
markov.csv, moran.csv, lisa.csv, coupling.csv; with --data/--framework also obstacle.csv,
obstacle_top.csv and obstacle_dimensions.csv (obstacle degrees need the normalised values and
weights, which a score file does not carry). Obstacle degree and coupling coordination need
normalised values in [0, 1]: under --normalise zscore (or dimension scores outside 0-100) they
are skipped with a note and their files are not written; everything else still runs.

Groups (Dagum, Theil, beta by group):
  --groups FILE        region,group CSV; every region of the scores must be listed.
  no --groups          the bundled NBS East/Central/West/Northeast grouping when every region
                       is a China province code (CN-BJ ... CN-XJ: all 31 or a subset, e.g. the
                       30 without Tibet); otherwise one group 'all' (within = total).
Contiguity (Moran's I, LISA):
  --adjacency FILE     region,neighbor CSV, symmetric (both directions listed; checked).
                       Regions without neighbours get a zero weight row (PySAL 'islands').
  no --adjacency       the bundled 31-province contiguity (data/geo/; Hainan linked to
                       Guangdong) for China province codes, restricted to those present;
                       otherwise Moran's I and LISA are skipped with a message and
                       moran.csv / lisa.csv are not written.
Conventions: CV with the population sd (ddof 0); kernel bandwidth 0.9*min(sd, IQR/1.34)*n^-1/5
(sd ddof 1, numpy linear quantiles), 128 points from min-3h to max+3h; beta convergence over
T = last year - first year; Markov classes = quartiles of all region-years (upper bounds
inclusive); permutation p-values folded as in PySAL esda, seeded (--seed) and reproducible.
A statistic undefined for a year (e.g. constant values) is skipped with a message.";

#[derive(Args, Debug)]
#[command(after_long_help = AFTER_HELP)]
pub struct AnalyseArgs {
    /// Scores from `nqp compute` (CSV: region,year,score,rank,laborers,tools,objects, …).
    #[arg(long, required_unless_present = "data", conflicts_with = "data")]
    pub scores: Option<PathBuf>,
    /// Instead of --scores: data files to compute the index from (as `nqp compute`).
    #[arg(long = "data", requires = "framework")]
    pub data: Vec<PathBuf>,
    /// Framework file (TOML), with --data.
    #[arg(long, requires = "data")]
    pub framework: Option<PathBuf>,
    /// Region set for --data: a CSV file, `auto` or `none`.
    #[arg(long, default_value = "auto", value_parser = super::parse_regions)]
    pub regions: RegionArg,
    #[command(flatten)]
    pub method: MethodArgs,
    /// Region groups: CSV `region,group`.
    #[arg(long)]
    pub groups: Option<PathBuf>,
    /// Contiguity: CSV `region,neighbor`, symmetric.
    #[arg(long)]
    pub adjacency: Option<PathBuf>,
    /// Folder for the output CSV files (created if missing).
    #[arg(long)]
    pub out_dir: PathBuf,
    /// Permutations for the Moran / LISA pseudo p-values (0 = none).
    #[arg(long, default_value_t = 999)]
    pub permutations: usize,
    /// Seed of the permutation generator.
    #[arg(long, default_value_t = ReportOptions::default().seed)]
    pub seed: u64,
    /// Coupling degree formula: standard | wang2021 (王淑佳 et al. 2021 corrected form).
    #[arg(long, default_value = "standard")]
    pub coupling: CouplingForm,
}

/// Run `nqp analyse`.
pub fn run(args: &AnalyseArgs) -> anyhow::Result<()> {
    let groups = match &args.groups {
        Some(path) => Some(GroupMap::from_csv(
            &super::read_text(path)?,
            &super::display_name(path),
        )?),
        None => None,
    };
    let adjacency = match &args.adjacency {
        Some(path) => Some(Adjacency::from_csv(
            &super::read_text(path)?,
            &super::display_name(path),
        )?),
        None => None,
    };
    let mut options = ReportOptions {
        permutations: args.permutations,
        seed: args.seed,
        coupling: args.coupling,
        normalise: None,
    };
    let mut files = Vec::new();
    let scores = if let Some(path) = &args.scores {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        scores_from_csv(&bytes, &super::display_name(path))?
    } else {
        let Some(framework) = &args.framework else {
            bail!("--data needs --framework");
        };
        let framework = super::load_framework(framework)?;
        let data = service::load_data(
            &super::read_inputs(&args.data)?,
            &super::region_choice(&args.regions)?,
        )?;
        let result = service::compute_index(&data.panel, &framework, &args.method.spec())?;
        for notice in &result.notices {
            eprintln!("nqp: note: {}", notice.message);
        }
        options.normalise = Some(result.method.normalise);
        let mut notices = Vec::new();
        let obstacles = obstacle_or_skip(
            &result.normalised,
            &result.weights,
            result.method.normalise,
            &mut notices,
        )?;
        for notice in &notices {
            eprintln!("nqp: note: {notice}");
        }
        if let Some(o) = &obstacles {
            files.extend(write_obstacle(o, &args.out_dir)?);
        }
        result.scores
    };
    let report = write_all(
        &scores,
        groups.as_ref(),
        adjacency.as_ref(),
        &args.out_dir,
        &options,
    )?;
    for notice in &report.notices {
        eprintln!("nqp: note: {notice}");
    }
    files.extend(report.files);
    for f in &files {
        println!("{}", f.display());
    }
    Ok(())
}
