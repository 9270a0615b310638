"""Which ASHA settings does the study's verdict on pruning hold for? (on demand, not a test)

    .venv/bin/python benchmarks/pruner_sweep.py                       # the study's tables, 30 seeds
    .venv/bin/python benchmarks/pruner_sweep.py --tables tables/mnist5k-cnn-torch.parquet --seeds 10
    .venv/bin/python benchmarks/pruner_sweep.py --smoke               # one setting, 2 seeds: it runs

The strategy study pairs random search with ASHA at optuna's `SuccessiveHalvingPruner` settings
the suite leaves at their defaults: ``reduction_factor = 3``, ``min_resource = 1`` (rungs at 1, 3
and 9 epochs). This sweeps ``reduction_factor`` over 2, 3 and 4 and ``min_resource`` over 1, 2
and 3, each as its own replayed run (simulated executor, 1 worker, 50 trials, the study's seeds)
beside random search without a pruner, on the study's tables. For each setting and table: the mean
best validation score after 50 trials, its paired difference from random search over the seeds
with Wilcoxon's signed-rank p (scipy; "-" where every difference is 0), the epochs trained per
search and the compute seconds per search. A difference is called significant at p < 0.05 per
table without correction for the 9 x tables comparisons; read the sign of the differences, not
single p-values.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FACTORS, MINIMA = (2, 3, 4), (1, 2, 3)


def study_tables() -> list[Path]:
    """The tables suites/strategy-study.toml replays: those its verdict is about."""
    import tomllib

    study = ROOT / "suites" / "strategy-study.toml"
    return [(study.parent / t["table"]).resolve() for t in tomllib.loads(study.read_text())["tasks"]]


def suite(tables: list[Path], seeds: int, trials: int, strategies: list[str], pruner: dict | None) -> dict:
    return {
        "name": "pruner-sweep", "seeds": list(range(seeds)),
        "budget": {"max_trials": trials},
        "matrix": {"backends": ["replay"], "strategies": strategies},
        "execution": {"executor": "simulated", "workers": 1},
        **({"pruner": {"asha": pruner}} if pruner else {}),
        "tasks": [{"name": t.stem, "table": str(t)} for t in tables],
    }


def per_search(trials):
    """Best value, epochs and compute seconds of each (task, strategy, seed) search."""
    return trials.groupby(["task", "strategy", "seed"]).agg(
        best=("value", "max"), epochs=("epochs", "sum"), compute=("train_seconds", "sum")).reset_index()


def main() -> None:
    from scipy.stats import wilcoxon

    import automl_bench as ab

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", nargs="*", type=Path)
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    tables = args.tables or study_tables()
    settings = list(itertools.product(FACTORS, MINIMA))
    if args.smoke:
        args.seeds, settings, tables = 2, [(3, 1)], tables[:1]
    quiet = {"report": False, "progress": False}
    with tempfile.TemporaryDirectory() as work:
        started = time.perf_counter()
        base = per_search(ab.run(suite(tables, args.seeds, args.trials, ["random"], None),
                                 out=Path(work) / "random", **quiet).trials)
        base = base.set_index(["task", "seed"])
        print(f"{len(tables)} tables x {args.seeds} seeds x {args.trials} trials; random search without a pruner, "
              "then random search with ASHA at each setting (mean over seeds; diff: ASHA minus random, paired)\n")
        header = f"{'table':<22}{'rf':>3}{'min':>4}{'best':>9}{'diff':>9}{'p':>9}{'epochs':>8}{'compute s':>11}"
        rows = []
        for factor, minimum in settings:
            found = per_search(ab.run(suite(tables, args.seeds, args.trials, ["random+asha"],
                                            {"reduction_factor": factor, "min_resource": minimum}),
                                      out=Path(work) / f"asha-{factor}-{minimum}", **quiet).trials)
            for task, mine in found.groupby("task"):
                mine = mine.set_index("seed")
                theirs = base.loc[task].loc[mine.index]
                diff = mine["best"] - theirs["best"]
                p = wilcoxon(mine["best"], theirs["best"]).pvalue if (diff != 0).any() else float("nan")
                rows.append((task, factor, minimum, mine["best"].mean(), diff.mean(), p, mine["epochs"].mean(),
                             mine["compute"].mean()))
        for task in sorted({r[0] for r in rows}):
            ref = base.loc[task]
            print(header)
            print(f"{task:<22}{'-':>3}{'-':>4}{ref['best'].mean():>9.4f}{'':>9}{'':>9}{ref['epochs'].mean():>8.0f}"
                  f"{ref['compute'].mean():>11.1f}   (random, no pruner)")
            for t, factor, minimum, best, diff, p, epochs, compute in (r for r in rows if r[0] == task):
                shown = "-" if p != p else f"{p:.2g}"
                print(f"{t:<22}{factor:>3}{minimum:>4}{best:>9.4f}{diff:>+9.4f}{shown:>9}{epochs:>8.0f}{compute:>11.1f}")
            print()
        worse = sum(1 for r in rows if r[4] < 0 and r[5] == r[5] and r[5] < 0.05)
        better = sum(1 for r in rows if r[4] > 0 and r[5] == r[5] and r[5] < 0.05)
        print(f"settings x tables where ASHA's best after {args.trials} trials is significantly lower: {worse} of "
              f"{len(rows)}; higher: {better}  ({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    from _page import run as run_with_page

    run_with_page(main, __file__)  # --page: also write docs/benchmarks/<script>.md
