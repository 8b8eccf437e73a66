#!/usr/bin/env bash
# Browser lane: builds nqp, serves the bundled data on a free loopback port from a temporary
# data dir, and drives every page in Debian's headless Chromium with playwright-core.
# Screenshots are written to target/screenshots/ for review.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

if ! command -v chromium >/dev/null 2>&1; then
  echo "installing chromium (Debian package)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

(cd tests/browser && npm ci --no-audit --no-fund --silent)

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
cargo build --locked --bin nqp
bin="$CARGO_TARGET_DIR/debug/nqp"

data_dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log="$data_dir/server.log"
NQP_ADMIN_TOKEN=browser-test-token "$bin" serve --addr "127.0.0.1:$port" --data-dir "$data_dir" >"$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$data_dir"' EXIT

for _ in $(seq 1 300); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  kill -0 $server 2>/dev/null || { cat "$log"; echo "nqp serve exited early" >&2; exit 1; }
  sleep 0.2
done

mkdir -p "$root/target/screenshots"
NQP_URL="http://127.0.0.1:$port" NQP_SCREENSHOTS="$root/target/screenshots" \
  node --test --test-reporter=spec tests/browser/
