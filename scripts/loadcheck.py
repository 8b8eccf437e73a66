#!/usr/bin/env python3
"""Load check of `nqp serve` (release build), loopback only, bounded in time.

Phases (see docs/benchmarks.md, "Server load check"):
  0. set-up: a fresh data dir, a second dataset version uploaded through the API (the bundled
     panel without its last year), so that 936 methods x 2 versions = 1,872 distinct keys exist;
  1. sweep: every method the form offers, on the analysis and region pages of the bundled
     version (the pages that computed obstacle degrees and coupling) -> no 5xx allowed;
  2. soak: anonymous requests over random (version, method, page) for --seconds, sampling the
     server's RSS every 0.5 s -> no 5xx, peak RSS <= baseline + --cache-mb;
  3. bundle.zip: --connections keep-alive connections fetch one bundle.zip for --burst seconds
     (throughput; served from the cache), and the same for a static asset;
  4. page against a static file of the same size: the rankings page and a stored file padded to
     exactly the page's byte count (the framework.toml of a dataset uploaded for it, served by
     the same server from its store), each plain and with gzip — and the page gzipped with a
     cookie, which is compressed per request instead of served from the cache —, in alternating rounds of
     --pvs-seconds over the same keep-alive connections of --pvs-procs client processes
     (Python's GIL would otherwise make one client core the bottleneck) -> requests/s.
Exit status 1 when a 5xx was seen, an answer of phase 4 was not the expected one, or the peak RSS
exceeded the bound. Standard library only.

  python3 scripts/loadcheck.py [--binary target/release/nqp] [--cache-mb 256] [--seconds 60]
  python3 scripts/loadcheck.py --only-page-vs-static     # set-up and phase 4 only
"""

import argparse
import http.client
import io
import json
import multiprocessing
import os
import random
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import uuid

NORMALISE = ["minmax-panel", "minmax-year", "zscore", "rank"]
BASIC = ["entropy-panel", "entropy-year", "critic", "sd", "equal", "manual"]
AGGREGATE = ["sum", "geometric", "topsis"]


def weight_schemes():
    combined = [
        f"combined:{a}+{b}:{mean}" for a in BASIC for b in BASIC for mean in ("geometric", "arithmetic")
    ]
    return BASIC + combined


def methods():
    return [(n, w, a) for n in NORMALISE for w in weight_schemes() for a in AGGREGATE]


def method_query(method):
    n, w, a = method
    from urllib.parse import urlencode

    return urlencode({"normalise": n, "weights": w, "aggregate": a})


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Client:
    """One keep-alive HTTP/1.1 connection to the server."""

    def __init__(self, port):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def request(self, method, path, body=None, headers=None):
        for attempt in (0, 1):
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                response = self.conn.getresponse()
                data = response.read()
                return response.status, data
            except (http.client.HTTPException, ConnectionError):
                # The server closed an idle kept-alive connection: reconnect once.
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                if attempt:
                    raise

    def get(self, path):
        return self.request("GET", path)


def multipart(fields, files):
    boundary = uuid.uuid4().hex
    out = io.BytesIO()
    for name, value in fields.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, (filename, data) in files.items():
        out.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n".encode()
        )
        out.write(data)
        out.write(b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def add_second_version(client, token):
    """Upload the bundled panel without its last year as dataset `loadcheck-b`."""
    status, panel = client.get("/datasets/cn-provinces/1/panel.csv")
    assert status == 200, status
    status, framework = client.get("/datasets/cn-provinces/1/framework.toml")
    assert status == 200, status
    lines = panel.decode("utf-8-sig").splitlines()
    header, rows = lines[0], lines[1:]
    year_col = header.split(",").index("year")
    last = max(int(r.split(",")[year_col]) for r in rows)
    kept = [r for r in rows if int(r.split(",")[year_col]) != last]
    body, content_type = multipart(
        {"target": "new", "new_id": "loadcheck-b", "title_en": "Load check B"},
        {"files": ("panel.csv", ("\n".join([header] + kept) + "\n").encode()), "framework": ("framework.toml", framework)},
    )
    auth = {"Authorization": f"Bearer {token}"}
    status, data = client.request("POST", "/api/v1/uploads", body, {**auth, "Content-Type": content_type})
    assert status == 201, (status, data[:500])
    commit_url = json.loads(data)["commit_url"]
    status, data = client.request(
        "POST", commit_url, json.dumps({"mappings": []}), {**auth, "Content-Type": "application/json"}
    )
    assert status == 201, (status, data[:500])
    return ["cn-provinces", "loadcheck-b"]


def pad_toml(text, size, filler):
    """`text` with comment lines appended so that it is exactly `size` bytes of UTF-8; the
    comments are cut from `filler` (printable ASCII), so that the file compresses about as well
    as the text it was cut from."""
    body = text.rstrip("\n") + "\n"
    missing = size - len(body.encode())
    if missing < 2:
        raise ValueError(f"the file ({len(body.encode())} bytes) is not smaller than {size} bytes")
    lines, r = [100] * (missing // 100), missing % 100
    if r == 1:
        lines[-1:] = [51, 50]
    elif r:
        lines.append(r)
    # A line of n bytes: '#', n - 2 characters of the filler, the newline.
    out, at = [body], 0
    for n in lines:
        chunk = (filler[at:] + filler)[: n - 2]
        at = (at + n - 2) % len(filler)
        out.append("#" + chunk + "\n")
    padded = "".join(out)
    assert len(padded.encode()) == size
    return padded


def add_static_file(client, token, page):
    """Upload dataset `loadcheck-static` whose framework.toml has exactly the byte count of
    `page` (plain), padded with comments cut from the page: its URL. The page lists the datasets, so the size is taken after the upload
    and the file padded in a new version until the two agree."""
    _, panel = client.get("/datasets/cn-provinces/1/panel.csv")
    _, framework = client.get("/datasets/cn-provinces/1/framework.toml")
    auth = {"Authorization": f"Bearer {token}"}

    def upload(fields, toml):
        body, content_type = multipart(fields, {"files": ("panel.csv", panel), "framework": ("framework.toml", toml)})
        status, data = client.request("POST", "/api/v1/uploads", body, {**auth, "Content-Type": content_type})
        assert status == 201, (status, data[:500])
        status, data = client.request(
            "POST", json.loads(data)["commit_url"], json.dumps({"mappings": []}), {**auth, "Content-Type": "application/json"}
        )
        assert status == 201, (status, data[:500])

    upload({"target": "new", "new_id": "loadcheck-static", "title_en": "Load check static"}, framework)
    text = framework.decode("utf-8")
    for number in (2, 3, 4):
        html = client.get(page)[1]
        # The page's own characters (ASCII, without line breaks) as the comments' text.
        filler = "".join(c for c in html.decode("ascii", "replace") if " " <= c <= "~")
        upload({"target": "existing", "existing_id": "loadcheck-static"}, pad_toml(text, len(html), filler).encode())
        path = f"/datasets/loadcheck-static/{number}/framework.toml"
        status, data = client.get(path)
        assert status == 200, status
        if len(client.get(page)[1]) == len(data):
            return path
    sys.exit("the page's size kept changing with the uploads")


def pvs_worker(port, threads, schedule, results):
    """One client process: `threads` keep-alive connections, kept over every segment of
    `schedule` ((label, path, headers, start, end) in wall-clock time); per segment, the
    requests completed in it and the answers that were not (200, expected length)."""
    clients = [Client(port) for _ in range(threads)]
    done = [[0, 0] for _ in schedule]

    def run(i):
        c = clients[i]
        for k, (_, path, headers, start, end, length) in enumerate(schedule):
            while time.time() < start:
                time.sleep(min(0.01, max(0.0, start - time.time())))
            while time.time() < end:
                status, body = c.request("GET", path, headers=headers)
                if time.time() <= end:
                    done[k][0] += 1
                if status != 200 or len(body) != length:
                    done[k][1] += 1

    run_threads(threads, run)
    results.put(done)


def page_vs_static(port, page, static, procs, connections, seconds, rounds):
    """Requests/s of `page` and `static`, plain and gzip (and the page with a cookie), in
    alternating rounds."""
    client = Client(port)
    targets = []
    gzip = {"Accept-Encoding": "gzip"}
    # With a cookie the response is not shared: rendered and compressed per request, as every
    # gzip response was before the compressed forms were cached.
    cases = [("page", page, "identity", {}), ("page", page, "gzip", gzip),
             ("page + cookie", page, "gzip", {**gzip, "Cookie": "loadcheck=1"}),
             ("static file", static, "identity", {}), ("static file", static, "gzip", gzip)]
    for label, path, encoding, headers in cases:
        client.conn.request("GET", path, headers=headers)
        response = client.conn.getresponse()
        body = response.read()
        assert response.status == 200, (path, response.status)
        coding = response.getheader("Content-Encoding") or "identity"
        assert coding == encoding, (path, coding)
        targets.append((f"{label}, {encoding}", path, headers, len(body)))
    plain = {t[0]: t[3] for t in targets}
    assert plain["page, identity"] == plain["static file, identity"], plain
    start = time.time() + 2
    schedule = []
    for r in range(rounds):
        order = targets if r % 2 == 0 else targets[::-1]
        for label, path, headers, length in order:
            schedule.append((label, path, headers, start, start + seconds, length))
            start += seconds + 0.2
    results = multiprocessing.Queue()
    workers = [
        multiprocessing.Process(target=pvs_worker, args=(port, connections // procs, schedule, results))
        for _ in range(procs)
    ]
    load_before = open("/proc/loadavg").read().split()[:3]
    for w in workers:
        w.start()
    totals = [[0, 0] for _ in schedule]
    for _ in workers:
        for k, (n, bad) in enumerate(results.get()):
            totals[k][0] += n
            totals[k][1] += bad
    for w in workers:
        w.join()
    load_after = open("/proc/loadavg").read().split()[:3]
    rates = {}
    for (label, *_), (n, bad) in zip(schedule, totals):
        rates.setdefault(label, []).append(n / seconds)
        if bad:
            raise AssertionError(f"{label}: {bad} answers not 200 with the expected length")
    print(f"page vs static file ({plain['page, identity']} bytes plain), {procs} processes x "
          f"{connections // procs} connections, {rounds} rounds of {seconds:.0f} s each, alternating; "
          f"load average {' '.join(load_before)} before, {' '.join(load_after)} after")
    median = {label: sorted(runs)[rounds // 2] for label, runs in rates.items()}
    for page_label, static_label in (("page, identity", "static file, identity"), ("page, gzip", "static file, gzip"),
                                     ("page + cookie, gzip", "static file, gzip")):
        print(f"  {page_label} / {static_label} = {median[page_label] / median[static_label]:.2f}")
    for label, path, _, length in targets:
        print(f"  {label:22} {length:>8} bytes sent  median {median[label]:8.0f} req/s  runs "
              + " ".join(f"{x:.0f}" for x in rates[label]) + f"  ({path})")


def run_threads(n, target):
    threads = [threading.Thread(target=target, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default="target/release/nqp")
    ap.add_argument("--cache-mb", type=int, default=256)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--burst", type=float, default=15)
    ap.add_argument("--port", type=int, default=18080)
    ap.add_argument("--skip-sweep", action="store_true")
    ap.add_argument("--only-page-vs-static", action="store_true")
    ap.add_argument("--pvs-page", default="/?lang=en")
    ap.add_argument("--pvs-procs", type=int, default=4)
    ap.add_argument("--pvs-connections", type=int, default=16)
    ap.add_argument("--pvs-seconds", type=float, default=5)
    ap.add_argument("--pvs-rounds", type=int, default=3)
    args = ap.parse_args()

    token = secrets.token_hex(32)
    data_dir = tempfile.mkdtemp(prefix="nqp-loadcheck-")
    env = {**os.environ, "NQP_ADMIN_TOKEN": token, "RUST_LOG": "warn"}
    server = subprocess.Popen(
        [args.binary, "serve", "--addr", f"127.0.0.1:{args.port}", "--data-dir", data_dir, "--cache-mb", str(args.cache_mb)],
        env=env,
    )
    failures = []
    try:
        deadline = time.time() + 120
        while True:
            try:
                if Client(args.port).get("/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline or server.poll() is not None:
                sys.exit("the server did not start")
            time.sleep(0.2)
        client = Client(args.port)
        datasets = add_second_version(client, token)
        static = add_static_file(client, token, args.pvs_page)
        if args.only_page_vs_static:
            page_vs_static(args.port, args.pvs_page, static, args.pvs_procs, args.pvs_connections,
                           args.pvs_seconds, args.pvs_rounds)
            return
        client.get("/")
        baseline = rss_kb(server.pid)
        bound = baseline + args.cache_mb * 1024
        print(f"baseline RSS {baseline / 1024:.0f} MB; bound (baseline + --cache-mb {args.cache_mb}) {bound / 1024:.0f} MB")

        all_methods = methods()
        errors = {}
        lock = threading.Lock()

        def record(status, path):
            if status >= 500:
                with lock:
                    errors.setdefault(status, []).append(path)

        if not args.skip_sweep:
            queue = [f"/analysis/{page}?{method_query(m)}" for m in all_methods for page in ("spatial",)]
            queue += [f"/regions/CN-GD?{method_query(m)}" for m in all_methods]
            started = time.time()

            def sweep(i):
                c = Client(args.port)
                for path in queue[i :: args.workers]:
                    record(c.get(path)[0], path)

            run_threads(args.workers, sweep)
            print(f"sweep: {len(queue)} analysis/region pages over {len(all_methods)} methods in "
                  f"{time.time() - started:.0f} s, 5xx: {sum(len(v) for v in errors.values())}")

        pages = ["/", "/analysis/spatial", "/regions/CN-GD", "/compare", "/methodology"]
        keys = [(d, m) for d in datasets for m in all_methods]
        print(f"soak: {len(keys)} distinct (version, method) keys, {args.workers} workers, {args.seconds:.0f} s")
        counts = [0] * args.workers
        stop_at = time.time() + args.seconds
        peak = [baseline]

        def soak(i):
            rng = random.Random(i)
            c = Client(args.port)
            while time.time() < stop_at:
                dataset, method = rng.choice(keys)
                path = f"{rng.choice(pages)}?dataset={dataset}&{method_query(method)}"
                record(c.get(path)[0], path)
                counts[i] += 1

        def sample():
            while time.time() < stop_at:
                peak[0] = max(peak[0], rss_kb(server.pid))
                time.sleep(0.5)

        sampler = threading.Thread(target=sample)
        sampler.start()
        run_threads(args.workers, soak)
        sampler.join()
        final = rss_kb(server.pid)
        print(f"soak: {sum(counts)} requests, peak RSS {peak[0] / 1024:.0f} MB, final {final / 1024:.0f} MB")
        if peak[0] > bound:
            failures.append(f"peak RSS {peak[0] / 1024:.0f} MB over the bound {bound / 1024:.0f} MB")

        version = None
        status, data = client.get("/api/v1/datasets")
        # /api/v1/datasets is the dataset list view: one entry per dataset, its latest version.
        for d in json.loads(data) if status == 200 else []:
            if d.get("id") == "cn-provinces":
                version = (d.get("latest") or {}).get("version", "")[:12]
        for label, path in [
            ("bundle.zip", f"/download/cn-provinces/{version}/bundle.zip"),
            ("static app.js", "/static/app.js"),
        ]:
            status, body = client.get(path)
            size = len(body)
            done = [0] * args.connections
            burst_end = time.time() + args.burst

            def fetch(i):
                c = Client(args.port)
                while time.time() < burst_end:
                    s, _ = c.get(path)
                    record(s, path)
                    done[i] += 1

            run_threads(args.connections, fetch)
            print(f"{label}: {size} bytes, {args.connections} connections, {sum(done) / args.burst:.0f} req/s")
        page_vs_static(args.port, args.pvs_page, static, args.pvs_procs, args.pvs_connections,
                       args.pvs_seconds, args.pvs_rounds)
        if errors:
            failures.append(f"5xx answers: { {k: len(v) for k, v in errors.items()} }, e.g. {next(iter(errors.values()))[:3]}")
    finally:
        server.terminate()
        try:
            server.wait(timeout=40)
        except subprocess.TimeoutExpired:
            server.kill()
        subprocess.run(["rm", "-rf", data_dir], check=False)
    for f in failures:
        print("FAIL:", f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
