//! SVG charts and the China choropleth map: pure data → SVG renderers.
//!
//! Owns: pure renderers from plain data to an SVG `String` (no I/O except the bundled map
//! text compiled in with `include_str!`), shared by the web pages, `service::figure` (print
//! figures) and the CLI. Must not: call the service, know HTTP or templates,
//! or emit JavaScript, inline event handlers or `style` attributes (the page CSP forbids them):
//! all styling is presentation attributes plus stable classes the page stylesheet may refine.
//!
//! Every chart's spec starts with a [`ChartHead`] (id, title, description, the no-data text);
//! `svg::Frame` opens the root from it, or draws the whole chart as "no data" when there is
//! nothing to draw. Every chart: `role="img"` (or `role="group"` when it contains links,
//! because ARIA's `img` role hides its children), `<title>` + `<desc>` referenced by
//! `aria-labelledby` / `aria-describedby`, every text and attribute value passed through [`escape_xml`], ids
//! prefixed with the caller's `id` (unique per page). Numbers are formatted by the caller
//! (`display` strings) except axis ticks and legend ranges.

pub mod axis;
pub mod bar;
pub mod bins;
pub mod density;
pub mod heat;
pub mod interval;
pub mod legend;
pub mod line;
pub mod map;
pub mod palette;
pub mod radar;
pub mod scale;
pub mod scatter;
pub mod stacked;
pub mod svg;
pub mod waterfall;

pub use bins::Bins;
pub use map::{ChinaMap, ChoroplethSpec, MapValue};
pub use svg::{ChartHead, escape_xml};

/// A named row of values: one per axis of a radar, one per category of a stacked bar chart;
/// `None` is missing.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedValues {
    pub name: String,
    pub values: Vec<Option<f64>>,
}

/// Errors building chart inputs (the renderers themselves cannot fail).
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("map data is not valid GeoJSON at line {line}, column {column}: {message}")]
    GeoJson {
        message: String,
        line: usize,
        column: usize,
    },
    #[error("map feature {index}: {reason}")]
    Feature { index: usize, reason: String },
    #[error("cannot build {k} colour classes: {reason}")]
    Bins { k: usize, reason: String },
}

impl ChartError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            ChartError::GeoJson { .. } => "charts.geojson",
            ChartError::Feature { .. } => "charts.feature",
            ChartError::Bins { .. } => "charts.bins",
        }
    }
}

/// Helpers for the charts' unit tests: a strict well-formedness check and CSS-selector counts.
#[cfg(test)]
pub(crate) mod testutil {
    /// Checks that `s` is well-formed XML as far as charts go: every tag closed in order,
    /// attributes quoted, no duplicate attribute, `&` only in known entities, no `<` in text or
    /// attributes, no script, no event handler, no style attribute. Returns the element count.
    pub fn check_xml(s: &str) -> Result<usize, String> {
        let mut stack: Vec<&str> = Vec::new();
        let mut count = 0;
        let mut rest = s;
        while let Some(lt) = rest.find('<') {
            check_text(&rest[..lt])?;
            let after = &rest[lt + 1..];
            let gt = after.find('>').ok_or("unterminated tag")?;
            let tag = &after[..gt];
            rest = &after[gt + 1..];
            if let Some(name) = tag.strip_prefix('/') {
                let open = stack.pop().ok_or(format!("stray </{name}>"))?;
                if open != name.trim() {
                    return Err(format!("</{name}> closes <{open}>"));
                }
                continue;
            }
            let self_closing = tag.ends_with('/');
            let body = tag.trim_end_matches('/');
            let name_end = body.find(char::is_whitespace).unwrap_or(body.len());
            let name = &body[..name_end];
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(format!("bad tag name in <{tag}>"));
            }
            if name.eq_ignore_ascii_case("script") || name == "style" {
                return Err("script/style element".into());
            }
            check_attrs(&body[name_end..])?;
            count += 1;
            if !self_closing {
                stack.push(name);
            }
        }
        check_text(rest)?;
        if let Some(open) = stack.pop() {
            return Err(format!("<{open}> never closed"));
        }
        Ok(count)
    }

    fn check_text(t: &str) -> Result<(), String> {
        if t.contains('>') {
            return Err(format!("raw '>' in text {t:?}"));
        }
        let mut rest = t;
        while let Some(i) = rest.find('&') {
            let ent = &rest[i..];
            let ok = ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"]
                .iter()
                .any(|e| ent.starts_with(e));
            if !ok {
                return Err(format!("bare '&' in {t:?}"));
            }
            rest = &rest[i + 1..];
        }
        Ok(())
    }

    fn check_attrs(mut a: &str) -> Result<(), String> {
        let mut seen = Vec::new();
        loop {
            a = a.trim_start();
            if a.is_empty() {
                return Ok(());
            }
            let eq = a
                .find('=')
                .ok_or(format!("attribute without value: {a:?}"))?;
            let name = a[..eq].trim();
            if name.starts_with("on") || name == "style" {
                return Err(format!("forbidden attribute {name}"));
            }
            if seen.contains(&name) {
                return Err(format!("duplicate attribute {name}"));
            }
            seen.push(name);
            let v = &a[eq + 1..];
            let v = v
                .strip_prefix('"')
                .ok_or(format!("unquoted attribute {name}"))?;
            let end = v
                .find('"')
                .ok_or(format!("unterminated attribute {name}"))?;
            if v[..end].contains('<') {
                return Err(format!("'<' in attribute {name}"));
            }
            check_text(&v[..end])?;
            a = &v[end + 1..];
        }
    }

    /// Number of elements matching a CSS selector, parsing the SVG as HTML would in a page.
    pub fn count(svg: &str, selector: &str) -> usize {
        let doc = scraper::Html::parse_fragment(svg);
        let sel = scraper::Selector::parse(selector).expect("test selector");
        doc.select(&sel).count()
    }

    /// `map` with `values` in `bins`, every region linked by `href`, its texts in `lang`.
    pub fn choropleth(
        map: &super::ChinaMap,
        (values, bins): (&[super::MapValue], &super::Bins),
        lang: crate::types::Lang,
        href: &dyn Fn(&str) -> Option<String>,
    ) -> String {
        map.render(&super::ChoroplethSpec {
            head: super::ChartHead {
                id: "m",
                title: lang.pick("得分 2023", "Scores 2023"),
                desc: lang.pick("地图", "Choropleth"),
                no_data_label: lang.pick("无数据", "no data"),
            },
            values,
            bins,
            href,
            lang,
            legend_title: lang.pick("得分", "Score"),
            highlight: None,
        })
    }

    /// Texts of the elements matching a selector.
    pub fn texts(svg: &str, selector: &str) -> Vec<String> {
        let doc = scraper::Html::parse_fragment(svg);
        let sel = scraper::Selector::parse(selector).expect("test selector");
        doc.select(&sel).map(|e| e.text().collect()).collect()
    }

    #[test]
    fn check_xml_catches_breakage() {
        assert_eq!(
            check_xml("<svg a=\"1\"><g/><text>a &amp; b</text></svg>"),
            Ok(3)
        );
        assert!(check_xml("<svg><g></svg>").is_err());
        assert!(check_xml("<svg>a & b</svg>").is_err());
        assert!(check_xml("<svg a=1/>").is_err());
        assert!(check_xml("<svg onload=\"x\"/>").is_err());
        assert!(check_xml("<svg><script>x</script></svg>").is_err());
        assert!(check_xml("<svg a=\"1\" a=\"2\"/>").is_err());
    }
}
