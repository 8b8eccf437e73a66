//! The page frame every page shares: navigation, language switch, dataset and method line.
//!
//! Owns: the data `templates/base.html` needs. Must not: hold page content.

use super::ctx::PageCtx;
use super::i18n::{AnalysisTexts, Texts};
use crate::service::dashboard::Dataset;
use crate::service::publish::cite::{Citation, citation};
use crate::service::publish::method_label;
use crate::types::Lang;

#[derive(Debug, Clone)]
pub struct Chrome {
    pub t: &'static Texts,
    pub home_url: String,
    pub compare_url: String,
    pub methodology_url: String,
    pub datasets_url: String,
    pub analysis_url: String,
    /// Labels of the analysis section (its navigation entry).
    pub a: &'static AnalysisTexts,
    pub lang_url: String,
    pub other_lang: &'static str,
    /// Which navigation entry is current: "rankings", "compare", "analysis", "methodology",
    /// "publish", "datasets" or "".
    pub active: &'static str,
    pub dataset_title: String,
    pub version: String,
    pub method: String,
    /// `(hreflang, url)` of this page in both languages.
    pub alternates: Vec<(&'static str, String)>,
    pub publish_url: String,
    /// The Cite box of the footer (pages with a dataset).
    pub cite: Option<CiteBox>,
}

/// The Cite box: how to cite nqp with the dataset version and method, and the data publishers.
#[derive(Debug, Clone)]
pub struct CiteBox {
    pub title: &'static str,
    pub publishers_label: &'static str,
    pub bibtex_label: &'static str,
    pub publish_label: &'static str,
    pub citation: Citation,
    pub bibtex_url: String,
}

impl CiteBox {
    fn new(ctx: &PageCtx, ds: &Dataset) -> CiteBox {
        let lang = ctx.lang;
        let s = &ctx.spec;
        let method = method_label(s);
        CiteBox {
            title: lang.pick("引用", "Cite"),
            publishers_label: lang.pick("数据发布机构", "Data publishers"),
            bibtex_label: lang.pick("下载 BibTeX", "Download BibTeX"),
            publish_label: lang.pick(
                "论文用表格与复现包",
                "Tables for papers and replication pack",
            ),
            citation: citation(ds, &method, lang),
            bibtex_url: ctx.url("/publish/cite.bib", &[]),
        }
    }
}

impl Chrome {
    /// The frame for pages rendered without a dataset at hand (error pages).
    pub fn minimal(lang: Lang) -> Chrome {
        let q = format!("?lang={}", lang.as_str());
        let other = match lang {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        };
        Chrome {
            t: Texts::get(lang),
            home_url: format!("/{q}"),
            compare_url: format!("/compare{q}"),
            methodology_url: format!("/methodology{q}"),
            datasets_url: format!("/datasets{q}"),
            analysis_url: format!("/analysis/disparities{q}"),
            a: AnalysisTexts::get(lang),
            lang_url: format!("/?lang={}", other.as_str()),
            other_lang: other.as_str(),
            active: "",
            dataset_title: String::new(),
            version: String::new(),
            method: String::new(),
            alternates: Vec::new(),
            publish_url: format!("/publish{q}"),
            cite: None,
        }
    }

    pub fn new(ctx: &PageCtx, ds: &Dataset, active: &'static str) -> Chrome {
        let other = match ctx.lang {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        };
        let here = ctx.with_param("lang", "");
        Chrome {
            t: ctx.t,
            home_url: ctx.url("/", &[]),
            compare_url: ctx.url("/compare", &[]),
            methodology_url: ctx.url("/methodology", &[]),
            datasets_url: ctx.url("/datasets", &[]),
            analysis_url: ctx.url("/analysis/disparities", &[]),
            a: AnalysisTexts::get(ctx.lang),
            lang_url: ctx.lang_switch_url(),
            other_lang: other.as_str(),
            active,
            dataset_title: ds.title(ctx.lang).to_owned(),
            version: match ds.number {
                Some(n) => format!("v{n} · {}", ds.version.chars().take(12).collect::<String>()),
                None => ds.version.chars().take(12).collect(),
            },
            method: ctx.method_summary(),
            alternates: vec![
                (ctx.lang.as_str(), here),
                (other.as_str(), ctx.lang_switch_url()),
            ],
            publish_url: ctx.url("/publish", &[]),
            cite: Some(CiteBox::new(ctx, ds)),
        }
    }
}
