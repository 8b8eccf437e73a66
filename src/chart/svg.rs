//! The low-level SVG writer shared by every chart: escaping, number formatting, the root element
//! with its accessible name (and the empty "no data" chart), lines and bars, and rough text
//! metrics for layout.
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

/// A 1 px `<line>` from (x1, y1) to (x2, y2) in `stroke`.
pub fn line(out: &mut String, (x1, x2): (f64, f64), (y1, y2): (f64, f64), stroke: &str) {
    let _ = write!(
        out,
        "<line x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" stroke=\"{stroke}\" stroke-width=\"1\"/>",
        num(x1),
        num(x2),
        num(y1),
        num(y2)
    );
}

/// A horizontal bar from x = `left` to `right` (at least 0.5 px wide, so a zero still shows),
/// `bar` px thick, centred in the row of height `row` starting at y = `top`; `extra` are more
/// attributes (with a leading space) or "".
pub fn hbar(
    out: &mut String,
    extra: &str,
    (left, right): (f64, f64),
    (top, row, bar): (f64, f64, f64),
    fill: &str,
) {
    let _ = write!(
        out,
        "<rect{extra} x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{fill}\"/>",
        num(left),
        num(top + (row - bar) / 2.0),
        num((right - left).max(0.5)),
        num(bar)
    );
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

/// What names a chart and what it says where it has nothing to draw: the head every chart's
/// spec starts with, so the accessible name and the empty chart are written once for all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChartHead<'a> {
    /// Prefix for every `id` inside the SVG; must be unique within the page.
    pub id: &'a str,
    /// Accessible name (`<title>`).
    pub title: &'a str,
    /// Accessible description (`<desc>`), e.g. a one-sentence summary of the data.
    pub desc: &'a str,
    /// Shown by an empty chart, and by the charts that mark a missing value, for it.
    pub no_data_label: &'a str,
}

impl<'a> ChartHead<'a> {
    /// The root element of this chart: `class` styles it, `(width, height)` size it.
    pub fn frame(&'a self, class: &'a str, (width, height): (f64, f64)) -> Frame<'a> {
        Frame {
            head: self,
            width,
            height,
            class,
            interactive: false,
        }
    }
}

/// A chart's root element: its head, size, class and role.
pub struct Frame<'a> {
    head: &'a ChartHead<'a>,
    width: f64,
    height: f64,
    /// CSS class of the root, e.g. "nqp-chart nqp-bar".
    class: &'a str,
    /// Whether the chart contains links. ARIA's `img` role makes all children presentational,
    /// which would hide the links from screen readers, so linked charts use `role="group"`.
    interactive: bool,
}

impl Frame<'_> {
    /// The same frame, `role="group"` when the chart contains links.
    pub fn linked(self, interactive: bool) -> Self {
        Frame {
            interactive,
            ..self
        }
    }

    /// Opens `<svg>` with `<title>` and `<desc>` referenced by `aria-labelledby` /
    /// `aria-describedby`; returns the buffer and the sanitised id prefix.
    pub fn open(&self) -> (String, String) {
        let id = sanitize_id(self.head.id);
        let mut out = String::with_capacity(4096);
        let role = if self.interactive { "group" } else { "img" };
        let _ = write!(
            out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" \
             role=\"{role}\" aria-labelledby=\"{id}-title\" aria-describedby=\"{id}-desc\" class=\"{class}\" \
             font-family=\"system-ui, 'Noto Sans CJK SC', 'Microsoft YaHei', sans-serif\" font-size=\"{font}\" fill=\"{INK}\">\
             <title id=\"{id}-title\">{title}</title><desc id=\"{id}-desc\">{desc}</desc>",
            w = num(self.width),
            h = num(self.height),
            class = escape_xml(self.class),
            font = num(FONT),
            title = escape_xml(self.head.title),
            desc = escape_xml(self.head.desc),
        );
        (out, id)
    }

    /// The whole chart when there is nothing to draw: the root with its accessible name and
    /// the head's `no_data_label` in the middle, so "no data" is visible, not blank.
    pub fn empty(&self) -> String {
        let (mut out, _) = self.open();
        text(
            &mut out,
            self.width / 2.0,
            self.height / 2.0,
            "middle",
            " class=\"empty\"",
            self.head.no_data_label,
        );
        close(out)
    }
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
        for (v, want) in [
            (12.345, "12.3"),
            (12.96, "13"),
            (-0.04, "0"),
            (-3.25, "-3.3"),
        ] {
            assert_eq!(num(v), want, "{v}");
        }
    }

    #[test]
    fn sanitize_id_keeps_only_safe_characters() {
        for (id, want) in [
            ("map-2023", "map-2023"),
            ("a\"><script>", "ascript"),
            ("9x", "chart9x"),
            ("", "chart"),
        ] {
            assert_eq!(sanitize_id(id), want, "{id}");
        }
    }

    #[test]
    fn an_empty_chart_is_named_and_says_no_data_in_its_middle() {
        let head = ChartHead {
            id: "e 1",
            title: "T<",
            desc: "D",
            no_data_label: "无数据",
        };
        let frame = head.frame("nqp-chart", (200.0, 100.0));
        assert_eq!(
            frame.linked(true).empty(),
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 200 100\" width=\"200\" \
             height=\"100\" role=\"group\" aria-labelledby=\"e1-title\" aria-describedby=\"e1-desc\" \
             class=\"nqp-chart\" font-family=\"system-ui, 'Noto Sans CJK SC', 'Microsoft YaHei', \
             sans-serif\" font-size=\"12\" fill=\"#222\"><title id=\"e1-title\">T&lt;</title>\
             <desc id=\"e1-desc\">D</desc><text x=\"100\" y=\"50\" text-anchor=\"middle\" \
             class=\"empty\">无数据</text></svg>"
        );
    }

    #[test]
    fn text_width_counts_cjk_as_one_em() {
        assert_eq!(text_width("广东", 10.0), 20.0);
        assert!((text_width("ab", 10.0) - 12.0).abs() < 1e-12);
    }
}
