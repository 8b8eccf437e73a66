//! The low-level SVG writer shared by every chart: escaping, number formatting, the root element
//! with its accessible name, and rough text metrics for layout.
//!
//! Owns: the one `escape_xml` every chart uses for text and attribute values. Must not: know any
//! chart's data.

use std::fmt::Write;

/// Escapes text for XML character data *and* attribute values (both quote kinds), so a region
/// name such as `<script>&` can never open a tag, end an attribute or start an entity.
pub fn escape_xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // XML 1.0 forbids most C0 controls even when escaped; drop them.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// A coordinate rounded to 0.1 px, without a trailing ".0" and never "-0".
pub fn num(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    if r == 0.0 || !r.is_finite() {
        return "0".to_string();
    }
    if r.fract() == 0.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.1}")
    }
}

/// Keeps `[A-Za-z0-9_-]` of a caller's id prefix so it is safe inside `id`, `url(#…)` and
/// `aria-*` references; an empty result becomes "chart".
pub fn sanitize_id(id: &str) -> String {
    let s: String = id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
        .collect();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
        format!("chart{s}")
    } else {
        s
    }
}

/// Estimated rendered width of `s` at `font_size` px in a sans-serif face: CJK and full-width
/// characters are one em, everything else about 0.6 em. Good enough to reserve label space.
pub fn text_width(s: &str, font_size: f64) -> f64 {
    s.chars()
        .map(|c| if (c as u32) >= 0x2E80 { 1.0 } else { 0.6 })
        .sum::<f64>()
        * font_size
}

/// The estimated width of the widest of `labels` at [`FONT`] (0 for none).
pub fn widest<'a>(labels: impl IntoIterator<Item = &'a str>) -> f64 {
    labels
        .into_iter()
        .map(|l| text_width(l, FONT))
        .fold(0.0, f64::max)
}

/// ` stroke-dasharray="…"` for a dash pattern, or nothing for a solid line ("").
pub fn dash_attr(dash: &str) -> String {
    if dash.is_empty() {
        String::new()
    } else {
        format!(" stroke-dasharray=\"{}\"", escape_xml(dash))
    }
}

/// The points of a `<polygon>`/`<polyline>`: "x,y x,y …".
pub fn points_attr(points: impl IntoIterator<Item = (f64, f64)>) -> String {
    points
        .into_iter()
        .map(|(x, y)| format!("{},{}", num(x), num(y)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The `d` of a path through `points` ("M x,y L x,y …").
pub fn path_d(points: impl IntoIterator<Item = (f64, f64)>) -> String {
    points
        .into_iter()
        .enumerate()
        .map(|(k, (x, y))| format!("{}{},{}", if k == 0 { "M" } else { "L" }, num(x), num(y)))
        .collect()
}

/// The hatch `<pattern>` that marks "no data" cells and regions, with the id `id`.
pub fn no_data_pattern(out: &mut String, id: &str) {
    let _ = write!(
        out,
        "<defs><pattern id=\"{id}\" patternUnits=\"userSpaceOnUse\" width=\"6\" height=\"6\" \
         patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"{}\"/>\
         <line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"{}\" stroke-width=\"1.5\"/></pattern></defs>",
        super::palette::NO_DATA_FILL,
        super::palette::NO_DATA_HATCH
    );
}

/// The default font size of chart text, in px of the viewBox.
pub const FONT: f64 = 12.0;
/// Colour of axis text and labels (contrast ratio > 12:1 on white).
pub const INK: &str = "#222";
/// Colour of grid lines.
pub const GRID: &str = "#ddd";

/// The common parts of a chart's root element.
pub struct Frame<'a> {
    /// Prefix for every `id` inside the SVG; must be unique within the page.
    pub id: &'a str,
    pub width: f64,
    pub height: f64,
    /// Accessible name (`<title>`).
    pub title: &'a str,
    /// Accessible description (`<desc>`), e.g. a one-sentence summary of the data.
    pub desc: &'a str,
    /// CSS class of the root, e.g. "nqp-chart nqp-bar".
    pub class: &'a str,
    /// Whether the chart contains links. ARIA's `img` role makes all children presentational,
    /// which would hide the links from screen readers, so linked charts use `role="group"`.
    pub interactive: bool,
}

impl<'a> Frame<'a> {
    /// The frame of a chart without links: `(id, title, desc)` name it, `class` styles it,
    /// `(width, height)` size it.
    pub fn chart(
        (id, title, desc): (&'a str, &'a str, &'a str),
        class: &'a str,
        (width, height): (f64, f64),
    ) -> Frame<'a> {
        Frame {
            id,
            width,
            height,
            title,
            desc,
            class,
            interactive: false,
        }
    }

    /// The same frame, `role="group"` when the chart contains links.
    pub fn linked(self, interactive: bool) -> Frame<'a> {
        Frame {
            interactive,
            ..self
        }
    }
}

/// Opens `<svg>` with `<title>` and `<desc>` referenced by `aria-labelledby` /
/// `aria-describedby`; returns the buffer and the sanitised id prefix.
pub fn open(f: &Frame<'_>) -> (String, String) {
    let id = sanitize_id(f.id);
    let mut out = String::with_capacity(4096);
    let role = if f.interactive { "group" } else { "img" };
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" \
         role=\"{role}\" aria-labelledby=\"{id}-title\" aria-describedby=\"{id}-desc\" class=\"{class}\" \
         font-family=\"system-ui, 'Noto Sans CJK SC', 'Microsoft YaHei', sans-serif\" font-size=\"{font}\" fill=\"{INK}\">\
         <title id=\"{id}-title\">{title}</title><desc id=\"{id}-desc\">{desc}</desc>",
        w = num(f.width),
        h = num(f.height),
        class = escape_xml(f.class),
        font = num(FONT),
        title = escape_xml(f.title),
        desc = escape_xml(f.desc),
    );
    (out, id)
}

/// Closes the root element.
pub fn close(mut out: String) -> String {
    out.push_str("</svg>");
    out
}

/// `<text>` with escaped content; `anchor` is "start", "middle" or "end".
pub fn text(out: &mut String, x: f64, y: f64, anchor: &str, extra: &str, content: &str) {
    let _ = write!(
        out,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"{anchor}\"{extra}>{}</text>",
        num(x),
        num(y),
        escape_xml(content)
    );
}

/// A message drawn in the middle of an empty chart, so that "no data" is visible, not blank.
pub fn empty_message(out: &mut String, width: f64, height: f64, message: &str) {
    text(
        out,
        width / 2.0,
        height / 2.0,
        "middle",
        " class=\"empty\"",
        message,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_xml_neutralises_markup_and_entities() {
        assert_eq!(
            escape_xml("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(escape_xml("广东&澳门\u{1}"), "广东&amp;澳门");
    }

    #[test]
    fn num_rounds_to_a_tenth_without_negative_zero() {
        assert_eq!(num(12.345), "12.3");
        assert_eq!(num(12.96), "13");
        assert_eq!(num(-0.04), "0");
        assert_eq!(num(-3.25), "-3.3");
    }

    #[test]
    fn sanitize_id_keeps_only_safe_characters() {
        assert_eq!(sanitize_id("map-2023"), "map-2023");
        assert_eq!(sanitize_id("a\"><script>"), "ascript");
        assert_eq!(sanitize_id("9x"), "chart9x");
        assert_eq!(sanitize_id(""), "chart");
    }

    #[test]
    fn text_width_counts_cjk_as_one_em() {
        assert_eq!(text_width("广东", 10.0), 20.0);
        assert!((text_width("ab", 10.0) - 12.0).abs() < 1e-12);
    }
}
