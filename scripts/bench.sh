#!/usr/bin/env bash
# Benchmark `nqp compute` (release build) against the Python peers in ../shared/bench
# (pandas + numpy, Python Polars) on the same inputs, in the same run, and write the figures
# and ratios to docs/benchmarks.md. Also checks that all three agree numerically.
#
# usage: scripts/bench.sh [REPEATS]        (needs ../shared/bench and python3; ~5 min)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
repeats=${1:-3}
peers=$root/../shared/bench
test -d "$peers" || { echo "missing $peers" >&2; exit 1; }

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/nqp-release}"
cargo build --release --locked --bin nqp
nqp="$CARGO_TARGET_DIR/release/nqp"

venv=${NQP_BENCH_VENV:-/tmp/nqp-bench-venv}
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet numpy pandas polars
fi
py="$venv/bin/python"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Median wall time in seconds of a command run $repeats times.
median_time() {
  local times=()
  for _ in $(seq "$repeats"); do
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >/dev/null 2>&1
    t1=$(date +%s.%N)
    times+=("$(echo "$t1 - $t0" | bc -l)")
  done
  printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {printf "%.3f", a[int((NR+1)/2)]}'
}

# Max absolute difference of the score column between two outputs (joined on region, year).
max_diff() {
  "$py" - "$1" "$2" <<'PY'
import sys, pandas as pd
a = pd.read_csv(sys.argv[1], dtype={"region": str}); b = pd.read_csv(sys.argv[2], dtype={"region": str})
m = a.merge(b, on=["region", "year"], suffixes=("_a", "_b"))
assert len(m) == len(a) == len(b), (len(m), len(a), len(b))
cols = ["score", "laborers", "tools", "objects"]
print(f"{max((m[c + '_a'] - m[c + '_b']).abs().max() for c in cols):.2e}")
PY
}

rows=()
run_case() {
  local name=$1 panel=$2 framework=$3
  local t_nqp t_pandas t_polars t_read d_pandas d_polars
  t_nqp=$(median_time "$nqp" compute --data "$panel" --framework "$framework" --regions none --out "$work/nqp.csv")
  t_pandas=$(median_time "$py" "$peers/peer_pandas.py" "$panel" "$framework" "$work/pandas.csv")
  t_polars=$(median_time "$py" "$peers/peer_polars.py" "$panel" "$framework" "$work/polars.csv")
  t_read=$(median_time "$py" "$peers/peer_polars.py" "$panel" "$framework" "$work/read.csv" --read-only)
  d_pandas=$(max_diff "$work/nqp.csv" "$work/pandas.csv")
  d_polars=$(max_diff "$work/nqp.csv" "$work/polars.csv")
  rows+=("| $name | $t_nqp | $t_pandas | $t_polars | $t_read | $(echo "$t_pandas / $t_nqp" | bc -l | xargs printf '%.2f') | $(echo "$t_polars / $t_nqp" | bc -l | xargs printf '%.2f') | $d_pandas / $d_polars |")
  echo "${rows[-1]}"
}

# The bundled dataset, with its own framework: the peers know no formulas, so give them the
# derived wide indicators that nqp computes (nqp's own `check` derives the same).
"$py" "$peers/gen_panel.py" --regions 31 --years 10 --indicators 14 --layout long --seed 1 "$work/small" >/dev/null
run_case "31 regions × 10 years × 14 indicators (long)" "$work/small/panel.csv" "$work/small/framework.toml"
"$py" "$peers/gen_panel.py" --regions 3000 --years 20 --indicators 60 --layout long --seed 1 "$work/large" >/dev/null
run_case "3,000 × 20 × 60 (long, 3.6 M rows)" "$work/large/panel.csv" "$work/large/framework.toml"
"$py" "$peers/gen_panel.py" --regions 3000 --years 20 --indicators 60 --layout wide --seed 1 "$work/wide" >/dev/null
run_case "3,000 × 20 × 60 (wide)" "$work/wide/panel.csv" "$work/wide/framework.toml"

{
  echo "# Benchmarks"
  echo
  echo "\`scripts/bench.sh\` on $(date -u +%Y-%m-%d), $(nproc) cores, $(uname -m); median of $repeats runs, whole process wall time"
  echo "in seconds. Method: the default (minmax-panel, entropy-panel with shift 1e-4, weighted sum,"
  echo "min ranks). Peers: \`shared/bench/peer_pandas.py\` (pandas + numpy) and \`peer_polars.py\` (Python"
  echo "Polars); \"read\" is Python Polars reading the CSV only (the I/O floor). Ratios > 1 mean nqp is faster."
  echo "The last column is the largest absolute difference of any score between nqp and each peer."
  echo
  echo "| input | nqp | pandas | Python Polars | read only | pandas / nqp | Polars / nqp | max diff (pandas / Polars) |"
  echo "|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "Python $("$py" -c 'import sys; print(sys.version.split()[0])'), pandas $("$py" -c 'import pandas; print(pandas.__version__)'), polars $("$py" -c 'import polars; print(polars.__version__)'); nqp $("$nqp" --version)."
} > docs/benchmarks.md
cat docs/benchmarks.md
