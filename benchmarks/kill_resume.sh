#!/usr/bin/env bash
# On demand: kill a real run with SIGKILL part-way, rerun it, and compare with an
# uninterrupted run of the same suite: every trial must be recorded exactly once, with
# identical parameters and scores.   Usage: bash benchmarks/kill_resume.sh [SUITE] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
suite=${1:-suites/quickstart.toml}
after=${2:-60}
work=$(mktemp -d)
bench=.venv/bin/bench
name=$(.venv/bin/python -c "import tomllib,sys; print(tomllib.load(open(sys.argv[1],'rb'))['name'])" "$suite")

echo "reference run (uninterrupted)..."
$bench run "$suite" --out "$work/ref" --quiet > /dev/null
echo "run to be killed after ${after}s..."
$bench run "$suite" --out "$work/kill" --quiet > /dev/null 2>&1 &
pid=$!
sleep "$after"
kill -9 "$pid" || true
wait "$pid" 2>/dev/null || true
echo "killed with $(.venv/bin/python -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from trials').fetchone()[0])" "$work/kill/$name/bench.sqlite") trials recorded; rerunning..."
$bench run "$suite" --out "$work/kill" --quiet > /dev/null
.venv/bin/python - "$work/ref/$name" "$work/kill/$name" <<'PY'
import sys
import pandas as pd
ref, resumed = (pd.read_csv(f"{d}/trials.csv") for d in sys.argv[1:3])
key = ["task", "backend", "strategy", "seed", "trial"]
merged = ref.merge(resumed, on=key, suffixes=("_ref", "_resumed"))
checks = {
    "same number of trials": len(ref) == len(resumed) == len(merged),
    "no trial recorded twice": not resumed.duplicated(key).any(),
    "resumed across two runs": resumed["run_id"].nunique() == 2,
    "identical parameters": (merged["params_ref"] == merged["params_resumed"]).all(),
    "identical scores": (merged["value_ref"].fillna(-1) == merged["value_resumed"].fillna(-1)).all(),
    "identical test scores": pd.read_csv(f"{sys.argv[1]}/leaderboard.csv")["test_mean"].equals(
        pd.read_csv(f"{sys.argv[2]}/leaderboard.csv")["test_mean"]),
}
for name, ok in checks.items():
    print(f"{'ok  ' if ok else 'FAIL'} {name}")
sys.exit(0 if all(checks.values()) else 1)
PY
rm -rf "$work"
