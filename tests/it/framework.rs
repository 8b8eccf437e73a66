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
    assert!(fw.indicators.len() >= 12, "{}", fw.indicators.len());
    for dimension in Dimension::ALL {
        let n = fw.indicators_of(dimension).count();
        assert!(n >= 3, "{dimension}: {n}");
    }
    for def in &fw.indicators {
        assert!(def.level.is_some(), "{} has no level", def.id);
        assert!(def.subdimension.is_some(), "{} has no subdimension", def.id);
        assert!(def.publisher.is_some(), "{} has no publisher", def.id);
        assert!(def.weight.is_some(), "{} has no weight", def.id);
    }
    let ratios = fw.indicators.iter().filter(|d| d.formula.is_some()).count();
    assert!(ratios >= 12, "derived ratios: {ratios}");
    assert_eq!(fw.get("co2_intensity").unwrap().direction, Direction::Cost);
    assert!(
        fw.get("rd_intensity").unwrap().formula.is_none(),
        "taken as published"
    );
    for (alias, id) in [
        ("地区生产总值", "gdp"),
        ("年末常住人口", "population"),
        ("城镇单位就业人员", "urban_employment"),
    ] {
        assert_eq!(fw.canonical_id(alias).map(|i| i.as_str()), Some(id));
    }
    let total: f64 = fw.indicators.iter().filter_map(|d| d.weight).sum();
    assert!((total - 1.0).abs() < 1e-5, "{total}");
}

fn bundled_dataset_dir() -> PathBuf {
    manifest_dir().join("data/datasets/cn-provinces")
}

fn shared_data() -> PathBuf {
    manifest_dir().join("../shared/data")
}

#[test]
fn committed_panel_derives_for_31_regions_and_every_year() {
    let imported = nqp::importer::read_bundled(&bundled_dataset_dir()).expect("committed panel");
    let fw = bundled_framework();
    let wide = fw.derive(&imported.panel).expect("derive");
    let span = nqp::importer::BUNDLED_YEARS;
    let years = (span.end() - span.start() + 1) as usize;
    assert_eq!(wide.height(), 31 * years);
    let regions = wide.column("region").unwrap().n_unique().unwrap();
    assert_eq!(regions, 31);
    let got_years: Vec<i32> = wide
        .column("year")
        .unwrap()
        .i32()
        .unwrap()
        .iter()
        .flatten()
        .collect();
    assert!(got_years.iter().all(|y| span.contains(y)));
    for def in &fw.indicators {
        let values = f64_col(&wide, def.id.as_str());
        assert!(values.iter().flatten().all(|v| v.is_finite()), "{}", def.id);
    }
    // Spot check one ratio against the committed raw rows.
    let raw = |indicator: &str| -> f64 {
        let f = imported
            .panel
            .frame()
            .clone()
            .lazy()
            .filter(
                col("region")
                    .eq(lit("CN-BJ"))
                    .and(col("year").eq(lit(2022)))
                    .and(col("indicator").eq(lit(indicator))),
            )
            .collect()
            .unwrap();
        f.column("value").unwrap().f64().unwrap().get(0).unwrap()
    };
    let bj22 = wide
        .clone()
        .lazy()
        .filter(
            col("region")
                .eq(lit("CN-BJ"))
                .and(col("year").eq(lit(2022))),
        )
        .collect()
        .unwrap();
    assert_eq!(
        f64_col(&bj22, "rd_fte_per_10k"),
        [Some(raw("rd_fte") / raw("population"))]
    );
    assert_eq!(
        f64_col(&bj22, "basic_research_share"),
        [Some(raw("rd_basic") / raw("rd_expenditure") * 100.0)]
    );
    // CO₂ ends in 2019 and has no Tibet: nulls, never an error.
    let co2 = f64_col(&wide, "co2_intensity");
    assert_eq!(co2.iter().flatten().count(), 30 * 4);
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
    use nqp::importer;
    let shared = assert_shared_data_present();
    let imported = importer::import_bundled(&shared).expect("import");
    let panel = &imported.panel;
    assert_eq!(panel.regions().unwrap().len(), 31);
    assert_eq!(
        panel.indicators().unwrap(),
        importer::SERIES_IDS
            .iter()
            .copied()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
    );
    let span = importer::BUNDLED_YEARS;
    assert_eq!(panel.years().unwrap(), span.clone().collect::<Vec<_>>());
    // Spot values, checked by hand against the raw files.
    assert_eq!(value_of(panel, "CN-BJ", 2022, "gdp"), Some(45222.4)); // nbs_fsnd_gdp.csv
    assert_eq!(value_of(panel, "CN-BJ", 2022, "population"), Some(2184.0));
    assert_eq!(
        value_of(panel, "CN-TJ", 2022, "urban_employment"),
        Some(243.3)
    );
    assert_eq!(value_of(panel, "CN-XZ", 2022, "rd_fte"), Some(1871.0)); // techme_RDLaborHour
    assert_eq!(
        value_of(panel, "CN-XZ", 2022, "rd_basic"),
        Some(29967.0 / 10000.0)
    ); // 万元 → 亿元
    assert_eq!(
        value_of(panel, "CN-XZ", 2016, "tech_market_seller"),
        None,
        "NA in the raw file"
    );
    assert_eq!(
        value_of(panel, "CN-XZ", 2019, "tech_market_seller"),
        Some(9577.0 / 10000.0)
    );
    assert_eq!(value_of(panel, "CN-XZ", 2020, "budget_st"), Some(8.99));
    assert_eq!(
        value_of(panel, "CN-XZ", 2017, "hitech_revenue"),
        None,
        "no 2017 edition"
    );
    assert_eq!(
        value_of(panel, "CN-XZ", 2019, "co2"),
        None,
        "CEADs has no Tibet"
    );
    assert_eq!(
        imported.units.get("rd_expenditure").map(String::as_str),
        Some("亿元")
    );
    assert_eq!(imported.units.get("co2").map(String::as_str), Some("万吨"));

    // Years outside the bundled span, as in the brief: RD intensity of Beijing in 2023
    // (techme_RDIntense) and Beijing's 2024 GDP (nbs_fsnd_gdp.csv).
    let wide = importer::import_years(&shared, 2015..=2024).expect("import 2015–2024");
    assert_eq!(value_of(&wide.panel, "CN-BJ", 2024, "gdp"), Some(49670.2));
    let raw = std::fs::read_to_string(shared.join("cn-st-yearbook/techme_RDIntense.csv")).unwrap();
    let bj_2023: f64 = raw
        .lines()
        .find(|l| l.starts_with("北京,2023,") && l.ends_with(",v4_ztr_qd_RD"))
        .and_then(|l| l.split(',').nth(3))
        .and_then(|v| v.parse().ok())
        .expect("北京 2023 RD强度 in the raw file");
    assert_eq!(
        value_of(&wide.panel, "CN-BJ", 2023, "rd_intensity"),
        Some(bj_2023)
    );
    assert_eq!(
        value_of(&wide.panel, "CN-BJ", 2023, "rd_intensity"),
        Some(6.73)
    );
}

#[test]
#[ignore = "needs ../shared/data"]
fn importer_output_is_deterministic_and_equals_the_committed_dataset() {
    use nqp::importer;
    let shared = assert_shared_data_present();
    let first = tempfile::tempdir().unwrap();
    let second = tempfile::tempdir().unwrap();
    importer::write_bundled(&importer::import_bundled(&shared).unwrap(), first.path()).unwrap();
    importer::write_bundled(&importer::import_bundled(&shared).unwrap(), second.path()).unwrap();
    let read = |dir: &Path, name: &str| std::fs::read(dir.join(name)).unwrap();
    for name in ["panel.csv", "manifest.json"] {
        assert_eq!(
            read(first.path(), name),
            read(second.path(), name),
            "{name} differs between runs"
        );
    }
    assert_eq!(
        String::from_utf8(read(first.path(), "panel.csv")).unwrap(),
        String::from_utf8(read(&bundled_dataset_dir(), "panel.csv")).unwrap(),
        "the committed panel.csv is not what the importer produces"
    );
    assert_eq!(
        String::from_utf8(read(first.path(), "manifest.json")).unwrap(),
        String::from_utf8(read(&bundled_dataset_dir(), "manifest.json")).unwrap(),
        "the committed manifest.json is not what the importer produces"
    );
}

/// Writes the committed dataset: `NQP_REGENERATE=1 cargo test --test it regenerate_bundled_dataset -- --ignored`.
#[test]
#[ignore = "needs ../shared/data"]
fn regenerate_bundled_dataset() {
    use nqp::importer;
    let shared = assert_shared_data_present();
    let imported = importer::import_bundled(&shared).unwrap();
    if std::env::var("NQP_REGENERATE").as_deref() == Ok("1") {
        importer::write_bundled(&imported, &bundled_dataset_dir()).unwrap();
    }
    assert_eq!(imported.panel.regions().unwrap().len(), 31);
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
    assert_eq!(fte.subdimension_label(Lang::Zh), Some("研发人员"));
    assert_eq!(fte.subdimension_label(Lang::En), Some("R&D workforce"));
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
