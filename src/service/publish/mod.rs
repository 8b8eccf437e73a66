//! Publication output: three-line tables (三线表) as LaTeX and DOCX, the citation of nqp and
//! the data, and the replication pack.
//!
//! Owns: the table model ([`PubTable`]: caption, header, body cells with their precision,
//! source note), the builders that lay one computed result and its analyses out as the tables
//! a paper reports (`tables.rs`), and the renderers (`latex.rs`, `docx.rs`). Must not: compute
//! any statistic (the numbers come from [`ResultTables`] and [`AnalysisView`]; the descriptive
//! statistics from `analysis::robustness::stats`), know HTTP, or format numbers anywhere but in
//! [`Cell::text`], so LaTeX and DOCX print the same digits. The layout of every table is
//! documented in `README.md` ("Tables for papers").

pub mod cite;
pub mod docx;
pub mod latex;
pub mod replication;
mod tables;

pub use tables::{TableId, build, build_all};

use crate::analysis::robustness::Robustness;
use crate::error::Result;
use crate::method::MethodSpec;
use crate::service::analysis::AnalysisView;
use crate::service::dashboard::{Dataset, ResultTables};
use crate::service::download::Export;
use crate::types::Lang;

/// A publication download.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PubFile {
    /// Every table as three-line tables in one Word document.
    Docx,
    /// Every table as booktabs LaTeX in one document.
    Latex,
    /// The BibTeX entry of nqp with the dataset version.
    Bibtex,
    /// The replication pack (zip).
    Replication,
}

impl PubFile {
    pub const ALL: [PubFile; 4] = [
        PubFile::Docx,
        PubFile::Latex,
        PubFile::Bibtex,
        PubFile::Replication,
    ];

    /// The file's name in URLs and after the stem of a download (`tables.docx`, …).
    pub fn segment(self) -> &'static str {
        match self {
            PubFile::Docx => "tables.docx",
            PubFile::Latex => "tables.tex",
            PubFile::Bibtex => "cite.bib",
            PubFile::Replication => "replication.zip",
        }
    }

    pub fn parse(segment: &str) -> Option<PubFile> {
        Self::ALL.into_iter().find(|f| f.segment() == segment)
    }

    pub fn content_type(self) -> &'static str {
        match self {
            PubFile::Docx => {
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            }
            PubFile::Latex => "application/x-tex; charset=utf-8",
            PubFile::Bibtex => "application/x-bibtex; charset=utf-8",
            PubFile::Replication => "application/zip",
        }
    }
}

/// The method's short form in citations and notes: `normalise / weights / aggregate`.
pub fn method_label(spec: &MethodSpec) -> String {
    format!(
        "{} / {} / {}",
        spec.normalise.as_str(),
        spec.weights,
        spec.aggregate.as_str()
    )
}

/// One publication file of `src` computed with `spec`: its attachment name
/// (`<dataset>-<version12>-<method>-<segment>`) and bytes. The replication pack carries the
/// LaTeX and DOCX tables beside the command-line outputs.
pub fn render_file(
    src: &Source,
    spec: &MethodSpec,
    file: PubFile,
    latex_options: latex::LatexOptions,
) -> Result<(String, Vec<u8>)> {
    src.year()?;
    let stem = Export::new(
        src.dataset,
        &src.tables.result,
        chrono::DateTime::UNIX_EPOCH,
    )
    .file_stem();
    let name = format!("{stem}-{}", file.segment());
    let latex = || latex::document(&build_all(src), src.lang, latex_options).into_bytes();
    let bytes = match file {
        PubFile::Docx => docx::document(&build_all(src))?,
        PubFile::Latex => latex(),
        PubFile::Bibtex => cite::citation(src.dataset, &method_label(spec), src.lang)
            .bibtex
            .into_bytes(),
        PubFile::Replication => {
            let extra = vec![
                ("tables.tex".to_owned(), latex()),
                ("tables.docx".to_owned(), docx::document(&build_all(src))?),
            ];
            replication::pack(src.dataset, src.tables, spec, &extra)?
        }
    };
    Ok((name, bytes))
}

/// Decimal places of scores and statistics (default 3) and of weights (default 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Precision {
    pub score: usize,
    pub weight: usize,
}

impl Default for Precision {
    fn default() -> Self {
        Precision {
            score: 3,
            weight: 4,
        }
    }
}

impl Precision {
    /// Largest number of decimals accepted (more would print float noise).
    pub const MAX: usize = 8;

    /// A precision with both parts at most [`Precision::MAX`].
    pub fn new(score: usize, weight: usize) -> Option<Precision> {
        (score <= Self::MAX && weight <= Self::MAX).then_some(Precision { score, weight })
    }
}

/// What a table is built from and how it is labelled.
pub struct Source<'a> {
    pub dataset: &'a Dataset,
    pub tables: &'a ResultTables,
    pub analysis: &'a AnalysisView,
    /// The robustness report of the method, when one was computed (its method comparison is
    /// the robustness table).
    pub robustness: Option<&'a Robustness>,
    pub lang: Lang,
    pub precision: Precision,
    /// The year of the dimension-score table and of the rank column (`None`: the last year).
    pub year: Option<i32>,
}

impl Source<'_> {
    /// The year of the dimension-score table and the rank column: the chosen one, which must be
    /// a year of the result (else `not_found`), or the last year.
    pub fn year(&self) -> Result<Option<i32>> {
        match self.year {
            // As every dashboard view: a year the result does not have is not found.
            Some(y) if !self.tables.years.contains(&y) => Err(crate::Error::NotFound {
                what: "year",
                key: y.to_string(),
            }),
            Some(y) => Ok(Some(y)),
            None => Ok(self.tables.latest_year()),
        }
    }
}

/// One cell of a table body.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    /// A number printed with this many decimals; `None` is printed as a dash.
    Num(Option<f64>, usize),
    /// A count or rank.
    Int(Option<u64>),
    /// Nothing (the rank column of the mean row).
    Blank,
}

impl Cell {
    /// The cell as printed: fixed decimals, `—` for no value (the only place numbers are
    /// formatted, so every renderer prints the same digits).
    pub fn text(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Num(Some(v), d) if v.is_finite() => format!("{v:.d$}"),
            Cell::Int(Some(v)) => v.to_string(),
            Cell::Num(..) | Cell::Int(None) => "—".to_owned(),
            Cell::Blank => String::new(),
        }
    }

    pub fn is_numeric(&self) -> bool {
        !matches!(self, Cell::Text(_))
    }
}

/// A three-line table: numbered caption, one header row, the body, the source note.
#[derive(Debug, Clone, PartialEq)]
pub struct PubTable {
    pub id: TableId,
    /// 1, 2, … in the order the tables are built.
    pub number: usize,
    pub lang: Lang,
    pub caption: String,
    pub header: Vec<String>,
    pub body: Vec<Vec<Cell>>,
    /// "数据来源：…；计算：nqp <version>, dataset <hash>, method …" (or its English form).
    pub note: String,
}

impl PubTable {
    /// "表 1  caption" / "Table 1. caption".
    pub fn numbered_caption(&self) -> String {
        match self.lang {
            Lang::Zh => format!("表 {}  {}", self.number, self.caption),
            Lang::En => format!("Table {}. {}", self.number, self.caption),
        }
    }

    /// Whether column `c` holds numbers (every body cell of it is numeric).
    pub fn numeric_column(&self, c: usize) -> bool {
        !self.body.is_empty()
            && self
                .body
                .iter()
                .all(|row| row.get(c).is_some_and(Cell::is_numeric))
    }
}

/// The source note of every table: the data publishers, the nqp version, the dataset version
/// and the method.
pub fn source_note(ds: &Dataset, tables: &ResultTables, lang: Lang) -> String {
    let publishers = cite::publishers(ds)
        .into_iter()
        .map(|p| p.name)
        .collect::<Vec<_>>()
        .join(lang.pick("；", "; "));
    let m = &tables.method;
    let version: String = ds.version.chars().take(12).collect();
    let computed = format!(
        "nqp {}, dataset {} {version}, method {}",
        m.version,
        ds.id,
        method_label(&m.spec)
    );
    match lang {
        Lang::Zh => format!("数据来源：{publishers}；计算：{computed}"),
        Lang::En => format!("Source: {publishers}; computed with {computed}"),
    }
}
