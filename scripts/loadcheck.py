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
     (throughput; served from the cache), and the same for a static asset.
Exit status 1 when a 5xx was seen or the peak RSS exceeded the bound. Standard library only.

  python3 scripts/loadcheck.py [--binary target/release/nqp] [--cache-mb 256] [--seconds 60]
"""

import argparse
import http.client
import io
import json
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
