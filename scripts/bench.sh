#!/usr/bin/env bash
# Benchmark `nqp compute` (release build) on its DEFAULT command line
# (`nqp compute --data F --framework F --out F`, no other flag) against the Python peers in
# ../shared/bench (pandas + numpy, Python Polars, and Python Polars reading the CSV only), on
# the same inputs in the same run. The tools run in alternation (nqp, Polars, pandas, read;
# repeated), so that a noisy machine slows all of them alike; each figure is the median of the
# repeats: whole-process wall time and peak RSS (`/usr/bin/time`). Also checks that all three
# agree numerically, fits the log-log exponent of nqp's time over the scaling sizes, and prints
# the Markdown for docs/benchmarks.md.
#
# usage: scripts/bench.sh [REPEATS] [SCALING REGIONS...]      (default: 3  300 3000 30000)
# env:   NQP_BIN=path/to/nqp    use this release binary instead of building one
#        NQP_BENCH_VENV=dir     Python venv with numpy, pandas, polars (created when missing)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
repeats=${1:-3}
shift || true
scaling=("$@")
[ ${#scaling[@]} -gt 0 ] || scaling=(300 3000 30000)
peers=$root/../shared/bench
test -d "$peers" || { echo "missing $peers" >&2; exit 1; }
test -x /usr/bin/time || { echo "needs /usr/bin/time (GNU time) for peak memory" >&2; exit 1; }

if [ -n "${NQP_BIN:-}" ]; then
  nqp=$NQP_BIN
else
  # One release build at a time on a shared machine.
  flock /tmp/nqp-release.lock nice cargo build --release --locked --bin nqp
  nqp=$root/target/release/nqp
fi

venv=${NQP_BENCH_VENV:-/tmp/nqp-bench-venv}
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet numpy pandas polars
fi
py="$venv/bin/python"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# One run: "<wall seconds> <peak RSS KiB>" (the command's own output is discarded).
measure() {
  /usr/bin/time -f '%e %M' -o "$work/time" "$@" >/dev/null 2>"$work/stderr" || {
    cat "$work/stderr" >&2
    return 1
  }
  cat "$work/time"
}

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Max absolute difference of the score columns between two outputs (joined on region, year).
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

ratio() { echo "$1 / $2" | bc -l | xargs printf '%.2f'; }
mib() { echo "$1 / 1024" | bc -l | xargs printf '%.0f'; }

rows=()
declare -A nqp_time
run_case() {
  local name=$1 panel=$2 framework=$3
  local tool
  declare -A t m
  for tool in nqp polars pandas read; do : >"$work/$tool.t"; : >"$work/$tool.m"; done
  for _ in $(seq "$repeats"); do
    for tool in nqp polars pandas read; do
      local cmd
      case $tool in
        nqp) cmd=("$nqp" compute --data "$panel" --framework "$framework" --out "$work/nqp.csv") ;;
        polars) cmd=("$py" "$peers/peer_polars.py" "$panel" "$framework" "$work/polars.csv") ;;
        pandas) cmd=("$py" "$peers/peer_pandas.py" "$panel" "$framework" "$work/pandas.csv") ;;
        read) cmd=("$py" "$peers/peer_polars.py" "$panel" "$framework" "$work/read.csv" --read-only) ;;
      esac
      read -r secs kib < <(measure "${cmd[@]}")
      echo "$secs" >>"$work/$tool.t"
      echo "$kib" >>"$work/$tool.m"
    done
  done
  for tool in nqp polars pandas read; do
    t[$tool]=$(median <"$work/$tool.t")
    m[$tool]=$(median <"$work/$tool.m")
  done
  nqp_time[$name]=${t[nqp]}
  local d_pandas d_polars
  d_pandas=$(max_diff "$work/nqp.csv" "$work/pandas.csv")
  d_polars=$(max_diff "$work/nqp.csv" "$work/polars.csv")
  rows+=("| $name | ${t[nqp]} | ${t[polars]} | ${t[pandas]} | ${t[read]} | $(ratio "${t[polars]}" "${t[nqp]}") | $(ratio "${t[nqp]}" "${t[read]}") | $(mib "${m[nqp]}") | $(mib "${m[polars]}") | $(mib "${m[pandas]}") | $(mib "${m[read]}") | $d_pandas / $d_polars |")
  echo "${rows[-1]}" >&2
}

gen() { # regions years indicators layout dir
  "$py" "$peers/gen_panel.py" --regions "$1" --years "$2" --indicators "$3" --layout "$4" --seed 1 "$5" >/dev/null
}

gen 31 10 14 long "$work/small"
run_case "31 × 10 × 14 (long)" "$work/small/panel.csv" "$work/small/framework.toml"
gen 3000 20 60 long "$work/large"
run_case "3,000 × 20 × 60 (long, 3.6 M rows)" "$work/large/panel.csv" "$work/large/framework.toml"
gen 3000 20 60 wide "$work/wide"
run_case "3,000 × 20 × 60 (wide)" "$work/wide/panel.csv" "$work/wide/framework.toml"
rm -rf "$work/wide"

# Scaling: regions × 20 years × 60 indicators, long; nqp's time per million observations and
# the slope of log(time) over log(observations).
scale_rows=()
points=()
for r in "${scaling[@]}"; do
  if [ "$r" = 3000 ]; then
    secs=${nqp_time["3,000 × 20 × 60 (long, 3.6 M rows)"]}
  else
    gen "$r" 20 60 long "$work/s$r"
    run_case "$r × 20 × 60 (long)" "$work/s$r/panel.csv" "$work/s$r/framework.toml"
    secs=${nqp_time["$r × 20 × 60 (long)"]}
    rm -rf "$work/s$r"
  fi
  obs=$((r * 20 * 60))
  points+=("$obs $secs")
  scale_rows+=("| $r | $(echo "$obs / 1000000" | bc -l | xargs printf '%.2f') | $secs | $(echo "$secs / ($obs / 1000000)" | bc -l | xargs printf '%.3f') |")
done
exponent=$(printf '%s\n' "${points[@]}" | awk '
  { x = log($1); y = log($2); n++; sx += x; sy += y; sxx += x * x; sxy += x * y }
  END { printf "%.2f", (n * sxy - sx * sy) / (n * sxx - sx * sx) }')

echo
echo "\`scripts/bench.sh $repeats ${scaling[*]}\` on $(date -u +%Y-%m-%d), $(nproc) cores, $(uname -m);"
echo "median of $repeats alternating runs; whole-process wall time in seconds and peak RSS in MiB."
echo
echo "| input | nqp | Python Polars | pandas | read only | Polars / nqp | nqp / read | nqp MiB | Polars MiB | pandas MiB | read MiB | max diff (pandas / Polars) |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo
echo "Scaling (long, 20 years × 60 indicators): log-log exponent of nqp's time over observations $exponent."
echo
echo "| regions | observations (M) | nqp s | s per M observations |"
echo "|---|---|---|---|"
printf '%s\n' "${scale_rows[@]}"
echo
echo "Python $("$py" -c 'import sys; print(sys.version.split()[0])'), pandas $("$py" -c 'import pandas; print(pandas.__version__)'), polars $("$py" -c 'import polars; print(polars.__version__)'); $("$nqp" --version)."
