//! `/publish`: the downloads for a paper — three-line tables (DOCX, LaTeX), the BibTeX
//! citation and the replication pack — for the chosen dataset, year, method and precision, chosen
//! by a GET form; `/publish/{file}` serves each file.
//!
//! Query: the shared parameters (`dataset`, `v`, `lang`, `normalise`, `weights`, `aggregate`),
//! `year` (the year of the dimension-score table and the rank column), `precision` (decimals of
//! scores, default 3), `weight_precision` (default 4), `columns=plain` (LaTeX `r` columns instead
//! of siunitx `S`). The files are `service::publish::render_file`, the call behind `nqp export`.
//! The page also links every dashboard figure (`service::figure::DASHBOARD_FIGURES`, served by
//! the `web::figures` middleware on its page) and shows what maps are drawn on, with the
//! signed-in form for the user's standard base map (`pages::basemap`).

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;

use super::{MethodOptions, PageResult, render};
use crate::analysis::robustness::{Robustness, RobustnessOptions};
use crate::service::analysis::{AnalysisChoice, AnalysisView};
use crate::service::basemap::{BaseMapStatus, INSET_PROPERTY};
use crate::service::dashboard::{Dataset, ResultTables};
use crate::service::download::{FileRequest, download_url};
use crate::service::figure::{DASHBOARD_FIGURES, SCHEMATIC_NOTE};
use crate::service::publish::latex::LatexOptions;
use crate::service::publish::{Precision, PubFile, Source, build_all, render_file};
use crate::types::Lang;
use crate::web::auth::MaybeUser;
use crate::web::cache::DerivedFile;
use crate::web::chrome::Chrome;
use crate::web::ctx::PageCtx;
use crate::web::error::WebError;
use crate::web::state::AppState;

/// The page's own parameters, parsed once.
struct Options {
    year: Option<i32>,
    precision: Precision,
    latex: LatexOptions,
}

impl Options {
    fn parse(ctx: &PageCtx) -> Result<Options, WebError> {
        let decimals = |key: &str, default: usize| -> Result<usize, WebError> {
            match ctx.param(key) {
                None => Ok(default),
                Some(raw) => raw
                    .parse::<usize>()
                    .ok()
                    .filter(|d| *d <= Precision::MAX)
                    .ok_or_else(|| {
                        WebError::invalid_parameter(
                            key,
                            format!("'{raw}' is not a number of decimals 0–{}", Precision::MAX),
                        )
                    }),
            }
        };
        let default = Precision::default();
        let precision = Precision {
            score: decimals("precision", default.score)?,
            weight: decimals("weight_precision", default.weight)?,
        };
        let siunitx = match ctx.param("columns") {
            None | Some("siunitx") => true,
            Some("plain") => false,
            Some(other) => {
                return Err(WebError::invalid_parameter(
                    "columns",
                    format!("'{other}' is not siunitx or plain"),
                ));
            }
        };
        Ok(Options {
            year: ctx.year()?,
            precision,
            latex: LatexOptions { siunitx },
        })
    }

    /// The page's parameters to keep on every download link.
    fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = vec![
            ("precision", self.precision.score.to_string()),
            ("weight_precision", self.precision.weight.to_string()),
        ];
        if let Some(year) = self.year {
            pairs.push(("year", year.to_string()));
        }
        if !self.latex.siunitx {
            pairs.push(("columns", "plain".to_owned()));
        }
        pairs
    }
}

/// What the files are built from: the dataset, its result, analyses and robustness report
/// (all cached), and the request's options.
struct Inputs {
    ds: Arc<Dataset>,
    tables: Arc<ResultTables>,
    analysis: Arc<AnalysisView>,
    /// `None` when the robustness report cannot be computed for the method (the robustness
    /// table is then left out).
    robustness: Option<Arc<Robustness>>,
    options: Options,
}

async fn load(state: &AppState, ctx: &PageCtx) -> Result<Inputs, WebError> {
    let options = Options::parse(ctx)?;
    let (ds, tables) = super::load(state, ctx).await?;
    let analysis = state
        .analysis_for(Arc::clone(&ds), &ctx.spec, &AnalysisChoice::default())
        .await?;
    let robustness = state
        .robustness_for(Arc::clone(&ds), &ctx.spec, &RobustnessOptions::default())
        .await
        .ok();
    Ok(Inputs {
        ds,
        tables,
        analysis,
        robustness,
        options,
    })
}

fn source<'a>(
    ds: &'a Dataset,
    tables: &'a ResultTables,
    inputs: &'a Inputs,
    lang: Lang,
) -> Source<'a> {
    let options = &inputs.options;
    Source {
        dataset: ds,
        tables,
        analysis: &inputs.analysis,
        robustness: inputs.robustness.as_deref(),
        lang,
        precision: options.precision,
        year: options.year,
    }
}

pub struct FileLink {
    pub label: &'static str,
    pub description: &'static str,
    pub url: String,
    pub format: &'static str,
}

/// One dashboard figure's downloads.
pub struct FigureLinks {
    pub title: &'static str,
    pub page_url: String,
    pub svg: String,
    pub png: String,
    pub png_gray: String,
}

#[derive(Template)]
#[template(path = "pages/publish.html")]
pub struct PublishPage {
    pub chrome: Chrome,
    pub zh: bool,
    pub hidden: Vec<(String, String)>,
    pub method_options: MethodOptions,
    /// `(year, selected)`.
    pub years: Vec<(i32, bool)>,
    pub precision: usize,
    pub weight_precision: usize,
    pub plain_columns: bool,
    pub max_precision: usize,
    /// The numbered captions of the tables in the DOCX and LaTeX files.
    pub captions: Vec<String>,
    pub files: Vec<FileLink>,
    pub figures: Vec<FigureLinks>,
    /// The user's standard base map, `None` while maps are schematic.
    pub basemap: Option<BaseMapStatus>,
    pub schematic_note: &'static str,
    pub inset_property: &'static str,
    /// The CSRF token of a signed-in user (the base-map form is shown to them only), else empty.
    pub csrf: String,
    /// The server has a data dir to store a base map in.
    pub has_store: bool,
}

pub async fn page(
    State(state): State<AppState>,
    ctx: PageCtx,
    MaybeUser(user): MaybeUser,
) -> PageResult {
    let inputs = load(&state, &ctx).await?;
    let src = source(&inputs.ds, &inputs.tables, &inputs, ctx.lang);
    let year = src.year()?;
    let captions = build_all(&src)
        .iter()
        .map(|t| t.numbered_caption())
        .collect();
    let map = MapSection {
        basemap: state.basemap_status(),
        csrf: user.and_then(|u| u.csrf).unwrap_or_default(),
        has_store: state.store().is_some(),
    };
    render(&PublishPage::new(&ctx, &inputs, year, captions, map))
}

/// What the base-map section shows: the map in use and whether the reader may replace it.
struct MapSection {
    basemap: Option<BaseMapStatus>,
    csrf: String,
    has_store: bool,
}

/// The downloads of every dashboard figure for the page's dataset, method and year.
fn figure_links(ctx: &PageCtx, year: Option<i32>) -> Vec<FigureLinks> {
    let year_text = year.map(|y| y.to_string()).unwrap_or_default();
    DASHBOARD_FIGURES
        .iter()
        .map(|f| {
            let url = |format: &str, gray: bool| {
                let mut q: Vec<(&str, &str)> = vec![("figure", f.id), ("format", format)];
                if !year_text.is_empty() {
                    q.push(("year", &year_text));
                }
                if gray {
                    q.push(("gray", "1"));
                }
                ctx.url(f.page, &q)
            };
            FigureLinks {
                title: ctx.lang.pick(f.title_zh, f.title_en),
                page_url: ctx.url(f.page, &[]),
                svg: url("svg", false),
                png: url("png", false),
                png_gray: url("png", true),
            }
        })
        .collect()
}

/// A text in Chinese and English.
type ZhEn = (&'static str, &'static str);

/// The files of the page: `(file, label, description)`.
const FILES: [(PubFile, ZhEn, ZhEn); 4] = [
    (
        PubFile::Docx,
        ("三线表（Word）", "Three-line tables (Word)"),
        (
            "全部表格，每表一个编号标题、三条横线（无竖线）和资料来源注。",
            "Every table with a numbered caption, three horizontal rules (no vertical ones) and the source note.",
        ),
    ),
    (
        PubFile::Latex,
        ("三线表（LaTeX）", "Three-line tables (LaTeX)"),
        (
            "booktabs 表格（\\toprule / \\midrule / \\bottomrule），数值按小数点对齐（siunitx S 列）；用 XeLaTeX 编译。",
            "booktabs tables (\\toprule / \\midrule / \\bottomrule), numbers aligned on the decimal point (siunitx S columns); compile with XeLaTeX.",
        ),
    ),
    (
        PubFile::Bibtex,
        ("引用（BibTeX）", "Citation (BibTeX)"),
        (
            "nqp 的版本、数据集版本哈希和方法。",
            "nqp with its version, the dataset version hash and the method.",
        ),
    ),
    (
        PubFile::Replication,
        ("复现包（zip）", "Replication pack (zip)"),
        (
            "数据集、指标体系、地区集、方法说明、计算结果和 replicate.sh：重新运行 nqp compute / nqp analyse 并核对输出的 SHA-256。",
            "Dataset, framework, region set, method spec, the computed tables and replicate.sh, which reruns nqp compute / nqp analyse and checks the outputs' SHA-256.",
        ),
    ),
];

impl PublishPage {
    fn new(
        ctx: &PageCtx,
        inputs: &Inputs,
        year: Option<i32>,
        captions: Vec<String>,
        map: MapSection,
    ) -> Self {
        let options = &inputs.options;
        let pairs = options.pairs();
        let extra: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let lang = ctx.lang;
        let files = FILES
            .iter()
            .map(
                |&(file, (label_zh, label_en), (desc_zh, desc_en))| FileLink {
                    label: lang.pick(label_zh, label_en),
                    description: lang.pick(desc_zh, desc_en),
                    url: ctx.url(&format!("/publish/{}", file.segment()), &extra),
                    format: file.segment().rsplit('.').next().unwrap_or_default(),
                },
            )
            .collect();
        PublishPage {
            chrome: Chrome::new(ctx, &inputs.ds, "publish"),
            zh: lang == Lang::Zh,
            hidden: ctx
                .hidden_fields()
                .into_iter()
                .filter(|(k, _)| matches!(k.as_str(), "lang" | "dataset" | "v"))
                .collect(),
            method_options: MethodOptions::new(
                ctx.spec.normalise,
                &ctx.spec.weights,
                ctx.spec.aggregate,
            ),
            years: inputs
                .tables
                .years
                .iter()
                .map(|&y| (y, Some(y) == year))
                .collect(),
            precision: options.precision.score,
            weight_precision: options.precision.weight,
            plain_columns: !options.latex.siunitx,
            max_precision: Precision::MAX,
            captions,
            files,
            figures: figure_links(ctx, year),
            basemap: map.basemap,
            schematic_note: SCHEMATIC_NOTE,
            inset_property: INSET_PROPERTY,
            csrf: map.csrf,
            has_store: map.has_store,
        }
    }
}

/// `/publish/{file}`: one publication file, built once per (version, method, options) and then
/// served from the cache.
pub async fn file(
    State(state): State<AppState>,
    Path(file): Path<String>,
    ctx: PageCtx,
) -> Result<Response, WebError> {
    let kind = PubFile::parse(&file).ok_or_else(|| crate::Error::NotFound {
        what: "download",
        key: file.clone(),
    })?;
    let inputs = load(&state, &ctx).await?;
    let ds = Arc::clone(&inputs.ds);
    let pairs = serde_urlencoded::to_string(inputs.options.pairs()).unwrap_or_default();
    let variant = format!(
        "publish/{}?lang={}&{pairs}",
        kind.segment(),
        ctx.lang.as_str()
    );
    let (lang, spec) = (ctx.lang, ctx.spec.clone());
    let metadata = download_url(ds.id.as_str(), &ds.version, FileRequest::Metadata, &spec);
    let built = state
        .file_for(ds, &ctx.spec, variant, move |ds, tables| {
            let src = source(ds, tables, &inputs, lang);
            let (name, bytes) = render_file(&src, &spec, kind, inputs.options.latex)?;
            let bytes = bytes.into();
            Ok(DerivedFile { name, bytes })
        })
        .await?;
    let bytes = built.bytes.clone();
    crate::web::download::attachment(&built.name, kind.content_type(), &metadata, bytes)
}
