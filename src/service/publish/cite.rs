//! How to cite a result: nqp with its version and the dataset version hash (GB/T 7714—2015
//! and BibTeX), and the publishers of the data, taken from the framework's `publisher` fields
//! (the provenance every indicator and input carries; a series without one is cited by its
//! `source`).

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
    pub publishers: Vec<Publisher>,
}

/// One publisher of the data and how many of the framework's series (indicators and inputs)
/// it gave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Publisher {
    pub name: String,
    pub series: usize,
}

/// Every distinct publisher of the framework's indicators and inputs (a series without a
/// `publisher` counts under its `source`), in framework order, with its number of series: the
/// Cite box, the tables' source note and the region brief all list these.
pub fn publishers(ds: &Dataset) -> Vec<Publisher> {
    let fw = &ds.framework;
    let mut out: Vec<Publisher> = Vec::new();
    let all = fw
        .indicators
        .iter()
        .map(|d| (&d.publisher, &d.source))
        .chain(fw.inputs.iter().map(|i| (&i.publisher, &i.source)));
    for (publisher, source) in all {
        let name = publisher.as_ref().unwrap_or(source);
        match out.iter_mut().find(|p| &p.name == name) {
            Some(p) => p.series += 1,
            None => out.push(Publisher {
                name: name.clone(),
                series: 1,
            }),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publishers_count_series_per_publisher_in_framework_order() {
        let mut ds = crate::service::bundled::dataset().unwrap();
        let list = publishers(&ds);
        // `grep publisher data/frameworks/nqp-triad.toml | sort | uniq -c`: 42 series from 9
        // publishers, 26 of them NBS's own tables (the first indicator's publisher).
        assert_eq!(list.len(), 9);
        assert_eq!(list.iter().map(|p| p.series).sum::<usize>(), 42);
        assert_eq!(
            list[0],
            Publisher {
                name: "国家统计局 National Bureau of Statistics of China (NBS)".into(),
                series: 26
            }
        );
        assert_eq!(
            list.iter()
                .find(|p| p.name == "国家统计局 NBS; 科学技术部 MOST")
                .map(|p| p.series),
            Some(5)
        );
        // A series without a publisher is listed under its source.
        let first = &mut ds.framework.indicators[0];
        first.publisher = None;
        let source = first.source.clone();
        let list = publishers(&ds);
        assert_eq!(list.iter().map(|p| p.series).sum::<usize>(), 42);
        assert_eq!(
            list.iter().find(|p| p.name == source).map(|p| p.series),
            Some(1)
        );
    }
}
