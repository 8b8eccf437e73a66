#!/usr/bin/env bash
# Time the robustness analyses on the bundled dataset with a release binary, as a user runs
# them: `nqp robustness` in Monte Carlo mode (1,000 draws) and in exhaustive mode, and the
# weight sandbox's recompute over HTTP (`nqp serve`, curl, loopback, a fixed number of
# requests). Prints the figures recorded in docs/benchmarks.md ("Robustness").
#
# usage: NQP_BIN=path/to/release/nqp scripts/bench-robustness.sh [REPEATS]
set -euo pipefail
cd "$(dirname "$0")/.."
nqp=${NQP_BIN:?set NQP_BIN to a release build of nqp}
repeats=${1:-3}
panel=data/datasets/cn-provinces/panel.csv
framework=data/frameworks/nqp-triad.toml
work=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT

# Wall time in seconds of one run of a command.
wall() {
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >/dev/null 2>&1
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc -l | awk '{printf "%.3f", $1}'
}

for mode in montecarlo exhaustive; do
  times=()
  for _ in $(seq "$repeats"); do
    times+=("$(wall "$nqp" robustness --data "$panel" --framework "$framework" \
      --mode "$mode" --draws 1000 --seed 1 --out-dir "$work/$mode")")
  done
  echo "robustness --mode $mode: ${times[*]} s"
done

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$nqp" serve --addr "127.0.0.1:$port" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
base="http://127.0.0.1:$port/api/v1/sandbox"
# The first request prepares the panel and the nominal run (then cached).
first=$(curl -fsS -o /dev/null -w '%{time_total}' "$base?d.tools=1")
times=()
for i in $(seq 1 50); do
  times+=("$(curl -fsS -o /dev/null -w '%{time_total}' "$base?d.tools=$i&d.objects=0.$i&w.rd_intensity=0.0$i")")
done
printf '%s\n' "${times[@]}" | sort -g | awk -v first="$first" '
  {a[NR]=$1} END {printf "sandbox over HTTP: first %.4f s; 50 recomputes: median %.4f s, max %.4f s\n",
  first, a[int((NR+1)/2)], a[NR]}'
