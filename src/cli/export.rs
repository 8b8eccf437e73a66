//! `nqp export`: the paper tables (DOCX, LaTeX), the citation and the replication pack of an
//! index computed from data files, written to a folder.
//!
//! Owns: the clap arguments. Must not: lay out or render anything — that is
//! `service::publish::render_file`, the function behind the `/publish` downloads.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};

use super::{InputArgs, MethodArgs};
use crate::service::publish::latex::LatexOptions;
use crate::service::publish::{Precision, PubFile, Source, render_file};
use crate::service::{self, analysis::analysis_view, dashboard::ResultTables};
use crate::types::{DatasetId, Lang};

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
    /// Figure formats, comma-separated: svg, png.
    #[arg(long, value_delimiter = ',')]
    pub figures: Vec<FigureFormat>,
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
    if !args.figures.is_empty() {
        bail!(
            "--figures: figure export is not available yet in nqp export (tables, citation and replication pack are); download figures from the SVG/PNG links under each chart on the dashboard pages"
        );
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
    let spec = args.method.spec();
    let tables =
        ResultTables::from_result(&service::compute_index(&ds.panel, &ds.framework, &spec)?)?;
    for notice in &tables.notices {
        eprintln!("nqp: note: {notice}");
    }
    let analysis = analysis_view(&ds, &tables)?;
    // The robustness table is optional: a method the report cannot vary is noted, not fatal.
    let robustness =
        match service::robustness::robustness(&ds.panel, &ds.framework, &spec, &Default::default())
        {
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
    let latex = LatexOptions {
        siunitx: !args.plain_columns,
    };
    for file in files {
        let (name, bytes) = render_file(&src, &spec, file, latex)?;
        let path = args.out_dir.join(name);
        super::write_file(&path, &bytes)?;
        println!("{}", path.display());
    }
    Ok(())
}
