//! Tables for papers, citation and replication pack (`service::publish`, `nqp export`): the
//! DOCX is a valid package whose tables have exactly the three rules of a three-line table,
//! the LaTeX is balanced booktabs without vertical rules, every printed number is the computed
//! one, and the replication pack's own script reproduces its checksums with the built binary.

use std::io::Read;

use nqp::service::analysis::{AnalysisView, analysis_view};
use nqp::service::bundled;
use nqp::service::dashboard::{Dataset, ResultTables};
use nqp::service::publish::latex::{LatexOptions, escape};
use nqp::service::publish::{
    Cell, Precision, PubFile, PubTable, Source, TableId, build_all, docx, latex, render_file,
};
use nqp::types::Lang;
use quick_xml::events::Event;

use crate::cli::{bundled_args, nqp_exits_2, nqp_ok};
use crate::helpers::{TestApp, web_dataset};

struct Computed {
    ds: Dataset,
    tables: ResultTables,
    analysis: AnalysisView,
    robustness: nqp::analysis::robustness::Robustness,
}

impl Computed {
    fn new(ds: Dataset) -> Computed {
        let tables = nqp::service::compute_tables(&ds, &Default::default()).unwrap();
        let analysis = analysis_view(&ds, &tables).unwrap();
        let robustness = nqp::service::robustness::robustness(
            &ds.panel,
            &ds.framework,
            &Default::default(),
            &Default::default(),
        )
        .unwrap();
        Computed {
            ds,
            tables,
            analysis,
            robustness,
        }
    }

    fn source(&self, lang: Lang) -> Source<'_> {
        Source {
            dataset: &self.ds,
            tables: &self.tables,
            analysis: &self.analysis,
            robustness: Some(&self.robustness),
            lang,
            precision: Precision::default(),
            year: None,
        }
    }
}

fn table(all: &[PubTable], id: TableId) -> &PubTable {
    all.iter().find(|t| t.id == id).expect("table built")
}

fn num(text: &str) -> Option<f64> {
    text.trim_matches(['{', '}']).parse().ok()
}

/// The index table prints every computed score (3 decimals) and the last year's rank, in rank
/// order, with a mean row; the indicator table prints every weight (4 decimals).
#[test]
fn tables_print_the_computed_numbers() {
    let c = Computed::new(web_dataset());
    let all = build_all(&c.source(Lang::En));
    let ids: Vec<TableId> = all.iter().map(|t| t.id).collect();
    assert_eq!(ids, TableId::ALL, "every table is built for the fixture");
    assert_eq!(
        all.iter().map(|t| t.number).collect::<Vec<_>>(),
        (1..=all.len()).collect::<Vec<_>>()
    );

    let index = table(&all, TableId::Index);
    let regions = c.tables.regions();
    let years = &c.tables.years;
    let last = *years.last().unwrap();
    assert_eq!(
        index.body.len(),
        regions.len() + 1,
        "regions and the mean row"
    );
    assert_eq!(index.header.len(), years.len() + 2);
    let mut previous_rank = 0;
    for row in &index.body[..regions.len()] {
        let Cell::Text(name) = &row[0] else { panic!() };
        let code = regions
            .iter()
            .find(|r| &c.ds.region_name(r, Lang::En) == name)
            .expect("a region row");
        for (k, &y) in years.iter().enumerate() {
            let want = c.tables.score(code, y).and_then(|s| s.scores.score);
            match (num(&row[k + 1].text()), want) {
                (Some(got), Some(want)) => assert!((got - want).abs() <= 0.0005, "{code} {y}"),
                (None, None) => assert_eq!(row[k + 1].text(), "—"),
                other => panic!("{code} {y}: {other:?}"),
            }
        }
        let rank = c.tables.score(code, last).and_then(|s| s.rank);
        if let Some(rank) = rank {
            assert_eq!(row[years.len() + 1].text(), rank.to_string());
            assert!(rank >= previous_rank, "rows in rank order");
            previous_rank = rank;
        }
    }
    let mean_row = index.body.last().unwrap();
    assert_eq!(mean_row[0].text(), "Mean");
    for (k, &y) in years.iter().enumerate() {
        let scores: Vec<f64> = c
            .tables
            .scores
            .iter()
            .filter(|s| s.year == y)
            .filter_map(|s| s.scores.score)
            .collect();
        let mean = scores.iter().sum::<f64>() / scores.len() as f64;
        assert!((num(&mean_row[k + 1].text()).unwrap() - mean).abs() <= 0.0005);
    }

    let indicators = table(&all, TableId::Indicators);
    assert_eq!(indicators.body.len(), c.ds.framework.indicators.len());
    for (row, def) in indicators.body.iter().zip(&c.ds.framework.indicators) {
        assert_eq!(row[2].text(), def.name_en);
        let w = c.tables.weight(def.id.as_str()).unwrap();
        let printed = row[5].text();
        assert_eq!(printed.split('.').nth(1).unwrap().len(), 4, "{printed}");
        assert!((num(&printed).unwrap() - w).abs() <= 0.00005);
    }

    let dagum = table(&all, TableId::Dagum);
    let rows: Vec<_> = c
        .analysis
        .results
        .dagum
        .iter()
        .filter(|d| d.measure == "score")
        .collect();
    assert_eq!(dagum.body.len(), rows.len());
    for (row, d) in dagum.body.iter().zip(rows) {
        assert_eq!(row[0].text(), d.year.to_string());
        assert!((num(&row[1].text()).unwrap() - d.total).abs() <= 0.0005);
        let shares: f64 = (5..8).map(|k| num(&row[k].text()).unwrap()).sum();
        assert!(
            (shares - 100.0).abs() < 0.02,
            "contribution rates sum to 100%"
        );
    }
    let moran = table(&all, TableId::Moran);
    assert_eq!(moran.body.len(), years.len());

    let robustness = table(&all, TableId::Robustness);
    let comparison: Vec<_> = c
        .robustness
        .comparison
        .iter()
        .filter(|r| r.year == last)
        .collect();
    assert!(!comparison.is_empty());
    assert_eq!(robustness.body.len(), comparison.len());
    for (row, r) in robustness.body.iter().zip(comparison) {
        assert_eq!(row[0].text(), r.method);
        match (num(&row[1].text()), r.spearman) {
            (Some(got), Some(want)) => assert!((got - want).abs() <= 0.0005),
            (None, None) => {}
            other => panic!("{}: {other:?}", r.method),
        }
        assert_eq!(row[4].text(), r.max_rank_shift.to_string());
    }

    let descriptive = table(&all, TableId::Descriptive);
    let score_row = &descriptive.body[0];
    let n = c
        .tables
        .scores
        .iter()
        .filter(|s| s.scores.score.is_some())
        .count();
    assert_eq!(score_row[2].text(), n.to_string());
}

/// Every `\begin{x}` closed by an `\end{x}` in nesting order.
fn environments_balanced(tex: &str) -> bool {
    let name = |rest: &str| rest.split('}').next().unwrap_or("").to_owned();
    let mut marks: Vec<(usize, bool, String)> = tex
        .match_indices("\\begin{")
        .map(|(i, m)| (i, true, name(&tex[i + m.len()..])))
        .chain(
            tex.match_indices("\\end{")
                .map(|(i, m)| (i, false, name(&tex[i + m.len()..]))),
        )
        .collect();
    marks.sort();
    let mut stack = Vec::new();
    for (_, begin, env) in marks {
        if begin {
            stack.push(env);
        } else if stack.pop() != Some(env) {
            return false;
        }
    }
    stack.is_empty()
}

/// LaTeX: balanced environments, the three booktabs rules in order, one row per body row, no
/// vertical rule in the column spec, numbers in `S` columns.
#[test]
fn latex_tables_are_booktabs_three_line_tables() {
    let c = Computed::new(web_dataset());
    for lang in [Lang::Zh, Lang::En] {
        let all = build_all(&c.source(lang));
        let doc = latex::document(&all, lang, LatexOptions::default());
        assert!(environments_balanced(&doc), "{doc}");
        assert!(doc.contains("\\usepackage{booktabs}"));
        for t in &all {
            let tex = latex::table(t, LatexOptions::default());
            assert!(environments_balanced(&tex));
            let spec_start = tex.find("\\begin{tabular}{").unwrap() + "\\begin{tabular}{".len();
            let spec_line = tex[spec_start..].lines().next().unwrap();
            assert!(!spec_line.contains('|'), "no vertical rules: {spec_line}");
            let rules: Vec<&str> = tex.lines().filter(|l| l.ends_with("rule")).collect();
            assert_eq!(rules, ["\\toprule", "\\midrule", "\\bottomrule"], "{tex}");
            let top = tex.find("\\midrule").unwrap();
            let bottom = tex.find("\\bottomrule").unwrap();
            let rows: Vec<&str> = tex[top..bottom].lines().skip(1).collect();
            assert_eq!(rows.len(), t.body.len(), "{tex}");
            for (line, row) in rows.iter().zip(&t.body) {
                assert!(line.ends_with(" \\\\"));
                assert_eq!(line.matches(" & ").count(), row.len() - 1, "{line}");
            }
            assert!(tex.contains(&format!("\\caption{{{}}}", escape(&t.caption))));
            assert!(tex.contains("nqp "), "the source note names nqp");
            if t.id == TableId::Index {
                assert!(spec_line.starts_with("lS[table-format="), "{spec_line}");
            }
        }
        let plain = latex::table(&all[1], LatexOptions { siunitx: false });
        assert!(!plain.contains("S[") && plain.contains("{lr"));
    }
}

#[test]
fn latex_escapes_special_characters_in_names() {
    assert_eq!(
        escape("R&D 50% a_b #1 {x} ~^\\"),
        "R\\&D 50\\% a\\_b \\#1 \\{x\\} \\textasciitilde{}\\textasciicircum{}\\textbackslash{}"
    );
    let t = PubTable {
        id: TableId::Indicators,
        number: 1,
        lang: Lang::En,
        caption: "R&D_spend #2".into(),
        header: vec!["Indicator".into(), "Weight".into()],
        body: vec![vec![
            Cell::Text("R&D 5% _x".into()),
            Cell::Num(Some(0.25), 4),
        ]],
        note: "Source: A & B".into(),
    };
    let tex = latex::table(&t, LatexOptions::default());
    assert!(tex.contains("\\caption{R\\&D\\_spend \\#2}"));
    assert!(tex.contains("R\\&D 5\\% \\_x & 0.2500 \\\\"));
    assert!(tex.contains("Source: A \\& B"));
    assert!(tex.contains("{lS[table-format=1.4]}"));
}

/// One table of `word/document.xml`: the table-level borders and, per row and cell, the text
/// and the cell's borders (side, `w:val`).
#[derive(Default)]
struct XmlTable {
    table_borders: Vec<(String, String)>,
    rows: Vec<Vec<XmlCell>>,
}

/// A cell's text and its borders (side, `w:val`).
type XmlCell = (String, Vec<(String, String)>);

fn docx_tables(bytes: &[u8]) -> Vec<XmlTable> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip package");
    for part in ["[Content_Types].xml", "_rels/.rels", "word/document.xml"] {
        assert!(zip.by_name(part).is_ok(), "package part {part}");
    }
    let mut xml = String::new();
    zip.by_name("word/document.xml")
        .unwrap()
        .read_to_string(&mut xml)
        .unwrap();
    let mut reader = quick_xml::Reader::from_str(&xml);
    let mut tables: Vec<XmlTable> = Vec::new();
    let (mut in_tbl_borders, mut in_tc_borders, mut in_text) = (false, false, false);
    let mut in_tbl = false;
    loop {
        let event = reader.read_event().expect("well-formed document.xml");
        match &event {
            Event::Eof => break,
            Event::Start(e) | Event::Empty(e) => {
                let name = e.name().as_ref().to_owned();
                let val = e
                    .attributes()
                    .flatten()
                    .find(|a| a.key.as_ref() == "w:val")
                    .map(|a| a.value.to_string())
                    .unwrap_or_default();
                let empty = matches!(event, Event::Empty(_));
                match name.as_str() {
                    "w:tbl" => {
                        in_tbl = true;
                        tables.push(XmlTable::default());
                    }
                    "w:tr" => tables.last_mut().unwrap().rows.push(Vec::new()),
                    "w:tc" => tables
                        .last_mut()
                        .unwrap()
                        .rows
                        .last_mut()
                        .unwrap()
                        .push((String::new(), Vec::new())),
                    "w:tblBorders" => in_tbl_borders = !empty,
                    "w:tcBorders" => in_tc_borders = !empty,
                    "w:t" => in_text = !empty,
                    side if in_tbl_borders => tables
                        .last_mut()
                        .unwrap()
                        .table_borders
                        .push((side.to_owned(), val)),
                    side if in_tc_borders => {
                        let row = tables.last_mut().unwrap().rows.last_mut().unwrap();
                        row.last_mut().unwrap().1.push((side.to_owned(), val));
                    }
                    _ => {}
                }
            }
            Event::End(e) => match e.name().as_ref() {
                "w:tblBorders" => in_tbl_borders = false,
                "w:tcBorders" => in_tc_borders = false,
                "w:t" => in_text = false,
                "w:tbl" => in_tbl = false,
                _ => {}
            },
            Event::Text(_) | Event::GeneralRef(_) if in_text && in_tbl => {
                let text = match &event {
                    Event::Text(t) => t.clone().into_inner().into_owned(),
                    Event::GeneralRef(r) => match r.clone().into_inner().as_ref() {
                        "amp" => "&".to_owned(),
                        "lt" => "<".to_owned(),
                        "gt" => ">".to_owned(),
                        "quot" => "\"".to_owned(),
                        "apos" => "'".to_owned(),
                        other => panic!("entity {other}"),
                    },
                    _ => unreachable!(),
                };
                if let Some(table) = tables.last_mut()
                    && let Some(row) = table.rows.last_mut()
                    && let Some(cell) = row.last_mut()
                {
                    cell.0.push_str(&text);
                }
            }
            _ => {}
        }
    }
    tables
}

fn drawn(borders: &[(String, String)]) -> Vec<&str> {
    let mut sides: Vec<&str> = borders
        .iter()
        .filter(|(_, val)| !matches!(val.as_str(), "nil" | "none"))
        .map(|(side, _)| side.as_str())
        .collect();
    sides.sort_unstable();
    sides
}

/// DOCX: a valid package; per table the expected rows and cell texts, and exactly three
/// horizontal rules (top and bottom of the header row, bottom of the last row), no vertical
/// rule, no table-level border.
#[test]
fn docx_tables_have_exactly_three_rules() {
    let c = Computed::new(web_dataset());
    let all = build_all(&c.source(Lang::Zh));
    let xml = docx_tables(&docx::document(&all).unwrap());
    assert_eq!(xml.len(), all.len());
    for (t, x) in all.iter().zip(&xml) {
        assert!(
            drawn(&x.table_borders).is_empty(),
            "table {}: {:?}",
            t.number,
            x.table_borders
        );
        assert_eq!(x.rows.len(), t.body.len() + 1, "table {}", t.number);
        let header: Vec<&str> = x.rows[0].iter().map(|c| c.0.as_str()).collect();
        assert_eq!(
            header,
            t.header.iter().map(String::as_str).collect::<Vec<_>>()
        );
        for (k, (row, body)) in x.rows[1..].iter().zip(&t.body).enumerate() {
            let texts: Vec<String> = row.iter().map(|c| c.0.clone()).collect();
            let want: Vec<String> = body.iter().map(Cell::text).collect();
            assert_eq!(texts, want, "table {} row {k}", t.number);
        }
        let last = x.rows.len() - 1;
        for (r, row) in x.rows.iter().enumerate() {
            for cell in row {
                let want: &[&str] = match r {
                    0 => &["w:bottom", "w:top"],
                    _ if r == last => &["w:bottom"],
                    _ => &[],
                };
                assert_eq!(drawn(&cell.1), want, "table {} row {r}", t.number);
            }
        }
    }
}

/// The replication pack: unpacked, its `replicate.sh` reruns `nqp compute` and `nqp analyse`
/// with the test's binary and every checksum matches; its scores are the dashboard's.
#[test]
fn replication_pack_reproduces_its_checksums() {
    let c = Computed::new(bundled::dataset().unwrap());
    let src = c.source(Lang::Zh);
    let (name, zip_bytes) = render_file(
        &src,
        &Default::default(),
        PubFile::Replication,
        LatexOptions::default(),
    )
    .unwrap();
    assert!(name.ends_with("-replication.zip"), "{name}");
    let dir = tempfile::tempdir().unwrap();
    zip::ZipArchive::new(std::io::Cursor::new(&zip_bytes))
        .unwrap()
        .extract(dir.path())
        .unwrap();
    let root = dir
        .path()
        .join(nqp::service::publish::replication::folder(&c.ds));
    for file in [
        "dataset.json",
        "method.json",
        "data/panel.csv",
        "data/framework.toml",
        "data/regions.csv",
        "data/groups.csv",
        "expected/scores.csv",
        "expected/analysis/moran.csv",
        "expected/tables.tex",
        "expected/tables.docx",
        "SHA256SUMS",
    ] {
        assert!(root.join(file).is_file(), "{file}");
    }
    let sums = std::fs::read_to_string(root.join("SHA256SUMS")).unwrap();
    assert!(sums.lines().count() >= 10, "{sums}");
    let run = std::process::Command::new("bash")
        .arg(root.join("replicate.sh"))
        .env("NQP", env!("CARGO_BIN_EXE_nqp"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(
        stdout.lines().filter(|l| l.ends_with(": OK")).count(),
        sums.lines().count(),
        "{stdout}"
    );
    // The rerun's outputs are the pack's expected files, and their scores the dashboard's.
    let expected = std::fs::read_to_string(root.join("expected/scores.csv")).unwrap();
    assert_eq!(
        std::fs::read_to_string(root.join("out/scores.csv")).unwrap(),
        expected
    );
    let mut lines = expected.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let (ri, yi, si) = (
        header.iter().position(|h| *h == "region").unwrap(),
        header.iter().position(|h| *h == "year").unwrap(),
        header.iter().position(|h| *h == "score").unwrap(),
    );
    let mut compared = 0;
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        let want = c
            .tables
            .score(f[ri], f[yi].parse().unwrap())
            .and_then(|s| s.scores.score);
        assert_eq!(f[si].parse::<f64>().ok(), want, "{line}");
        compared += 1;
    }
    assert_eq!(compared, c.tables.scores.len());
    // Equal content, equal pack.
    let again = render_file(
        &src,
        &Default::default(),
        PubFile::Replication,
        LatexOptions::default(),
    )
    .unwrap()
    .1;
    assert_eq!(again, zip_bytes);
}

/// `nqp export` writes the tables of the same service call; bad options are refused clearly.
#[test]
fn export_writes_tables_and_refuses_bad_options() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let run = nqp_ok(&bundled_args(
        "export",
        &[
            "--tables",
            "docx,latex",
            "--lang",
            "en",
            "--replication",
            "--out-dir",
            out,
        ],
    ));
    let printed = String::from_utf8_lossy(&run.stdout).into_owned();
    let files: Vec<&str> = printed.lines().collect();
    assert_eq!(files.len(), 4, "{printed}");
    for suffix in ["tables.docx", "tables.tex", "cite.bib", "replication.zip"] {
        assert!(
            files.iter().any(|f| f.ends_with(suffix)),
            "{suffix}: {printed}"
        );
    }
    let tex_path = files.iter().find(|f| f.ends_with(".tex")).unwrap();
    let tex = std::fs::read_to_string(tex_path).unwrap();
    assert!(
        tex.contains("\\caption{Indicator system of the"),
        "English captions: {tex}"
    );
    let docx_path = files.iter().find(|f| f.ends_with(".docx")).unwrap();
    assert_eq!(docx_tables(&std::fs::read(docx_path).unwrap()).len(), 7);
    let refused = |option: &str, value: &str, needle: &str| {
        nqp_exits_2(
            &bundled_args("export", &[option, value, "--out-dir", out]),
            needle,
        )
    };
    refused("--approval", "GS(2024)0650号", "--basemap");
    refused(
        "--basemap",
        "tests/fixtures/basemap/squares.geojson",
        "add --figures",
    );
    refused("--precision", "12", "at most 8 decimals");
}

/// `/publish`: the form keeps the choices, every download link answers with its file (the DOCX
/// a valid package with the tables of the chosen year), every page carries the Cite box, and
/// bad parameters are 400s naming the parameter.
#[tokio::test(flavor = "multi_thread")]
async fn publish_page_links_the_files_and_every_page_cites() {
    let app = TestApp::new();
    let res = app
        .get("/publish?lang=en&year=2021&precision=2&normalise=minmax-year")
        .await;
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(
        res.select_attrs("select[name=year] option[selected]", "value"),
        ["2021"]
    );
    assert_eq!(
        res.select_attrs("select[name=normalise] option[selected]", "value"),
        ["minmax-year"]
    );
    let captions = res.select_texts("#publish-captions li");
    assert_eq!(captions.len(), 7, "{captions:?}");
    assert!(
        captions
            .iter()
            .any(|c| c.contains("Overall and dimension scores, 2021")),
        "{captions:?}"
    );
    let links = res.select_attrs("#publish-downloads a", "href");
    assert_eq!(links.len(), 4, "{links:?}");
    for link in &links {
        assert!(
            link.contains("year=2021")
                && link.contains("precision=2")
                && link.contains("normalise=minmax-year"),
            "{link}"
        );
        let file = app.get(link).await;
        assert_eq!(file.status, 200, "{link}: {}", file.body);
        assert!(
            file.header("content-disposition").starts_with("attachment"),
            "{link}"
        );
    }
    let docx_link = links.iter().find(|l| l.contains("tables.docx")).unwrap();
    let docx = app.get(docx_link).await;
    assert_eq!(docx.header("content-type"), PubFile::Docx.content_type());
    let tables = docx_tables(&docx.bytes);
    assert_eq!(tables.len(), 7);
    // Table 3 (dimension scores of 2021) prints scores with the chosen 2 decimals.
    let c = Computed::new(web_dataset());
    let first = &tables[2].rows[1];
    let region = c
        .tables
        .regions()
        .into_iter()
        .find(|r| c.ds.region_name(r, Lang::En) == first[0].0)
        .unwrap();
    let spec = nqp::method::MethodSpec {
        normalise: nqp::method::Normalise::MinmaxYear,
        ..Default::default()
    };
    let year_tables = nqp::service::compute_tables(&c.ds, &spec).unwrap();
    let want = year_tables
        .score(&region, 2021)
        .unwrap()
        .scores
        .score
        .unwrap();
    assert_eq!(first[1].0, format!("{want:.2}"));
    assert_eq!(year_tables.score(&region, 2021).unwrap().rank, Some(1));

    for page in ["/?lang=zh", "/methodology?lang=en", "/publish"] {
        let res = app.get(page).await;
        assert_eq!(res.count("footer details.cite"), 1, "{page}");
        let gbt = res.select_texts("footer .cite-gbt").join("");
        assert!(
            gbt.contains("[CP/OL]") && gbt.contains(&c.ds.version),
            "{page}: {gbt}"
        );
        assert!(
            res.select_texts("footer .cite-bibtex")
                .join("")
                .contains("@software{")
        );
        assert!(
            !res.select_texts("footer .cite-publishers li").is_empty(),
            "{page}"
        );
    }

    let missing_year = app.get("/publish?lang=en&year=1999").await;
    assert_eq!(missing_year.status, 404, "{}", missing_year.body);
    assert!(missing_year.body.contains("1999"));
    for (query, parameter) in [("precision=99", "precision"), ("columns=fancy", "columns")] {
        let res = app.get(&format!("/publish?lang=en&{query}")).await;
        assert_eq!(res.status, 400, "{query}: {}", res.body);
        assert!(res.body.contains(parameter), "{query}: {}", res.body);
    }
    assert_eq!(app.get("/publish/tables.pdf").await.status, 404);
}
