//! Interface texts in Chinese and English.
//!
//! Owns: every fixed label the pages show, chosen per request from a [`Lang`] value that is
//! passed explicitly (no process-global locale), and the language negotiation rule.
//! Must not: hold data-dependent text (region and indicator names come from the dataset).

use crate::types::{Dimension, Lang};

/// Pick the language: an explicit `lang=` wins, then the first zh/en tag in Accept-Language,
/// then Chinese (the main audience).
pub fn negotiate(query: Option<&str>, accept_language: Option<&str>) -> Lang {
    if let Some(lang) = query.and_then(|q| q.parse().ok()) {
        return lang;
    }
    let header = accept_language.unwrap_or_default();
    let mut tags: Vec<(f32, &str)> = header
        .split(',')
        .filter_map(|part| {
            let mut bits = part.trim().split(';');
            let tag = bits.next()?.trim();
            let q = bits
                .find_map(|b| b.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            Some((q, tag))
        })
        .collect();
    tags.sort_by(|a, b| b.0.total_cmp(&a.0));
    tags.iter()
        .find_map(|(_, tag)| {
            let primary = tag.split('-').next().unwrap_or_default().to_ascii_lowercase();
            match primary.as_str() {
                "zh" => Some(Lang::Zh),
                "en" => Some(Lang::En),
                _ => None,
            }
        })
        .unwrap_or_default()
}

/// All fixed interface texts of one language.
#[derive(Debug, Clone, Copy)]
pub struct Texts {
    pub lang: Lang,
    pub html_lang: &'static str,
    pub site_title: &'static str,
    pub skip_to_content: &'static str,
    pub nav_label: &'static str,
    pub nav_rankings: &'static str,
    pub nav_compare: &'static str,
    pub nav_methodology: &'static str,
    pub other_language: &'static str,
    pub other_language_name: &'static str,
    pub rankings_title: &'static str,
    pub rankings_intro: &'static str,
    pub year: &'static str,
    pub measure: &'static str,
    pub show: &'static str,
    pub overall_score: &'static str,
    pub score: &'static str,
    pub rank: &'static str,
    pub rank_change: &'static str,
    pub region: &'static str,
    pub group: &'static str,
    pub value: &'static str,
    pub normalised: &'static str,
    pub indicators: &'static str,
    pub indicator: &'static str,
    pub group_means: &'static str,
    pub regions_count: &'static str,
    pub no_data: &'static str,
    pub map_title: &'static str,
    pub legend_title: &'static str,
    pub table_caption: &'static str,
    pub sort_by: &'static str,
    pub new_entry: &'static str,
    pub incomplete_flag: &'static str,
    pub profile_title: &'static str,
    pub dimensions_vs_mean: &'static str,
    pub national_mean: &'static str,
    pub trend_score: &'static str,
    pub trend_rank: &'static str,
    pub strengths: &'static str,
    pub weaknesses: &'static str,
    pub peers: &'static str,
    pub all_indicators: &'static str,
    pub raw_value: &'static str,
    pub unit: &'static str,
    pub weight: &'static str,
    pub imputed: &'static str,
    pub rank_of: &'static str,
    pub compare_title: &'static str,
    pub compare_intro: &'static str,
    pub compare_choose: &'static str,
    pub compare_submit: &'static str,
    pub compare_need: &'static str,
    pub indicator_title: &'static str,
    pub definition: &'static str,
    pub direction: &'static str,
    pub direction_benefit: &'static str,
    pub direction_cost: &'static str,
    pub source: &'static str,
    pub publisher: &'static str,
    pub formula: &'static str,
    pub coverage: &'static str,
    pub excluded: &'static str,
    pub dimension: &'static str,
    pub subdimension: &'static str,
    pub level: &'static str,
    pub methodology_title: &'static str,
    pub framework_tree: &'static str,
    pub method_in_use: &'static str,
    pub formulas: &'static str,
    pub sources: &'static str,
    pub pitfalls: &'static str,
    pub map_notes: &'static str,
    pub notices: &'static str,
    pub method_form: &'static str,
    pub normalise_label: &'static str,
    pub weights_label: &'static str,
    pub aggregate_label: &'static str,
    pub apply: &'static str,
    pub not_found_title: &'static str,
    pub bad_request_title: &'static str,
    pub error_title: &'static str,
    pub back_home: &'static str,
    pub dataset: &'static str,
    pub version: &'static str,
    pub footer_data: &'static str,
}

impl Texts {
    pub fn get(lang: Lang) -> &'static Texts {
        match lang {
            Lang::Zh => &ZH,
            Lang::En => &EN,
        }
    }

    pub fn dimension(&self, d: Dimension) -> &'static str {
        d.label(self.lang)
    }
}

static ZH: Texts = Texts {
    lang: Lang::Zh,
    html_lang: "zh-CN",
    site_title: "新质生产力指数",
    skip_to_content: "跳到正文",
    nav_label: "主导航",
    nav_rankings: "排名",
    nav_compare: "比较",
    nav_methodology: "方法说明",
    other_language: "English",
    other_language_name: "切换到英文",
    rankings_title: "地区新质生产力排名",
    rankings_intro: "按年份和测度查看各地区得分、排名及其变化。得分为0–100，越高越好。",
    year: "年份",
    measure: "测度",
    show: "显示",
    overall_score: "综合得分",
    score: "得分",
    rank: "排名",
    rank_change: "排名变化",
    region: "地区",
    group: "区域",
    value: "数值",
    normalised: "标准化值",
    indicators: "指标",
    indicator: "指标",
    group_means: "四大区域平均",
    regions_count: "地区数",
    no_data: "无数据",
    map_title: "分省地图",
    legend_title: "图例",
    table_caption: "排名表（点击表头排序）",
    sort_by: "排序",
    new_entry: "新",
    incomplete_flag: "部分指标缺失，按可得指标计分",
    profile_title: "地区概况",
    dimensions_vs_mean: "三个维度与全国平均",
    national_mean: "全国平均",
    trend_score: "得分走势",
    trend_rank: "排名走势",
    strengths: "优势指标",
    weaknesses: "短板指标",
    peers: "得分相近的地区",
    all_indicators: "全部指标",
    raw_value: "原始值",
    unit: "单位",
    weight: "权重",
    imputed: "插补",
    rank_of: "名，共",
    compare_title: "地区比较",
    compare_intro: "选择2–5个地区，比较三个维度的得分与走势。",
    compare_choose: "选择地区",
    compare_submit: "比较",
    compare_need: "请选择2–5个地区。",
    indicator_title: "指标",
    definition: "定义",
    direction: "方向",
    direction_benefit: "正向（越大越好）",
    direction_cost: "负向（越小越好）",
    source: "来源",
    publisher: "发布机构",
    formula: "计算公式",
    coverage: "覆盖率",
    excluded: "因覆盖率不足未计入",
    dimension: "维度",
    subdimension: "子维度",
    level: "层次",
    methodology_title: "方法说明",
    framework_tree: "指标体系",
    method_in_use: "当前方法",
    formulas: "公式",
    sources: "数据来源",
    pitfalls: "与其他工具的差异",
    map_notes: "地图说明",
    notices: "提示",
    method_form: "更换方法",
    normalise_label: "标准化",
    weights_label: "赋权",
    aggregate_label: "合成",
    apply: "应用",
    not_found_title: "未找到",
    bad_request_title: "请求有误",
    error_title: "出错了",
    back_home: "返回排名",
    dataset: "数据集",
    version: "版本",
    footer_data: "数据：国家统计局、科学技术部、CEADs；地图：Natural Earth。",
};

static EN: Texts = Texts {
    lang: Lang::En,
    html_lang: "en",
    site_title: "New-quality productivity index",
    skip_to_content: "Skip to content",
    nav_label: "Main navigation",
    nav_rankings: "Rankings",
    nav_compare: "Compare",
    nav_methodology: "Methodology",
    other_language: "中文",
    other_language_name: "Switch to Chinese",
    rankings_title: "Regional rankings of new-quality productivity",
    rankings_intro: "Scores, ranks and rank changes by year and measure. Scores run from 0 to 100; higher is better.",
    year: "Year",
    measure: "Measure",
    show: "Show",
    overall_score: "Overall score",
    score: "Score",
    rank: "Rank",
    rank_change: "Rank change",
    region: "Region",
    group: "Group",
    value: "Value",
    normalised: "Normalised",
    indicators: "Indicators",
    indicator: "Indicator",
    group_means: "Group means",
    regions_count: "Regions",
    no_data: "No data",
    map_title: "Map",
    legend_title: "Legend",
    table_caption: "Ranking table (click a header to sort)",
    sort_by: "Sort",
    new_entry: "new",
    incomplete_flag: "some indicators missing; scored on the available ones",
    profile_title: "Region profile",
    dimensions_vs_mean: "The three dimensions against the national mean",
    national_mean: "National mean",
    trend_score: "Score over time",
    trend_rank: "Rank over time",
    strengths: "Strengths",
    weaknesses: "Weaknesses",
    peers: "Regions with similar scores",
    all_indicators: "All indicators",
    raw_value: "Raw value",
    unit: "Unit",
    weight: "Weight",
    imputed: "imputed",
    rank_of: "of",
    compare_title: "Compare regions",
    compare_intro: "Choose 2–5 regions to compare their dimension scores and trends.",
    compare_choose: "Choose regions",
    compare_submit: "Compare",
    compare_need: "Please choose 2 to 5 regions.",
    indicator_title: "Indicator",
    definition: "Definition",
    direction: "Direction",
    direction_benefit: "Benefit (higher is better)",
    direction_cost: "Cost (lower is better)",
    source: "Source",
    publisher: "Publisher",
    formula: "Formula",
    coverage: "Coverage",
    excluded: "excluded: coverage below threshold",
    dimension: "Dimension",
    subdimension: "Sub-dimension",
    level: "Level",
    methodology_title: "Methodology",
    framework_tree: "Indicator framework",
    method_in_use: "Method in use",
    formulas: "Formulas",
    sources: "Data sources",
    pitfalls: "Where other tools compute differently",
    map_notes: "About the map",
    notices: "Notices",
    method_form: "Change the method",
    normalise_label: "Normalisation",
    weights_label: "Weights",
    aggregate_label: "Aggregation",
    apply: "Apply",
    not_found_title: "Not found",
    bad_request_title: "Bad request",
    error_title: "Something went wrong",
    back_home: "Back to the rankings",
    dataset: "Dataset",
    version: "Version",
    footer_data: "Data: National Bureau of Statistics of China, Ministry of Science and Technology, CEADs. Map: Natural Earth.",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_language_wins_over_header() {
        assert_eq!(negotiate(Some("en"), Some("zh-CN,zh;q=0.9")), Lang::En);
        assert_eq!(negotiate(Some("zh"), Some("en-US")), Lang::Zh);
    }

    #[test]
    fn accept_language_respects_quality() {
        assert_eq!(negotiate(None, Some("fr;q=1, en-GB;q=0.8, zh;q=0.5")), Lang::En);
        assert_eq!(negotiate(None, Some("en;q=0.2, zh-TW;q=0.9")), Lang::Zh);
        assert_eq!(negotiate(None, Some("de")), Lang::Zh);
        assert_eq!(negotiate(Some("xx"), None), Lang::Zh);
    }
}
