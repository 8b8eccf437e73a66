//! `nqp robustness`: the robustness report of a method on data files, written as CSV files.
//!
//! Owns: the clap arguments and writing the files. Must not: compute anything — the report
//! comes from `service::robustness`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::{InputArgs, MethodArgs, write_file};
use crate::analysis::robustness::{Mode, RobustnessOptions, Space, TABLES};
use crate::method::{Aggregate, Normalise, Treat, WeightScheme};
use crate::service;

const AFTER_HELP: &str = "\
Outputs (in --out-dir): audit_stats.csv, audit_correlations.csv, audit_flags.csv, audit_alpha.csv,
treatment.csv, uncertainty.csv, sensitivity.csv (Monte Carlo mode only), comparison.csv,
ranks_by_method.csv, decomposition.csv. A method is named <normalise>/<weights>/<aggregate>/<treat>.

The space (defaults: every normalisation but rank, the five objective/equal weights, the three
aggregations, both treatments) leaves out zscore with geometric and zscore with entropy weights.
Exhaustive mode runs every valid combination once, without noise (exact, no randomness).
Monte Carlo mode runs a Saltelli design of N(k+2) methods (k = 5 inputs: normalise, weights,
aggregate, treat, noise); the uncertainty uses its N draws of matrix A. Percentiles and the
median are nearest-rank (the ceil(p*K)-th smallest of K ranks).";

#[derive(Args, Debug)]
#[command(after_long_help = AFTER_HELP)]
pub struct RobustnessArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// The nominal method.
    #[command(flatten)]
    pub method: MethodArgs,
    /// exhaustive | montecarlo.
    #[arg(long, default_value = "montecarlo")]
    pub mode: Mode,
    /// Monte Carlo draws N.
    #[arg(long, default_value_t = 1000)]
    pub draws: usize,
    /// Weight noise ε: each weight times U(1 − ε, 1 + ε), re-normalised; 0 ≤ ε < 1.
    #[arg(long, default_value_t = 0.25)]
    pub noise: f64,
    /// Seed of the Monte Carlo sample.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Normalisations of the space (comma-separated).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "minmax-panel,minmax-year,zscore"
    )]
    pub space_normalise: Vec<Normalise>,
    /// Weights of the space (comma-separated).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "entropy-panel,entropy-year,critic,sd,equal"
    )]
    pub space_weights: Vec<WeightScheme>,
    /// Aggregations of the space (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "sum,geometric,topsis")]
    pub space_aggregate: Vec<Aggregate>,
    /// Treatments of the space (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "none,winsorise")]
    pub space_treat: Vec<Treat>,
    /// Folder for the CSV files (created if absent).
    #[arg(long)]
    pub out_dir: PathBuf,
}

pub fn run(args: &RobustnessArgs) -> anyhow::Result<()> {
    let options = RobustnessOptions {
        space: Space {
            normalise: args.space_normalise.clone(),
            weights: args.space_weights.clone(),
            aggregate: args.space_aggregate.clone(),
            treat: args.space_treat.clone(),
        },
        mode: args.mode,
        draws: args.draws,
        noise: args.noise,
        seed: args.seed,
    };
    let (framework, data) = args.input.load()?;
    let report =
        service::robustness::robustness(&data.panel, &framework, &args.method.spec(), &options)?;
    for e in &report.excluded {
        eprintln!("nqp: note: excluded {}: {}", e.method, e.reason);
    }
    std::fs::create_dir_all(&args.out_dir)
        .with_context(|| format!("cannot create {}", args.out_dir.display()))?;
    for name in TABLES {
        if name == "sensitivity" && args.mode == Mode::Exhaustive {
            continue;
        }
        let frame = service::robustness::table(&report, name)?;
        let path = args.out_dir.join(format!("{name}.csv"));
        write_file(&path, &service::frame_to_csv(&frame)?)?;
    }
    Ok(())
}
