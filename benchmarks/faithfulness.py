"""Does a replayed study give the verdict real training gives? (On demand, not a test.)

    .venv/bin/python benchmarks/faithfulness.py                      # the shipped mnist5k-mlp table
    .venv/bin/python benchmarks/faithfulness.py --seeds 5 --trials 20 --workers 2
    .venv/bin/python benchmarks/faithfulness.py --smoke              # a toy table, seconds (tests run this)

Runs the same strategies (random, TPE, the genetic algorithm, TPE with ASHA) on the same seeds
twice: with real training of the table's task (its build suite's space and epochs, the learning
rate held to the table's values with ``finite = true``), and replaying the table on the simulated
clock with as many workers. Prints, per strategy, the mean best validation score of each with its
95% bootstrap interval (scipy), whether the two intervals overlap, and Kendall's tau between the
strategies' rankings by mean best (scipy). Each real trial of a configuration is a fresh
training, while the replay reads one of the table's recorded runs of it: the two differ by
training noise even where the simulation is exact.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BENCH = str(Path(sys.executable).parent / "bench")
STRATEGIES = ("random", "tpe", "genetic", "tpe+asha")


def suite_text(build: Path, *, seeds: int, trials: int, workers: int, replay: Path | None) -> str:
    """The build suite turned into a search: the same space (the learning rate held to the table's
    values), the strategies above, or, with ``replay``, the same search replaying the table."""
    import tomllib

    import tomli_w

    suite = tomllib.loads(build.read_text())
    points = suite.get("strategy", {}).get("grid", {}).get("points", 3)  # how the build discretised its ranges
    suite["name"] = "faithfulness-replay" if replay else "faithfulness-real"
    suite["seeds"] = list(range(seeds))
    suite["test_every_trial"] = False
    suite["budget"] = {"max_trials": trials, **{k: v for k, v in suite["budget"].items() if k == "trial_timeout"}}
    suite["matrix"]["strategies"] = list(STRATEGIES)
    suite.pop("strategy", None)
    suite.pop("description", None)
    if replay is not None:
        task = suite["tasks"][0]
        suite["matrix"]["backends"] = ["replay"]
        suite.pop("space", None)
        suite["tasks"] = [{"name": task["name"], "table": str(replay)}]
        suite["execution"] = {"executor": "simulated", "workers": workers}
    else:
        from automl_bench.space import FloatParam, IntParam

        suite.setdefault("execution", {})["workers"] = workers
        spaces = [suite.get("space", {}), *(t.get("space", {}) for t in suite["tasks"])]
        for space in spaces:  # every range held to the values the build's grid gave it: the table's
            for name, spec in space.items():
                if isinstance(spec, dict) and spec.get("type") in ("int", "float") and "grid" not in spec:
                    cls = IntParam if spec["type"] == "int" else FloatParam
                    values = cls(name, spec["low"], spec["high"], log=spec.get("log", False)).grid_values(points)
                    space[name] = {**spec, "grid": list(values), "finite": True}
    return tomli_w.dumps(suite)


def run(suite: Path, out: Path) -> None:
    done = subprocess.run([BENCH, "run", str(suite), "--out", str(out), "--quiet", "--no-report"],
                          capture_output=True, text=True, env={**os.environ, "TOY_EPOCH_SECONDS": "0"})
    if done.returncode != 0:
        sys.exit(f"bench run {suite} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")


def bests(directory: Path) -> dict[str, np.ndarray]:
    import pandas as pd

    trials = pd.read_csv(directory / "trials.csv")
    best = trials[trials["status"] == "ok"].groupby(["strategy", "seed"])["value"].max()
    return {s: best[s].to_numpy() for s in STRATEGIES if s in best.index.get_level_values(0)}


def compare_trials(out: Path, table_path: Path) -> tuple[dict[str, float], tuple[float, float, int]]:
    """Per strategy, the fraction of trials (same seed and number) that searched the same
    configuration really and in replay; and, over every completed real trial, how far its score
    was from the mean of the table's recorded runs of its configuration (mean, sd, trials): the
    training noise, or an offset, between the table's runs and these."""
    import pandas as pd

    from automl_bench.tables import PARAM, read_table

    real = pd.read_csv(out / "faithfulness-real" / "trials.csv")
    replay = pd.read_csv(out / "faithfulness-replay" / "trials.csv")
    both = real.merge(replay, on=["strategy", "seed", "trial"], suffixes=("_real", "_replay"))
    same = {s: float((g["params_real"].map(json.loads) == g["params_replay"].map(json.loads)).mean())
            for s, g in both.groupby("strategy")}
    table = read_table(table_path)
    frame = table.frame
    names = table.params
    finals = frame.groupby([PARAM + n for n in names] + ["seed"])["final_val_accuracy"].first()
    by_config = finals.groupby(level=list(range(len(names)))).mean()
    lookup = {tuple(k if isinstance(k, tuple) else (k,)): v for k, v in by_config.items()}
    ok = real[real["status"] == "ok"]
    diffs = []
    for params, value in zip(ok["params"], ok["value"]):
        config = json.loads(params)
        recorded = lookup.get(tuple(config.get(n) for n in names))
        if recorded is not None:
            diffs.append(value - recorded)
    diffs = np.asarray(diffs)
    return same, (float(diffs.mean()) if len(diffs) else float("nan"), float(diffs.std()) if len(diffs) else
                  float("nan"), len(diffs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", type=Path, default=ROOT / "suites" / "tables" / "mnist5k-mlp.toml",
                        help="the table's build suite")
    parser.add_argument("--table", type=Path, default=ROOT / "tables" / "mnist5k-mlp-torch.parquet")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--smoke", action="store_true", help="a toy table, 2 seeds, 6 trials: the script still runs")
    args = parser.parse_args()
    from scipy.stats import kendalltau

    from automl_bench.statistics import bootstrap_ci
    from automl_bench.testing import toy_table_suite

    with tempfile.TemporaryDirectory(prefix="bench-faithful-") as tmp:
        work = Path(tmp)
        build, table = args.build.resolve(), args.table.resolve()
        seeds, trials = args.seeds, args.trials
        if args.smoke:
            os.environ["BENCH_PLUGINS"] = "automl_bench.testing.toy"
            build = work / "tables" / "toy.toml"
            build.parent.mkdir()
            build.write_text(toy_table_suite(name="toy", epochs=3))
            run(build, work / "built")
            table = work / "toy.parquet"
            subprocess.run([BENCH, "tabulate", str(work / "built" / "toy"), "-o", str(table)], check=True,
                           capture_output=True)
            seeds, trials = 3, 6
        real, replayed = work / "real.toml", work / "replay.toml"
        real.write_text(suite_text(build, seeds=seeds, trials=trials, workers=args.workers, replay=None))
        replayed.write_text(suite_text(build, seeds=seeds, trials=trials, workers=args.workers, replay=table))
        run(real, work / "out")
        run(replayed, work / "out")
        got = {"real": bests(work / "out" / "faithfulness-real"), "replayed": bests(work / "out" / "faithfulness-replay")}
        same, offset = compare_trials(work / "out", table)
    print(f"{seeds} seeds, {trials} trials a search, {args.workers} workers; best validation score, mean "
          "[95% bootstrap interval]:")
    print(f"{'strategy':10} {'real':>26} {'replayed':>26}  overlap")
    means = {k: {} for k in got}
    for strategy in STRATEGIES:
        cells = []
        for kind in ("real", "replayed"):
            values = got[kind].get(strategy, np.array([]))
            means[kind][strategy] = float(values.mean()) if len(values) else float("nan")
            ci = bootstrap_ci(values) if len(values) else None
            cells.append((means[kind][strategy], ci))
        (m1, c1), (m2, c2) = cells
        shown = [f"{m:.4f} [{c[0]:.4f}, {c[1]:.4f}]" if c else f"{m:.4f} [needs 3 seeds]" for m, c in cells]
        overlap = "-" if not (c1 and c2) else ("yes" if c1[0] <= c2[1] and c2[0] <= c1[1] else "NO")
        print(f"{strategy:10} {shown[0]:>26} {shown[1]:>26}  {overlap}")
    print("the same configurations searched, real and replayed (same seed and trial): "
          + ", ".join(f"{k} {v:.0%}" for k, v in same.items()))
    print(f"a real trial's score minus the mean of the table's runs of its configuration: {offset[0]:+.4f} "
          f"(sd {offset[1]:.4f}, {offset[2]} completed real trials)")
    tau = kendalltau([means["real"][s] for s in STRATEGIES], [means["replayed"][s] for s in STRATEGIES])
    print(f"Kendall's tau between the rankings by mean best: {tau.statistic:.2f} (p = {tau.pvalue:.2f}, "
          f"{len(STRATEGIES)} strategies)")
    print(json.dumps({"means": means}, indent=None))


if __name__ == "__main__":
    from _page import run as run_with_page

    run_with_page(main, __file__)  # --page: also write docs/benchmarks/<script>.md
