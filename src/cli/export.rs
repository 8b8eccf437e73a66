//! `nqp export`: the paper tables (DOCX, LaTeX), the figures (SVG, PNG), the citation and the
//! replication pack of an index computed from data files, written to a folder.
//!
//! Owns: the clap arguments. Must not: lay out or render anything — tables are
//! `service::publish::render_file`, the function behind the `/publish` downloads; figures are
//! the dashboard's own figure downloads (`web::figures::dashboard_figures`, the pages served
//! in-process), so a file equals the download of the same chart.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};

use super::{InputArgs, MethodArgs};
use crate::ingest::RegionSet;
use crate::method::MethodSpec;
use crate::service::basemap::{self, BaseMap};
use crate::service::dashboard::Dataset;
use crate::service::download::Export;
use crate::service::figure::{self, FigureOptions};
use crate::service::publish::latex::LatexOptions;
use crate::service::publish::{Precision, PubFile, Source, render_file};
use crate::service::{self, analysis::analysis_view, dashboard::ResultTables};
use crate::types::{DatasetId, Lang};
use crate::web::figures::dashboard_figures;
use crate::web::state::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TableFormat {
    Docx,
    Latex,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FigureFormat {
    Svg,
    Png,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LangArg {
    Zh,
    En,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub method: MethodArgs,
    /// Table formats, comma-separated: docx, latex.
    #[arg(long, value_delimiter = ',', default_value = "docx,latex")]
    pub tables: Vec<TableFormat>,
    /// Figure formats, comma-separated: svg, png. Every chart of the rankings and analysis
    /// pages, named `<page>-<chart>-<method>-<version>.<ext>`.
    #[arg(long, value_delimiter = ',')]
    pub figures: Vec<FigureFormat>,
    /// Printed width of the figures in cm (PNG at 300 dpi).
    #[arg(long, default_value_t = figure::DEFAULT_WIDTH_CM)]
    pub width_cm: f64,
    /// Also write each figure in grays with hatch patterns (`-gray` files).
    #[arg(long)]
    pub gray: bool,
    /// A standard map of China (GeoJSON of the provinces, longitude/latitude, with the South
    /// China Sea features for the inset) to draw the maps on; needs --approval.
    #[arg(long)]
    pub basemap: Option<PathBuf>,
    /// The approval number (审图号) of --basemap, printed under every map.
    #[arg(long)]
    pub approval: Option<String>,
    /// Language of captions, headers and notes.
    #[arg(long, default_value = "zh")]
    pub lang: LangArg,
    /// The year of the dimension-score table and of the rank column (default: the last year).
    #[arg(long)]
    pub year: Option<i32>,
    /// Decimals of scores and statistics.
    #[arg(long, default_value_t = Precision::default().score)]
    pub precision: usize,
    /// Decimals of weights.
    #[arg(long, default_value_t = Precision::default().weight)]
    pub weight_precision: usize,
    /// LaTeX numeric columns as plain `r` columns instead of siunitx `S` columns.
    #[arg(long)]
    pub plain_columns: bool,
    /// Also write the BibTeX citation and the replication pack (zip).
    #[arg(long)]
    pub replication: bool,
    /// Folder for the files (created if missing).
    #[arg(long)]
    pub out_dir: PathBuf,
}

/// Run `nqp export`.
pub fn run(args: &ExportArgs) -> anyhow::Result<()> {
    if args.basemap.is_some() && args.figures.is_empty() {
        bail!("--basemap: the base map is for figures; add --figures svg,png");
    }
    let basemap = match (&args.basemap, &args.approval) {
        (Some(path), approval) => Some((
            basemap::parse(
                &super::read_text(path)?,
                approval.as_deref().unwrap_or_default(),
                &RegionSet::cn_provinces(),
            )
            .with_context(|| format!("--basemap {}", path.display()))?,
            super::display_name(path),
        )),
        (None, Some(_)) => bail!("--approval: give the base map it belongs to with --basemap"),
        (None, None) => None,
    };
    let figure_options = figure_options(args)?;
    let spec = args.method.spec();
    if !figure_options.is_empty() {
        // The pages take normalise, weights and aggregate; a figure must not silently show
        // another method than the tables. Checked before anything is written.
        let page_spec = MethodSpec {
            normalise: spec.normalise,
            weights: spec.weights.clone(),
            aggregate: spec.aggregate,
            ..MethodSpec::default()
        };
        if page_spec != spec {
            bail!(
                "--figures: the dashboard's charts take --normalise, --weights and --aggregate only; leave the other method options at their defaults, or export the tables without --figures"
            );
        }
    }
    let Some(precision) = Precision::new(args.precision, args.weight_precision) else {
        bail!(
            "--precision / --weight-precision: at most {} decimals",
            Precision::MAX
        );
    };
    if args.replication && !args.input.exclude.is_empty() {
        bail!(
            "--exclude with --replication: the pack ships the framework file, so write the exclusion into its `exclude` list instead"
        );
    }
    let framework_text = super::read_text(&args.input.framework)?;
    let id = args
        .input
        .data
        .first()
        .and_then(|p| p.file_stem())
        .and_then(|s| DatasetId::new(s.to_string_lossy().to_lowercase()).ok())
        .unwrap_or_else(|| DatasetId::new("dataset").expect("a valid literal id"));
    let title = args
        .input
        .data
        .iter()
        .map(|p| super::display_name(p))
        .collect::<Vec<_>>()
        .join(", ");
    let mut ds = service::build_dataset(
        id,
        (&title, &title),
        &super::read_inputs(&args.input.data, args.input.layout.as_ref())?,
        (&framework_text, &super::display_name(&args.input.framework)),
        &super::region_choice(&args.input.regions)?,
    )?;
    for region in &args.input.exclude {
        ds.framework
            .exclude
            .push(crate::framework::RegionExclusion {
                region: region.clone(),
                reason: "excluded on the command line (--exclude)".into(),
            });
    }
    let tables =
        ResultTables::from_result(&service::compute_index(&ds.panel, &ds.framework, &spec)?)?;
    for notice in &tables.notices {
        eprintln!("nqp: note: {notice}");
    }
    let mut files: Vec<PubFile> = args
        .tables
        .iter()
        .map(|t| match t {
            TableFormat::Docx => PubFile::Docx,
            TableFormat::Latex => PubFile::Latex,
        })
        .collect();
    if args.replication {
        files.extend([PubFile::Bibtex, PubFile::Replication]);
    }
    std::fs::create_dir_all(&args.out_dir)
        .with_context(|| format!("cannot create {}", args.out_dir.display()))?;
    // The tables' analyses and robustness report are only for the table files; figures are
    // drawn by the pages, which compute what they show.
    if !files.is_empty() {
        let analysis = analysis_view(&ds, &tables)?;
        // The robustness table is optional: a method the report cannot vary is noted, not fatal.
        let robustness = match service::robustness::robustness(
            &ds.panel,
            &ds.framework,
            &spec,
            &Default::default(),
        ) {
            Ok(r) => Some(r),
            Err(e) => {
                eprintln!("nqp: note: robustness table left out: {e}");
                None
            }
        };
        let src = Source {
            dataset: &ds,
            tables: &tables,
            analysis: &analysis,
            robustness: robustness.as_ref(),
            lang: match args.lang {
                LangArg::Zh => Lang::Zh,
                LangArg::En => Lang::En,
            },
            precision,
            year: args.year,
        };
        let latex = LatexOptions {
            siunitx: !args.plain_columns,
        };
        for file in files {
            let (name, bytes) = render_file(&src, &spec, file, latex)?;
            let path = args.out_dir.join(name);
            super::write_file(&path, &bytes)?;
            println!("{}", path.display());
        }
    }
    if !figure_options.is_empty() {
        let stem = Export::new(&ds, &tables.result, chrono::DateTime::UNIX_EPOCH).file_stem();
        write_figures(args, ds, &spec, basemap, &figure_options, &stem)?;
    }
    Ok(())
}

/// The figure variants asked for: each format, plain and (with --gray) in grays.
fn figure_options(args: &ExportArgs) -> anyhow::Result<Vec<FigureOptions>> {
    if args.figures.is_empty() {
        return Ok(Vec::new());
    }
    let width = args.width_cm.to_string();
    let mut out = Vec::new();
    for f in &args.figures {
        let format = match f {
            FigureFormat::Svg => "svg",
            FigureFormat::Png => "png",
        };
        for gray in [false, true].into_iter().filter(|g| !g || args.gray) {
            out.push(
                FigureOptions::parse(
                    Some(format),
                    Some(&width),
                    Some(if gray { "1" } else { "0" }),
                )
                .map_err(|e| anyhow::anyhow!("--width-cm: {e}"))?,
            );
        }
    }
    Ok(out)
}

/// Writes every dashboard figure of `ds` under `spec` in each of `options`.
fn write_figures(
    args: &ExportArgs,
    ds: Dataset,
    spec: &MethodSpec,
    basemap: Option<(BaseMap, String)>,
    options: &[FigureOptions],
    stem: &str,
) -> anyhow::Result<()> {
    let lang = match args.lang {
        LangArg::Zh => Lang::Zh,
        LangArg::En => Lang::En,
    };
    let mut query = vec![
        ("lang".to_owned(), lang.as_str().to_owned()),
        ("normalise".to_owned(), spec.normalise.as_str().to_owned()),
        ("weights".to_owned(), spec.weights.to_string()),
        ("aggregate".to_owned(), spec.aggregate.as_str().to_owned()),
    ];
    if let Some(year) = args.year {
        query.push(("year".to_owned(), year.to_string()));
    }
    let state = AppState::new(ds);
    if let Some((map, file_name)) = &basemap {
        state.set_basemap(Some((map, file_name)))?;
    }
    // Polars must not run on a current-thread runtime (the pages compute on blocking threads).
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime that draws the figures")?;
    let figures = runtime.block_on(dashboard_figures(state, &query, options));
    for (f, o, result) in figures {
        let page = f.page.trim_matches('/').replace('/', "-");
        let page = if page.is_empty() {
            "rankings"
        } else {
            page.as_str()
        };
        let name = format!(
            "{stem}-{page}-{}{}.{}",
            f.id,
            if o.gray { "-gray" } else { "" },
            o.format.extension()
        );
        match result {
            Ok(fig) => {
                let path = args.out_dir.join(name);
                super::write_file(&path, &fig.bytes)?;
                println!("{}", path.display());
            }
            // A missing CJK font fails every PNG: stop rather than print it for each.
            Err(message) if message.starts_with("503") => bail!("{name}: {message}"),
            Err(message) => eprintln!("nqp: note: {name} left out: {message}"),
        }
    }
    Ok(())
}
