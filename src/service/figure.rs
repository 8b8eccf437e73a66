//! Print figures: the SVG of a chart as a standalone SVG file or as a 300-dpi PNG, optionally
//! in grays for black-and-white print.
//!
//! Owns: turning a chart's SVG (as `chart` draws it) into a file a journal accepts — the
//! print font stack with CJK fallbacks, a physical size, no links, an optional note line under
//! the chart (the map's "schematic" note), the grayscale variant (grays, plus hatch patterns
//! where two colours would print as the same gray), rasterising with resvg at 300 dpi with the
//! PNG's `pHYs` chunk, and the check that the installed fonts have a glyph for every character
//! drawn, so a figure never shows empty boxes. Must not: draw charts or know HTTP. Reading the
//! system's fonts ([`Fonts::system`]) is the only I/O.

use std::collections::BTreeSet;
use std::fmt::Write;
use std::sync::Arc;

use resvg::tiny_skia;
use resvg::usvg::{self, fontdb, roxmltree};

use crate::chart::escape_xml;

/// Fonts named in every figure, first match wins: Noto/Source Han Sans (Linux, `fonts-noto-cjk`),
/// Microsoft YaHei and SimSun (Windows), then the reader's sans-serif.
pub const PRINT_FONTS: &str =
    "'Noto Sans CJK SC', 'Source Han Sans SC', 'Microsoft YaHei', SimSun, sans-serif";

/// The Debian/Ubuntu package that provides the CJK glyphs (Noto Sans CJK SC).
pub const CJK_FONT_PACKAGE: &str = "fonts-noto-cjk";

/// Print resolution of PNG figures, dots per inch.
pub const DPI: f64 = 300.0;

/// Allowed figure widths, in cm (a journal column is ~8 cm, a full page ~17 cm).
pub const WIDTH_CM: std::ops::RangeInclusive<f64> = 2.0..=30.0;

/// Default width, in cm.
pub const DEFAULT_WIDTH_CM: f64 = 16.0;

/// Height of the note line added under a chart, in the chart's viewBox units.
const NOTE_HEIGHT: f64 = 22.0;

/// The note every map figure carries unless it is drawn on a base map the user supplied.
pub const SCHEMATIC_NOTE: &str = "示意图，非标准地图 / schematic, not a standard map";

/// The note line a figure of `chart_svg` gets: [`SCHEMATIC_NOTE`] for a map on the bundled
/// schematic map (root class `nqp-map`); none for a map on the user's standard map (class
/// `nqp-map-standard`, which carries its approval-number caption itself) or any other chart.
pub fn note_for(chart_svg: &str) -> Option<&'static str> {
    let root = &chart_svg[..chart_svg.find('>')?];
    let class = root.split("class=\"").nth(1)?.split('"').next()?;
    let classes: Vec<&str> = class.split_whitespace().collect();
    (classes.contains(&"nqp-map") && !classes.contains(&"nqp-map-standard"))
        .then_some(SCHEMATIC_NOTE)
}

/// A chart the dashboard draws for a dataset, year and method (not per region), on the page
/// that draws it: the figures `/publish` links to and `nqp export --figures` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct DashboardFigure {
    /// The page's path.
    pub page: &'static str,
    /// The chart's id on that page (`?figure=<id>`).
    pub id: &'static str,
    pub title_zh: &'static str,
    pub title_en: &'static str,
}

/// Every chart of the rankings and analysis pages (a test renders each page and checks that
/// these are exactly its charts).
pub const DASHBOARD_FIGURES: [DashboardFigure; 12] = [
    fig("/", "map", "得分地图", "Map of scores"),
    fig("/", "bars", "得分排名", "Scores ranked"),
    fig(
        "/analysis/disparities",
        "dagum-chart",
        "Dagum 基尼系数分解",
        "Dagum Gini decomposition",
    ),
    fig(
        "/analysis/disparities",
        "sigma-chart",
        "σ 收敛",
        "σ convergence",
    ),
    fig(
        "/analysis/dynamics",
        "kernel-chart",
        "核密度估计",
        "Kernel density",
    ),
    fig(
        "/analysis/dynamics",
        "markov-chart",
        "马尔可夫转移概率",
        "Markov transition probabilities",
    ),
    fig(
        "/analysis/spatial",
        "moran-scatter",
        "Moran 散点图",
        "Moran scatter plot",
    ),
    fig(
        "/analysis/spatial",
        "lisa-map",
        "LISA 集聚图",
        "LISA cluster map",
    ),
    fig(
        "/analysis/robustness",
        "rob-heat",
        "稳健性：排名热图",
        "Robustness: rank heat map",
    ),
    fig(
        "/analysis/robustness",
        "rob-interval",
        "不确定性区间",
        "Uncertainty intervals",
    ),
    fig(
        "/analysis/robustness",
        "rob-first",
        "敏感性：一阶效应指数",
        "Sensitivity: first-order indices",
    ),
    fig(
        "/analysis/robustness",
        "rob-total",
        "敏感性：总效应指数",
        "Sensitivity: total-order indices",
    ),
];

const fn fig(
    page: &'static str,
    id: &'static str,
    title_zh: &'static str,
    title_en: &'static str,
) -> DashboardFigure {
    DashboardFigure {
        page,
        id,
        title_zh,
        title_en,
    }
}

/// The file type of a figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FigureFormat {
    Svg,
    Png,
}

impl FigureFormat {
    pub const ALL: [FigureFormat; 2] = [FigureFormat::Svg, FigureFormat::Png];

    pub fn extension(self) -> &'static str {
        match self {
            FigureFormat::Svg => "svg",
            FigureFormat::Png => "png",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            FigureFormat::Svg => "image/svg+xml",
            FigureFormat::Png => "image/png",
        }
    }
}

/// How to render a figure: file type, printed width and the grayscale variant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FigureOptions {
    pub format: FigureFormat,
    /// Printed width in cm, within [`WIDTH_CM`].
    pub width_cm: f64,
    /// Grays and hatch patterns instead of colours.
    pub gray: bool,
}

impl Default for FigureOptions {
    fn default() -> Self {
        FigureOptions {
            format: FigureFormat::Svg,
            width_cm: DEFAULT_WIDTH_CM,
            gray: false,
        }
    }
}

impl FigureOptions {
    /// Options from their text form (`format=svg|png`, `width_cm=16`, `gray=1`), as URLs and
    /// the command line give them; absent values take the defaults.
    pub fn parse(
        format: Option<&str>,
        width_cm: Option<&str>,
        gray: Option<&str>,
    ) -> Result<FigureOptions, FigureError> {
        let mut o = FigureOptions::default();
        if let Some(raw) = format {
            o.format = FigureFormat::ALL
                .into_iter()
                .find(|f| f.extension() == raw)
                .ok_or_else(|| FigureError::Option {
                    name: "format",
                    detail: format!("'{raw}' is neither svg nor png"),
                })?;
        }
        if let Some(raw) = width_cm {
            o.width_cm = raw
                .parse::<f64>()
                .ok()
                .filter(|w| WIDTH_CM.contains(w))
                .ok_or_else(|| FigureError::Option {
                    name: "width_cm",
                    detail: format!(
                        "'{raw}' is not a width between {} and {} cm",
                        WIDTH_CM.start(),
                        WIDTH_CM.end()
                    ),
                })?;
        }
        if let Some(raw) = gray {
            o.gray = match raw {
                "1" | "true" | "yes" => true,
                "" | "0" | "false" | "no" => false,
                _ => {
                    return Err(FigureError::Option {
                        name: "gray",
                        detail: format!("'{raw}' is neither 1 nor 0"),
                    });
                }
            };
        }
        Ok(o)
    }

    /// The PNG's width in pixels: the printed width at [`DPI`].
    pub fn width_px(&self) -> u32 {
        // Bounded by WIDTH_CM: at most ~3,543 px.
        (self.width_cm / 2.54 * DPI).round() as u32
    }
}

/// A rendered figure file.
#[derive(Debug, Clone)]
pub struct Figure {
    pub format: FigureFormat,
    pub bytes: Vec<u8>,
}

/// Why a figure could not be made.
#[derive(Debug, thiserror::Error)]
pub enum FigureError {
    #[error(
        "no installed font has glyphs for {missing}: install a CJK font package (Debian/Ubuntu: \
         `apt-get install {CJK_FONT_PACKAGE}`, which provides Noto Sans CJK SC) and restart nqp — \
         the figure is not drawn with empty boxes instead / 没有可显示这些字符的字体：请安装中文字体包 \
         {CJK_FONT_PACKAGE}（Noto Sans CJK SC）后重启 nqp"
    )]
    NoFont { missing: String },
    #[error("{name}: {detail}")]
    Option { name: &'static str, detail: String },
    #[error("the chart's SVG cannot be read: {0}")]
    Svg(String),
    #[error("the figure cannot be rendered: {0}")]
    Render(String),
}

impl FigureError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            FigureError::NoFont { .. } => "figure.no_font",
            FigureError::Option { .. } => "figure.option",
            FigureError::Svg(_) => "figure.svg",
            FigureError::Render(_) => "figure.render",
        }
    }
}

/// The fonts figures are rasterised with.
#[derive(Clone)]
pub struct Fonts {
    db: Arc<fontdb::Database>,
}

impl std::fmt::Debug for Fonts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Fonts({} faces)", self.db.len())
    }
}

impl Fonts {
    /// The fonts installed on this system (fontconfig's directories), read once per process by
    /// the caller; the files are memory-mapped, not copied.
    pub fn system() -> Fonts {
        let mut db = fontdb::Database::new();
        db.load_system_fonts();
        db.set_sans_serif_family("Noto Sans CJK SC");
        Fonts::from_database(db)
    }

    /// Fonts from a given database (tests inject an empty one).
    pub fn from_database(db: fontdb::Database) -> Fonts {
        Fonts { db: Arc::new(db) }
    }

    /// The characters of `chars` that no installed face has a glyph for.
    pub fn missing(&self, chars: &BTreeSet<char>) -> BTreeSet<char> {
        let mut left = chars.clone();
        for face in self.db.faces() {
            if left.is_empty() {
                break;
            }
            self.db.with_face_data(face.id, |data, index| {
                if let Ok(parsed) = ttf_parser::Face::parse(data, index) {
                    left.retain(|&c| parsed.glyph_index(c).is_none());
                }
            });
        }
        left
    }
}

/// The one entry point: `chart_svg` (a chart as `chart` draws it) as a figure file.
/// `note` is a line printed under the chart (the map's "schematic, not a standard map").
pub fn render(
    chart_svg: &str,
    options: &FigureOptions,
    note: Option<&str>,
    fonts: &Fonts,
) -> Result<Figure, FigureError> {
    let svg = standalone(chart_svg, options, note)?;
    let bytes = match options.format {
        FigureFormat::Svg => svg.into_bytes(),
        FigureFormat::Png => rasterise(&svg, options.width_px(), fonts)?,
    };
    Ok(Figure {
        format: options.format,
        bytes,
    })
}

/// The chart as a standalone SVG document: XML declaration, physical size (`width_cm`, height
/// by the aspect ratio), the print font stack, links unwrapped, the note line added and, with
/// `gray`, colours replaced by grays and hatch patterns.
pub fn standalone(
    chart_svg: &str,
    options: &FigureOptions,
    note: Option<&str>,
) -> Result<String, FigureError> {
    let tags = Tags::parse(chart_svg.trim())?;
    let root = match tags.items.first() {
        Some(Item::Tag(t)) if t.name == "svg" && !t.closing => t,
        _ => return Err(FigureError::Svg("it does not start with <svg>".into())),
    };
    let (vb_w, vb_h) = view_box(root)?;
    let height = vb_h + if note.is_some() { NOTE_HEIGHT } else { 0.0 };
    let gray = options.gray.then(|| Grays::new(&tags));

    let mut out = String::with_capacity(chart_svg.len() + 1024);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    for (i, item) in tags.items.iter().enumerate() {
        match item {
            Item::Text(t) => out.push_str(t),
            // Links lead back into the dashboard; a figure file has nowhere to go: `<a>`
            // becomes a plain group (its `href` is dropped below).
            Item::Tag(t) if t.name == "a" => t.write_as("g", &mut out, gray.as_ref()),
            Item::Tag(t) if i == 0 => {
                let w_mm = options.width_cm * 10.0;
                let _ = write!(
                    out,
                    "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" viewBox=\"0 0 {vb_w} {height}\" \
                     width=\"{w}mm\" height=\"{h}mm\" font-family=\"{font}\"",
                    w = fmt(w_mm),
                    h = fmt(w_mm * height / vb_w),
                    font = escape_xml(PRINT_FONTS),
                );
                for (k, v) in &t.attrs {
                    if !matches!(
                        k.as_str(),
                        "xmlns" | "viewBox" | "width" | "height" | "font-family" | "class"
                    ) {
                        let _ = write!(out, " {k}=\"{v}\"");
                    }
                }
                out.push('>');
                // Paper is white; a transparent PNG would show the viewer's background.
                let _ = write!(
                    out,
                    "<rect x=\"0\" y=\"0\" width=\"{vb_w}\" height=\"{height}\" fill=\"#fff\"/>"
                );
            }
            Item::Tag(t) if t.closing && t.name == "svg" && i + 1 == tags.items.len() => {
                if let Some(note) = note {
                    let _ = write!(
                        out,
                        "<text x=\"4\" y=\"{y}\" font-size=\"11\" fill=\"#333\" class=\"figure-note\">{}</text>",
                        escape_xml(note),
                        y = fmt(vb_h + NOTE_HEIGHT - 7.0),
                    );
                }
                if let Some(g) = &gray {
                    g.write_patterns(&mut out);
                }
                out.push_str("</svg>");
            }
            Item::Tag(t) => t.write(&mut out, gray.as_ref()),
        }
    }
    Ok(out)
}

fn view_box(root: &Tag) -> Result<(f64, f64), FigureError> {
    let vb = root
        .attr("viewBox")
        .ok_or_else(|| FigureError::Svg("the root has no viewBox".into()))?;
    let n: Vec<f64> = vb
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    match n[..] {
        [_, _, w, h] if w > 0.0 && h > 0.0 && w.is_finite() && h.is_finite() => Ok((w, h)),
        _ => Err(FigureError::Svg(format!("viewBox '{vb}' is not 4 numbers"))),
    }
}

fn fmt(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// The chart's SVG as a flat list of tags and the text between them. Charts write well-formed
/// XML with double-quoted attributes (`chart::svg`), which is all this reads.
struct Tags {
    items: Vec<Item>,
}

enum Item {
    Text(String),
    Tag(Tag),
}

struct Tag {
    name: String,
    closing: bool,
    self_closing: bool,
    attrs: Vec<(String, String)>,
}

impl Tag {
    fn attr(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn write(&self, out: &mut String, gray: Option<&Grays>) {
        self.write_as(&self.name, out, gray);
    }

    fn write_as(&self, name: &str, out: &mut String, gray: Option<&Grays>) {
        if self.closing {
            let _ = write!(out, "</{name}>");
            return;
        }
        let _ = write!(out, "<{name}");
        for (k, v) in &self.attrs {
            let value = match (gray, k.as_str()) {
                (Some(g), "fill") => g.fill(v),
                (Some(g), "stroke") => g.stroke(v),
                // Only in-document references survive (`#id`): a figure loads nothing.
                (_, "href" | "xlink:href") if !v.starts_with('#') => continue,
                _ => v.clone(),
            };
            let _ = write!(out, " {k}=\"{value}\"");
        }
        out.push_str(if self.self_closing { "/>" } else { ">" });
    }
}

impl Tags {
    fn parse(s: &str) -> Result<Tags, FigureError> {
        let bad = |what: &str| FigureError::Svg(what.to_owned());
        let mut items = Vec::new();
        let mut rest = s;
        while let Some(lt) = rest.find('<') {
            if lt > 0 {
                items.push(Item::Text(rest[..lt].to_owned()));
            }
            let after = &rest[lt + 1..];
            let gt = after.find('>').ok_or_else(|| bad("unterminated tag"))?;
            let body = &after[..gt];
            rest = &after[gt + 1..];
            if let Some(name) = body.strip_prefix('/') {
                items.push(Item::Tag(Tag {
                    name: name.trim().to_owned(),
                    closing: true,
                    self_closing: false,
                    attrs: Vec::new(),
                }));
                continue;
            }
            let self_closing = body.ends_with('/');
            let body = body.trim_end_matches('/');
            let name_end = body.find(char::is_whitespace).unwrap_or(body.len());
            let mut attrs = Vec::new();
            let mut a = &body[name_end..];
            loop {
                a = a.trim_start();
                if a.is_empty() {
                    break;
                }
                let eq = a.find('=').ok_or_else(|| bad("attribute without value"))?;
                let v = a[eq + 1..]
                    .trim_start()
                    .strip_prefix('"')
                    .ok_or_else(|| bad("unquoted attribute"))?;
                let end = v.find('"').ok_or_else(|| bad("unterminated attribute"))?;
                attrs.push((a[..eq].trim().to_owned(), v[..end].to_owned()));
                a = &v[end + 1..];
            }
            items.push(Item::Tag(Tag {
                name: body[..name_end].to_owned(),
                closing: false,
                self_closing,
                attrs,
            }));
        }
        if !rest.is_empty() {
            items.push(Item::Text(rest.to_owned()));
        }
        Ok(Tags { items })
    }
}

/// The grayscale variant: every colour becomes its luma gray (ITU-R BT.601 weights), so
/// sequential palettes stay ordered light to dark; when two distinct colours of filled areas
/// would print within [`MIN_GRAY_STEP`] of each other (categorical fills: bars, stacks,
/// quadrants), every coloured fill also gets its own hatch pattern.
struct Grays {
    /// Coloured (not neutral) fills in order of appearance, when patterns are needed.
    patterned: Vec<String>,
}

/// Smallest luma difference (0–255) two fills may have and still be told apart in print.
const MIN_GRAY_STEP: f64 = 30.0;
/// A colour whose channels differ by less than this is a neutral (text, grid, no-data gray).
const NEUTRAL_SPREAD: f64 = 24.0;

impl Grays {
    fn new(tags: &Tags) -> Grays {
        let mut coloured: Vec<String> = Vec::new();
        for item in &tags.items {
            if let Item::Tag(t) = item
                && let Some(v) = t.attr("fill")
                && let Some(rgb) = hex_rgb(v)
                && spread(rgb) >= NEUTRAL_SPREAD
                && !coloured.iter().any(|c| c.eq_ignore_ascii_case(v))
            {
                coloured.push(v.to_owned());
            }
        }
        let lumas: Vec<f64> = coloured
            .iter()
            .filter_map(|c| hex_rgb(c).map(luma))
            .collect();
        let close = lumas
            .iter()
            .enumerate()
            .any(|(i, a)| lumas[i + 1..].iter().any(|b| (a - b).abs() < MIN_GRAY_STEP));
        Grays {
            patterned: if close { coloured } else { Vec::new() },
        }
    }

    fn fill(&self, v: &str) -> String {
        match self
            .patterned
            .iter()
            .position(|c| c.eq_ignore_ascii_case(v))
        {
            Some(k) => format!("url(#nqp-gray-{k})"),
            None => self.stroke(v),
        }
    }

    fn stroke(&self, v: &str) -> String {
        match hex_rgb(v) {
            Some(rgb) => gray_hex(luma(rgb)),
            None => v.to_owned(),
        }
    }

    /// One pattern per coloured fill: the gray of the colour under hatch lines at a different
    /// angle and spacing each (the first stays plain).
    fn write_patterns(&self, out: &mut String) {
        if self.patterned.is_empty() {
            return;
        }
        const ANGLES: [f64; 6] = [0.0, 45.0, -45.0, 90.0, 0.0, 30.0];
        out.push_str("<defs>");
        for (k, colour) in self.patterned.iter().enumerate() {
            let l = hex_rgb(colour).map_or(128.0, luma);
            let ink = if l > 110.0 { "#000" } else { "#fff" };
            let size = if k < ANGLES.len() { 6 } else { 4 };
            let _ = write!(
                out,
                "<pattern id=\"nqp-gray-{k}\" patternUnits=\"userSpaceOnUse\" width=\"{size}\" height=\"{size}\" \
                 patternTransform=\"rotate({a})\"><rect width=\"{size}\" height=\"{size}\" fill=\"{bg}\"/>",
                a = ANGLES[k % ANGLES.len()],
                bg = gray_hex(l),
            );
            if k > 0 {
                let _ = write!(
                    out,
                    "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"{size}\" stroke=\"{ink}\" stroke-width=\"1.2\"/>"
                );
            }
            if k == 4 {
                // A cross-hatch, so the fifth pattern differs from the first hatches by more than angle.
                let _ = write!(
                    out,
                    "<line x1=\"0\" y1=\"3\" x2=\"{size}\" y2=\"3\" stroke=\"{ink}\" stroke-width=\"1.2\"/>"
                );
            }
            out.push_str("</pattern>");
        }
        out.push_str("</defs>");
    }
}

fn hex_rgb(v: &str) -> Option<(f64, f64, f64)> {
    let h = v.strip_prefix('#')?;
    let c = |s: &str| u8::from_str_radix(s, 16).ok().map(f64::from);
    match h.len() {
        6 => Some((c(&h[0..2])?, c(&h[2..4])?, c(&h[4..6])?)),
        3 => Some((
            c(&h[0..1])? * 17.0,
            c(&h[1..2])? * 17.0,
            c(&h[2..3])? * 17.0,
        )),
        _ => None,
    }
}

fn luma((r, g, b): (f64, f64, f64)) -> f64 {
    0.299 * r + 0.587 * g + 0.114 * b
}

fn spread((r, g, b): (f64, f64, f64)) -> f64 {
    r.max(g).max(b) - r.min(g).min(b)
}

fn gray_hex(l: f64) -> String {
    let v = l.round().clamp(0.0, 255.0) as u8;
    format!("#{v:02x}{v:02x}{v:02x}")
}

/// The characters drawn as text (inside `<text>`, not the accessible `<title>`/`<desc>`).
pub fn drawn_chars(svg: &str) -> Result<BTreeSet<char>, FigureError> {
    let doc = roxmltree::Document::parse(svg).map_err(|e| FigureError::Svg(e.to_string()))?;
    Ok(doc
        .descendants()
        .filter(|n| n.is_text())
        .filter(|n| n.ancestors().any(|a| a.has_tag_name("text")))
        .filter_map(|n| n.text())
        .flat_map(str::chars)
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .collect())
}

/// Pixels per metre at [`DPI`] (300 dpi = 11,811 px/m), for the PNG `pHYs` chunk.
pub fn pixels_per_metre() -> u32 {
    (DPI / 0.0254).round() as u32
}

/// The standalone SVG as a PNG `width_px` wide, white background, with a `pHYs` chunk saying
/// [`DPI`]; fails with [`FigureError::NoFont`] before drawing when a character has no glyph.
fn rasterise(svg: &str, width_px: u32, fonts: &Fonts) -> Result<Vec<u8>, FigureError> {
    let missing = fonts.missing(&drawn_chars(svg)?);
    if !missing.is_empty() {
        return Err(FigureError::NoFont {
            missing: missing
                .iter()
                .take(12)
                .map(|c| format!("'{c}'"))
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let options = usvg::Options {
        fontdb: Arc::clone(&fonts.db),
        font_family: "Noto Sans CJK SC".to_owned(),
        ..usvg::Options::default()
    };
    let tree = usvg::Tree::from_str(svg, &options).map_err(|e| FigureError::Svg(e.to_string()))?;
    let size = tree.size();
    let scale = width_px as f32 / size.width();
    let height_px = (size.height() * scale).round().max(1.0) as u32;
    // A chart is wider than tall or about square; a bound keeps a bad viewBox from allocating
    // gigabytes.
    if height_px > 3 * width_px {
        return Err(FigureError::Render(format!(
            "{width_px}×{height_px} px is taller than three widths"
        )));
    }
    let mut pixmap = tiny_skia::Pixmap::new(width_px, height_px)
        .ok_or_else(|| FigureError::Render(format!("{width_px}×{height_px} px")))?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    let png = pixmap
        .encode_png()
        .map_err(|e| FigureError::Render(e.to_string()))?;
    with_phys(png, pixels_per_metre())
}

/// Inserts a `pHYs` chunk (pixels per metre on both axes) right after the PNG's `IHDR`, where the
/// PNG specification wants it (before the first `IDAT`).
fn with_phys(png: Vec<u8>, ppm: u32) -> Result<Vec<u8>, FigureError> {
    // Signature (8) + IHDR: length (4), type (4), data (13), CRC (4).
    const IHDR_END: usize = 8 + 4 + 4 + 13 + 4;
    if png.len() < IHDR_END || &png[12..16] != b"IHDR" {
        return Err(FigureError::Render("the encoder wrote no IHDR".into()));
    }
    let mut chunk = Vec::with_capacity(21);
    chunk.extend_from_slice(&9u32.to_be_bytes());
    chunk.extend_from_slice(b"pHYs");
    chunk.extend_from_slice(&ppm.to_be_bytes());
    chunk.extend_from_slice(&ppm.to_be_bytes());
    chunk.push(1); // unit: metre
    let crc = crc32fast::hash(&chunk[4..]);
    chunk.extend_from_slice(&crc.to_be_bytes());
    let mut out = Vec::with_capacity(png.len() + chunk.len());
    out.extend_from_slice(&png[..IHDR_END]);
    out.extend_from_slice(&chunk);
    out.extend_from_slice(&png[IHDR_END..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::ChartHead;
    use crate::chart::bar::{self, BarDatum, BarSpec};
    use crate::chart::map::{ChinaMap, MapValue};
    use crate::chart::testutil::choropleth;
    use crate::chart::{Bins, palette};
    use crate::types::Lang;

    /// The bundled map with every province valued, linked as the rankings page links it.
    fn map_svg() -> String {
        let map = ChinaMap::bundled();
        let values: Vec<MapValue> = map
            .regions()
            .iter()
            .enumerate()
            .map(|(i, r)| MapValue {
                code: r.code.clone(),
                name: r.name_zh.clone(),
                value: Some(i as f64),
                rank: Some(i as u32 + 1),
                display: format!("{i}"),
            })
            .collect();
        let bins = Bins::equal(0.0, 34.0, 5).expect("bins");
        let href = |c: &str| Some(format!("https://example.org/regions/{c}?a=1&b=2"));
        choropleth(map, (&values, &bins), Lang::Zh, &href)
    }

    /// A bar chart whose bars have four categorical colours (two of similar gray).
    fn bar_svg() -> String {
        let data: Vec<BarDatum> = ["北京", "上海", "广东", "浙江"]
            .iter()
            .enumerate()
            .map(|(i, l)| BarDatum {
                label: (*l).to_owned(),
                value: Some(1.0 + i as f64),
                display: format!("{}", 1 + i),
                href: None,
                highlight: false,
            })
            .collect();
        let svg = bar::render(&BarSpec {
            head: ChartHead {
                id: "bar",
                title: "得分",
                desc: "条形图",
                no_data_label: "无数据",
            },
            data: &data,
            width: 600.0,
            value_label: "得分",
        });
        // Bars of one colour would need no pattern; give them the categorical colours.
        let base = bar_colour(&svg).expect("a bar fill");
        let mut k = 0;
        let mut out = String::new();
        let mut rest = svg.as_str();
        while let Some(i) = rest.find(&base) {
            out.push_str(&rest[..i]);
            out.push_str(palette::categorical(k));
            k += 1;
            rest = &rest[i + base.len()..];
        }
        out.push_str(rest);
        out
    }

    fn bar_colour(svg: &str) -> Option<String> {
        let at = svg.find("<rect")?;
        let f = svg[at..].find("fill=\"#")? + at + 6;
        Some(svg[f..f + 7].to_owned())
    }

    fn png_chunk<'a>(png: &'a [u8], kind: &[u8; 4]) -> Option<&'a [u8]> {
        let mut at = 8;
        while at + 8 <= png.len() {
            let len = u32::from_be_bytes(png[at..at + 4].try_into().ok()?) as usize;
            if &png[at + 4..at + 8] == kind {
                return png.get(at + 8..at + 8 + len);
            }
            at += 12 + len;
        }
        None
    }

    fn has_cjk(fonts: &Fonts) -> bool {
        fonts.missing(&"广东得分".chars().collect()).is_empty()
    }

    #[test]
    fn options_parse_with_defaults_and_bounds() {
        let d = FigureOptions::parse(None, None, None).unwrap();
        assert_eq!(d, FigureOptions::default());
        assert_eq!(d.width_cm, 16.0);
        // round(16 / 2.54 × 300) = round(1889.76) = 1890.
        assert_eq!(d.width_px(), 1890);
        let o = FigureOptions::parse(Some("png"), Some("8.5"), Some("1")).unwrap();
        assert_eq!(
            (o.format, o.width_cm, o.gray, o.width_px()),
            (FigureFormat::Png, 8.5, true, 1004)
        );
        for (f, w, g, name) in [
            (Some("pdf"), None, None, "format"),
            (None, Some("0.5"), None, "width_cm"),
            (None, Some("31"), None, "width_cm"),
            (None, Some("NaN"), None, "width_cm"),
            (None, None, Some("maybe"), "gray"),
        ] {
            match FigureOptions::parse(f, w, g) {
                Err(FigureError::Option { name: n, .. }) => assert_eq!(n, name),
                other => panic!("{f:?} {w:?} {g:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn svg_figure_is_standalone_and_parses_with_usvg() {
        let fig = render(
            &map_svg(),
            &FigureOptions::default(),
            Some("示意图，非标准地图 / schematic, not a standard map"),
            &Fonts::from_database(fontdb::Database::new()),
        )
        .unwrap();
        assert_eq!(fig.format, FigureFormat::Svg);
        let svg = String::from_utf8(fig.bytes).unwrap();
        assert!(svg.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg "));
        // No external resource of any kind: no stylesheet, no link, no external reference.
        for banned in [
            "<link",
            "<style",
            "<a ",
            "</a>",
            "href=\"http",
            "@import",
            "class=\"nqp-chart",
        ] {
            assert!(!svg.contains(banned), "{banned} in the figure");
        }
        assert!(svg.contains(&format!("font-family=\"{}\"", escape_xml(PRINT_FONTS))));
        for family in [
            "Noto Sans CJK SC",
            "Source Han Sans SC",
            "Microsoft YaHei",
            "SimSun",
            "sans-serif",
        ] {
            assert!(PRINT_FONTS.contains(family));
        }
        // 16 cm wide; the regions are still there, as groups.
        assert!(svg.contains("width=\"160mm\""));
        assert_eq!(
            svg.matches("<g class=\"region").count(),
            35,
            "34 regions and their group"
        );
        assert!(svg.contains(">示意图，非标准地图 / schematic, not a standard map</text>"));
        let tree = usvg::Tree::from_str(&svg, &usvg::Options::default()).expect("usvg parses it");
        // 160 mm at usvg's 96 px/inch.
        assert!((tree.size().width() - 160.0 / 25.4 * 96.0).abs() < 0.5);
        // The note grew the viewBox: the figure is taller than the map.
        let (_, map_h) = ChinaMap::bundled().size();
        let vb = svg
            .split("viewBox=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let h: f64 = vb.split_whitespace().nth(3).unwrap().parse().unwrap();
        assert!(h >= map_h + NOTE_HEIGHT - 1e-9, "{h}");
    }

    #[test]
    fn gray_keeps_sequential_maps_ordered_and_hatches_categorical_fills() {
        let gray = FigureOptions {
            gray: true,
            ..FigureOptions::default()
        };
        // The map: YlGnBu classes are distinct in luma, so plain grays, no pattern.
        let map = standalone(&map_svg(), &gray, None).unwrap();
        assert!(!map.contains("nqp-gray-"));
        for c in palette::ylgnbu(5).unwrap() {
            assert!(
                !map.contains(&format!("fill=\"{c}\"")),
                "{c} left in colour"
            );
        }
        // #ffffcc → luma 0.299·255 + 0.587·255 + 0.114·204 = 249.19 → #f9f9f9.
        assert!(map.contains("fill=\"#f9f9f9\""));
        // The bars: blue #0072B2 (luma 84.3) and vermillion #D55E00 (luma 118.9) differ by
        // more than 30, but sky blue #56B4E9 … all four get patterns once any two are close:
        // #009E73 (luma 105.8) and #D55E00 (118.9) are 13 apart.
        let bars = standalone(&bar_svg(), &gray, None).unwrap();
        for k in 0..4 {
            assert!(
                bars.contains(&format!("<pattern id=\"nqp-gray-{k}\"")),
                "pattern {k}"
            );
            assert!(
                bars.contains(&format!("fill=\"url(#nqp-gray-{k})\"")),
                "use of {k}"
            );
        }
        for k in 0..4 {
            assert!(!bars.contains(palette::categorical(k)));
        }
        usvg::Tree::from_str(&bars, &usvg::Options::default()).expect("usvg parses it");
    }

    #[test]
    fn png_is_300_dpi_at_the_requested_width() {
        // A chart without text needs no font, so this holds on any machine.
        let svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 400 300\" width=\"400\" height=\"300\"><rect x=\"0\" y=\"0\" width=\"200\" height=\"300\" fill=\"#000\"/></svg>";
        for width_cm in [16.0, 8.0] {
            let o = FigureOptions {
                format: FigureFormat::Png,
                width_cm,
                gray: false,
            };
            let fig = render(
                svg,
                &o,
                None,
                &Fonts::from_database(fontdb::Database::new()),
            )
            .unwrap();
            let png = &fig.bytes;
            assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
            let ihdr = png_chunk(png, b"IHDR").unwrap();
            let w = u32::from_be_bytes(ihdr[0..4].try_into().unwrap());
            let h = u32::from_be_bytes(ihdr[4..8].try_into().unwrap());
            let expected = (width_cm / 2.54 * 300.0_f64).round() as u32;
            assert_eq!(w, expected);
            assert_eq!(h, (expected as f64 * 0.75).round() as u32);
            let phys = png_chunk(png, b"pHYs").unwrap();
            assert_eq!(u32::from_be_bytes(phys[0..4].try_into().unwrap()), 11811);
            assert_eq!(u32::from_be_bytes(phys[4..8].try_into().unwrap()), 11811);
            assert_eq!(phys[8], 1);
            // The chunk's CRC is right (a strict reader would reject the file otherwise).
            let at = png.windows(4).position(|w| w == b"pHYs").unwrap();
            let crc = u32::from_be_bytes(png[at + 13..at + 17].try_into().unwrap());
            assert_eq!(crc, crc32fast::hash(&png[at..at + 13]));
            // Decodes: the left half black, the right half white.
            let img = resvg::tiny_skia::Pixmap::decode_png(png).unwrap();
            assert_eq!(img.pixel(w / 4, h / 2).unwrap().red(), 0);
            assert_eq!(img.pixel(3 * w / 4, h / 2).unwrap().red(), 255);
        }
    }

    #[test]
    fn no_font_is_a_clear_error_naming_the_package() {
        let o = FigureOptions {
            format: FigureFormat::Png,
            ..FigureOptions::default()
        };
        let err = render(
            &bar_svg(),
            &o,
            None,
            &Fonts::from_database(fontdb::Database::new()),
        )
        .unwrap_err();
        assert_eq!(err.code(), "figure.no_font");
        let msg = err.to_string();
        assert!(msg.contains("fonts-noto-cjk"), "{msg}");
        assert!(msg.contains("'北'"), "{msg}");
        assert!(msg.contains("中文字体"), "{msg}");
    }

    /// A 40-px CJK label in a known box: with a CJK font installed it is drawn (ink in the box),
    /// without one the figure is refused with the clear error — never drawn as empty boxes.
    #[test]
    fn cjk_text_is_drawn_with_the_system_fonts_or_refused() {
        let fonts = Fonts::system();
        let svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 200 100\" width=\"200\" height=\"100\"><text x=\"20\" y=\"60\" font-size=\"40\" fill=\"#000\">广东</text></svg>";
        let o = FigureOptions {
            format: FigureFormat::Png,
            width_cm: 4.0,
            gray: false,
        };
        match render(svg, &o, None, &fonts) {
            Ok(fig) => {
                assert!(has_cjk(&fonts));
                let img = resvg::tiny_skia::Pixmap::decode_png(&fig.bytes).unwrap();
                let s = img.width() as f64 / 200.0;
                let ink = |x0: f64, x1: f64, y0: f64, y1: f64| {
                    let mut n = 0;
                    for y in (y0 * s) as u32..(y1 * s) as u32 {
                        for x in (x0 * s) as u32..(x1 * s) as u32 {
                            if img.pixel(x, y).is_some_and(|p| p.red() < 128) {
                                n += 1;
                            }
                        }
                    }
                    n
                };
                // Each glyph's em box (20–60 and 60–100 px, baseline 60) holds ink; outside the
                // label there is none.
                assert!(ink(20.0, 60.0, 20.0, 65.0) > 200, "广 not drawn");
                assert!(ink(60.0, 100.0, 20.0, 65.0) > 200, "东 not drawn");
                assert_eq!(ink(120.0, 200.0, 0.0, 100.0), 0);
            }
            Err(e) => {
                assert!(!has_cjk(&fonts), "fonts have CJK, yet {e}");
                assert_eq!(e.code(), "figure.no_font");
            }
        }
    }
}
