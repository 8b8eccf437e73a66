//! Integration tests: the framework file (parse, validate, derive) and the bundled dataset
//! (committed panel + bundled framework; the importer over ../shared/data in the ignored lane).

use std::path::{Path, PathBuf};

use nqp::framework::{Framework, FrameworkError};
use nqp::types::{Dimension, Direction, Level, Panel};
use polars::prelude::*;

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> String {
    let path = manifest_dir().join("tests/fixtures/framework").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn minimal() -> Framework {
    Framework::from_toml(&fixture("minimal.toml"), "minimal.toml").expect("minimal.toml is valid")
}

/// 1-based number of the first line of `text` containing `marker`.
fn line_of(text: &str, marker: &str) -> u32 {
    let index = text
        .lines()
        .position(|l| l.contains(marker))
        .unwrap_or_else(|| panic!("marker {marker:?} not in fixture"));
    u32::try_from(index + 1).unwrap()
}

// ------------------------------------------------------------------------------------------
// Parsing and validation
// ------------------------------------------------------------------------------------------

#[test]
fn minimal_framework_parses_into_typed_values() {
    let fw = minimal();
    assert_eq!(fw.index.id, "mini");
    assert_eq!(fw.index.name_zh, "最小测试框架");
    let ids: Vec<&str> = fw.indicators.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["gdp_pc", "patents", "gap"]);
    let inputs: Vec<&str> = fw.inputs.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(inputs, ["gdp", "population"]);

    let gdp_pc = fw.get("gdp_pc").unwrap();
    assert_eq!(gdp_pc.dimension, Dimension::Laborers);
    assert_eq!(gdp_pc.level, Some(Level::Macro));
    assert_eq!(
        gdp_pc.weight,
        Some(2.0),
        "an integer weight is read as a number"
    );
    assert_eq!(
        gdp_pc.name_zh, "GDP per resident",
        "a missing name_zh falls back to name_en"
    );
    assert_eq!(
        gdp_pc.formula.as_ref().unwrap().source(),
        "gdp / population"
    );

    let patents = fw.get("patents").unwrap();
    assert_eq!(
        patents.dimension,
        Dimension::Tools,
        "dimension accepts the Chinese name"
    );
    assert_eq!(patents.subdimension.as_deref(), Some("Output"));
    assert_eq!(patents.level, None);
    assert!(patents.formula.is_none());

    let gap = fw.get("gap").unwrap();
    assert_eq!(gap.direction, Direction::Cost);
    assert_eq!(fw.input("population").unwrap().name_en, "年末常住人口");
    assert!(fw.get("gdp").is_none(), "inputs are not scored indicators");

    let specs = fw.indicator_specs();
    assert_eq!(specs.len(), 3);
    assert_eq!(specs[0].manual_weight, Some(2.0));
    assert_eq!(specs[2].direction, Direction::Cost);
    assert_eq!(specs[2].level, Some(Level::Micro));
}

#[test]
fn aliases_and_required_series() {
    let fw = minimal();
    let id = |name: &str| fw.canonical_id(name).map(|i| i.to_string());
    assert_eq!(id("gdp").as_deref(), Some("gdp"));
    assert_eq!(id("地区生产总值").as_deref(), Some("gdp"));
    assert_eq!(id("地区生产总值(亿元)").as_deref(), Some("gdp"));
    assert_eq!(id(" 地区生产总值（亿元）").as_deref(), Some("gdp"));
    assert_eq!(id("专利授权数").as_deref(), Some("patents"));
    assert_eq!(
        id("年末常住人口"),
        None,
        "names are not aliases unless listed"
    );
    let required: Vec<(String, Vec<String>)> = fw
        .required_series()
        .into_iter()
        .map(|(id, users)| {
            (
                id.to_string(),
                users.iter().map(|u| u.to_string()).collect(),
            )
        })
        .collect();
    assert_eq!(
        required,
        vec![
            (
                "gdp".to_string(),
                vec!["gdp_pc".to_string(), "gap".to_string()]
            ),
            (
                "population".to_string(),
                vec!["gdp_pc".to_string(), "gap".to_string()]
            ),
            ("patents".to_string(), vec!["patents".to_string()]),
        ]
    );
}

/// One fixture per validation error: (file, code, text on the offending line or None for
/// file-level errors, expected column).
#[test]
fn every_invalid_fixture_fails_with_its_code_and_position() {
    let cases: &[(&str, &str, Option<&str>, Option<u32>)] = &[
        (
            "invalid_unknown_dimension.toml",
            "framework.unknown_dimension",
            Some("\"capital\""),
            Some(13),
        ),
        (
            "invalid_unknown_direction.toml",
            "framework.unknown_direction",
            Some("\"up\""),
            Some(13),
        ),
        (
            "invalid_unknown_level.toml",
            "framework.unknown_level",
            Some("\"nano\""),
            Some(9),
        ),
        (
            "invalid_negative_weight.toml",
            "framework.negative_weight",
            Some("-0.5"),
            Some(10),
        ),
        (
            "invalid_bad_id.toml",
            "framework.bad_id",
            Some("Patents-2"),
            Some(6),
        ),
        (
            "invalid_bad_index_id.toml",
            "framework.bad_id",
            Some("Mini Index"),
            Some(6),
        ),
        (
            "invalid_duplicate_id.toml",
            "framework.duplicate_id",
            Some("# again"),
            Some(6),
        ),
        (
            "invalid_formula_syntax.toml",
            "framework.formula_syntax",
            Some("(population * 2"),
            Some(11),
        ),
        (
            "invalid_unknown_reference.toml",
            "framework.unknown_reference",
            Some("employment"),
            Some(11),
        ),
        (
            "invalid_cycle.toml",
            "framework.cycle",
            Some("+ gap"),
            Some(11),
        ),
        (
            "invalid_duplicate_alias.toml",
            "framework.duplicate_alias",
            Some("地区 生产总值"),
            Some(12),
        ),
        (
            "invalid_missing_name.toml",
            "framework.missing_name",
            Some("[[indicator]]"),
            None,
        ),
        (
            "invalid_unknown_field.toml",
            "framework.toml",
            Some("wieght"),
            Some(1),
        ),
        (
            "invalid_toml_syntax.toml",
            "framework.toml",
            Some("unit = \"件"),
            None,
        ),
        (
            "invalid_empty_dimension.toml",
            "framework.empty_dimension",
            None,
            None,
        ),
    ];
    assert!(cases.len() >= 10);
    for (file, code, marker, column) in cases {
        let text = fixture(file);
        let err = Framework::from_toml(&text, file).expect_err(file);
        assert_eq!(err.code(), *code, "{file}: {err}");
        let pos = err
            .position()
            .unwrap_or_else(|| panic!("{file}: no position"));
        assert_eq!(pos.file, *file);
        match marker {
            Some("[[indicator]]") => {
                // Errors about a whole entry point into that entry (after its table header).
                let line = pos.line.expect("a line");
                assert!(
                    line > line_of(&text, "[[indicator]]"),
                    "{file}: line {line}"
                );
            }
            Some(marker) => {
                assert_eq!(pos.line, Some(line_of(&text, marker)), "{file}: {err}");
                if let Some(column) = column {
                    assert_eq!(pos.column, Some(*column), "{file}: {err}");
                }
            }
            None => assert_eq!(pos.line, None, "{file}: a file-level error"),
        }
    }
}

#[test]
fn validation_errors_say_what_is_wrong() {
    let check = |file: &str| Framework::from_toml(&fixture(file), file).unwrap_err();
    match check("invalid_formula_syntax.toml") {
        FrameworkError::FormulaSyntax {
            id,
            column,
            message,
            formula,
            ..
        } => {
            assert_eq!(id, "gdp_pc");
            assert_eq!(formula, "gdp / (population * 2");
            assert_eq!(column, 22, "the column within the formula text");
            assert!(message.contains("missing ')'"), "{message}");
        }
        other => panic!("unexpected {other:?}"),
    }
    match check("invalid_unknown_reference.toml") {
        FrameworkError::UnknownReference { id, name, .. } => {
            assert_eq!((id.as_str(), name.as_str()), ("gdp_pc", "employment"));
        }
        other => panic!("unexpected {other:?}"),
    }
    match check("invalid_cycle.toml") {
        FrameworkError::Cycle { cycle, .. } => assert_eq!(cycle, ["gdp_pc", "gap", "gdp_pc"]),
        other => panic!("unexpected {other:?}"),
    }
    match check("invalid_duplicate_alias.toml") {
        FrameworkError::DuplicateAlias {
            alias, id, other, ..
        } => {
            assert_eq!(
                (alias.as_str(), id.as_str(), other.as_str()),
                ("地区 生产总值", "patents", "gdp")
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    match check("invalid_duplicate_id.toml") {
        FrameworkError::DuplicateId { id, first_line, .. } => {
            assert_eq!(id, "gdp_pc");
            assert_eq!(
                first_line,
                line_of(&fixture("minimal.toml"), "id = \"gdp_pc\"")
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    match check("invalid_empty_dimension.toml") {
        FrameworkError::EmptyDimension { dimension, .. } => assert_eq!(dimension, Dimension::Tools),
        other => panic!("unexpected {other:?}"),
    }
    let msg = check("invalid_unknown_field.toml").to_string();
    assert!(msg.contains("wieght"), "{msg}");
}

#[test]
fn a_self_reference_is_a_cycle_and_nan_weight_is_rejected() {
    let text =
        fixture("minimal.toml").replace("formula = \"-(gdp_pc - 1) * 2\"", "formula = \"gap * 2\"");
    let err = Framework::from_toml(&text, "self.toml").unwrap_err();
    assert_eq!(err.code(), "framework.cycle");
    let text = fixture("minimal.toml").replace("weight = 2", "weight = nan");
    let err = Framework::from_toml(&text, "nan.toml").unwrap_err();
    assert_eq!(err.code(), "framework.negative_weight");
}

// ------------------------------------------------------------------------------------------
// derive on a tiny hand-made panel
// ------------------------------------------------------------------------------------------

fn panel(rows: &[(&str, i32, &str, Option<f64>)]) -> Panel {
    let df = df!(
        "region" => rows.iter().map(|r| r.0).collect::<Vec<_>>(),
        "year" => rows.iter().map(|r| r.1).collect::<Vec<_>>(),
        "indicator" => rows.iter().map(|r| r.2).collect::<Vec<_>>(),
        "value" => rows.iter().map(|r| r.3).collect::<Vec<_>>(),
    )
    .unwrap();
    Panel::new(df).unwrap()
}

/// BJ and SH, 2020–2021. GDP for 2021 comes under the NBS name with its unit (an alias); SH has
/// no patents in 2021; BJ 2019 has only GDP (so no indicator can be computed for it); `unused`
/// is a series the framework does not use.
fn tiny_rows() -> Vec<(&'static str, i32, &'static str, Option<f64>)> {
    vec![
        ("CN-BJ", 2019, "gdp", Some(80.0)),
        ("CN-BJ", 2020, "gdp", Some(100.0)),
        ("CN-SH", 2020, "gdp", Some(90.0)),
        ("CN-BJ", 2021, "地区生产总值(亿元)", Some(120.0)),
        ("CN-SH", 2021, "地区生产总值(亿元)", Some(99.0)),
        ("CN-BJ", 2020, "population", Some(20.0)),
        ("CN-BJ", 2021, "population", Some(25.0)),
        ("CN-SH", 2020, "population", Some(30.0)),
        ("CN-SH", 2021, "population", Some(33.0)),
        ("CN-BJ", 2020, "专利授权数", Some(5.0)),
        ("CN-BJ", 2021, "patents", Some(6.0)),
        ("CN-SH", 2020, "patents", Some(7.0)),
        ("CN-SH", 2021, "patents", None),
        ("CN-SH", 2021, "unused", Some(1.0)),
    ]
}

fn f64_col(df: &DataFrame, name: &str) -> Vec<Option<f64>> {
    df.column(name).unwrap().f64().unwrap().iter().collect()
}

#[test]
fn derive_computes_ratios_exactly_in_framework_order() {
    let fw = minimal();
    let wide = fw.derive(&panel(&tiny_rows())).unwrap();
    let names: Vec<String> = wide
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(names, ["region", "year", "gdp_pc", "patents", "gap"]);
    assert_eq!(wide.column("year").unwrap().dtype(), &DataType::Int32);
    let regions: Vec<&str> = wide
        .column("region")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .flatten()
        .collect();
    let years: Vec<i32> = wide
        .column("year")
        .unwrap()
        .i32()
        .unwrap()
        .iter()
        .flatten()
        .collect();
    // BJ 2019 has GDP only: every indicator is null there, so the row is left out.
    assert_eq!(regions, ["CN-BJ", "CN-BJ", "CN-SH", "CN-SH"]);
    assert_eq!(years, [2020, 2021, 2020, 2021]);
    let gdp_pc = [100.0 / 20.0, 120.0 / 25.0, 90.0 / 30.0, 99.0 / 33.0];
    assert_eq!(f64_col(&wide, "gdp_pc"), gdp_pc.map(Some));
    assert_eq!(
        f64_col(&wide, "patents"),
        [Some(5.0), Some(6.0), Some(7.0), None]
    );
    let gap = gdp_pc.map(|x| Some(-(x - 1.0) * 2.0));
    assert_eq!(f64_col(&wide, "gap"), gap);
    assert_eq!(gap[1], Some(-7.6));
}

#[test]
fn canonicalize_keeps_unused_series_and_renames_aliases() {
    let fw = minimal();
    let canon = fw.canonicalize(&panel(&tiny_rows())).unwrap();
    assert_eq!(
        canon.indicators().unwrap(),
        ["gdp", "patents", "population", "unused"]
    );
}

#[test]
fn division_by_zero_names_indicator_region_and_year() {
    let mut rows = tiny_rows();
    for row in rows.iter_mut() {
        if row.0 == "CN-SH" && row.1 == 2021 && row.2 == "population" {
            row.3 = Some(0.0);
        }
    }
    let err = minimal().derive(&panel(&rows)).unwrap_err();
    assert_eq!(err.code(), "framework.division_by_zero");
    match &err {
        FrameworkError::DivisionByZero {
            id,
            denominator,
            region,
            year,
        } => {
            assert_eq!(id, "gdp_pc");
            assert_eq!(denominator, "population");
            assert_eq!(region, "CN-SH");
            assert_eq!(*year, 2021);
        }
        other => panic!("unexpected {other:?}"),
    }
    let msg = err.to_string();
    assert!(msg.contains("CN-SH") && msg.contains("2021"), "{msg}");
}

#[test]
fn a_zero_denominator_inside_parentheses_is_caught_too() {
    let text = fixture("minimal.toml").replace(
        "formula = \"gdp / population\"",
        "formula = \"gdp / (population - 20)\"",
    );
    let fw = Framework::from_toml(&text, "shifted.toml").unwrap();
    let err = fw.derive(&panel(&tiny_rows())).unwrap_err();
    match err {
        FrameworkError::DivisionByZero {
            denominator,
            region,
            year,
            ..
        } => {
            assert_eq!(denominator, "population - 20");
            assert_eq!((region.as_str(), year), ("CN-BJ", 2020));
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn a_missing_series_is_reported_with_the_indicators_that_need_it() {
    let rows: Vec<_> = tiny_rows()
        .into_iter()
        .filter(|r| r.2 != "population")
        .collect();
    match minimal().derive(&panel(&rows)).unwrap_err() {
        FrameworkError::MissingIndicator { id, needed_by } => {
            assert_eq!(id, "population");
            assert_eq!(needed_by, ["gdp_pc", "gap"]);
        }
        other => panic!("unexpected {other:?}"),
    }
    let rows: Vec<_> = tiny_rows()
        .into_iter()
        .filter(|r| r.2 != "patents" && r.2 != "专利授权数")
        .collect();
    let err = minimal().derive(&panel(&rows)).unwrap_err();
    assert_eq!(err.code(), "framework.missing_indicator");
    assert!(err.to_string().contains("'patents'"), "{err}");
}

#[test]
fn two_names_for_one_series_in_the_same_year_conflict() {
    let mut rows = tiny_rows();
    rows.push(("CN-SH", 2020, "地区生产总值", Some(91.0)));
    match minimal().derive(&panel(&rows)).unwrap_err() {
        FrameworkError::AliasConflict {
            id,
            names,
            region,
            year,
        } => {
            assert_eq!(id, "gdp");
            assert_eq!(names, ["gdp", "地区生产总值"]);
            assert_eq!((region.as_str(), year), ("CN-SH", 2020));
        }
        other => panic!("unexpected {other:?}"),
    }
}

// ------------------------------------------------------------------------------------------
// The bundled framework and dataset
// ------------------------------------------------------------------------------------------

fn bundled_framework() -> Framework {
    let path = manifest_dir().join("data/frameworks/nqp-triad.toml");
    let text = std::fs::read_to_string(&path).expect("bundled framework");
    Framework::from_toml(&text, "nqp-triad.toml").expect("the bundled framework is valid")
}

#[test]
fn bundled_framework_meets_the_issue_requirements() {
    let fw = bundled_framework();
    assert_eq!(fw.index.id, "nqp-triad");
    // The literature's sub-dimensions, each with at least one scored indicator.
    let subdimensions = |dimension: Dimension| -> Vec<&str> {
        let mut out: Vec<&str> = fw
            .indicators_of(dimension)
            .filter_map(|d| d.subdimension.as_deref())
            .collect();
        out.dedup();
        out
    };
    assert_eq!(
        subdimensions(Dimension::Laborers),
        ["Skills and human capital", "Productivity", "Structure"]
    );
    assert_eq!(
        subdimensions(Dimension::Tools),
        [
            "Digital infrastructure",
            "S&T input",
            "Energy and green infrastructure"
        ]
    );
    assert_eq!(
        subdimensions(Dimension::Objects),
        ["New and digital industries", "Ecology"]
    );
    for def in &fw.indicators {
        assert!(def.level.is_some(), "{} has no level", def.id);
        assert!(def.publisher.is_some(), "{} has no publisher", def.id);
        assert!(def.weight.is_some(), "{} has no weight", def.id);
        assert!(!def.unit.is_empty() && !def.source.is_empty(), "{}", def.id);
        assert!(def.description_en.is_some() && def.description_zh.is_some());
    }
    let ids = |pred: &dyn Fn(&nqp::framework::IndicatorDef) -> bool| -> Vec<&str> {
        fw.indicators
            .iter()
            .filter(|d| pred(d))
            .map(|d| d.id.as_str())
            .collect()
    };
    // ≥ 2 digital (all tagged for the intelligence-and-digital sub-index), ≥ 1 green,
    // ≥ 2 human capital.
    assert_eq!(
        ids(&|d| d.ai_digital),
        [
            "it_employment_share",
            "broadband_per_100",
            "mobile_penetration",
            "software_revenue_gdp",
            "ecommerce_sales_gdp",
            "ecommerce_firm_share"
        ]
    );
    for green in [
        "clean_power_share",
        "power_intensity",
        "green_coverage",
        "waste_treatment_rate",
    ] {
        assert!(fw.get(green).is_some(), "{green}");
    }
    for human_capital in ["schooling_years", "higher_ed_per_100k", "rd_fte_per_10k"] {
        assert_eq!(
            fw.get(human_capital).unwrap().dimension,
            Dimension::Laborers
        );
    }
    // The three small-base ratios of the former default are gone (data/frameworks/README.md).
    for dropped in [
        "basic_research_share",
        "researcher_share",
        "edu_spending_pc",
    ] {
        assert!(fw.get(dropped).is_none(), "{dropped}");
    }
    assert_eq!(
        fw.get("power_intensity").unwrap().direction,
        Direction::Cost
    );
    assert!(
        fw.get("rd_intensity").unwrap().formula.is_none(),
        "taken as published"
    );
    // Money in per-person levels only at constant prices.
    assert_eq!(
        fw.get("labor_productivity")
            .unwrap()
            .formula
            .as_ref()
            .unwrap()
            .identifiers(),
        ["gdp_real", "urban_employment"]
    );
    for (alias, id) in [
        ("地区生产总值", "gdp"),
        ("年末常住人口", "population"),
        ("城镇单位就业人员", "urban_employment"),
    ] {
        assert_eq!(fw.canonical_id(alias).map(|i| i.as_str()), Some(id));
    }
    assert!(fw.exclude.is_empty(), "the default keeps all 31 provinces");
    assert!(fw.unavailable.is_empty());
    let total: f64 = fw.indicators.iter().filter_map(|d| d.weight).sum();
    assert!((total - 1.0).abs() < 1e-5, "{total}");
}

fn bundled_dataset_dir(plan: &nqp::importer::DatasetPlan) -> PathBuf {
    manifest_dir().join("data/datasets").join(plan.id)
}

fn shared_data() -> PathBuf {
    manifest_dir().join("../shared/data")
}

/// Share of region-years with a value, per default indicator, in a committed dataset.
fn indicator_coverage(plan: &nqp::importer::DatasetPlan) -> Vec<(String, f64)> {
    let imported = nqp::importer::read_bundled(&bundled_dataset_dir(plan)).expect("committed");
    let fw = bundled_framework();
    let wide = fw.derive(&imported.panel).expect("derive");
    let years = (plan.years.end() - plan.years.start() + 1) as usize;
    assert_eq!(wide.height(), 31 * years, "{}", plan.id);
    assert_eq!(wide.column("region").unwrap().n_unique().unwrap(), 31);
    fw.indicators
        .iter()
        .map(|def| {
            let values = f64_col(&wide, def.id.as_str());
            assert!(values.iter().flatten().all(|v| v.is_finite()), "{}", def.id);
            let n = values.iter().flatten().count();
            (def.id.to_string(), n as f64 / (31 * years) as f64)
        })
        .collect()
}

/// `read_bundled` reads the committed panels through `ingest` (the dashboard's reader): written
/// back, each is byte-identical to the committed file, so no value, unit or row is lost or altered.
#[test]
fn committed_panels_read_back_through_ingest_write_the_same_bytes() {
    for plan in nqp::importer::PLANS {
        let dir = bundled_dataset_dir(plan);
        let imported = nqp::importer::read_bundled(&dir).expect("committed");
        assert_eq!(
            nqp::importer::panel_csv(&imported).unwrap(),
            std::fs::read_to_string(dir.join("panel.csv")).unwrap(),
            "{}",
            plan.id
        );
        assert!(
            imported.units.values().any(|u| !u.is_empty()),
            "{}",
            plan.id
        );
    }
}

#[test]
fn every_default_indicator_covers_at_least_90_percent_of_the_default_dataset() {
    for (id, share) in indicator_coverage(&nqp::importer::FULL) {
        assert!(share >= 0.9, "{id}: {share}");
    }
}

#[test]
fn the_recent_dataset_scores_the_series_that_reach_2022() {
    let coverage = indicator_coverage(&nqp::importer::RECENT);
    let below: Vec<&str> = coverage
        .iter()
        .filter(|(_, share)| *share < 0.65)
        .map(|(id, _)| id.as_str())
        .collect();
    // The NBS table dump ends in 2019: 4 of 7 years (57 %), under the coverage rule.
    assert_eq!(
        below,
        [
            "schooling_years",
            "higher_ed_per_100k",
            "labor_productivity",
            "it_employment_share",
            "science_employment_share",
            "mobile_penetration",
            "power_intensity",
            "software_revenue_gdp",
            "green_coverage",
            "waste_treatment_rate"
        ]
    );
    for (id, share) in coverage.iter().filter(|(_, s)| *s >= 0.65) {
        assert!(*share >= 0.9, "{id}: {share}");
    }
}

#[test]
fn committed_panel_ratios_match_their_raw_rows() {
    let plan = &nqp::importer::FULL;
    let imported = nqp::importer::read_bundled(&bundled_dataset_dir(plan)).expect("committed");
    let wide = bundled_framework().derive(&imported.panel).expect("derive");
    let raw = |region: &str, indicator: &str| -> f64 {
        let f = imported
            .panel
            .frame()
            .clone()
            .lazy()
            .filter(
                col("region")
                    .eq(lit(region))
                    .and(col("year").eq(lit(2019)))
                    .and(col("indicator").eq(lit(indicator))),
            )
            .collect()
            .unwrap();
        f.column("value").unwrap().f64().unwrap().get(0).unwrap()
    };
    let row = |region: &str| {
        wide.clone()
            .lazy()
            .filter(col("region").eq(lit(region)).and(col("year").eq(lit(2019))))
            .collect()
            .unwrap()
    };
    let bj = row("CN-BJ");
    assert_eq!(
        f64_col(&bj, "rd_fte_per_10k"),
        [Some(raw("CN-BJ", "rd_fte") / raw("CN-BJ", "population"))]
    );
    assert_eq!(
        f64_col(&bj, "labor_productivity"),
        [Some(
            raw("CN-BJ", "gdp_real") / raw("CN-BJ", "urban_employment")
        )]
    );
    // Tibet 2019 from the sample counts (811 primary, 464 junior, 162 senior, 208 tertiary of
    // 2 448 aged 6+): 14 314 / 2 448 years; no power generation and no software revenue.
    let xz = row("CN-XZ");
    assert_eq!(
        f64_col(&xz, "schooling_years"),
        [Some(
            (811.0 * 6.0 + 464.0 * 9.0 + 162.0 * 12.0 + 208.0 * 16.0) / 2448.0
        )]
    );
    assert_eq!(f64_col(&xz, "clean_power_share"), [None]);
    assert_eq!(f64_col(&xz, "software_revenue_gdp"), [None]);
}

// ------------------------------------------------------------------------------------------
// The importer over ../shared/data (separate lane)
// ------------------------------------------------------------------------------------------

fn assert_shared_data_present() -> PathBuf {
    let dir = shared_data();
    assert!(
        dir.join("PROVENANCE.md").is_file(),
        "{} is missing",
        dir.display()
    );
    dir
}

fn value_of(panel: &Panel, region: &str, year: i32, indicator: &str) -> Option<f64> {
    let f = panel
        .frame()
        .clone()
        .lazy()
        .filter(
            col("region")
                .eq(lit(region))
                .and(col("year").eq(lit(year)))
                .and(col("indicator").eq(lit(indicator))),
        )
        .collect()
        .unwrap();
    assert!(
        f.height() <= 1,
        "{region} {year} {indicator}: {} rows",
        f.height()
    );
    if f.height() == 0 {
        return None;
    }
    f.column("value").unwrap().f64().unwrap().get(0)
}

#[test]
#[ignore = "needs ../shared/data"]
fn importer_reads_the_shared_files_with_the_expected_values() {
    use nqp::importer::{self, FULL, RECENT};
    let shared = assert_shared_data_present();
    let full = importer::import(&shared, &FULL).expect("import 2013–2019");
    let recent = importer::import(&shared, &RECENT).expect("import 2016–2022");
    for (imported, plan) in [(&full, &FULL), (&recent, &RECENT)] {
        assert_eq!(imported.panel.regions().unwrap().len(), 31);
        assert_eq!(
            imported.panel.years().unwrap(),
            plan.years.clone().collect::<Vec<_>>()
        );
    }
    // Spot values, checked by hand against the raw files.
    let (f, r) = (&full.panel, &recent.panel);
    // The recent dataset: the 2026 NBS exports and the digital-economy tables.
    assert_eq!(value_of(r, "CN-BJ", 2022, "gdp"), Some(45222.4));
    assert_eq!(value_of(r, "CN-BJ", 2022, "population"), Some(2184.0));
    assert_eq!(value_of(r, "CN-TJ", 2022, "urban_employment"), Some(243.3));
    assert_eq!(value_of(r, "CN-BJ", 2022, "broadband_users"), Some(877.3));
    assert_eq!(value_of(r, "CN-XZ", 2022, "rd_fte"), Some(1871.0));
    assert_eq!(value_of(r, "CN-XZ", 2020, "budget_st"), Some(8.99));
    // The 2013–2019 dataset: one vintage of the NBS table dump.
    assert_eq!(value_of(f, "CN-BJ", 2019, "gdp"), Some(35445.1));
    assert_eq!(
        value_of(f, "CN-BJ", 2019, "population"),
        Some(35445.1 * 1e4 / 164563.0),
        "GDP ÷ GDP per capita"
    );
    assert_eq!(
        value_of(f, "CN-BJ", 2019, "broadband_users"),
        Some(688.1051)
    );
    assert_eq!(value_of(f, "CN-BJ", 2019, "green_coverage"), Some(48.46));
    assert_eq!(
        value_of(f, "CN-BJ", 2019, "higher_ed_per_100k"),
        Some(5320.0)
    );
    assert_eq!(value_of(f, "CN-XZ", 2019, "software_revenue"), None);
    assert_eq!(value_of(f, "CN-XZ", 2019, "power_generation"), None);
    assert_eq!(value_of(f, "CN-BJ", 2013, "power_generation"), Some(336.01));
    // Real GDP at 2015 prices: the base year as published, then chained (BJ index 2016: 106.9).
    assert_eq!(value_of(f, "CN-BJ", 2015, "gdp_real"), Some(24779.1));
    assert_eq!(
        value_of(f, "CN-BJ", 2016, "gdp_real"),
        Some(24779.1 * 1.069)
    );
    assert_eq!(
        value_of(r, "CN-BJ", 2016, "gdp_real"),
        value_of(f, "CN-BJ", 2016, "gdp_real"),
        "one deflator in both datasets"
    );
    assert_eq!(
        value_of(r, "CN-BJ", 2020, "gdp_real"),
        None,
        "index ends in 2019"
    );
    assert_eq!(
        full.units.get("software_revenue").map(String::as_str),
        Some("亿元")
    );
}

#[test]
#[ignore = "needs ../shared/data"]
fn importer_output_is_deterministic_and_equals_the_committed_datasets() {
    use nqp::importer;
    let shared = assert_shared_data_present();
    let first = tempfile::tempdir().unwrap();
    let second = tempfile::tempdir().unwrap();
    importer::import_all(&shared, first.path()).unwrap();
    importer::import_all(&shared, second.path()).unwrap();
    let read = |dir: &Path, name: &str| std::fs::read(dir.join(name)).unwrap();
    for plan in importer::PLANS {
        for name in ["panel.csv", "manifest.json"] {
            let once = read(&first.path().join(plan.id), name);
            assert_eq!(
                once,
                read(&second.path().join(plan.id), name),
                "{} {name} differs between runs",
                plan.id
            );
            assert_eq!(
                String::from_utf8(once).unwrap(),
                String::from_utf8(read(&bundled_dataset_dir(plan), name)).unwrap(),
                "the committed {}/{name} is not what the importer produces",
                plan.id
            );
        }
    }
}

/// Sources that overlap agree: the NBS table dump against the re-scraped digital-economy tables
/// (display rounding: at most 0.05 in the last shown digit) and against the power-generation
/// panel (PROVENANCE §11.4: within 0.06).
#[test]
#[ignore = "needs ../shared/data"]
fn overlapping_sources_agree() {
    let shared = assert_shared_data_present();
    let report = nqp::importer::overlap_report(&shared).unwrap();
    for o in &report {
        println!(
            "{}: {} pairs, largest difference {} ({}), largest relative {:.2e} — {} vs {}",
            o.series, o.pairs, o.max_abs_diff, o.worst, o.max_rel_diff, o.first, o.second
        );
    }
    let by = |id: &str| report.iter().find(|o| o.series == id).unwrap();
    for id in ["broadband_users", "ecommerce_sales", "ecommerce_firm_share"] {
        assert_eq!(by(id).pairs, 31 * 5, "{id}: 2015–2019");
        assert!(by(id).max_abs_diff <= 0.05 + 1e-9, "{id}: {:?}", by(id));
    }
    assert_eq!(by("power_generation").pairs, 30 * 8, "2012–2019, no Tibet");
    assert_eq!(by("power_thermal").pairs, 30 * 6, "2012–2017");
    for id in ["power_generation", "power_thermal"] {
        assert!(by(id).max_abs_diff <= 0.06 + 1e-9, "{id}: {:?}", by(id));
    }
}

/// Writes the committed datasets: `NQP_REGENERATE=1 cargo test --test it regenerate_bundled_dataset -- --ignored`.
#[test]
#[ignore = "needs ../shared/data"]
fn regenerate_bundled_dataset() {
    use nqp::importer;
    let shared = assert_shared_data_present();
    if std::env::var("NQP_REGENERATE").as_deref() == Ok("1") {
        importer::import_all(&shared, &manifest_dir().join("data/datasets")).unwrap();
    }
    for plan in importer::PLANS {
        let imported = importer::import(&shared, plan).unwrap();
        assert_eq!(imported.panel.regions().unwrap().len(), 31);
    }
}

#[test]
fn constant_formulas_need_no_series_and_cover_every_panel_region_year() {
    let text = fixture("minimal.toml")
        .replace("formula = \"gdp / population\"", "formula = \"1\"")
        .replace(
            "formula = \"-(gdp_pc - 1) * 2\"",
            "formula = \"gdp_pc / 4\"",
        )
        .replace(
            "aliases = [\"专利授权数\"]",
            "aliases = [\"专利授权数\"]\nformula = \"2 * 3\"",
        );
    let fw = Framework::from_toml(&text, "constants.toml").unwrap();
    assert!(fw.required_series().is_empty());
    let wide = fw.derive(&panel(&tiny_rows())).unwrap();
    assert_eq!(wide.height(), 5, "BJ 2019–2021 and SH 2020–2021");
    assert_eq!(f64_col(&wide, "patents"), vec![Some(6.0); 5]);
    assert_eq!(f64_col(&wide, "gap"), vec![Some(0.25); 5]);
}

#[test]
fn an_alias_written_with_its_unit_matches_the_bare_name() {
    let text = fixture("minimal.toml").replace(
        "aliases = [\"地区生产总值\"]",
        "aliases = [\"地区生产总值（亿元）\"]",
    );
    let fw = Framework::from_toml(&text, "unit-alias.toml").unwrap();
    assert_eq!(
        fw.canonical_id("地区生产总值").map(|i| i.as_str()),
        Some("gdp")
    );
    assert_eq!(
        fw.canonical_id("地区生产总值(亿元)").map(|i| i.as_str()),
        Some("gdp")
    );
    assert_eq!(
        fw.canonical_id("地区生产总值(万元)"),
        None,
        "another unit is another series"
    );
}

#[test]
fn formula_parser_through_the_public_api() {
    use nqp::framework::{BinOp, Formula, FormulaExpr};
    let show = |src: &str| Formula::parse(src).unwrap().expr().to_string();
    // Precedence: * and / bind tighter than + and -; both pairs are left-associative.
    assert_eq!(show("a+b*c"), "a + b * c");
    assert_eq!(show("(a+b)*c"), "(a + b) * c");
    assert_eq!(show("a/b/c"), "a / b / c");
    assert_eq!(show("a/(b/c)"), "a / (b / c)");
    // Unary minus applies to the operand right after it.
    assert_eq!(show("-a*b"), "-a * b");
    assert_eq!(show("-(a*b)"), "-(a * b)");
    assert_eq!(show("2 - -3"), "2 - -3");
    match Formula::parse("x / y * 100").unwrap().expr() {
        FormulaExpr::Binary {
            op: BinOp::Mul,
            rhs,
            ..
        } => {
            assert_eq!(**rhs, FormulaExpr::Number(100.0))
        }
        other => panic!("unexpected {other:?}"),
    }
    // Errors give the column (1-based, in characters) within the formula text.
    let col = |src: &str| Formula::parse(src).unwrap_err().column;
    assert_eq!(col("rd / / gdp"), 6);
    assert_eq!(col("(rd / gdp"), 10);
    assert_eq!(col("rd / gdp)"), 9);
    assert_eq!(col("rd $ gdp"), 4);
    assert_eq!(col("人口 / gdp"), 1);
}

#[test]
fn labels_have_chinese_variants_with_english_fallback() {
    use nqp::types::Lang;
    let text =
        std::fs::read_to_string(manifest_dir().join("data/frameworks/nqp-triad.toml")).unwrap();
    let framework = Framework::from_toml(&text, "nqp-triad.toml").unwrap();
    let fte = framework.get("rd_fte_per_10k").unwrap();
    assert_eq!(fte.subdimension_label(Lang::Zh), Some("技能与人力资本"));
    assert_eq!(
        fte.subdimension_label(Lang::En),
        Some("Skills and human capital")
    );
    assert_eq!(fte.unit_label(Lang::Zh), "人年/万人");
    assert_eq!(
        fte.unit_label(Lang::En),
        "person-years per 10 000 residents"
    );
    // "%" has no Chinese variant: the one unit serves both languages.
    assert_eq!(
        framework.get("rd_intensity").unwrap().unit_label(Lang::Zh),
        "%"
    );
    let minimal = minimal();
    let first = &minimal.indicators[0];
    assert_eq!(
        first.subdimension_label(Lang::Zh),
        first.subdimension.as_deref()
    );
}

// ------------------------------------------------------------------------------------------
// Presets, availability marks and region exclusions
// ------------------------------------------------------------------------------------------

fn framework_file(name: &str) -> (String, Framework) {
    let text = std::fs::read_to_string(manifest_dir().join("data/frameworks").join(name)).unwrap();
    let fw = Framework::from_toml(&text, name).unwrap_or_else(|e| panic!("{name}: {e}"));
    (text, fw)
}

fn default_panel() -> Panel {
    nqp::importer::read_bundled(&bundled_dataset_dir(&nqp::importer::FULL))
        .unwrap()
        .panel
}

fn notices_with(result: &nqp::method::IndexResult, code: &str) -> Vec<String> {
    result
        .notices
        .iter()
        .filter(|n| n.code == code)
        .map(|n| n.message.clone())
        .collect()
}

#[test]
fn presets_compute_with_their_unavailable_indicators_reported() {
    use nqp::framework::Availability;
    for (file, unavailable, proxied) in [
        (
            "wang-wang-2024.toml",
            vec!["average_wage", "robot_density"],
            vec![
                "labor_productivity",
                "knowledge_employment_share",
                "broadband_per_100",
                "power_intensity",
                "hitech_revenue_gdp",
                "green_coverage",
                "co2_intensity",
            ],
        ),
        (
            "lu-et-al-2024.toml",
            vec!["forest_coverage", "digital_finance_index", "robot_density"],
            vec!["clean_power_share", "power_intensity", "co2_intensity"],
        ),
    ] {
        let (_, fw) = framework_file(file);
        assert!(fw.index.citation.is_some(), "{file}");
        let ids = |defs: &[nqp::framework::IndicatorDef], a: Availability| -> Vec<String> {
            defs.iter()
                .filter(|d| d.availability == a)
                .map(|d| d.id.to_string())
                .collect()
        };
        assert_eq!(ids(&fw.unavailable, Availability::Unavailable), unavailable);
        assert_eq!(ids(&fw.indicators, Availability::Proxied), proxied);
        assert!(
            fw.indicators
                .iter()
                .all(|d| (d.availability == Availability::Proxied) == d.proxy.is_some()),
            "{file}: a proxy names its stand-in"
        );
        let result =
            nqp::service::compute_index(&default_panel(), &fw, &nqp::method::MethodSpec::default())
                .unwrap_or_else(|e| panic!("{file}: {e}"));
        let reported = notices_with(&result, "framework.unavailable");
        assert_eq!(reported.len(), unavailable.len(), "{file}: {reported:?}");
        for (message, id) in reported.iter().zip(&unavailable) {
            assert!(message.contains(&format!("'{id}'")), "{message}");
        }
        // Scored for all 31 provinces in every year.
        let scores = &result.scores;
        assert_eq!(scores.height(), 31 * 7, "{file}");
        assert_eq!(
            scores.column("score").unwrap().null_count(),
            0,
            "{file}: every region-year scored"
        );
    }
}

#[test]
fn framework_exclusions_leave_regions_out_and_are_recorded() {
    let (text, _) = framework_file("nqp-triad.toml");
    let excluded = format!(
        "exclude = [{{ region = \"CN-XZ\", reason = \"no power generation in the source\" }}]\n{text}"
    );
    let fw = Framework::from_toml(&excluded, "excluded.toml").unwrap();
    assert_eq!(fw.exclude.len(), 1);
    let result =
        nqp::service::compute_index(&default_panel(), &fw, &nqp::method::MethodSpec::default())
            .unwrap();
    let regions: std::collections::BTreeSet<&str> = result
        .scores
        .column("region")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .flatten()
        .collect();
    assert_eq!(regions.len(), 30);
    assert!(!regions.contains("CN-XZ"));
    assert_eq!(
        notices_with(&result, "region.excluded"),
        ["region CN-XZ excluded: no power generation in the source"]
    );
}

#[test]
fn availability_and_exclusion_errors_name_their_position() {
    let (text, _) = framework_file("wang-wang-2024.toml");
    let code_and_line = |text: &str| {
        let e = Framework::from_toml(text, "preset.toml").unwrap_err();
        (e.code(), e.position().and_then(|p| p.line))
    };
    let bad = text.replacen("availability = \"proxied\"", "availability = \"partly\"", 1);
    let line = bad.lines().position(|l| l.contains("\"partly\"")).unwrap() as u32 + 1;
    assert_eq!(
        code_and_line(&bad),
        ("framework.unknown_availability", Some(line))
    );
    let no_proxy = text.replacen("proxy = \"real GDP", "description = \"real GDP", 1);
    assert_eq!(code_and_line(&no_proxy).0, "framework.toml", "unknown key");
    let no_proxy = text.replacen("proxy = \"real GDP", "# proxy = \"real GDP", 1);
    assert_eq!(code_and_line(&no_proxy).0, "framework.missing_proxy");
    let no_reason = format!("exclude = [{{ region = \"CN-XZ\", reason = \" \" }}]\n{text}");
    assert_eq!(
        code_and_line(&no_reason),
        ("framework.bad_exclusion", Some(1))
    );
    let twice = format!(
        "exclude = [{{ region = \"CN-XZ\", reason = \"a\" }}, {{ region = \"CN-XZ\", reason = \"b\" }}]\n{text}"
    );
    assert_eq!(code_and_line(&twice).0, "framework.bad_exclusion");
}

/// `minimal.toml` plus formula indicators `ids[k]` = `formulas[k]` in the objects dimension.
fn minimal_with(formulas: &[(String, String)]) -> String {
    let mut text = fixture("minimal.toml");
    for (id, formula) in formulas {
        text.push_str(&format!(
            "\n[[indicator]]\nid = \"{id}\"\nname_en = \"{id}\"\ndimension = \"objects\"\ndirection = \"+\"\n\
             unit = \"1\"\nsource = \"test\"\nformula = \"{formula}\"\n"
        ));
    }
    text
}

#[test]
fn a_chain_of_formulas_that_each_use_the_previous_twice_stays_linear() {
    // c1 = gdp_pc + gdp_pc, c(k) = c(k−1) + c(k−1): inlining each formula into the next would
    // build an expression of 2^60 nodes; staged evaluation computes gdp_pc · 2^60 exactly.
    let mut chain = vec![("c1".to_string(), "gdp_pc + gdp_pc".to_string())];
    for k in 2..=60 {
        chain.push((format!("c{k}"), format!("c{} + c{}", k - 1, k - 1)));
    }
    let fw = Framework::from_toml(&minimal_with(&chain), "doubling.toml").unwrap();
    let wide = fw.derive(&panel(&tiny_rows())).unwrap();
    let expected: Vec<Option<f64>> = f64_col(&wide, "gdp_pc")
        .into_iter()
        .map(|v| v.map(|x| x * 2f64.powi(60)))
        .collect();
    assert_eq!(f64_col(&wide, "c60"), expected);
    assert_eq!(expected[1], Some(4.8 * 2f64.powi(60)));
}

#[test]
fn long_formula_chains_validate_and_compute_without_deep_recursion() {
    // Thousands of links: validation and staging walk the chain with heap stacks.
    let links = 1_000;
    let mut chain = vec![("d1".to_string(), "patents + 1".to_string())];
    for k in 2..=links {
        chain.push((format!("d{k}"), format!("d{} + 1", k - 1)));
    }
    let text = minimal_with(&chain);
    let fw = std::thread::Builder::new()
        .stack_size(128 * 1024)
        .spawn(move || Framework::from_toml(&text, "chain.toml"))
        .unwrap()
        .join()
        .expect("validation must not overflow a small stack")
        .unwrap();
    let wide = fw.derive(&panel(&tiny_rows())).unwrap();
    let expected: Vec<Option<f64>> = f64_col(&wide, "patents")
        .into_iter()
        .map(|v| v.map(|x| x + links as f64))
        .collect();
    assert_eq!(f64_col(&wide, &format!("d{links}")), expected);

    // Closing the chain into a cycle is found and named from its first link.
    let mut cycle = chain.clone();
    cycle[0].1 = format!("d{links} + 1");
    let text = minimal_with(&cycle);
    let err = std::thread::Builder::new()
        .stack_size(128 * 1024)
        .spawn(move || Framework::from_toml(&text, "cycle.toml"))
        .unwrap()
        .join()
        .expect("cycle search must not overflow a small stack")
        .unwrap_err();
    match err {
        FrameworkError::Cycle { cycle, .. } => {
            assert_eq!(cycle.len(), links + 1);
            assert_eq!(cycle.first(), cycle.last());
            assert_eq!(cycle[0], "d1");
            assert_eq!(cycle[1], format!("d{links}"));
        }
        other => panic!("unexpected {other:?}"),
    }
}
