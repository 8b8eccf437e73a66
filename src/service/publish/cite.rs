//! How to cite a result: nqp with its version and the dataset version hash (GB/T 7714—2015
//! and BibTeX), and the publishers of the data, taken from the framework's `publisher` fields
//! (the provenance every indicator and input carries).

use serde::Serialize;

use crate::service::dashboard::Dataset;
use crate::types::Lang;

/// The citation texts of one dataset version and method.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Citation {
    /// GB/T 7714—2015 reference of nqp (type `[CP/OL]`, computer program).
    pub gbt7714: String,
    pub bibtex: String,
    /// The data publishers to cite, in framework order, each once.
    pub publishers: Vec<String>,
}

/// Every distinct publisher of the framework's indicators and inputs, in framework order.
pub fn publishers(ds: &Dataset) -> Vec<String> {
    let fw = &ds.framework;
    let mut out: Vec<String> = Vec::new();
    let all = fw
        .indicators
        .iter()
        .map(|d| &d.publisher)
        .chain(fw.inputs.iter().map(|i| &i.publisher));
    for p in all.flatten() {
        if !out.contains(p) {
            out.push(p.clone());
        }
    }
    out
}

/// Characters BibTeX would read as markup, escaped.
fn bib_escape(s: &str) -> String {
    super::latex::escape(s)
}

/// The citation of `ds` computed with `method` (the method's short form,
/// `normalise / weights / aggregate`).
pub fn citation(ds: &Dataset, method: &str, lang: Lang) -> Citation {
    let version = env!("CARGO_PKG_VERSION");
    let hash = format!("sha256:{}", ds.version);
    let gbt7714 = match lang {
        Lang::Zh => format!(
            "nqp 开发者. nqp：新质生产力指数计算与展示工具（版本 {version}）[CP/OL]. 数据集 {}（{}），版本 {hash}；方法 {method}.",
            ds.id, ds.title_zh
        ),
        Lang::En => format!(
            "nqp developers. nqp: a new-quality-productivity index, version {version}[CP/OL]. Dataset {} ({}), version {hash}; method {method}.",
            ds.id, ds.title_en
        ),
    };
    let key = format!("nqp{}", version.replace('.', "_"));
    let bibtex = format!(
        "@software{{{key},\n  author = {{{{nqp developers}}}},\n  title = {{nqp: New-quality-productivity index (新质生产力指数)}},\n  version = {{{version}}},\n  note = {{Dataset {} ({}), version {hash}; method {}}}\n}}\n",
        bib_escape(ds.id.as_str()),
        bib_escape(&ds.title_en),
        bib_escape(method)
    );
    Citation {
        gbt7714,
        bibtex,
        publishers: publishers(ds),
    }
}
