"""How fast replay is (on demand, not a test): a toy table replayed on the simulated clock.

    .venv/bin/python benchmarks/replay.py                 # 10 trials, then 1,000, 10,000 and 100,000
    .venv/bin/python benchmarks/replay.py --sizes 1000,10000
    .venv/bin/python benchmarks/replay.py --smoke         # seconds (tests run this)

Builds a table from a toy grid run (8 configurations x 2 seeds x 16 epochs), then times whole
`bench run` processes of `random` search replaying it with the simulated executor (4 workers),
store and outputs included, `--no-report`. Every size runs the same 10 seeds (cells), so that
what a run costs once (starting, reading the table, the leaderboard's statistics) is the same
at every size. Prints, against the replay issue's targets:

- the wall time of a 10-trial replay run, start to exit (target: at most 2 s);
- trials per second end to end at each size (target: at least 1,000 on one core);
- what one more trial costs: the slope of run time over trials between two sizes, and how it
  changes from the smaller sizes to the larger (it must not grow: no per-trial rescans of the
  store);
- the overhead per trial beyond the strategy's own ask and tell (target: at most 0.2 ms): that
  slope, between the two largest sizes, minus the ask-and-tell time of `random` on the same
  space, measured here in the same run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from automl_bench.testing import toy_table_suite

BENCH = str(Path(sys.executable).parent / "bench")
TOY = "automl_bench.testing.toy"

REPLAY = """\
name = "replay{trials}"
seeds = [{seeds}]
[budget]
max_trials = {per_cell}
[matrix]
backends = ["replay"]
strategies = ["random"]
[execution]
executor = "simulated"
workers = 4
[[tasks]]
name = "toy-replay"
table = "{table}"
"""


def bench(*args: str, cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run([BENCH, *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "TOY_EPOCH_SECONDS": "0"})
    took = time.perf_counter() - start
    if done.returncode not in (0, 2):
        sys.exit(f"bench {' '.join(args)} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return took


def replay_run(work: Path, table: Path, trials: int, seeds: int) -> float:
    suite = work / f"replay{trials}.toml"
    suite.write_text(REPLAY.format(trials=trials, seeds=", ".join(map(str, range(seeds))), per_cell=trials // seeds,
                                   table=table))
    return bench("run", str(suite), "--out", str(work / "results"), "--quiet", "--no-report", "--fresh", cwd=work)


def ask_tell_seconds(trials: int) -> float:
    """What `random` itself costs per trial on the table's space: ask and tell, nothing else."""
    from automl_bench import FinishedTrial
    from automl_bench._plugins.random_search import RandomSearch
    from automl_bench.space import CategoricalParam, FixedParam, FloatParam, SearchSpace

    grid = (0.001, 0.01, 0.1, 1.0)
    space = SearchSpace((FloatParam("learning_rate", 0.001, 1.0, log=True, grid=grid, finite=True),
                         CategoricalParam("units", (16, 32)), FixedParam("epochs", 16)))
    strategy = RandomSearch(space=space, seed=0)
    start = time.perf_counter()
    for n in range(trials):
        params = space.snap(strategy.ask(n))
        strategy.tell(FinishedTrial(n, params, "ok", 0.5))
    return (time.perf_counter() - start) / trials


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="trials per run, comma-separated (2 or more)")
    parser.add_argument("--smoke", action="store_true", help="runs of 20 and 50 trials: the script still runs")
    args = parser.parse_args()
    sizes = [20, 50] if args.smoke else sorted(int(s) for s in args.sizes.split(","))
    if len(sizes) < 2:
        parser.error("--sizes needs two sizes or more: what a trial costs is the slope between them")
    seeds = 2 if args.smoke else 10
    with tempfile.TemporaryDirectory(prefix="bench-replay-") as tmp:
        work = Path(tmp)
        (work / "grid.toml").write_text(toy_table_suite(epochs=16))
        bench("-p", TOY, "run", str(work / "grid.toml"), "--out", str(work / "built"), "--quiet", "--no-report",
              cwd=work)
        table = work / "table.parquet"
        bench("-p", TOY, "tabulate", str(work / "built" / "table"), "-o", str(table), cwd=work)
        fixed = min(replay_run(work, table, 10, 1) for _ in range(1 if args.smoke else 3))
        print(f"a 10-trial replay run, start to exit: {fixed:.2f} s (target <= 2 s: "
              f"{'met' if fixed <= 2 else 'missed'})")
        took = {}
        for n in sizes:
            took[n] = replay_run(work, table, n, seeds)
            rate = n / took[n]
            print(f"{n:>7,} trials, {seeds} seeds: {took[n]:7.1f} s, {rate:7.0f} trials/s end to end (target >= 1,000: "
                  f"{'met' if rate >= 1000 else 'missed'})")
        slopes = [(a, b, (took[b] - took[a]) / (b - a)) for a, b in zip(sizes, sizes[1:])]
        for a, b, slope in slopes:
            print(f"one more trial, from {a:,} to {b:,}: {slope * 1e3:.3f} ms")
        if len(slopes) > 1:
            print(f"one more trial at the largest sizes / at the smallest: x{slopes[-1][2] / slopes[0][2]:.2f} "
                  "(1.0: linear in the trials; above it, each trial costs more as the store grows)")
        ask_tell = ask_tell_seconds(10_000)
        overhead = slopes[-1][2] - ask_tell
        print(f"random's own ask and tell: {ask_tell * 1e3:.3f} ms per trial; the harness's overhead beyond it: "
              f"{overhead * 1e3:.3f} ms per trial (target <= 0.2 ms: {'met' if overhead <= 0.0002 else 'missed'})")


if __name__ == "__main__":
    from _page import run as run_with_page

    run_with_page(main, __file__)  # --page: also write docs/benchmarks/<script>.md
