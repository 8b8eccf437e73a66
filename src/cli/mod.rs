//! Command-line interface: `nqp serve | compute | check | import | analyse | robustness |
//! export`.
//!
//! Owns: argument parsing (clap) and turning arguments into service calls and files. Must not:
//! compute anything itself — every subcommand calls `crate::service` (or `analysis::report`), the
//! same functions the web pages use. This and `main.rs` are the only places that use `anyhow`.

use std::path::{Path, PathBuf};

pub mod analyse;
pub mod dataset;
pub mod export;
pub mod robustness;
pub mod token;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};

use crate::framework::Framework;
use crate::ingest::{LayoutHint, RegionSet};
use crate::method::{
    Aggregate, DEFAULT_TREAT_MAX_POINTS, MethodSpec, Normalise, Treat, WeightScheme,
};
use crate::service::{self, InputFile, OutputFormat, RegionChoice};

#[derive(Parser, Debug)]
#[command(
    name = "nqp",
    version,
    about = "New-quality-productivity (新质生产力) index for regions"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the dashboard (the default when no subcommand is given).
    Serve(ServeArgs),
    /// Compute the index from data files and a framework, and write the scores.
    Compute(ComputeArgs),
    /// Validate data files (and optionally a framework) without storing anything.
    Check(CheckArgs),
    /// Build the bundled datasets from the raw public files in ../shared/data.
    Import(ImportArgs),
    /// Disparities, dynamics, spatial patterns, obstacles and coupling from a score table.
    Analyse(analyse::AnalyseArgs),
    /// Robustness of the index: audit, outlier treatment, uncertainty, sensitivity, method
    /// comparison and change decomposition, written as CSV files to a folder.
    Robustness(robustness::RobustnessArgs),
    /// Tables for papers (three-line DOCX and booktabs LaTeX), the citation and the replication
    /// pack of an index computed from data files.
    Export(export::ExportArgs),
    /// Manage stored datasets: list, delete (hide), undelete, purge, audit log.
    Dataset {
        /// The data dir of the server.
        #[arg(long, default_value = "./var", global = true)]
        data_dir: PathBuf,
        #[command(subcommand)]
        command: dataset::DatasetCommand,
    },
    /// Manage access tokens for uploads and the API (only their hashes are stored).
    Token {
        /// The data dir of the server.
        #[arg(long, default_value = "./var", global = true)]
        data_dir: PathBuf,
        #[command(subcommand)]
        command: token::TokenCommand,
    },
}

#[derive(Parser, Debug, Clone)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: String,
    /// Folder for the catalog and stored datasets.
    #[arg(long, default_value = "./var")]
    pub data_dir: PathBuf,
    /// Largest accepted upload, in megabytes.
    #[arg(long, default_value_t = 50)]
    pub upload_limit_mb: usize,
    /// Memory budget, in megabytes, of the cache of computed results, analyses, loaded versions
    /// and generated downloads, together with the uploads awaiting review.
    #[arg(long, default_value_t = 256)]
    pub cache_mb: u64,
    /// Uploads one signed-in user may keep awaiting review (the oldest is dropped for a new one).
    #[arg(long, default_value_t = crate::web::staging::DEFAULT_PER_ACTOR)]
    pub staged_per_user: usize,
    /// Hours an upload awaiting review is kept before it is dropped.
    #[arg(long, default_value_t = 24)]
    pub staged_hours: u64,
    /// The site's public URL (e.g. `https://nqp.example.org`): sign-in forms are accepted from
    /// this origin only, and an `https` URL turns on secure cookies.
    #[arg(long)]
    pub public_url: Option<String>,
    /// Mark the session cookie `Secure` (HTTPS only): `true` or `false`; the default is `true`
    /// when `--public-url` is an `https` URL.
    #[arg(long)]
    pub secure_cookies: Option<bool>,
}

impl Default for ServeArgs {
    fn default() -> Self {
        // The same defaults as `nqp serve` with no flag.
        ServeArgs::parse_from(["serve"])
    }
}

impl ServeArgs {
    /// The server's options; errors on a public URL that is not `http(s)://host[:port]`.
    pub fn options(&self) -> anyhow::Result<crate::web::serve::ServeOptions> {
        const MB: u64 = 1024 * 1024;
        let public_origin = match &self.public_url {
            Some(url) => Some(public_origin(url)?),
            None => None,
        };
        let https = public_origin
            .as_deref()
            .is_some_and(|o| o.starts_with("https://"));
        Ok(crate::web::serve::ServeOptions {
            addr: self.addr.clone(),
            data_dir: self.data_dir.clone(),
            config: crate::web::state::Config {
                upload_limit: self.upload_limit_mb.saturating_mul(1024 * 1024),
                cache_bytes: self.cache_mb.saturating_mul(MB),
                staged_per_actor: self.staged_per_user,
                staged_ttl: std::time::Duration::from_secs(self.staged_hours.saturating_mul(3600)),
                secure_cookies: self.secure_cookies.unwrap_or(https),
                public_origin,
            },
        })
    }
}

/// `scheme://host[:port]` of a public URL (its path, if any, does not matter for origins).
fn public_origin(url: &str) -> anyhow::Result<String> {
    let bad = || {
        anyhow::anyhow!("--public-url {url:?}: expected http://host[:port] or https://host[:port]")
    };
    let (scheme, rest) = url.split_once("://").ok_or_else(bad)?;
    let scheme = scheme.to_ascii_lowercase();
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if !matches!(scheme.as_str(), "http" | "https") || host.is_empty() || host.contains('@') {
        return Err(bad());
    }
    Ok(format!("{scheme}://{}", host.to_ascii_lowercase()))
}

/// Where the data's region names are matched: `auto` (the bundled China provinces when most
/// names match them), `none` (names are ids), or a region-set CSV file.
fn parse_regions(value: &str) -> Result<RegionArg, String> {
    Ok(match value {
        "auto" => RegionArg::Auto,
        "none" => RegionArg::None,
        path => RegionArg::File(PathBuf::from(path)),
    })
}

#[derive(Debug, Clone)]
pub enum RegionArg {
    Auto,
    None,
    File(PathBuf),
}

#[derive(Args, Debug)]
pub struct MethodArgs {
    /// Normalisation: minmax-panel | minmax-year | zscore | rank.
    #[arg(long, default_value = "minmax-panel")]
    pub normalise: Normalise,
    /// Weights: entropy-panel | entropy-year | critic | sd | equal | manual | combined:A+B:geometric|arithmetic.
    #[arg(long, default_value = "entropy-panel")]
    pub weights: WeightScheme,
    /// Shift added to normalised values before the entropy shares.
    #[arg(long, default_value_t = 0.0001)]
    pub shift: f64,
    /// Aggregation: sum | geometric | topsis.
    #[arg(long, default_value = "sum")]
    pub aggregate: Aggregate,
    /// Minimum share of observed region-years for an indicator to be scored.
    #[arg(long, default_value_t = 0.65)]
    pub coverage_threshold: f64,
    /// Outlier treatment before normalisation: none | winsorise (log transform when winsorising
    /// the allowed points is not enough).
    #[arg(long, default_value = "none")]
    pub treat: Treat,
    /// Largest number of observations winsorisation may change per indicator.
    #[arg(long, default_value_t = DEFAULT_TREAT_MAX_POINTS)]
    pub treat_max_points: u32,
}

impl MethodArgs {
    pub fn spec(&self) -> MethodSpec {
        MethodSpec {
            normalise: self.normalise,
            weights: self.weights.clone(),
            shift: self.shift,
            aggregate: self.aggregate,
            coverage_threshold: self.coverage_threshold,
            treat: self.treat,
            treat_max_points: self.treat_max_points,
        }
    }
}

/// The data files, framework and region set that an index is computed from.
#[derive(Args, Debug)]
pub struct InputArgs {
    /// Data file (NBS export, long or wide CSV; UTF-8 or GBK). Repeat for several files.
    #[arg(long = "data", required = true)]
    pub data: Vec<PathBuf>,
    /// Framework file (TOML).
    #[arg(long)]
    pub framework: PathBuf,
    /// Region set: a CSV file (code,name_zh,name_en,group,aliases), `auto` or `none`.
    #[arg(long, default_value = "auto", value_parser = parse_regions)]
    pub regions: RegionArg,
    /// Columns of a table with years across, when detection cannot tell them:
    /// `region=B[,indicator=A][,unit=D][,years=C:V]` (letters or numbers from 1); applies to
    /// every data file of the command.
    #[arg(long, value_name = "HINT", value_parser = parse_layout)]
    pub layout: Option<LayoutHint>,
    /// Leave a region out (its code, e.g. CN-XZ), in addition to the framework's `exclude`;
    /// repeat for several. Every result records it.
    #[arg(long = "exclude", value_name = "REGION")]
    pub exclude: Vec<String>,
}

impl InputArgs {
    /// Read and check the framework (with the `--exclude` regions added) and the data files.
    pub fn load(&self) -> anyhow::Result<(Framework, service::LoadedData)> {
        let mut framework = load_framework(&self.framework)?;
        for region in &self.exclude {
            if !framework.exclude.iter().any(|e| &e.region == region) {
                framework.exclude.push(crate::framework::RegionExclusion {
                    region: region.clone(),
                    reason: "excluded on the command line (--exclude)".into(),
                });
            }
        }
        let data = service::load_data(
            &read_inputs(&self.data, self.layout.as_ref())?,
            &region_choice(&self.regions)?,
        )?;
        Ok((framework, data))
    }
}

#[derive(Args, Debug)]
pub struct ComputeArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub method: MethodArgs,
    /// Output file: .csv, .json or .parquet.
    #[arg(long)]
    pub out: PathBuf,
    /// Also write the weights (indicator,dimension,weight[,year]) as CSV.
    #[arg(long)]
    pub weights_out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Files to validate.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Also validate this framework and derive its indicators from the files.
    #[arg(long)]
    pub framework: Option<PathBuf>,
    /// Region set: a CSV file, `auto` or `none`.
    #[arg(long, default_value = "auto", value_parser = parse_regions)]
    pub regions: RegionArg,
    /// Columns of a table with years across, when detection cannot tell them:
    /// `region=B[,indicator=A][,unit=D][,years=C:V]` (letters or numbers from 1); applies to
    /// every data file of the command.
    #[arg(long, value_name = "HINT", value_parser = parse_layout)]
    pub layout: Option<LayoutHint>,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// The folder with the raw public data (PROVENANCE.md lists its files).
    #[arg(long, default_value = "../shared/data")]
    pub shared: PathBuf,
    /// Where to write the bundled datasets (one folder per dataset id inside).
    #[arg(long, default_value = "data/datasets")]
    pub out: PathBuf,
}

/// Parse arguments and run; the binary maps the error to exit code 2.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve(ServeArgs::default())) {
        Command::Serve(args) => crate::web::serve::run(&args.options()?),
        Command::Analyse(args) => analyse::run(&args),
        Command::Robustness(args) => robustness::run(&args),
        Command::Export(args) => export::run(&args),
        Command::Dataset { data_dir, command } => dataset::run(&data_dir, &command),
        Command::Token { data_dir, command } => token::run(&data_dir, &command),
        Command::Compute(args) => compute(&args),
        Command::Check(args) => check(&args),
        Command::Import(args) => import(&args),
    }
}

pub(crate) fn region_choice(arg: &RegionArg) -> anyhow::Result<RegionChoice> {
    Ok(match arg {
        RegionArg::Auto => RegionChoice::Auto,
        RegionArg::None => RegionChoice::None,
        RegionArg::File(path) => {
            let text = read_text(path)?;
            let name = display_name(path);
            RegionChoice::Set(RegionSet::from_csv(&name, &text, &name)?)
        }
    })
}

/// Read the data files; `layout` (`--layout`) applies to each of them.
pub(crate) fn read_inputs(
    paths: &[PathBuf],
    layout: Option<&LayoutHint>,
) -> anyhow::Result<Vec<InputFile>> {
    paths
        .iter()
        .map(|p| {
            let mut file = InputFile::read(p)?;
            file.layout = layout.cloned();
            Ok(file)
        })
        .collect()
}

/// `--layout`: which columns of a table with years across hold what.
pub(crate) fn parse_layout(text: &str) -> Result<LayoutHint, String> {
    text.parse()
}

fn read_text(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn display_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

fn load_framework(path: &Path) -> anyhow::Result<Framework> {
    Ok(Framework::from_toml(
        &read_text(path)?,
        &display_name(path),
    )?)
}

fn compute(args: &ComputeArgs) -> anyhow::Result<()> {
    let Some(format) = OutputFormat::from_path(&args.out) else {
        bail!(
            "--out {}: unknown format (use a .csv, .json or .parquet file name)",
            args.out.display()
        );
    };
    let (framework, data) = args.input.load()?;
    let result = service::compute_index(&data.panel, &framework, &args.method.spec())?;
    for notice in &result.notices {
        eprintln!("nqp: note: {}", notice.message);
    }
    write_file(&args.out, &service::render_scores(&result, format)?)?;
    if let Some(path) = &args.weights_out {
        write_file(path, &service::frame_to_csv(&result.weights)?)?;
    }
    Ok(())
}

pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

fn check(args: &CheckArgs) -> anyhow::Result<()> {
    let data = service::load_data(
        &read_inputs(&args.files, args.layout.as_ref())?,
        &region_choice(&args.regions)?,
    )?;
    for file in &data.files {
        println!(
            "{}: {} ({}), {} rows, {} regions, years {}, indicators: {}",
            file.name,
            file.layout,
            file.encoding,
            file.rows,
            file.regions,
            year_span(&file.years),
            file.indicators.join(", ")
        );
        for notice in &file.notices {
            match notice.line {
                Some(line) => println!("  note (line {line}): {}", notice.message),
                None => println!("  note: {}", notice.message),
            }
        }
    }
    match &data.region_set {
        Some(set) => println!("regions matched against the '{}' region set", set.id()),
        None => println!("no region set: region names are used as ids"),
    }
    if let Some(path) = &args.framework {
        let framework = load_framework(path)?;
        let wide = framework.derive(&data.panel)?;
        println!(
            "framework {}: {} indicators derived for {} region-years",
            framework.index.id,
            framework.indicators.len(),
            wide.height()
        );
    }
    println!("ok");
    Ok(())
}

fn year_span(years: &[i32]) -> String {
    match (years.first(), years.last()) {
        (Some(a), Some(b)) if a == b => a.to_string(),
        (Some(a), Some(b)) => format!("{a}–{b}"),
        _ => "none".into(),
    }
}

fn import(args: &ImportArgs) -> anyhow::Result<()> {
    let written = crate::importer::import_all(&args.shared, &args.out)
        .with_context(|| format!("importing from {}", args.shared.display()))?;
    for dir in written {
        println!("wrote {dir}");
    }
    Ok(())
}
