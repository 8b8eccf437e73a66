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
use crate::analysis::report::{
    Inputs, ReportOptions, WeightsSpec, scores_from_csv, write_all, write_obstacle,
};
use crate::analysis::series::{SeriesTable, resolve_controls};
use crate::analysis::weights::{MatrixIds, WeightsMatrix, coordinates_from_csv};
use crate::analysis::{Adjacency, GroupMap};
use crate::service;

const AFTER_HELP: &str = "\
Outputs (in --out-dir): dagum.csv, dagum_groups.csv, dagum_shares.csv, dagum_djh.csv, theil.csv,
sigma.csv, beta.csv, beta_panel.csv, kernel.csv, markov.csv, markov_steady.csv, spatial_markov.csv,
moran.csv, lisa.csv, weights_matrix.csv, coupling.csv; with --data/--framework also obstacle.csv,
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
                       otherwise Moran's I, LISA and the spatial Markov chain are skipped
                       with a message and moran.csv / lisa.csv / spatial_markov.csv /
                       weights_matrix.csv are not written.
Weights (--weights-matrix; every matrix row-standardised over the regions present, a matrix
whose rows already sum to 1 kept as it is; weights_matrix.csv is the matrix used):
  contiguity           the adjacency above (default).
  inverse-distance(2)  1/d (1/d^2) on great-circle distances between --coordinates points, or
                       the centroids of the bundled province boundaries.
  economic[:ID]        1/|mean_i - mean_j| of the panel means of series ID (default GDP per
                       capita = gdp / population); equal means get no weight. Needs --data.
  FILE                 an edge list 'region,neighbor[,weight]', or an n x n matrix (empty
                       first header cell, region ids across the header and down the first
                       column, rows in any order; or 1..n with --matrix-ids FILE 'n,region',
                       or --matrix-order gb2260 (1..31 = the provinces by GB/T 2260 code,
                       11 Beijing ... 65 Xinjiang) or --matrix-order FILE (one GB/T 2260 code
                       such as 110000, or a name, per line: line k is number k); the matrix
                       must number exactly as many regions as the order lists).
Panel beta (beta_panel.csv): ln(S_t+1/S_t) on ln S_t with region fixed effects and year
dummies, standard errors clustered by region as Stata's xtreg, fe vce(cluster) (CR1), p from
t(G-1); speed = -ln(1 + beta); within R^2; conditional with --controls (taken at t).
Markov: steady states (markov_steady.csv) for absolute and relative (score / year mean)
quartile classes; spatial Markov (spatial_markov.csv) as PySAL giddy Spatial_Markov k=4
fixed=True, over the regions with a value in every year.
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
    /// Columns of a table with years across, for --data (as `nqp compute --layout`).
    #[arg(long, value_name = "HINT", value_parser = super::parse_layout, requires = "data")]
    pub layout: Option<crate::ingest::LayoutHint>,
    #[command(flatten)]
    pub method: MethodArgs,
    /// Region groups: CSV `region,group`.
    #[arg(long)]
    pub groups: Option<PathBuf>,
    /// Contiguity: CSV `region,neighbor`, symmetric.
    #[arg(long)]
    pub adjacency: Option<PathBuf>,
    /// Spatial weights of Moran's I, LISA and the spatial Markov chain: contiguity |
    /// inverse-distance | inverse-distance2 | economic | economic:<series> | FILE.
    #[arg(long, default_value = "contiguity")]
    pub weights_matrix: String,
    /// Region points for inverse-distance weights: CSV `region,lon,lat` (degrees).
    #[arg(long)]
    pub coordinates: Option<PathBuf>,
    /// Numbers 1…n of an n×n --weights-matrix file: CSV `n,region`.
    #[arg(long, conflicts_with = "matrix_order")]
    pub matrix_ids: Option<PathBuf>,
    /// Numbers 1…n of an n×n --weights-matrix file as the order of a code list: `gb2260` (the
    /// 31 provinces by GB/T 2260 code, 11 北京 … 65 新疆) or a FILE with one GB/T 2260 code
    /// (`110000`) or name per line.
    #[arg(long, value_name = "gb2260|FILE")]
    pub matrix_order: Option<String>,
    /// Controls of conditional panel β-convergence: series or indicator ids, comma-separated;
    /// `ln:id` takes the natural log (needs --data).
    #[arg(long, value_delimiter = ',')]
    pub controls: Vec<String>,
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

/// `--matrix-order`: the GB/T 2260 order of the bundled provinces, or an order file whose lines
/// are matched against the bundled region set (codes, names, GB/T 2260 codes).
fn matrix_order(order: &str) -> anyhow::Result<MatrixIds> {
    let set = crate::ingest::RegionSet::cn_provinces();
    if order == "gb2260" {
        let codes = set
            .gb2260_order()
            .context("the bundled region set lacks GB/T 2260 codes")?;
        return Ok(MatrixIds::from_regions(&codes, "the GB/T 2260 order"));
    }
    let path = PathBuf::from(order);
    let resolve = |raw: &str| match set.classify(raw) {
        Some(crate::ingest::RegionMatch::Matched(code)) => Some(code.as_str().to_owned()),
        _ => None,
    };
    Ok(MatrixIds::from_order(
        &super::read_text(&path)?,
        &super::display_name(&path),
        resolve,
    )?)
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
    let weights = match WeightsSpec::keyword(&args.weights_matrix) {
        Some(spec) => spec,
        None => {
            let path = PathBuf::from(&args.weights_matrix);
            let ids = match (&args.matrix_ids, &args.matrix_order) {
                (Some(p), _) => Some(MatrixIds::from_csv(
                    &super::read_text(p)?,
                    &super::display_name(p),
                )?),
                (None, Some(order)) => Some(matrix_order(order)?),
                (None, None) => None,
            };
            WeightsSpec::Matrix(WeightsMatrix::from_csv(
                &super::read_text(&path)?,
                &super::display_name(&path),
                ids.as_ref(),
            )?)
        }
    };
    let coordinates = match &args.coordinates {
        Some(p) => Some((
            coordinates_from_csv(&super::read_text(p)?, &super::display_name(p))?,
            super::display_name(p),
        )),
        None => None,
    };
    let needs_series = !args.controls.is_empty() || matches!(weights, WeightsSpec::Economic(_));
    if args.scores.is_some() && needs_series {
        bail!(
            "--controls and --weights-matrix economic need the dataset's series: use --data and --framework instead of --scores"
        );
    }
    let mut series = SeriesTable::default();
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
            &super::read_inputs(&args.data, args.layout.as_ref())?,
            &super::region_choice(&args.regions)?,
        )?;
        let result = service::compute_index(&data.panel, &framework, &args.method.spec())?;
        for notice in &result.notices {
            eprintln!("nqp: note: {}", notice.message);
        }
        options.normalise = Some(result.method.spec.normalise);
        let mut notices = Vec::new();
        let obstacles = obstacle_or_skip(
            result.normalised()?,
            &result.weights,
            result.method.spec.normalise,
            &mut notices,
        )?;
        for notice in &notices {
            eprintln!("nqp: note: {notice}");
        }
        if let Some(o) = &obstacles {
            files.extend(write_obstacle(o, &args.out_dir)?);
        }
        series.add_long(data.panel.frame(), "value")?;
        series.add_long(result.normalised()?, "raw")?;
        result.scores
    };
    let controls = resolve_controls(&args.controls, &series)?;
    let inputs = Inputs {
        groups: groups.as_ref(),
        adjacency: adjacency.as_ref(),
        weights,
        coordinates: coordinates
            .as_ref()
            .map(|(points, file)| (points.as_slice(), file.as_str())),
        series: args.scores.is_none().then_some(&series),
        controls: &controls,
    };
    let report = write_all(&scores, &inputs, &args.out_dir, &options)?;
    for notice in &report.notices {
        eprintln!("nqp: note: {notice}");
    }
    files.extend(report.files);
    for f in &files {
        println!("{}", f.display());
    }
    Ok(())
}
