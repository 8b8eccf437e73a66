//! Server hardening: the bounded, single-flight cache, per-user staging with expiry, ETags that
//! survive restarts, the sign-in guard (origin, throttle, secure cookies) and the connection
//! timeouts of the real accept loop.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use nqp::method::{MethodSpec, Normalise};
use nqp::service::datasets::{StagedUpload, UploadTarget, stage_upload};
use nqp::service::{InputFile, compute_tables};
use nqp::store::Store;
use nqp::types::DatasetId;
use nqp::web::build_router;
use nqp::web::state::{AppState, Config};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{Response, fixture, web_dataset};

const TOKEN: &str = "server-test-admin-token-0123456789abcdef";

async fn send(state: &AppState, request: Request<Body>) -> Response {
    crate::helpers::send(&build_router(state.clone()), request).await
}

async fn get(state: &AppState, uri: &str) -> Response {
    send(state, Request::get(uri).body(Body::empty()).unwrap()).await
}

async fn get_with(state: &AppState, uri: &str, headers: &[(&str, &str)]) -> Response {
    let mut request = Request::get(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    send(state, request.body(Body::empty()).unwrap()).await
}

const GZIP: (&str, &str) = ("accept-encoding", "gzip, deflate, br");

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("a gzip body");
    out
}

fn header<'a>(res: &'a Response, name: &str) -> Option<&'a str> {
    res.headers.get(name).map(|v| v.to_str().unwrap())
}

/// The scores of a result as (region, year, score) triples, for comparing two computations.
fn score_triples(
    tables: &nqp::service::dashboard::ResultTables,
) -> Vec<(String, i32, Option<f64>)> {
    tables
        .scores
        .iter()
        .map(|r| (r.region.clone(), r.year, r.scores.score))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_first_requests_for_one_method_compute_once() {
    let state = AppState::new(web_dataset());
    let spec = MethodSpec {
        normalise: Normalise::Rank,
        ..MethodSpec::default()
    };
    let before = state.cache_stats().computations;
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let state = state.clone();
            let spec = spec.clone();
            tokio::spawn(async move { state.tables(&spec).await.unwrap() })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    assert_eq!(state.cache_stats().computations - before, 1);
    assert!(results.iter().all(|r| Arc::ptr_eq(r, &results[0])));
    // The shared result is the index itself, as computed directly.
    let direct = compute_tables(&web_dataset(), &spec).unwrap();
    assert_eq!(score_triples(&results[0]), score_triples(&direct));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cache_stays_within_its_budget_over_hundreds_of_methods() {
    let dataset = Arc::new(web_dataset());
    let probe = AppState::new(web_dataset());
    probe.tables(&MethodSpec::default()).await.unwrap();
    let one = probe.cache_stats().weight;
    assert!(one > 10_000, "a result weighs its rows: {one}");
    // Room for about five results.
    let budget = one * 5;
    let state = AppState::with_config(
        web_dataset(),
        Config {
            cache_bytes: budget,
            ..Config::default()
        },
    );
    let spec = |i: usize| MethodSpec {
        normalise: Normalise::ALL[i % 4],
        shift: 0.0001 * (1 + i / 4) as f64,
        ..MethodSpec::default()
    };
    let keys = 200;
    for i in 0..keys {
        state
            .tables_for(Arc::clone(&dataset), &spec(i))
            .await
            .unwrap();
        let stats = state.cache_stats();
        assert!(stats.weight <= budget, "key {i}: {stats:?}");
    }
    let stats = state.cache_stats();
    assert_eq!(stats.computations, keys as u64);
    assert!(stats.entries < 20, "{stats:?}");
    // An evicted result is computed again, to the same values (which keys the S3-FIFO policy
    // kept is its business: look for the first one it dropped).
    let mut recomputed = None;
    for i in 0..keys {
        let tables = state
            .tables_for(Arc::clone(&dataset), &spec(i))
            .await
            .unwrap();
        if state.cache_stats().computations > keys as u64 {
            recomputed = Some((i, tables));
            break;
        }
    }
    let (i, tables) = recomputed.expect("some result was evicted");
    let direct = compute_tables(&dataset, &spec(i)).unwrap();
    assert_eq!(score_triples(&tables), score_triples(&direct));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundle_zip_is_built_once_and_served_byte_identical_with_a_weak_etag() {
    let state = AppState::new(web_dataset());
    let version: String = state.dataset().version.chars().take(12).collect();
    let url = format!("/download/test/{version}/bundle.zip?normalise=rank");
    let first = get(&state, &url).await;
    assert_eq!(first.status, StatusCode::OK);
    let after_first = state.cache_stats().computations;
    let second = get(&state, &url).await;
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(
        first.body, second.body,
        "served from the cache, not rebuilt"
    );
    assert_eq!(state.cache_stats().computations, after_first);
    assert!(first.body.starts_with("PK"), "a zip archive");
    let etag = first.headers["etag"].to_str().unwrap().to_owned();
    assert!(etag.starts_with("W/\""), "{etag}");
    let revalidated = send(
        &state,
        Request::get(&url)
            .header("if-none-match", &etag)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(revalidated.status, StatusCode::NOT_MODIFIED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_page_is_gzipped_once_then_served_from_the_cache() {
    let state = AppState::new(web_dataset());
    let url = "/?lang=en&normalise=rank";
    let plain = get(&state, url).await;
    assert_eq!(plain.status, StatusCode::OK);
    assert_eq!(
        header(&plain, "content-encoding"),
        None,
        "identity without Accept-Encoding"
    );
    assert!(
        plain.bytes.len() > 20_000,
        "a large page: {} bytes",
        plain.bytes.len()
    );
    let before = state.compressions();

    let first = get_with(&state, url, &[GZIP]).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(header(&first, "content-encoding"), Some("gzip"));
    assert_eq!(state.compressions(), before + 1);
    assert_eq!(gunzip(&first.bytes), plain.bytes, "exactly the page");
    assert!(first.bytes.len() < plain.bytes.len() / 3);
    assert_eq!(
        header(&first, "content-type"),
        header(&plain, "content-type")
    );
    // The length sent is the compressed one.
    assert_eq!(
        header(&first, "content-length").map(|n| n.parse::<usize>().unwrap()),
        Some(first.bytes.len())
    );

    // The second request is answered from the cache: nothing compressed, and the only cache
    // lookup is the compressed response's (the handler, which would look up the result, did
    // not run).
    let stats = state.cache_stats();
    let second = get_with(&state, url, &[GZIP]).await;
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(second.bytes, first.bytes);
    assert_eq!(state.compressions(), before + 1, "not compressed again");
    let after = state.cache_stats();
    assert_eq!(
        (after.hits - stats.hits, after.computations),
        (1, stats.computations)
    );
    for res in [&plain, &first, &second] {
        let vary = header(res, "vary").unwrap();
        assert!(vary.contains("Accept-Encoding"), "{vary}");
        assert!(header(res, "content-security-policy").is_some());
    }

    // Two representations, two tags; each revalidates only with its own encoding.
    let (plain_tag, gzip_tag) = (
        header(&plain, "etag").unwrap(),
        header(&first, "etag").unwrap(),
    );
    assert_ne!(plain_tag, gzip_tag);
    assert_eq!(header(&second, "etag"), Some(gzip_tag));
    let revalidated = get_with(&state, url, &[GZIP, ("if-none-match", gzip_tag)]).await;
    assert_eq!(revalidated.status, StatusCode::NOT_MODIFIED);
    let other = get_with(&state, url, &[("if-none-match", gzip_tag)]).await;
    assert_eq!(other.status, StatusCode::OK);
    assert_eq!(other.bytes, plain.bytes);
    assert_eq!(
        get_with(&state, url, &[("if-none-match", plain_tag)])
            .await
            .status,
        StatusCode::NOT_MODIFIED
    );
    assert_eq!(
        get_with(&state, url, &[("accept-encoding", "gzip;q=0")])
            .await
            .bytes,
        plain.bytes,
        "gzip refused by quality 0"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_first_gzip_requests_compress_once_and_tiny_answers_stay_plain() {
    let state = AppState::new(web_dataset());
    let url = "/methodology?lang=zh";
    let plain = get(&state, url).await;
    let before = state.compressions();
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let state = state.clone();
            tokio::spawn(async move { get_with(&state, url, &[GZIP]).await })
        })
        .collect();
    for task in tasks {
        let res = task.await.unwrap();
        assert_eq!(header(&res, "content-encoding"), Some("gzip"));
        assert_eq!(gunzip(&res.bytes), plain.bytes);
    }
    assert_eq!(state.compressions(), before + 1);

    let tiny = get_with(&state, "/healthz", &[GZIP]).await;
    assert_eq!((tiny.status, tiny.body.as_str()), (StatusCode::OK, "ok"));
    assert_eq!(header(&tiny, "content-encoding"), None);
    // An archive is not compressed again.
    let version: String = state.dataset().version.chars().take(12).collect();
    let zip = get_with(
        &state,
        &format!("/download/test/{version}/bundle.zip"),
        &[GZIP],
    )
    .await;
    assert_eq!(header(&zip, "content-encoding"), None);
    assert!(zip.body.starts_with("PK"));
    assert_eq!(state.compressions(), before + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_with_credentials_are_compressed_per_request_not_shared() {
    let state = AppState::new(web_dataset());
    let url = "/?lang=en";
    let plain = get(&state, url).await;
    let before = state.compressions();
    for (i, credentials) in [("cookie", "nqp_session=x"), ("authorization", "Bearer y")]
        .into_iter()
        .enumerate()
    {
        let res = get_with(&state, url, &[GZIP, credentials]).await;
        assert_eq!(header(&res, "content-encoding"), Some("gzip"));
        assert_eq!(gunzip(&res.bytes), plain.bytes);
        assert_eq!(
            state.compressions(),
            before + 1 + i as u64,
            "{credentials:?}"
        );
    }
    assert_eq!(state.cache_stats().entries, 1, "only the result is cached");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cached_diff_is_answered_without_looking_up_the_results() {
    // `from`: the fixture panel without its last year, a version of its own.
    let panel = std::fs::read_to_string(fixture("web/panel.csv")).unwrap();
    let kept: String = panel
        .lines()
        .filter(|l| !l.contains(",2022,"))
        .map(|l| format!("{l}\n"))
        .collect();
    let framework = std::fs::read_to_string(fixture("web/framework.toml")).unwrap();
    let from = nqp::service::build_dataset(
        DatasetId::new("test").unwrap(),
        ("测试数据", "Test data"),
        &[InputFile {
            name: "panel.csv".into(),
            bytes: kept.into_bytes().into(),
            layout: None,
        }],
        (&framework, "framework.toml"),
        &nqp::service::RegionChoice::Set(nqp::ingest::RegionSet::cn_provinces()),
    )
    .unwrap();
    let (from, to) = (Arc::new(from), Arc::new(web_dataset()));
    assert_ne!(from.version, to.version);
    let state = AppState::new(web_dataset());
    let spec = MethodSpec::default();
    let first = state
        .diff_for(Arc::clone(&from), Arc::clone(&to), (1, 2), &spec)
        .await
        .unwrap();
    assert!(!first.added.is_empty(), "the last year is added");
    let stats = state.cache_stats();
    assert_eq!(stats.computations, 3, "two results and the diff");
    let second = state
        .diff_for(Arc::clone(&from), Arc::clone(&to), (1, 2), &spec)
        .await
        .unwrap();
    assert!(Arc::ptr_eq(&first, &second));
    let after = state.cache_stats();
    assert_eq!(after.computations, stats.computations);
    assert_eq!(
        after.hits - stats.hits,
        1,
        "one lookup, the diff's: neither result is fetched"
    );
}

/// A store in a temp dir with the bundled dataset and the test's admin token.
fn store_in(dir: &std::path::Path) -> Store {
    let store = Store::open(dir).unwrap();
    store.ensure_admin_token(Some(TOKEN)).unwrap();
    store
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etags_follow_the_stored_content_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let id = DatasetId::new("cn-provinces").unwrap();
    let tag = |res: &Response| res.headers["etag"].to_str().unwrap().to_owned();

    let first = AppState::with_store(store_in(dir.path()), Config::default()).unwrap();
    let visible = tag(&get(&first, "/datasets?lang=en").await);
    first.store().unwrap().delete_dataset(&id, "test").unwrap();
    first.store_changed();
    let hidden = tag(&get(&first, "/datasets?lang=en").await);
    assert_ne!(visible, hidden);
    drop(first);

    // A restart with the same content gives the same tags; a change after the restart never
    // reuses the tag of other content (a per-process counter did: 1 change before, 1 after).
    let second = AppState::with_store(store_in(dir.path()), Config::default()).unwrap();
    assert_eq!(tag(&get(&second, "/datasets?lang=en").await), hidden);
    second
        .store()
        .unwrap()
        .undelete_dataset(&id, "test")
        .unwrap();
    second.store_changed();
    let shown_again = get(&second, "/datasets?lang=en").await;
    assert_ne!(tag(&shown_again), hidden);
    assert_eq!(
        tag(&shown_again),
        visible,
        "the same content as at the start"
    );
}

fn staged_upload(store: &Store) -> StagedUpload {
    let export = std::fs::read(fixture("csv/nbs_export_gbk_crlf.csv")).unwrap();
    stage_upload(
        store,
        UploadTarget::Existing {
            id: DatasetId::new("cn-provinces").unwrap(),
        },
        vec![InputFile {
            name: "export.csv".into(),
            bytes: export.into(),
            layout: None,
        }],
        None,
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staged_uploads_are_capped_per_user_counted_in_the_budget_and_expire() {
    let dir = tempfile::tempdir().unwrap();
    let ttl = Duration::from_secs(3600);
    let state = AppState::with_store(
        store_in(dir.path()),
        Config {
            staged_per_actor: 3,
            staged_ttl: ttl,
            ..Config::default()
        },
    )
    .unwrap();
    let store = state.store().unwrap();
    let t0 = Instant::now();
    let bob = state.stage_at("bob", staged_upload(&store), t0).unwrap();
    let reserved_one = state.cache_stats().reserved;
    assert!(reserved_one > 0, "a staged upload reserves memory");
    let alice: Vec<String> = (0..5)
        .map(|_| state.stage_at("alice", staged_upload(&store), t0).unwrap())
        .collect();
    // Alice's oldest two made room for her newest; Bob's upload is untouched.
    assert!(state.staged_at(&bob, "bob", t0).is_some());
    assert!(state.staged_at(&alice[0], "alice", t0).is_none());
    assert!(state.staged_at(&alice[1], "alice", t0).is_none());
    assert!(
        alice[2..]
            .iter()
            .all(|id| state.staged_at(id, "alice", t0).is_some())
    );
    assert!(
        state.staged_at(&bob, "alice", t0).is_none(),
        "only its actor sees it"
    );
    let stats = state.cache_stats();
    assert_eq!(stats.reserved, 4 * reserved_one, "{stats:?}");
    assert_eq!(
        stats.capacity,
        Config::default().cache_bytes - stats.reserved
    );

    // After the time to live every upload is gone and its memory given back.
    let later = t0 + ttl + Duration::from_secs(1);
    assert!(state.staged_at(&bob, "bob", later).is_none());
    assert!(
        alice
            .iter()
            .all(|id| state.staged_at(id, "alice", later).is_none())
    );
    assert_eq!(state.cache_stats().reserved, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_larger_than_the_budget_is_refused_without_touching_others() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path());
    let probe = AppState::with_store(store, Config::default()).unwrap();
    let one = {
        let store = probe.store().unwrap();
        probe.stage("x", staged_upload(&store)).unwrap();
        probe.cache_stats().reserved
    };
    drop(probe);
    // Room for one upload and a half.
    let state = AppState::with_store(
        store_in(dir.path()),
        Config {
            cache_bytes: one * 3 / 2,
            ..Config::default()
        },
    )
    .unwrap();
    let store = state.store().unwrap();
    let bob = state.stage("bob", staged_upload(&store)).unwrap();
    let err = state.stage("alice", staged_upload(&store)).unwrap_err();
    assert_eq!(err.code(), "conflict");
    assert!(err.to_string().contains("--cache-mb"), "{err}");
    assert!(state.staged(&bob, "bob").is_some(), "bob's upload is kept");
    // Bob's second upload replaces his first instead of being refused.
    let bob2 = state.stage("bob", staged_upload(&store)).unwrap();
    assert!(state.staged(&bob, "bob").is_none() && state.staged(&bob2, "bob").is_some());
}

fn login_request(token: &str, ip: [u8; 4], headers: &[(&str, &str)]) -> Request<Body> {
    let mut request = Request::post("/login?lang=en")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("host", "nqp.test");
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let mut request = request.body(Body::from(format!("token={token}"))).unwrap();
    request
        .extensions_mut()
        .insert(ConnectInfo(std::net::SocketAddr::from((ip, 40000))));
    request
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_sign_ins_are_throttled_per_address_and_token_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let state = AppState::with_store(store_in(dir.path()), Config::default()).unwrap();
    let attacker = [10, 0, 0, 1];
    for i in 0..10 {
        let res = send(
            &state,
            login_request(&format!("guess{i:04}xyz"), attacker, &[]),
        )
        .await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let res = send(&state, login_request("another-guess", attacker, &[])).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = res.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=6).contains(&wait), "one attempt drains in 6 s: {wait}");
    assert!(res.body.contains("Too many failed sign-ins"));
    // Even the right token waits from that address…
    let res = send(&state, login_request(TOKEN, attacker, &[])).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
    // …while another address signs in.
    let res = send(&state, login_request(TOKEN, [10, 0, 0, 2], &[])).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    // Guesses at one token prefix from many addresses are throttled by the prefix.
    for i in 0..10u8 {
        let res = send(&state, login_request("samepfx-a", [10, 1, 0, i], &[])).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    }
    let res = send(&state, login_request("samepfx-b", [10, 1, 1, 1], &[])).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_forms_from_another_site_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let state = AppState::with_store(store_in(dir.path()), Config::default()).unwrap();
    let ip = [10, 0, 0, 3];
    for headers in [
        &[("origin", "https://evil.example")][..],
        &[("origin", "null")][..],
        &[("referer", "https://evil.example/nqp.test/login")][..],
    ] {
        let res = send(&state, login_request(TOKEN, ip, headers)).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{headers:?}");
        assert!(!res.headers.contains_key("set-cookie"));
    }
    for headers in [
        &[("origin", "http://nqp.test")][..],
        &[("referer", "http://nqp.test/datasets?lang=en")][..],
        &[][..],
    ] {
        let res = send(&state, login_request(TOKEN, ip, headers)).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{headers:?}");
    }
    // With a configured public origin only that origin is accepted.
    let public = AppState::with_store(
        store_in(dir.path()),
        Config {
            public_origin: Some("https://nqp.example.org".into()),
            secure_cookies: true,
            ..Config::default()
        },
    )
    .unwrap();
    let res = send(
        &public,
        login_request(TOKEN, ip, &[("origin", "http://nqp.test")]),
    )
    .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let res = send(
        &public,
        login_request(TOKEN, ip, &[("origin", "https://nqp.example.org")]),
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let cookie = res.headers["set-cookie"].to_str().unwrap();
    assert!(
        cookie.ends_with("; Secure") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
}

#[test]
fn an_https_public_url_turns_secure_cookies_on_unless_told_otherwise() {
    use clap::Parser;
    let options = |args: &[&str]| {
        let mut argv = vec!["serve"];
        argv.extend_from_slice(args);
        nqp::cli::ServeArgs::parse_from(argv).options()
    };
    let plain = options(&[]).unwrap().config;
    assert!(!plain.secure_cookies && plain.public_origin.is_none());
    assert_eq!(plain.cache_bytes, 256 * 1024 * 1024);
    let https = options(&["--public-url", "https://NQP.example.org/dashboard"])
        .unwrap()
        .config;
    assert!(https.secure_cookies);
    assert_eq!(
        https.public_origin.as_deref(),
        Some("https://nqp.example.org")
    );
    let off = options(&[
        "--public-url",
        "https://nqp.example.org",
        "--secure-cookies",
        "false",
    ])
    .unwrap()
    .config;
    assert!(!off.secure_cookies);
    let err = options(&["--public-url", "nqp.example.org"]).unwrap_err();
    assert!(err.to_string().contains("--public-url"), "{err}");
    let small = options(&["--cache-mb", "64", "--staged-hours", "2"])
        .unwrap()
        .config;
    assert_eq!(small.cache_bytes, 64 * 1024 * 1024);
    assert_eq!(small.staged_ttl, Duration::from_secs(7200));
}

/// Read until the server closes the connection; the bytes read.
async fn read_to_close(stream: &mut tokio::net::TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    // Bounded so that a regression fails instead of hanging the suite.
    let read = tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut out)).await;
    assert!(read.is_ok(), "the server kept the connection open");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_open_and_idle_connections_are_closed() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = nqp::web::serve::ConnLimits {
        header_read_timeout: Duration::from_millis(300),
        ..Default::default()
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(nqp::web::serve::serve_on(
        listener,
        build_router(AppState::new(web_dataset())),
        limits,
        async move {
            let _ = stopped.await;
        },
    ));

    // Half a request line, then silence: closed without an answer.
    let mut half_open = tokio::net::TcpStream::connect(addr).await.unwrap();
    half_open
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let answer = read_to_close(&mut half_open).await;
    assert!(
        !answer.starts_with(b"HTTP/1.1 200"),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );

    // A complete request is answered, then the idle kept-alive connection is closed.
    let mut idle = tokio::net::TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let answer = String::from_utf8(read_to_close(&mut idle).await).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    assert!(answer.ends_with("ok"), "{answer}");

    stop.send(()).unwrap();
    server.await.unwrap();
}
