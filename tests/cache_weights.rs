//! The cache's size weights against the memory the entries really hold, measured with a
//! counting global allocator (this binary's only test, so no other test allocates meanwhile).
//!
//! `--cache-mb` bounds the server's memory only if no entry weighs less than it holds: for each
//! kind of entry the server caches on the bundled dataset, the weight must be at least the live
//! bytes its construction left allocated, and not far above (an over-estimate wastes the budget).

use std::alloc::System;

use cap::Cap;
use nqp::method::{Aggregate, MethodSpec, Normalise, WeightScheme};
use nqp::service::diff::{Side, version_diff};
use nqp::service::{self, analysis, bundled, robustness};
use nqp::types::Panel;
use nqp::web::cache::Cacheable;
use nqp::web::compress::{EncodedResponse, gzip};
use polars::prelude::*;

#[global_allocator]
static ALLOCATOR: Cap<System> = Cap::new(System, usize::MAX);

/// Build a value and return it with the bytes it left allocated.
fn held<T>(build: impl FnOnce() -> T) -> (T, i64) {
    let before = ALLOCATOR.allocated() as i64;
    let value = build();
    (value, ALLOCATOR.allocated() as i64 - before)
}

/// `what` with its weight and held bytes, and why it fails the bounds, if it does.
fn check(what: &str, weight: u64, held: i64, report: &mut Vec<(String, bool)>) {
    let ok = held > 0 && weight as i64 >= held && weight as i64 <= 4 * held;
    let ratio = weight as f64 / held as f64;
    report.push((
        format!("{what}: weight {weight} B, held {held} B, ratio {ratio:.2}"),
        ok,
    ));
}

#[test]
fn cache_weights_cover_what_the_entries_hold() {
    // Warm-up: one-time allocations (lazy statics, polars' thread pool) must not count for
    // the first measured entry.
    let warm = bundled::dataset().unwrap();
    let warm_tables = service::compute_tables(&warm, &MethodSpec::default()).unwrap();
    drop(analysis::analysis_view_with(&warm, &warm_tables, &Default::default()).unwrap());
    drop(robustness::baseline(&warm.panel, &warm.framework, &MethodSpec::default()).unwrap());

    let mut report = Vec::new();
    let (ds, bytes) = held(|| bundled::dataset().unwrap());
    check("dataset", Cacheable::weight(&ds), bytes, &mut report);
    let specs = [
        MethodSpec::default(),
        MethodSpec {
            normalise: Normalise::Zscore,
            weights: WeightScheme::Critic,
            aggregate: Aggregate::Topsis,
            ..MethodSpec::default()
        },
    ];
    for spec in &specs {
        let key = service::method_key(spec);
        let (tables, bytes) = held(|| service::compute_tables(&ds, spec).unwrap());
        check(
            &format!("tables {key}"),
            Cacheable::weight(&tables),
            bytes,
            &mut report,
        );
        let (view, bytes) =
            held(|| analysis::analysis_view_with(&ds, &tables, &Default::default()).unwrap());
        check(
            &format!("analysis {key}"),
            Cacheable::weight(&view),
            bytes,
            &mut report,
        );
        let (base, bytes) = held(|| robustness::baseline(&ds.panel, &ds.framework, spec).unwrap());
        check(
            &format!("baseline {key}"),
            Cacheable::weight(&base),
            bytes,
            &mut report,
        );
    }
    // A version diff: `from` lacks the first year and has one series revised, so the diff
    // holds added, revised and effect rows.
    let mut from = ds.clone();
    let frame = ds.panel.frame().clone().lazy();
    let first = *ds.panel.years().unwrap().first().unwrap();
    let indicator = ds.panel.indicators().unwrap()[0].clone();
    from.panel = Panel::new(
        frame
            .filter(col("year").gt(lit(first)))
            .with_column(
                when(col("indicator").eq(lit(indicator)))
                    .then(col("value") * lit(1.01))
                    .otherwise(col("value"))
                    .alias("value"),
            )
            .collect()
            .unwrap(),
    )
    .unwrap();
    let spec = MethodSpec::default();
    let (from_tables, to_tables) = (
        service::compute_tables(&from, &spec).unwrap(),
        service::compute_tables(&ds, &spec).unwrap(),
    );
    let (view, bytes) = held(|| {
        let old = Side {
            dataset: &from,
            number: 1,
            result: &from_tables.result,
        };
        let new = Side {
            dataset: &ds,
            number: 2,
            result: &to_tables.result,
        };
        version_diff(old, new, &spec).unwrap()
    });
    assert!(!view.added.is_empty() && !view.revised.is_empty() && !view.effect.is_empty());
    check("diff", Cacheable::weight(&view), bytes, &mut report);

    // A compressed response as `web::compress` keeps it: the headers a page has at that layer
    // and the gzip of a page-sized text (the scores as JSON, built before the measurement).
    let text = serde_json::to_vec(&to_tables.scores).unwrap();
    let (encoded, bytes) = held(|| {
        use axum::http::header::{CONTENT_ENCODING, CONTENT_TYPE, VARY};
        use axum::http::{HeaderMap, HeaderValue};
        let mut headers = HeaderMap::new();
        for (name, value) in [
            (CONTENT_TYPE, "text/html; charset=utf-8"),
            (VARY, "Accept-Encoding"),
            (CONTENT_ENCODING, "gzip"),
        ] {
            headers.insert(name, HeaderValue::from_static(value));
        }
        EncodedResponse {
            headers,
            body: gzip(&text).unwrap(),
        }
    });
    check(
        "compressed response",
        Cacheable::weight(&encoded),
        bytes,
        &mut report,
    );

    let text: Vec<&str> = report.iter().map(|(line, _)| line.as_str()).collect();
    println!("{}", text.join("\n"));
    assert!(
        report.iter().all(|(_, ok)| *ok),
        "every weight must cover what its entry holds and stay within 4× of it:\n{}",
        text.join("\n")
    );
}
