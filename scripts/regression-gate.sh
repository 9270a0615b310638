#!/usr/bin/env bash
# The regression gate of docs/how-to/regression.md, as CI runs it (.github/workflows/benchmark.yml) and
# as anyone can run it locally.
#
#   scripts/regression-gate.sh [options] SUITE
#
# Runs SUITE with the current code and compares it with a baseline:
#   --baseline PATH     a stored baseline: a file written by `bench export` (on main), or a
#                       results directory. Times are compared calibrated when the machines differ.
#   --base-bench CMD    interleaved: CMD is the base branch's `bench` (built in a second
#                       environment); both sides run seed by seed, alternately, on this machine,
#                       so times are compared raw.
#   --duet              with --base-bench: both sides run at the same time instead, side by
#                       side, so that a busy machine slows both alike; as steady as seed by seed
#                       under load, for one pair of runs (docs/explanation/timing.md).
#   (neither)           only run and export: what the job on main does to make the baseline.
#   --history DIR       a folder of earlier exports, one per commit (main's, kept on a data
#                       branch): with --record, this run's export is added to it and the history
#                       site is written (DIR/../site, `bench history --site`); without, the
#                       summary gains where this run sits against the last 20 exports.
#   --site-url URL      where the published site is, for the summary's link
# Options:
#   --bench CMD         the current code's `bench` (default: bench)
#   --out DIR           where everything goes (default: gate)
#   --                  what follows goes to `bench compare` (--max-slowdown 1.2, --fail-on never, ...)
#
# Writes in DIR: current/ (results), base/ (interleaved mode), baseline.json (this run's export:
# the next baseline), summary.md, junit.xml, scores.json, times.json.
# Exit status: bench compare's: 0 no regression, 1 a regression, 2 cannot compare (a run that
# could not start is a 2 as well).
set -uo pipefail

bench="bench" base_bench="" baseline="" out="gate" suite="" history="" record="" site_url="" duet=""
compare_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --bench) bench="$2"; shift 2 ;;
    --base-bench) base_bench="$2"; shift 2 ;;
    --duet) duet=1; shift ;;
    --baseline) baseline="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --history) history="$2"; shift 2 ;;
    --record) record=1; shift ;;
    --site-url) site_url="$2"; shift 2 ;;
    --) shift; compare_args=("$@"); break ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    -*) echo "regression-gate: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) suite="$1"; shift ;;
  esac
done
if [ -z "$suite" ]; then echo "regression-gate: give a suite file (see --help)" >&2; exit 2; fi
if [ -n "$base_bench" ] && [ -n "$baseline" ]; then
  echo "regression-gate: give --baseline or --base-bench, not both" >&2; exit 2
fi
if [ -n "$duet" ] && [ -z "$base_bench" ]; then
  echo "regression-gate: --duet runs both sides at once, so it needs --base-bench" >&2; exit 2
fi
mkdir -p "$out"

# `bench run` exits 0, or 2 when a cell could not run or every trial of one failed: that is for
# the comparison to judge. Anything else (a suite error, an interrupt) means nothing to compare.
run() {  # run BENCH_CMD RESULTS_ROOT [bench run options...]
  local cmd="$1" root="$2"; shift 2
  $cmd run "$suite" --out "$root" --quiet --no-report "$@" >"$root.log" 2>&1
  local status=$?
  if [ $status -ne 0 ] && [ $status -ne 2 ]; then
    echo "regression-gate: '$cmd run $suite' failed (exit $status); its output is in $root.log:" >&2
    tail -n 20 "$root.log" >&2
    exit 2
  fi
}

results_dir() {  # the one results directory under a --out root
  find "$1" -mindepth 1 -maxdepth 1 -type d -not -name logs | head -n 1
}

if [ -n "$duet" ]; then
  # Both sides at the same time, so that whatever the machine does falls on both at once.
  echo "base and current, side by side" >&2
  run "$base_bench" "$out/base" & base_pid=$!
  run "$bench" "$out/current" & current_pid=$!
  wait "$base_pid" || exit 2
  wait "$current_pid" || exit 2
  baseline=$(results_dir "$out/base")
elif [ -n "$base_bench" ]; then
  # Seed by seed, alternately, so that whatever the machine does in the meantime falls on both.
  seeds=$(python3 -c 'import sys, tomllib; print(" ".join(map(str, tomllib.load(open(sys.argv[1], "rb")).get("seeds", [0]))))' "$suite") || exit 2
  for seed in $seeds; do
    echo "seed $seed: base" >&2; run "$base_bench" "$out/base" --seeds "$seed"
    echo "seed $seed: current" >&2; run "$bench" "$out/current" --seeds "$seed"
  done
  baseline=$(results_dir "$out/base")
else
  echo "running $suite" >&2
  run "$bench" "$out/current"
fi
current=$(results_dir "$out/current")
$bench export "$current" -o "$out/baseline.json" || exit 2
if [ -n "$history" ] && [ -n "$record" ]; then
  # main: keep this export in the history (named so that names sort as the exports were made),
  # then draw the site from every export kept
  mkdir -p "$history"
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo nocommit)
  cp "$out/baseline.json" "$history/$stamp-$commit.json"
  $bench history "$history" --site "$(dirname "$history")/site" --markdown "$out/history.md" >/dev/null || exit 2
  echo "recorded $history/$stamp-$commit.json; site in $(dirname "$history")/site" >&2
fi
if [ -z "$baseline" ]; then
  echo "no baseline given: exported $out/baseline.json" >&2
  exit 0
fi
$bench compare "$baseline" "$current" --markdown "$out/summary.md" --junit "$out/junit.xml" \
  --json-scores "$out/scores.json" --json-times "$out/times.json" "${compare_args[@]}"
status=$?
if [ -n "$history" ] && [ -z "$record" ] && [ -d "$history" ]; then
  # a pull request: this run's export as the newest point after main's last 20 exports
  recent="$out/recent"
  rm -rf "$recent" && mkdir -p "$recent"
  find "$history" -maxdepth 1 -name '*.json' | sort | tail -n 20 | xargs -r -I{} cp {} "$recent/"
  cp "$out/baseline.json" "$recent/zzzz-this-change.json"
  {
    echo
    echo "### This change against main's last 20 commits"
    echo
    if [ -n "$site_url" ]; then echo "The history of every commit on main: $site_url"; echo; fi
    $bench history "$recent" | sed '1,2d'
  } >> "$out/summary.md" || true
fi
exit $status
