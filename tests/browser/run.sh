#!/usr/bin/env bash
# Browser lane: builds nqp, serves the bundled data on a free loopback port from a temporary
# data dir, and drives every page in Debian's headless Chromium with playwright-core.
# Screenshots are written to target/screenshots/ for review.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

# Debian's Chromium, and a CJK font so that screenshots of the Chinese pages show text rather
# than boxes (the tests themselves read the DOM and pass either way).
packages=()
command -v chromium >/dev/null 2>&1 || packages+=(chromium)
fc-list :lang=zh-cn family 2>/dev/null | grep -q . || packages+=(fonts-noto-cjk)
if [ ${#packages[@]} -gt 0 ]; then
  echo "installing ${packages[*]} (Debian packages)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi

# playwright-core only (no browser download); reinstall only when the locked version is not
# the installed one, so a warm checkout does not need the npm registry.
(
  cd tests/browser
  want=$(node -p 'require("./package-lock.json").packages["node_modules/playwright-core"].version')
  have=$(node -p 'try { require("./node_modules/playwright-core/package.json").version } catch { "" }')
  [ "$want" = "$have" ] || npm ci --no-audit --no-fund --silent
)

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
cargo build --locked --bin nqp
bin="$CARGO_TARGET_DIR/debug/nqp"

data_dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log="$data_dir/server.log"
# The server refuses admin tokens shorter than 32 characters; the upload test signs in with it.
export NQP_ADMIN_TOKEN=browser-test-token-0123456789abcdef
"$bin" serve --addr "127.0.0.1:$port" --data-dir "$data_dir" >"$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$data_dir"' EXIT

for _ in $(seq 1 300); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  kill -0 $server 2>/dev/null || { cat "$log"; echo "nqp serve exited early" >&2; exit 1; }
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || { cat "$log"; echo "nqp serve never became healthy" >&2; exit 1; }

# Fresh screenshots each run, so a reviewer never looks at a stale one.
shots="${NQP_SCREENSHOTS:-$root/target/screenshots}"
mkdir -p "$shots"
rm -f "$shots"/*.png
# A per-test timeout turns a hung page into a failure instead of a stuck CI job; the link walk
# of pages.test.mjs visits every internal link of the dashboard on a debug build, hence 3 min.
NQP_URL="http://127.0.0.1:$port" NQP_SCREENSHOTS="$shots" \
  node --test --test-reporter=spec --test-timeout=180000 tests/browser/*.test.mjs
echo "screenshots: $shots"
