//! Three-line tables as LaTeX (`booktabs`): `\toprule`, `\midrule` under the header,
//! `\bottomrule`, no vertical rules; numbers aligned on the decimal point by `siunitx` `S`
//! columns (or right-aligned `r` columns with [`LatexOptions::siunitx`] off), the caption
//! numbered by LaTeX itself, the source note under the table.

use super::PubTable;
use crate::types::Lang;

/// How the LaTeX is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LatexOptions {
    /// `S` columns (needs `\usepackage{siunitx}`); else plain `r` columns.
    pub siunitx: bool,
}

impl Default for LatexOptions {
    fn default() -> Self {
        LatexOptions { siunitx: true }
    }
}

/// Escape the characters LaTeX treats specially in text.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\textbackslash{}"),
            '&' | '%' | '$' | '#' | '_' | '{' | '}' => {
                out.push('\\');
                out.push(c);
            }
            '~' => out.push_str("\\textasciitilde{}"),
            '^' => out.push_str("\\textasciicircum{}"),
            '—' => out.push_str("---"),
            _ => out.push(c),
        }
    }
    out
}

/// A complete document with every table (compile with XeLaTeX: the captions and notes may be
/// Chinese).
pub fn document(tables: &[PubTable], lang: Lang, options: LatexOptions) -> String {
    let mut out = String::new();
    out.push_str(match lang {
        Lang::Zh => "\\documentclass{ctexart}\n",
        Lang::En => "\\documentclass{article}\n\\usepackage{xeCJK}\n",
    });
    out.push_str("\\usepackage{booktabs}\n");
    if options.siunitx {
        out.push_str("\\usepackage{siunitx}\n");
    }
    out.push_str("\\begin{document}\n\n");
    for t in tables {
        out.push_str(&table(t, options));
        out.push('\n');
    }
    out.push_str("\\end{document}\n");
    out
}

/// `table-format` of a numeric column: the widest integer part (with a sign when any value is
/// negative) and the most decimals.
fn table_format(t: &PubTable, c: usize) -> String {
    let (mut int, mut dec, mut sign) = (1, 0, false);
    for row in &t.body {
        let text = row[c].text();
        let digits = text.strip_prefix('-').unwrap_or(&text);
        if digits.parse::<f64>().is_err() {
            continue;
        }
        sign |= text.starts_with('-');
        let (i, d) = digits.split_once('.').unwrap_or((digits, ""));
        int = int.max(i.len());
        dec = dec.max(d.len());
    }
    format!("{}{int}.{dec}", if sign { "-" } else { "" })
}

/// One `table` environment.
pub fn table(t: &PubTable, options: LatexOptions) -> String {
    let columns = t.header.len();
    let numeric: Vec<bool> = (0..columns).map(|c| t.numeric_column(c)).collect();
    let spec: String = numeric
        .iter()
        .enumerate()
        .map(|(c, &n)| match (n, options.siunitx) {
            (true, true) => format!("S[table-format={}]", table_format(t, c)),
            (true, false) => "r".to_owned(),
            (false, _) => "l".to_owned(),
        })
        .collect();
    let header: Vec<String> = t
        .header
        .iter()
        .zip(&numeric)
        .map(|(h, &n)| {
            if n && options.siunitx {
                // Text in an S column must be braced.
                format!("{{{}}}", escape(h))
            } else {
                escape(h)
            }
        })
        .collect();
    let mut out = String::new();
    out.push_str("\\begin{table}[htbp]\n\\centering\n");
    out.push_str(&format!("\\caption{{{}}}\n", escape(&t.caption)));
    out.push_str(&format!("\\label{{tab:nqp-{}}}\n", t.id.as_str()));
    out.push_str(&format!("\\begin{{tabular}}{{{spec}}}\n\\toprule\n"));
    out.push_str(&header.join(" & "));
    out.push_str(" \\\\\n\\midrule\n");
    for row in &t.body {
        let cells: Vec<String> = row
            .iter()
            .zip(&numeric)
            .map(|(cell, &n)| {
                let text = cell.text();
                let is_number = text.parse::<f64>().is_ok();
                match (n && options.siunitx, is_number) {
                    (true, false) if text.is_empty() => String::new(),
                    (true, false) => format!("{{{}}}", escape(&text)),
                    _ => escape(&text),
                }
            })
            .collect();
        out.push_str(&cells.join(" & "));
        out.push_str(" \\\\\n");
    }
    out.push_str("\\bottomrule\n\\end{tabular}\n");
    out.push_str(&format!(
        "\\par\\smallskip\n{{\\footnotesize {}}}\n",
        escape(&t.note)
    ));
    out.push_str("\\end{table}\n");
    out
}
