//! Integration tests: analysis. Reference values come from PySAL esda / inequality and numpy
//! (tests/fixtures/analysis/make_reference.py → reference.json); the report is checked end to
//! end on the 31 provinces (bundled grouping and contiguity) and on a non-China region set.

use std::collections::HashMap;
use std::path::Path;

use nqp::analysis::dynamics::{KERNEL_POINTS, beta_convergence, kernel_density, markov};
use nqp::analysis::inequality::{cv, dagum, theil};
use nqp::analysis::report::{Inputs, ReportOptions, write_all};
use nqp::analysis::spatial::{SpatialWeights, local_moran, moran};
use nqp::analysis::{Adjacency, GroupMap};
use polars::prelude::*;
use serde_json::Value;

const TOL: f64 = 1e-9;

fn reference() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/analysis/reference.json");
    let text = std::fs::read_to_string(&path).expect("reference.json is committed");
    serde_json::from_str(&text).expect("valid JSON")
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_str().expect("string").to_owned())
        .collect()
}

fn close(got: f64, want: &Value, what: &str) {
    let want = want
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: not a number"));
    assert!(
        (got - want).abs() <= TOL * want.abs().max(1.0),
        "{what}: got {got}, want {want}"
    );
}

#[test]
fn moran_and_lisa_match_esda() {
    let r = reference();
    for case in r["moran"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let y = floats(&case["values"]);
        let nb: Vec<Vec<usize>> = case["neighbors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| floats(l).iter().map(|x| *x as usize).collect())
            .collect();
        let w = SpatialWeights::from_neighbor_lists(nb.clone());
        let m = moran(&y, &w, 999, 7).unwrap();
        close(m.i, &case["i"], &format!("{name} I"));
        close(m.expected_i, &case["expected_i"], &format!("{name} E[I]"));
        close(
            m.variance_norm,
            &case["variance_norm"],
            &format!("{name} Var"),
        );
        close(m.z_norm, &case["z_norm"], &format!("{name} z"));
        close(m.p_norm, &case["p_norm"], &format!("{name} p"));
        let p = m.p_perm.unwrap();
        assert!((0.001..=0.5).contains(&p), "{name}: p_perm {p}");
        // Monte-Carlo agreement with PySAL's own permutation p (different generator): loose.
        let pysal = case["p_sim_pysal"].as_f64().unwrap();
        assert!(
            (p - pysal).abs() < 0.06,
            "{name}: p_perm {p} vs esda {pysal}"
        );
        assert_eq!(moran(&y, &w, 999, 7).unwrap().p_perm, Some(p), "seeded");

        let local = local_moran(&y, &w, 999, 7).unwrap();
        let want_i = floats(&case["local_i"]);
        let want_q = strings(&case["quadrant"]);
        for (k, l) in local.iter().enumerate() {
            close(l.local_i, &Value::from(want_i[k]), &format!("{name} I_{k}"));
            assert_eq!(l.quadrant.as_str(), want_q[k], "{name} quadrant {k}");
            match l.p_perm {
                Some(p) => assert!((0.001..=0.5).contains(&p), "{name} p_{k} {p}"),
                None => assert!(nb[k].is_empty(), "{name}: only islands lack p"),
            }
        }
        assert_eq!(local, local_moran(&y, &w, 999, 7).unwrap(), "seeded");
    }
}

#[test]
fn china_lisa_uses_the_bundled_contiguity_like_esda() {
    let r = reference();
    let case = &r["moran"][2];
    let codes = strings(&r["china_codes"]);
    let adj = nqp::analysis::china::province_adjacency().unwrap();
    let w = SpatialWeights::from_adjacency(&codes, &adj);
    let m = moran(&floats(&case["values"]), &w, 0, 1).unwrap();
    close(m.i, &case["i"], "china I via adjacency");
}

#[test]
fn dagum_matches_the_definitions_and_sums_to_the_total() {
    let r = reference();
    for case in r["dagum"].as_array().unwrap() {
        let d = dagum(&floats(&case["values"]), &strings(&case["groups"])).unwrap();
        close(d.total, &case["total"], "G");
        close(d.total, &case["gini_pysal"], "G vs inequality.Gini");
        close(d.within, &case["within"], "G_w");
        close(d.between, &case["between"], "G_nb");
        close(d.transvariation, &case["transvariation"], "G_t");
        assert!((d.within + d.between + d.transvariation - d.total).abs() < 1e-12);
        let order: Vec<String> = d.groups.iter().map(|g| g.group.clone()).collect();
        assert_eq!(order, strings(&case["group_order"]));
        let want: HashMap<(String, String), &Value> = case["pairs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let key = (
                    p["group_a"].as_str().unwrap().to_owned(),
                    p["group_b"].as_str().unwrap().to_owned(),
                );
                (key, p)
            })
            .collect();
        assert_eq!(d.pairs.len(), want.len());
        for p in &d.pairs {
            let w = want[&(p.group_a.clone(), p.group_b.clone())];
            close(
                p.gini,
                &w["gini"],
                &format!("G[{},{}]", p.group_a, p.group_b),
            );
            if let Some(djh) = p.d_jh {
                close(djh, &w["d_jh"], "D_jh");
            }
        }
    }
}

#[test]
fn theil_and_cv_match_pysal_and_numpy() {
    let r = reference();
    for case in r["theil"].as_array().unwrap() {
        let t = theil(&floats(&case["values"]), &strings(&case["groups"])).unwrap();
        close(t.total, &case["total"], "T");
        close(t.within, &case["within"], "T_w");
        close(t.between, &case["between"], "T_b");
    }
    close(
        cv(&floats(&r["cv"]["values"])).unwrap(),
        &r["cv"]["cv"],
        "CV",
    );
}

#[test]
fn kernel_beta_and_markov_match_numpy() {
    let r = reference();
    let k = kernel_density(&floats(&r["kernel"]["values"]), KERNEL_POINTS).unwrap();
    close(k.bandwidth, &r["kernel"]["bandwidth"], "h");
    let (xs, ds) = (floats(&r["kernel"]["x"]), floats(&r["kernel"]["density"]));
    assert_eq!(k.x.len(), xs.len());
    for i in 0..xs.len() {
        close(k.x[i], &Value::from(xs[i]), "kernel x");
        close(k.density[i], &Value::from(ds[i]), "kernel density");
    }

    let b = &r["beta"];
    let pairs: Vec<_> = floats(&b["initial"])
        .into_iter()
        .zip(floats(&b["last"]))
        .map(|(a, z)| (Some(a), Some(z)))
        .collect();
    let got = beta_convergence(&pairs, b["span"].as_f64().unwrap());
    close(got.alpha.unwrap(), &b["alpha"], "alpha");
    close(got.beta.unwrap(), &b["beta"], "beta");
    close(got.se_beta.unwrap(), &b["se_beta"], "se");
    close(got.t_beta.unwrap(), &b["t_beta"], "t");
    close(got.r2.unwrap(), &b["r2"], "r2");
    assert_eq!(got.n as u64, b["n"].as_u64().unwrap());

    let matrix: Vec<Vec<Option<f64>>> = r["markov"]["matrix"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row.as_array().unwrap().iter().map(Value::as_f64).collect())
        .collect();
    let m = markov(&matrix).unwrap();
    for (got, want) in m.bounds.iter().zip(floats(&r["markov"]["bounds"])) {
        close(*got, &Value::from(want), "markov bound");
    }
    let want: Vec<Vec<u64>> = r["markov"]["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            row.as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_u64().unwrap())
                .collect()
        })
        .collect();
    for (from, row) in want.iter().enumerate() {
        assert_eq!(m.counts[from].to_vec(), *row, "markov row {from}");
    }
}

/// 31 provinces × 3 years; 2020's score is the reference cross-section.
fn china_scores(r: &Value) -> DataFrame {
    let codes = strings(&r["china_codes"]);
    let base = floats(&r["moran"][2]["values"]);
    let (mut region, mut year, mut score) = (Vec::new(), Vec::new(), Vec::new());
    let (mut lab, mut tools, mut objects) = (Vec::new(), Vec::new(), Vec::new());
    for (y, growth) in [(2020i32, 1.0), (2021, 1.05), (2022, 1.08)] {
        for (i, c) in codes.iter().enumerate() {
            region.push(c.clone());
            year.push(y);
            let s = base[i] * growth + if y > 2020 { (i % 7) as f64 } else { 0.0 };
            score.push(s);
            lab.push((s * 0.9).min(100.0));
            tools.push((100.0 - s).max(0.0));
            objects.push(s / 2.0 + 10.0);
        }
    }
    let rank: Vec<u32> = (0..region.len() as u32).collect();
    df!(
        "region" => region, "year" => year, "score" => score, "rank" => rank,
        "laborers" => lab, "tools" => tools, "objects" => objects,
    )
    .unwrap()
}

fn read_rows(path: &Path) -> (String, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().to_owned();
    let rows = lines
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect();
    (header, rows)
}

#[test]
fn report_for_the_31_provinces_uses_bundled_groups_and_contiguity() {
    let r = reference();
    let dir = tempfile::tempdir().unwrap();
    let scores = china_scores(&r);
    let report = write_all(
        &scores,
        &Inputs::default(),
        dir.path(),
        &ReportOptions::default(),
    )
    .unwrap();
    let names: Vec<String> = report
        .files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for f in [
        "dagum.csv",
        "dagum_groups.csv",
        "theil.csv",
        "sigma.csv",
        "beta.csv",
        "kernel.csv",
        "markov.csv",
        "moran.csv",
        "lisa.csv",
        "coupling.csv",
    ] {
        assert!(names.iter().any(|n| n == f), "{f} missing from {names:?}");
    }
    assert!(report.notices.iter().any(|n| n.contains("NBS four-region")));

    let (header, rows) = read_rows(&dir.path().join("moran.csv"));
    assert_eq!(header, "year,measure,i,expected_i,z_norm,p_norm,p_perm");
    let row = rows
        .iter()
        .find(|r| r[0] == "2020" && r[1] == "score")
        .unwrap();
    let case = &r["moran"][2];
    close(row[2].parse().unwrap(), &case["i"], "moran.csv I");
    close(row[4].parse().unwrap(), &case["z_norm"], "moran.csv z");
    close(row[5].parse().unwrap(), &case["p_norm"], "moran.csv p");
    assert_eq!(rows.len(), 12, "3 years × 4 measures");

    let (header, rows) = read_rows(&dir.path().join("dagum.csv"));
    assert_eq!(header, "year,measure,total,within,between,transvariation");
    let row = rows
        .iter()
        .find(|r| r[0] == "2020" && r[1] == "score")
        .unwrap();
    let total: f64 = row[2].parse().unwrap();
    close(total, &r["dagum"][0]["total"], "dagum.csv G");
    let parts: f64 = row[3..6].iter().map(|x| x.parse::<f64>().unwrap()).sum();
    assert!((parts - total).abs() < 1e-12);

    let (header, rows) = read_rows(&dir.path().join("dagum_groups.csv"));
    assert_eq!(header, "year,measure,group_a,group_b,gini");
    assert_eq!(
        rows.len(),
        3 * 4 * (4 + 6),
        "4 within + 6 pairs per year-measure"
    );

    let (header, rows) = read_rows(&dir.path().join("beta.csv"));
    assert_eq!(header, "measure,group,alpha,beta,se_beta,t_beta,r2,n");
    let groups: Vec<&str> = rows
        .iter()
        .filter(|r| r[0] == "score")
        .map(|r| r[1].as_str())
        .collect();
    assert_eq!(groups, ["all", "Central", "East", "Northeast", "West"]);

    let (_, rows) = read_rows(&dir.path().join("lisa.csv"));
    assert_eq!(rows.len(), 3 * 4 * 31);
    let (_, rows) = read_rows(&dir.path().join("kernel.csv"));
    assert_eq!(rows.len(), 3 * 4 * KERNEL_POINTS);
    let (header, rows) = read_rows(&dir.path().join("markov.csv"));
    assert_eq!(header, "measure,from_class,to_class,count,probability");
    let moves: u64 = rows
        .iter()
        .filter(|r| r[0] == "score")
        .map(|r| r[3].parse::<u64>().unwrap())
        .sum();
    assert_eq!(moves, 2 * 31);
    let (header, rows) = read_rows(&dir.path().join("coupling.csv"));
    assert!(header.starts_with("region,year,c,t,d,class"), "{header}");
    assert_eq!(rows.len(), 3 * 31);

    // Same seed → byte-identical permutation p-values.
    let dir2 = tempfile::tempdir().unwrap();
    write_all(
        &scores,
        &Inputs::default(),
        dir2.path(),
        &ReportOptions::default(),
    )
    .unwrap();
    assert_eq!(
        std::fs::read(dir.path().join("lisa.csv")).unwrap(),
        std::fs::read(dir2.path().join("lisa.csv")).unwrap()
    );
}

#[test]
fn report_without_groups_or_contiguity_uses_one_group_and_skips_spatial() {
    let scores = df!(
        "region" => ["a", "b", "c", "a", "b", "c"],
        "year" => [2020i64, 2020, 2020, 2021, 2021, 2021],
        "score" => [10.0, 20.0, 30.0, 12.0, 22.0, 31.0],
        "rank" => [3i64, 2, 1, 3, 2, 1],
        "laborers" => [0.0, 0.0, 0.0, 5.0, 5.0, 5.0],
        "tools" => [5.0, 6.0, 7.0, 8.0, 9.0, 10.0],
        "objects" => [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        "note" => ["x", "y", "z", "x", "y", "z"],
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let report = write_all(
        &scores,
        &Inputs::default(),
        dir.path(),
        &ReportOptions::default(),
    )
    .unwrap();
    assert!(!dir.path().join("moran.csv").exists());
    assert!(!dir.path().join("lisa.csv").exists());
    assert!(
        report
            .notices
            .iter()
            .any(|n| n.contains("Moran's I and LISA skipped"))
    );
    // Constant laborers: kernel skipped with a notice, Gini defined (0), no NaN anywhere.
    assert!(
        report
            .notices
            .iter()
            .any(|n| n.starts_with("kernel 2021 laborers"))
    );
    let (_, rows) = read_rows(&dir.path().join("dagum.csv"));
    let lab = rows
        .iter()
        .find(|r| r[0] == "2020" && r[1] == "laborers")
        .unwrap();
    assert_eq!(lab[2..], ["0", "0", "0", "0"]);
    let score = rows
        .iter()
        .find(|r| r[0] == "2020" && r[1] == "score")
        .unwrap();
    assert_eq!(score[2], score[3], "single group: within = total");
    for f in &report.files {
        let text = std::fs::read_to_string(f).unwrap();
        assert!(
            !text.contains("NaN") && !text.contains("inf"),
            "{}",
            f.display()
        );
    }
    // Beta with zero initial values: those regions are left out (log undefined).
    let (_, rows) = read_rows(&dir.path().join("beta.csv"));
    let lab = rows.iter().find(|r| r[0] == "laborers").unwrap();
    assert_eq!(
        (lab[1].as_str(), lab[7].as_str(), lab[3].as_str()),
        ("all", "0", "")
    );
}

#[test]
fn report_with_given_groups_and_an_island() {
    let scores = df!(
        "region" => ["a", "b", "c", "d"],
        "year" => [2020i32, 2020, 2020, 2020],
        "score" => [10.0, 20.0, 30.0, 80.0],
        "rank" => [4i32, 3, 2, 1],
        "laborers" => [10.0, 20.0, 30.0, 80.0],
        "tools" => [10.0, 20.0, 30.0, 80.0],
        "objects" => [10.0, 20.0, 30.0, 80.0],
    )
    .unwrap();
    let groups = GroupMap::from_csv("region,group\na,x\nb,x\nc,y\nd,z\n", "groups.csv").unwrap();
    let adj = Adjacency::from_csv("region,neighbor\na,b\nb,a\nb,c\nc,b\n", "adj.csv").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let inputs = Inputs {
        groups: Some(&groups),
        adjacency: Some(&adj),
        ..Inputs::default()
    };
    let report = write_all(&scores, &inputs, dir.path(), &ReportOptions::default()).unwrap();
    assert!(
        report
            .notices
            .iter()
            .any(|n| n.contains("without neighbours") && n.contains('d'))
    );
    let (_, rows) = read_rows(&dir.path().join("lisa.csv"));
    let d = rows
        .iter()
        .find(|r| r[1] == "score" && r[2] == "d")
        .unwrap();
    assert_eq!(
        (d[3].as_str(), d[4].as_str(), d[5].as_str()),
        ("0", "HL", "")
    );
    let (_, rows) = read_rows(&dir.path().join("dagum_groups.csv"));
    let z = rows
        .iter()
        .find(|r| r[1] == "score" && r[2] == "z" && r[3] == "z")
        .unwrap();
    assert_eq!(z[4], "0", "one-region group: G_jj = 0");

    let partial = GroupMap::from_csv("region,group\na,x\n", "groups.csv").unwrap();
    let inputs = Inputs {
        groups: Some(&partial),
        ..Inputs::default()
    };
    let err = write_all(&scores, &inputs, dir.path(), &ReportOptions::default()).unwrap_err();
    assert_eq!(err.code(), "analysis.ungrouped_region");
}

#[test]
fn report_for_30_provinces_without_tibet_still_uses_the_bundled_defaults() {
    let r = reference();
    let scores = china_scores(&r)
        .lazy()
        .filter(col("region").neq(lit("CN-XZ")))
        .collect()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let report = write_all(
        &scores,
        &Inputs::default(),
        dir.path(),
        &ReportOptions::default(),
    )
    .unwrap();
    assert!(
        report
            .notices
            .iter()
            .any(|n| n.contains("bundled 31-province contiguity"))
    );
    assert!(
        !report
            .notices
            .iter()
            .any(|n| n.contains("without neighbours"))
    );
    let (_, rows) = read_rows(&dir.path().join("lisa.csv"));
    assert_eq!(rows.len(), 3 * 4 * 30);
    let (_, rows) = read_rows(&dir.path().join("beta.csv"));
    let west = rows
        .iter()
        .find(|r| r[0] == "score" && r[1] == "West")
        .unwrap();
    assert_eq!(west[7], "11", "West without Tibet");
}

type Ring = Vec<(f64, f64)>;

fn province_rings(geometry: &Value) -> Vec<Ring> {
    let ring = |r: &Value| -> Ring {
        r.as_array()
            .unwrap()
            .iter()
            .map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap()))
            .collect()
    };
    let polygons: Vec<&Value> = match geometry["type"].as_str().unwrap() {
        "Polygon" => vec![&geometry["coordinates"]],
        "MultiPolygon" => geometry["coordinates"].as_array().unwrap().iter().collect(),
        other => panic!("unexpected geometry {other}"),
    };
    polygons
        .iter()
        .flat_map(|p| p.as_array().unwrap().iter().map(ring))
        .collect()
}

fn segment_distance(p: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 == 0.0 {
        0.0
    } else {
        (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / len2).clamp(0.0, 1.0)
    };
    let (x, y) = (a.0 + t * dx - p.0, a.1 + t * dy - p.1);
    (x * x + y * y).sqrt()
}

/// Re-derives the committed contiguity from the Natural Earth polygons with an independent
/// criterion (make_adjacency.py measures shared boundary length with shapely): two provinces
/// are neighbours when at least two vertices of one lie within 0.01° of the other's boundary.
/// On this file neighbours have ≥ 3 such vertices and non-neighbours none.
#[test]
#[ignore = "needs ../shared/data"]
fn bundled_contiguity_matches_the_natural_earth_borders() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/boundaries/china_provinces_ne50m.geojson");
    let text = std::fs::read_to_string(&path).expect("shared boundaries file");
    let geo: Value = serde_json::from_str(&text).unwrap();
    let provinces: Vec<(String, Vec<Ring>)> = geo["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let code = f["properties"]["iso_3166_2"].as_str().unwrap().to_owned();
            (code, province_rings(&f["geometry"]))
        })
        .collect();
    assert_eq!(provinces.len(), 31);
    let tol = 0.01;
    let near_vertices = |a: &[Ring], b: &[Ring]| {
        a.iter()
            .flatten()
            .filter(|p| {
                b.iter().any(|ring| {
                    ring.windows(2)
                        .any(|s| segment_distance(**p, s[0], s[1]) < tol)
                })
            })
            .count()
    };
    let mut derived = Vec::new();
    for (i, (ca, ra)) in provinces.iter().enumerate() {
        for (cb, rb) in &provinces[i + 1..] {
            if near_vertices(ra, rb) >= 2 {
                let mut pair = [ca.clone(), cb.clone()];
                pair.sort();
                derived.push(pair);
            }
        }
    }
    derived.sort();
    let bundled = nqp::analysis::china::province_adjacency().unwrap();
    let mut committed: Vec<[String; 2]> = provinces
        .iter()
        .flat_map(|(c, _)| {
            bundled
                .neighbors(c)
                .filter(|n| c.as_str() < *n)
                .map(|n| [c.clone(), n.to_owned()])
                .collect::<Vec<_>>()
        })
        .filter(|p| p != &["CN-GD".to_owned(), "CN-HI".to_owned()])
        .collect();
    committed.sort();
    assert_eq!(derived.len(), 68);
    assert_eq!(derived, committed);
}

fn nqp_analyse(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_nqp"))
        .arg("analyse")
        .args(args)
        .output()
        .expect("run nqp")
}

#[test]
fn cli_analyse_writes_the_contract_files_and_rejects_asymmetric_adjacency() {
    let dir = tempfile::tempdir().unwrap();
    let scores = dir.path().join("scores.csv");
    std::fs::write(
        &scores,
        "region,year,score,rank,laborers,tools,objects,extra\n\
         a,2020,10,3,10,20,30,x\nb,2020,20,2,20,20,20,x\nc,2020,30,1,30,40,10,x\n\
         a,2021,12,3,11,21,30,x\nb,2021,24,2,25,20,22,x\nc,2021,31,1,33,40,12,x\n",
    )
    .unwrap();
    let adjacency = dir.path().join("adj.csv");
    std::fs::write(&adjacency, "region,neighbor\na,b\nb,a\nb,c\nc,b\n").unwrap();
    let groups = dir.path().join("groups.csv");
    std::fs::write(&groups, "region,group\na,x\nb,x\nc,y\n").unwrap();
    let out = dir.path().join("out");
    let run = nqp_analyse(&[
        "--scores",
        scores.to_str().unwrap(),
        "--groups",
        groups.to_str().unwrap(),
        "--adjacency",
        adjacency.to_str().unwrap(),
        "--out-dir",
        out.to_str().unwrap(),
        "--coupling",
        "wang2021",
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let headers = [
        (
            "dagum.csv",
            "year,measure,total,within,between,transvariation",
        ),
        ("dagum_groups.csv", "year,measure,group_a,group_b,gini"),
        ("theil.csv", "year,measure,total,within,between"),
        ("sigma.csv", "year,measure,cv"),
        ("beta.csv", "measure,group,alpha,beta,se_beta,t_beta,r2,n"),
        ("kernel.csv", "year,measure,x,density"),
        (
            "markov.csv",
            "measure,from_class,to_class,count,probability",
        ),
        (
            "moran.csv",
            "year,measure,i,expected_i,z_norm,p_norm,p_perm",
        ),
        ("lisa.csv", "year,measure,region,local_i,quadrant,p_perm"),
        (
            "coupling.csv",
            "region,year,c,t,d,class,class_zh,class_level",
        ),
    ];
    for (file, header) in headers {
        let (got, rows) = read_rows(&out.join(file));
        assert_eq!(got, header, "{file}");
        assert!(!rows.is_empty(), "{file} has rows");
    }
    // Moran on the path a – b – c for 2020 scores 10, 20, 30: z = −10, 0, 10, lag = 0, 0, 0 → I = 0.
    let (_, rows) = read_rows(&out.join("moran.csv"));
    let m = rows
        .iter()
        .find(|r| r[0] == "2020" && r[1] == "score")
        .unwrap();
    assert_eq!((m[2].as_str(), m[3].as_str()), ("0", "-0.5"));

    std::fs::write(&adjacency, "region,neighbor\na,b\n").unwrap();
    let run = nqp_analyse(&[
        "--scores",
        scores.to_str().unwrap(),
        "--adjacency",
        adjacency.to_str().unwrap(),
        "--out-dir",
        out.to_str().unwrap(),
    ]);
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("adj.csv: adjacency is not symmetric"),
        "{stderr}"
    );
}

/// Obstacle degree and coupling coordination presuppose normalised values in [0, 1]: under a
/// normalisation outside it they are skipped with a notice — in the service, in `nqp analyse`
/// and on the pages — and every other analysis still runs.
mod unit_interval {
    use axum::http::StatusCode;
    use nqp::analysis::diagnosis::unit_interval;
    use nqp::method::{Aggregate, MethodSpec, Normalise};
    use nqp::service;

    use crate::helpers::{TestApp, fixture, web_dataset};

    #[test]
    fn service_skips_diagnosis_only_outside_the_unit_interval() {
        let ds = web_dataset();
        assert_eq!(
            Normalise::ALL.map(unit_interval),
            [true, true, false, true],
            "only z-scores leave [0, 1]"
        );
        for normalise in Normalise::ALL {
            for aggregate in Aggregate::ALL {
                let spec = MethodSpec {
                    normalise,
                    aggregate,
                    ..MethodSpec::default()
                };
                let what = format!("{} {}", normalise.as_str(), aggregate.as_str());
                let tables = service::compute_tables(&ds, &spec).unwrap();
                let view = service::analysis::analysis_view(&ds, &tables)
                    .unwrap_or_else(|e| panic!("{what}: {e}"));
                let notices = &view.results.notices;
                let noted = |what: &str| {
                    notices.iter().any(|n| {
                        n.starts_with(what) && n.contains("needs normalised values in [0, 1]")
                    })
                };
                if unit_interval(normalise) {
                    let o = view.obstacles.as_ref().expect("obstacles computed");
                    assert!(!o.rows.is_empty(), "{what}");
                    assert!(
                        o.rows
                            .iter()
                            .all(|r| (0.0..=100.0).contains(&r.obstacle_pct)),
                        "{what}: obstacle degrees in [0, 100]"
                    );
                    let c = view
                        .results
                        .coupling
                        .as_ref()
                        .unwrap_or_else(|| panic!("{what}: {notices:?}"));
                    assert!(c.iter().all(|c| (0.0..=1.0).contains(&c.d)), "{what}");
                    assert!(!noted("obstacle degree") && !noted("coupling"), "{what}");
                } else {
                    assert!(view.obstacles.is_none(), "{what}");
                    assert!(view.results.coupling.is_none(), "{what}");
                    assert!(noted("obstacle degree: skipped"), "{what}: {notices:?}");
                    assert!(
                        noted("coupling coordination: skipped"),
                        "{what}: {notices:?}"
                    );
                    let d = service::analysis::region_diagnosis(&view, "CN-GD", 2021);
                    assert!(d.skipped && d.top.is_empty() && d.coupling.is_none());
                }
                // The other analyses run under every normalisation.
                assert!(!view.results.kernel.is_empty(), "{what}");
                assert!(!view.results.markov.is_empty(), "{what}");
                assert!(!view.results.sigma.is_empty(), "{what}");
            }
        }
    }

    #[test]
    fn cli_analyse_skips_diagnosis_under_zscore_and_exits_0() {
        for normalise in Normalise::ALL {
            let dir = tempfile::tempdir().unwrap();
            let out = dir.path().join("out");
            let run = super::nqp_analyse(&[
                "--data",
                fixture("web/panel.csv").to_str().unwrap(),
                "--framework",
                fixture("web/framework.toml").to_str().unwrap(),
                "--normalise",
                normalise.as_str(),
                "--permutations",
                "0",
                "--out-dir",
                out.to_str().unwrap(),
            ]);
            let stderr = String::from_utf8_lossy(&run.stderr);
            assert!(run.status.success(), "{}: {stderr}", normalise.as_str());
            assert!(out.join("dagum.csv").exists() && out.join("markov.csv").exists());
            let diagnosis = ["obstacle.csv", "obstacle_top.csv", "coupling.csv"];
            if unit_interval(normalise) {
                for f in diagnosis {
                    assert!(out.join(f).exists(), "{f}");
                }
                let (_, rows) = super::read_rows(&out.join("obstacle.csv"));
                assert!(
                    rows.iter().all(|r| r[4].parse::<f64>().unwrap() >= 0.0),
                    "no negative obstacle degree"
                );
                assert!(!stderr.contains("needs normalised values"), "{stderr}");
            } else {
                for f in diagnosis {
                    assert!(!out.join(f).exists(), "{f} not written under zscore");
                }
                assert!(
                    stderr.contains(
                        "obstacle degree: skipped (obstacle degree needs normalised values in [0, 1]; normalisation 'zscore' gives values outside it)"
                    ),
                    "{stderr}"
                );
                assert!(
                    stderr.contains("coupling coordination: skipped"),
                    "{stderr}"
                );
            }
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn pages_answer_under_every_normalisation() {
        let app = TestApp::new();
        for normalise in Normalise::ALL {
            let n = normalise.as_str();
            for page in ["disparities", "dynamics", "spatial"] {
                for lang in ["zh", "en"] {
                    let url = format!("/analysis/{page}?lang={lang}&normalise={n}");
                    let res = app.get(&url).await;
                    assert_eq!(res.status, StatusCode::OK, "{url}: {}", res.body);
                }
            }
            for url in [
                format!("/analysis/dynamics.json?table=markov&normalise={n}"),
                format!("/analysis/disparities.csv?table=dagum&normalise={n}"),
            ] {
                let res = app.get(&url).await;
                assert_eq!(res.status, StatusCode::OK, "{url}: {}", res.body);
            }
            let en = app
                .get(&format!("/analysis/dynamics?lang=en&normalise={n}"))
                .await;
            let skipped = en
                .select_texts("#notices li")
                .iter()
                .any(|t| t.contains("coupling coordination: skipped"));
            assert_eq!(skipped, !unit_interval(normalise), "{n}");
            for (lang, text) in [
                ("zh", "障碍度与耦合协调度要求标准化值位于 [0, 1]"),
                (
                    "en",
                    "Obstacle degree and coupling coordination need normalised values in [0, 1]",
                ),
            ] {
                let res = app
                    .get(&format!(
                        "/regions/CN-GD?lang={lang}&year=2021&normalise={n}"
                    ))
                    .await;
                assert_eq!(res.status, StatusCode::OK, "{n} {lang}: {}", res.body);
                assert_eq!(
                    res.body.contains(text),
                    !unit_interval(normalise),
                    "{n} {lang}"
                );
                assert_eq!(
                    res.count("table#obstacles") == 1,
                    unit_interval(normalise),
                    "{n}"
                );
            }
        }
    }
}

/// Panel β, Markov steady states, spatial Markov, distance weights and Dagum shares against
/// independent references (tests/fixtures/analysis/make_reference_depth.py →
/// reference_depth.json: numpy within estimator checked against statsmodels, PySAL giddy,
/// libpysal/esda), and `nqp analyse` with the new options and bad inputs.
mod depth {
    use std::path::Path;

    use nqp::analysis::report::{AnalysisResults, Inputs, ReportOptions, WeightsSpec, analyse};
    use nqp::analysis::series::{SeriesTable, resolve_controls};
    use polars::prelude::*;
    use serde_json::Value;

    use super::{close, floats, read_rows, strings};
    use crate::helpers::fixture;

    fn reference() -> Value {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/analysis/reference_depth.json");
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    /// The reference panel as a score frame (every measure = the score) and its series.
    fn panel(r: &Value) -> (DataFrame, SeriesTable) {
        let codes = strings(&r["codes"]);
        let years: Vec<i32> = floats(&r["years"]).iter().map(|y| *y as i32).collect();
        let (mut region, mut year, mut score) = (Vec::new(), Vec::new(), Vec::new());
        let (mut sr, mut sy, mut sid, mut sv) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (ti, y) in years.iter().enumerate() {
            for (i, c) in codes.iter().enumerate() {
                region.push(c.clone());
                year.push(*y);
                score.push(r["scores"][ti][i].as_f64());
                for id in ["ctl", "cap"] {
                    sr.push(c.clone());
                    sy.push(*y);
                    sid.push(id);
                    sv.push(r[id][ti][i].as_f64().unwrap());
                }
            }
        }
        let scores = df!(
            "region" => &region, "year" => &year, "score" => &score,
            "laborers" => &score, "tools" => &score, "objects" => &score,
        )
        .unwrap();
        let long = df!("region" => sr, "year" => sy, "indicator" => sid, "value" => sv).unwrap();
        let mut series = SeriesTable::default();
        series.add_long(&long, "value").unwrap();
        (scores, series)
    }

    fn run(r: &Value, weights: WeightsSpec) -> AnalysisResults {
        let (scores, series) = panel(r);
        let controls = resolve_controls(&["ctl".into(), "ln:cap".into()], &series).unwrap();
        let inputs = Inputs {
            weights,
            series: Some(&series),
            controls: &controls,
            ..Inputs::default()
        };
        let options = ReportOptions {
            permutations: 0,
            ..ReportOptions::default()
        };
        analyse(&scores, &inputs, &options).unwrap()
    }

    #[test]
    fn panel_beta_matches_the_stata_within_estimator() {
        let r = reference();
        let out = run(&r, WeightsSpec::Contiguity);
        let cases = r["beta_panel"].as_array().unwrap();
        assert_eq!(cases.len(), 10, "all + 4 groups, absolute and conditional");
        for case in cases {
            let (group, kind) = (
                case["group"].as_str().unwrap(),
                case["kind"].as_str().unwrap(),
            );
            let rows: Vec<_> = out
                .beta_panel
                .iter()
                .filter(|b| b.measure == "score" && b.group == group && b.kind == kind)
                .collect();
            let terms = case["terms"].as_array().unwrap();
            assert_eq!(rows.len(), terms.len(), "{group} {kind}");
            for (row, want) in rows.iter().zip(terms) {
                let what = format!("{group} {kind} {}", row.term);
                assert_eq!(row.term, want["term"].as_str().unwrap(), "{what}");
                close(row.coef, &want["coef"], &format!("{what} coef"));
                close(row.se, &want["se"], &format!("{what} se"));
                close(row.t, &want["t"], &format!("{what} t"));
                close(row.p, &want["p"], &format!("{what} p"));
                assert_eq!(row.n_obs as u64, case["n_obs"].as_u64().unwrap(), "{what}");
                assert_eq!(row.n_regions as u64, case["n_regions"].as_u64().unwrap());
                close(row.r2_within, &case["r2_within"], &format!("{what} R²"));
                match row.term.as_str() {
                    "beta" => close(row.speed.unwrap(), &case["speed"], &format!("{what} speed")),
                    _ => assert_eq!(row.speed, None, "{what}: speed only on the beta row"),
                }
            }
        }
    }

    #[test]
    fn markov_steady_states_match_giddy() {
        let r = reference();
        let out = run(&r, WeightsSpec::Contiguity);
        for classes in ["absolute", "relative"] {
            let want = &r["markov_steady"][classes];
            let got: Vec<_> = out
                .markov_steady
                .iter()
                .filter(|m| m.measure == "score" && m.classes == classes)
                .collect();
            assert_eq!(got.len(), 4, "{classes}");
            for (k, row) in got.iter().enumerate() {
                assert_eq!(usize::from(row.class), k + 1);
                close(row.probability, &want[k], &format!("{classes} π{}", k + 1));
            }
        }
    }

    #[test]
    fn spatial_markov_matches_giddy_over_the_complete_regions() {
        let r = reference();
        let out = run(&r, WeightsSpec::Contiguity);
        let rows: Vec<_> = out
            .spatial_markov
            .as_ref()
            .unwrap()
            .iter()
            .filter(|m| m.measure == "score")
            .collect();
        assert_eq!(rows.len(), 64);
        let counts = &r["spatial_markov"]["counts"];
        let probs = &r["spatial_markov"]["probabilities"];
        for row in rows {
            let (l, a, b) = (
                usize::from(row.lag_class - 1),
                usize::from(row.from_class - 1),
                usize::from(row.to_class - 1),
            );
            assert_eq!(
                row.count,
                counts[l][a][b].as_u64().unwrap(),
                "T[{l}][{a}][{b}]"
            );
            let row_total: u64 = (0..4).map(|k| counts[l][a][k].as_u64().unwrap()).sum();
            match row.probability {
                Some(p) => close(p, &probs[l][a][b], &format!("P[{l}][{a}][{b}]")),
                None => assert_eq!(row_total, 0, "only empty rows have no probability"),
            }
        }
        assert!(
            out.notices
                .iter()
                .any(|n| n
                    == "spatial markov score: 1 region(s) without a value in every year left out"),
            "{:?}",
            out.notices
        );
    }

    #[test]
    fn moran_under_inverse_distance_matches_esda() {
        let r = reference();
        let codes = strings(&r["codes"]);
        for case in r["moran_inverse_distance"].as_array().unwrap() {
            let power = case["power"].as_i64().unwrap() as i32;
            let out = run(&r, WeightsSpec::InverseDistance { power });
            let m = out
                .moran
                .as_ref()
                .unwrap()
                .iter()
                .find(|m| m.year == 2021 && m.measure == "score")
                .unwrap();
            close(m.i, &case["i"], &format!("1/d^{power} I"));
            close(m.expected_i, &case["expected_i"], "E[I]");
            close(m.z_norm, &case["z_norm"], &format!("1/d^{power} z"));
            close(m.p_norm, &case["p_norm"], &format!("1/d^{power} p"));
            let lisa: Vec<_> = out
                .lisa
                .as_ref()
                .unwrap()
                .iter()
                .filter(|l| l.year == 2021 && l.measure == "score")
                .collect();
            assert_eq!(lisa.len(), 31);
            for (l, want) in lisa.iter().zip(case["local_i"].as_array().unwrap()) {
                close(l.local_i, want, &format!("1/d^{power} I_{}", l.region));
            }
            // The matrix written to weights_matrix.csv is libpysal's row-standardised one.
            let first: Vec<_> = out
                .weights_matrix
                .as_ref()
                .unwrap()
                .iter()
                .filter(|w| w.region == codes[0])
                .collect();
            assert_eq!(first.len(), 30);
            let want = floats(&case["first_row"]);
            for w in first {
                let j = codes.iter().position(|c| *c == w.neighbor).unwrap();
                assert!((w.weight - want[j]).abs() < 1e-12, "w[0][{j}]");
            }
        }
    }

    #[test]
    fn dagum_shares_and_djh_match_the_definitions() {
        let r = reference();
        let out = run(&r, WeightsSpec::Contiguity);
        let want = &r["dagum_2021"];
        let s = out
            .dagum_shares
            .iter()
            .find(|d| d.year == 2021 && d.measure == "score")
            .unwrap();
        close(s.within_pct, &want["within_pct"], "within %");
        close(s.between_pct, &want["between_pct"], "between %");
        close(
            s.transvariation_pct,
            &want["transvariation_pct"],
            "transvariation %",
        );
        assert!((s.within_pct + s.between_pct + s.transvariation_pct - 100.0).abs() < 1e-9);
        let djh: Vec<_> = out
            .dagum_djh
            .iter()
            .filter(|d| d.year == 2021 && d.measure == "score")
            .collect();
        let cases = want["djh"].as_array().unwrap();
        assert_eq!(djh.len(), cases.len());
        for case in cases {
            let (a, b) = (
                case["group_a"].as_str().unwrap(),
                case["group_b"].as_str().unwrap(),
            );
            let got = djh
                .iter()
                .find(|d| d.group_a == a && d.group_b == b)
                .unwrap_or_else(|| panic!("D_jh {a} {b}: higher-mean group first"));
            close(got.d_jh, &case["d_jh"], &format!("D_{a},{b}"));
        }
    }

    fn analyse_cli(dir: &Path, extra: &[&str]) -> std::process::Output {
        let out = dir.join("out");
        let mut args = vec![
            "--data".to_owned(),
            fixture("web/panel.csv").display().to_string(),
            "--framework".to_owned(),
            fixture("web/framework.toml").display().to_string(),
            "--permutations".to_owned(),
            "0".to_owned(),
            "--out-dir".to_owned(),
            out.display().to_string(),
        ];
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        super::nqp_analyse(&args)
    }

    #[test]
    fn cli_writes_the_new_contract_files() {
        let dir = tempfile::tempdir().unwrap();
        let run = analyse_cli(dir.path(), &["--controls", "wage,ln:rd"]);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(run.status.success(), "{stderr}");
        let out = dir.path().join("out");
        for (file, header) in [
            (
                "beta_panel.csv",
                "measure,group,kind,term,coef,se,t,p,speed,n_obs,n_regions,r2_within",
            ),
            ("markov_steady.csv", "measure,classes,class,probability"),
            (
                "spatial_markov.csv",
                "measure,lag_class,from_class,to_class,count,probability",
            ),
            (
                "dagum_shares.csv",
                "year,measure,within_pct,between_pct,transvariation_pct",
            ),
            ("dagum_djh.csv", "year,measure,group_a,group_b,d_jh"),
            ("weights_matrix.csv", "region,neighbor,weight"),
        ] {
            let (got, rows) = read_rows(&out.join(file));
            assert_eq!(got, header, "{file}");
            assert!(!rows.is_empty(), "{file} has rows");
        }
        let (_, rows) = read_rows(&out.join("beta_panel.csv"));
        let terms: Vec<&str> = rows
            .iter()
            .filter(|r| r[0] == "score" && r[1] == "all" && r[2] == "conditional")
            .map(|r| r[3].as_str())
            .collect();
        assert_eq!(terms, ["beta", "wage", "ln(rd)"]);
        // The contiguity rows sum to 1 per region.
        let (_, rows) = read_rows(&out.join("weights_matrix.csv"));
        let bj: f64 = rows
            .iter()
            .filter(|r| r[0] == "CN-BJ")
            .map(|r| r[2].parse::<f64>().unwrap())
            .sum();
        assert!((bj - 1.0).abs() < 1e-12);
    }

    #[test]
    fn cli_reads_a_matrix_numbered_in_gb2260_order() {
        // GB/T 2260 order of the 31 provinces, written out by hand (11 北京 … 65 新疆).
        let gb = [
            ("110000", "CN-BJ"),
            ("120000", "CN-TJ"),
            ("130000", "CN-HE"),
            ("140000", "CN-SX"),
            ("150000", "CN-NM"),
            ("210000", "CN-LN"),
            ("220000", "CN-JL"),
            ("230000", "CN-HL"),
            ("310000", "CN-SH"),
            ("320000", "CN-JS"),
            ("330000", "CN-ZJ"),
            ("340000", "CN-AH"),
            ("350000", "CN-FJ"),
            ("360000", "CN-JX"),
            ("370000", "CN-SD"),
            ("410000", "CN-HA"),
            ("420000", "CN-HB"),
            ("430000", "CN-HN"),
            ("440000", "CN-GD"),
            ("450000", "CN-GX"),
            ("460000", "CN-HI"),
            ("500000", "CN-CQ"),
            ("510000", "CN-SC"),
            ("520000", "CN-GZ"),
            ("530000", "CN-YN"),
            ("540000", "CN-XZ"),
            ("610000", "CN-SN"),
            ("620000", "CN-GS"),
            ("630000", "CN-QH"),
            ("640000", "CN-NX"),
            ("650000", "CN-XJ"),
        ];
        let n = gb.len();
        // A ring over the numbers: k links to k + 1 with weight 3 and to k − 1 with weight 1.
        let ring = |n: usize| {
            let mut m = String::from(",");
            m.push_str(&(1..=n).map(|k| k.to_string()).collect::<Vec<_>>().join(","));
            m.push('\n');
            for i in 0..n {
                let cells: Vec<&str> = (0..n)
                    .map(|j| match j {
                        j if j == (i + 1) % n => "3",
                        j if j == (i + n - 1) % n => "1",
                        _ => "0",
                    })
                    .collect();
                m.push_str(&format!("{},{}\n", i + 1, cells.join(",")));
            }
            m
        };
        let dir = tempfile::tempdir().unwrap();
        let (matrix, order) = (dir.path().join("w.csv"), dir.path().join("codes.txt"));
        std::fs::write(&matrix, ring(n)).unwrap();
        let codes: Vec<&str> = gb.iter().map(|(code, _)| *code).collect();
        std::fs::write(&order, codes.join("\n")).unwrap();
        let row = |region: &str| -> Vec<(String, f64)> {
            let (_, rows) = read_rows(&dir.path().join("out/weights_matrix.csv"));
            rows.iter()
                .filter(|r| r[0] == region)
                .map(|r| (r[1].clone(), r[2].parse().unwrap()))
                .collect()
        };
        let expected = |k: usize| {
            let mut v = vec![
                (gb[(k + 1) % n].1.to_owned(), 0.75),
                (gb[(k + n - 1) % n].1.to_owned(), 0.25),
            ];
            v.sort_by(|a, b| a.0.cmp(&b.0));
            v
        };
        for how in ["gb2260", order.to_str().unwrap()] {
            let run = analyse_cli(
                dir.path(),
                &[
                    "--weights-matrix",
                    matrix.to_str().unwrap(),
                    "--matrix-order",
                    how,
                ],
            );
            assert!(
                run.status.success(),
                "{how}: {}",
                String::from_utf8_lossy(&run.stderr)
            );
            // 1 = 北京: 2 = 天津 (¾) and 31 = 新疆 (¼); 9 = 上海: 10 = 江苏, 8 = 黑龙江.
            let mut bj = row("CN-BJ");
            bj.sort_by(|a, b| a.0.cmp(&b.0));
            assert_eq!(bj, expected(0), "{how}");
            let mut sh = row("CN-SH");
            sh.sort_by(|a, b| a.0.cmp(&b.0));
            assert_eq!(sh, expected(8), "{how}");
        }

        // Wrong n: a 30 × 30 matrix against the 31 of the order.
        std::fs::write(&matrix, ring(30)).unwrap();
        let run = analyse_cli(
            dir.path(),
            &[
                "--weights-matrix",
                matrix.to_str().unwrap(),
                "--matrix-order",
                "gb2260",
            ],
        );
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains(
                "w.csv, line 1: the matrix numbers 30 regions but the GB/T 2260 order has 31"
            ),
            "{stderr}"
        );
        // An unknown code names its line.
        std::fs::write(&matrix, ring(n)).unwrap();
        let mut bad = codes.clone();
        bad[4] = "990000";
        std::fs::write(&order, bad.join("\n")).unwrap();
        let run = analyse_cli(
            dir.path(),
            &[
                "--weights-matrix",
                matrix.to_str().unwrap(),
                "--matrix-order",
                order.to_str().unwrap(),
            ],
        );
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("codes.txt, line 5: '990000' is not a region"),
            "{stderr}"
        );
    }

    #[test]
    fn cli_imports_an_n_by_n_matrix_with_ids_and_economic_weights() {
        let dir = tempfile::tempdir().unwrap();
        let codes: Vec<String> = {
            let text = std::fs::read_to_string(fixture("web/panel.csv")).unwrap();
            let mut c: Vec<String> = text
                .lines()
                .skip(1)
                .map(|l| l.split(',').next().unwrap().to_owned())
                .collect();
            c.sort();
            c.dedup();
            c
        };
        let n = codes.len();
        // A ring: region k links to k − 1 and k + 1 (weights 1 and 3), rows written backwards.
        let mut matrix = String::from(",");
        matrix.push_str(&(1..=n).map(|k| k.to_string()).collect::<Vec<_>>().join(","));
        matrix.push('\n');
        for i in (0..n).rev() {
            let cells: Vec<&str> = (0..n)
                .map(|j| {
                    if j == (i + n - 1) % n {
                        "1"
                    } else if j == (i + 1) % n {
                        "3"
                    } else {
                        "0"
                    }
                })
                .collect();
            matrix.push_str(&format!("{},{}\n", i + 1, cells.join(",")));
        }
        let ids: String = std::iter::once("n,region".to_owned())
            .chain(
                codes
                    .iter()
                    .enumerate()
                    .map(|(k, c)| format!("{},{c}", k + 1)),
            )
            .collect::<Vec<_>>()
            .join("\n");
        let (mpath, ipath) = (dir.path().join("w.csv"), dir.path().join("ids.csv"));
        std::fs::write(&mpath, matrix).unwrap();
        std::fs::write(&ipath, ids).unwrap();
        let run = analyse_cli(
            dir.path(),
            &[
                "--weights-matrix",
                mpath.to_str().unwrap(),
                "--matrix-ids",
                ipath.to_str().unwrap(),
            ],
        );
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let (_, rows) = read_rows(&dir.path().join("out/weights_matrix.csv"));
        let row0: Vec<(&str, f64)> = rows
            .iter()
            .filter(|r| r[0] == codes[0])
            .map(|r| (r[1].as_str(), r[2].parse().unwrap()))
            .collect();
        assert_eq!(
            row0,
            [(codes[1].as_str(), 0.75), (codes[n - 1].as_str(), 0.25)]
        );

        // Economic distance on the raw 'wage' indicator: a hand check of one row.
        let run = analyse_cli(dir.path(), &["--weights-matrix", "economic:wage"]);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(run.status.success(), "{stderr}");
        assert!(
            stderr.contains("economic distance on the panel means of wage"),
            "{stderr}"
        );
        let text = std::fs::read_to_string(fixture("web/panel.csv")).unwrap();
        let mean = |code: &str| {
            let v: Vec<f64> = text
                .lines()
                .filter(|l| {
                    l.starts_with(&format!("{code},")) && l.split(',').nth(2) == Some("wage")
                })
                .filter_map(|l| l.split(',').nth(3).and_then(|v| v.parse().ok()))
                .collect();
            v.iter().sum::<f64>() / v.len() as f64
        };
        let (_, rows) = read_rows(&dir.path().join("out/weights_matrix.csv"));
        let raw: Vec<(String, f64)> = codes[1..]
            .iter()
            .map(|c| (c.clone(), 1.0 / (mean(&codes[0]) - mean(c)).abs()))
            .collect();
        let total: f64 = raw.iter().map(|(_, w)| w).sum();
        for (c, w) in raw {
            let got: f64 = rows
                .iter()
                .find(|r| r[0] == codes[0] && r[1] == c)
                .map(|r| r[2].parse().unwrap())
                .unwrap();
            assert!(
                (got - w / total).abs() < 1e-9,
                "{c}: {got} vs {}",
                w / total
            );
        }
    }

    #[test]
    fn cli_bad_inputs_name_file_line_and_region() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p.to_str().unwrap().to_owned()
        };
        let fails = |args: &[&str], want: &str| {
            let run = analyse_cli(dir.path(), args);
            let stderr = String::from_utf8_lossy(&run.stderr);
            assert!(!run.status.success(), "{args:?} must fail");
            assert!(stderr.contains(want), "{args:?}: {stderr}");
            assert!(!stderr.contains("panicked"), "{stderr}");
        };
        fails(
            &["--controls", "capital"],
            "unknown series 'capital' (the dataset has:",
        );
        let unknown = write("unknown.csv", ",CN-BJ,ZZ\nCN-BJ,0,1\nZZ,1,0\n");
        fails(
            &["--weights-matrix", &unknown],
            "unknown.csv, line 3: region 'ZZ' is not among the regions of the scores",
        );
        let missing = write("missing.csv", ",CN-BJ,CN-TJ\nCN-BJ,0,1\nCN-TJ,1,0\n");
        fails(
            &["--weights-matrix", &missing],
            "missing.csv: no row for region 'CN-AH'",
        );
        let negative = write("negative.csv", ",CN-BJ,CN-TJ\nCN-BJ,0,-2\nCN-TJ,1,0\n");
        fails(
            &["--weights-matrix", &negative],
            "negative.csv, line 2: weight -2 of 'CN-BJ' → 'CN-TJ' is negative or not finite",
        );
        let ragged = write("ragged.csv", ",CN-BJ,CN-TJ\nCN-BJ,0,1,4\nCN-TJ,1,0\n");
        fails(
            &["--weights-matrix", &ragged],
            "ragged.csv, line 2: the matrix is not square",
        );
        let coords = write("coords.csv", "region,lon,lat\nCN-BJ,116.4,40.2\n");
        fails(
            &[
                "--weights-matrix",
                "inverse-distance",
                "--coordinates",
                &coords,
            ],
            "coords.csv: no row for region 'CN-AH'",
        );
    }
}

/// The analysis pages show the new tables, offer their downloads, let the reader pick the
/// weight matrix and the controls, and refuse what the dataset cannot support.
mod depth_pages {
    use axum::http::StatusCode;

    use crate::helpers::TestApp;

    #[tokio::test(flavor = "multi_thread")]
    async fn dynamics_page_shows_panel_beta_steady_states_and_spatial_markov() {
        let app = TestApp::new();
        for lang in ["zh", "en"] {
            let res = app.get(&format!("/analysis/dynamics?lang={lang}")).await;
            assert_eq!(res.status, StatusCode::OK, "{}", res.body);
            assert!(res.count("table#beta-panel tbody tr") >= 1);
            assert_eq!(res.count("table#markov-steady tbody tr"), 2);
            assert_eq!(res.count("table.spatial-markov"), 4);
            assert_eq!(res.count("#controls-input"), 1);
        }
        let res = app
            .get("/analysis/dynamics?lang=en&controls=wage,ln:rd")
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        let terms = res.select_texts("table#beta-panel tbody td code");
        assert!(terms.iter().any(|t| t == "ln(rd)"), "{terms:?}");
        assert!(terms.iter().any(|t| t == "wage"), "{terms:?}");
        // The download carries the controls: the same rows as the page.
        let links = res.select_attrs(
            "#downloads a[data-table=beta_panel][data-format=csv]",
            "href",
        );
        assert!(
            links[0].contains("controls=wage%2Cln%3Ard")
                || links[0].contains("controls=wage,ln:rd"),
            "{links:?}"
        );
        let csv = app.get(&links[0].replace("&amp;", "&")).await;
        assert_eq!(csv.status, StatusCode::OK);
        assert!(
            csv.body.starts_with(
                "measure,group,kind,term,coef,se,t,p,speed,n_obs,n_regions,r2_within\n"
            )
        );
        assert!(csv.body.contains(",conditional,ln(rd),"), "{}", csv.body);

        let bad = app.get("/analysis/dynamics?lang=en&controls=capital").await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
        assert!(
            bad.body.contains("unknown series &#39;capital&#39;")
                || bad.body.contains("unknown series 'capital'"),
            "{}",
            bad.body
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn disparities_page_shows_shares_djh_and_explains_theil_vs_dagum() {
        let app = TestApp::new();
        for (lang, text) in [
            ("zh", "为什么 Theil 组内贡献"),
            ("en", "Why can the Theil within share"),
        ] {
            let res = app.get(&format!("/analysis/disparities?lang={lang}")).await;
            assert_eq!(res.status, StatusCode::OK);
            assert_eq!(
                res.count("table#dagum-shares tbody tr"),
                3,
                "one row per year"
            );
            assert_eq!(
                res.count("table#dagum-djh tbody tr"),
                6,
                "4 groups → 6 pairs"
            );
            assert!(res.select_texts("#theil-vs-dagum")[0].starts_with(text));
        }
        for table in ["dagum_shares", "dagum_djh"] {
            let res = app
                .get(&format!("/analysis/disparities.csv?table={table}"))
                .await;
            assert_eq!(res.status, StatusCode::OK, "{table}");
            assert!(res.body.lines().count() > 1, "{table}");
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn spatial_page_lets_the_reader_pick_the_weight_matrix() {
        let app = TestApp::new();
        let res = app.get("/analysis/spatial?lang=en").await;
        assert_eq!(
            res.select_attrs("#matrix-select option", "value"),
            ["contiguity", "inverse-distance", "inverse-distance2"],
            "economic needs gdp and population, which the fixture lacks"
        );
        assert!(res.select_texts("#matrix-used")[0].ends_with("contiguity"));
        let contiguity_i = res.select_texts("table#moran tbody td")[0].clone();
        let res = app
            .get("/analysis/spatial?lang=zh&matrix=inverse-distance")
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        assert!(res.select_texts("#matrix-used")[0].ends_with("反距离矩阵 1/d"));
        assert_ne!(res.select_texts("table#moran tbody td")[0], contiguity_i);
        let w = app
            .get("/analysis/spatial.csv?table=weights_matrix&matrix=inverse-distance2")
            .await;
        assert_eq!(w.status, StatusCode::OK);
        let bj: f64 = w
            .body
            .lines()
            .filter(|l| l.starts_with("CN-BJ,"))
            .map(|l| l.rsplit(',').next().unwrap().parse::<f64>().unwrap())
            .sum();
        assert!((bj - 1.0).abs() < 1e-12, "row-standardised: {bj}");
        assert_eq!(
            w.body.lines().filter(|l| l.starts_with("CN-BJ,")).count(),
            30
        );
        for bad in ["economic", "nonsense"] {
            let res = app
                .get(&format!("/analysis/spatial?lang=en&matrix={bad}"))
                .await;
            assert_eq!(res.status, StatusCode::BAD_REQUEST, "{bad}");
        }
    }
}
