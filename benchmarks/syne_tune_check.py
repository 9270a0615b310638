"""Our random search and ASHA against Syne Tune's simulator on the same table (on demand).

    .venv/bin/python benchmarks/syne_tune_check.py                  # mnist5k-cnn-torch, 30 seeds
    .venv/bin/python benchmarks/syne_tune_check.py --table tables/X.parquet --seeds 10
    .venv/bin/python benchmarks/syne_tune_check.py --smoke          # 2 seeds, 20 trials: it runs

Syne Tune (syne-tune on PyPI; not a dependency: ``pip install --target DIR --no-deps syne-tune
dill sortedcontainers`` and ``PYTHONPATH=DIR`` is enough for its simulator) replays a table as a
``BlackboxTabular`` on a simulated clock. Both tools run random search alone and with ASHA
(reduction factor 3, grace period / minimum resource 1, the table's epochs as the maximum) for
50 trials on one worker, on the same seeds; printed: the mean over seeds of the best validation
score and of the trials trained to the last epoch.

Then the two tools' ASHA promotion rules, written out here, replay the same random draws of the
table's runs, so that a difference between the tools can be put down to the rule or not:

- optuna's ``SuccessiveHalvingPruner`` (ours): at a rung where ``n`` trials have arrived, this one
  included, it goes on if its value is at least the ``max(1, n // 3)``-th best: the best of the
  first five, one of the top two of the next three, ...;
- Syne Tune's stopping ASHA: the first trial at a rung always goes on; later ones go on if at most
  ``n / 3`` of the ``n`` values (its own included) are better: one more than optuna keeps.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def ours(table: Path, seeds: int, trials: int) -> dict[str, tuple[float, float]]:
    import automl_bench as ab

    suite = {"name": "syne-check", "seeds": list(range(seeds)), "budget": {"max_trials": trials},
             "matrix": {"backends": ["replay"], "strategies": ["random", "random+asha"]},
             "execution": {"executor": "simulated", "workers": 1},
             "pruner": {"asha": {"reduction_factor": 3, "min_resource": 1}},
             "tasks": [{"name": "t", "table": str(table)}]}
    with tempfile.TemporaryDirectory() as out:
        frame = ab.run(suite, out=out, report=False, progress=False).trials
    top = int(frame["epochs"].max())
    out = {}
    for strategy, mine in frame.groupby("strategy"):
        per_seed = mine.groupby("seed").agg(best=("value", "max"), full=("epochs", lambda e: int((e == top).sum())))
        out[strategy] = (per_seed["best"].mean(), per_seed["full"].mean())
    return out


def runs_of(table: Path):
    """The table's runs: (configurations, seeds, epochs) of validation scores and of epoch seconds."""
    from automl_bench.tables import PARAM, read_table

    t = read_table(table)
    frame = t.frame[t.frame["epoch"] >= 1]
    params = [PARAM + p for p in t.params]
    configs = frame[params].drop_duplicates().reset_index(drop=True)
    seeds = sorted(frame["seed"].unique())
    epochs = int(frame["epoch"].max())
    index = {tuple(r): i for i, r in enumerate(configs.itertuples(index=False, name=None))}
    scores = np.full((len(configs), len(seeds), epochs), np.nan)
    seconds = np.zeros_like(scores)
    for row in frame[[*params, "seed", "epoch", "val_accuracy", "seconds"]].itertuples(index=False, name=None):
        c, s, e = index[tuple(row[:len(params)])], seeds.index(row[len(params)]), int(row[len(params) + 1]) - 1
        scores[c, s, e], seconds[c, s, e] = row[-2], row[-1]
    # a run cut short (failed) keeps its last score for the epochs it did not reach
    for e in range(1, epochs):
        scores[:, :, e] = np.where(np.isnan(scores[:, :, e]), scores[:, :, e - 1], scores[:, :, e])
    return t, configs, np.nan_to_num(scores, nan=0.0), seconds


def syne_tune(table: Path, seeds: int, trials: int) -> dict[str, tuple[float, float]] | str:
    try:
        from syne_tune import StoppingCriterion, Tuner
        from syne_tune.backend.simulator_backend.simulator_callback import SimulatorCallback
        from syne_tune.blackbox_repository.blackbox_tabular import BlackboxTabular
        from syne_tune.blackbox_repository.simulated_tabular_backend import UserBlackboxBackend
        from syne_tune.config_space import choice, randint
        from syne_tune.experiments import load_experiment
        from syne_tune.optimizer.baselines import ASHA, RandomSearch
    except ImportError:
        return "not run: syne_tune is not importable (see this script's docstring)"
    logging.getLogger("syne_tune").setLevel(logging.ERROR)
    t, configs, scores, seconds = runs_of(table)
    names = [c[len("param."):] for c in configs.columns]
    hps = configs.copy()
    hps.columns = names
    space = {n: choice(sorted(hps[n].unique().tolist())) for n in names}
    epochs = scores.shape[2]
    evaluations = np.stack([scores, np.cumsum(seconds, axis=2)], axis=-1)
    blackbox = BlackboxTabular(hyperparameters=hps, configuration_space=space,
                               fidelity_space={"epoch": randint(1, epochs)}, objectives_evaluations=evaluations,
                               objectives_names=["val_accuracy", "elapsed_time"])
    results: dict[str, list[tuple[float, int]]] = {"random": [], "random+asha": []}
    with tempfile.TemporaryDirectory() as folder:
        os.environ["SYNETUNE_FOLDER"] = folder
        for seed in range(seeds):
            for name in results:
                if name == "random":
                    scheduler = RandomSearch(space, metrics=["val_accuracy"], do_minimize=False, random_seed=seed)
                else:
                    scheduler = ASHA(space, metric="val_accuracy", time_attr="epoch", max_t=epochs, do_minimize=False,
                                     random_seed=seed, grace_period=1, reduction_factor=3)
                backend = UserBlackboxBackend(blackbox=blackbox, elapsed_time_attr="elapsed_time", seed=seed % scores.shape[1])
                tuner = Tuner(trial_backend=backend, scheduler=scheduler, n_workers=1, sleep_time=0,
                              stop_criterion=StoppingCriterion(max_num_trials_finished=trials - 1),
                              callbacks=[SimulatorCallback()], tuner_name=f"check-{name.replace('+', '-')}-{seed}",
                              save_tuner=False, print_update_interval=10**9, results_update_interval=10**9)
                with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                    tuner.run()  # it prints its progress and a summary whatever it is told
                frame = load_experiment(tuner.name).results
                frame = frame[frame["trial_id"] < trials].sort_values(["trial_id", "epoch"])
                ends = frame.groupby("trial_id").tail(1)  # each trial's last reported epoch
                off_rung = int((~ends["epoch"].isin([1, 3, 9, epochs])).sum())
                results[name].append((float(frame["val_accuracy"].max()), int((ends["epoch"] == epochs).sum()),
                                      float(ends["val_accuracy"].max()), off_rung))
    return {k: tuple(float(np.mean([r[i] for r in v])) for i in range(4)) for k, v in results.items()}


def rules(table: Path, seeds: int, trials: int) -> dict[str, tuple[float, float]]:
    """Random search with each tool's ASHA rule, on the same random draws of the table's runs."""
    _, _, scores, _ = runs_of(table)
    n_configs, n_seeds, epochs = scores.shape
    rungs = [r for r in (1, 3, 9, 27) if r < epochs]
    out = {"optuna's rule": [], "Syne Tune's rule": [], "no pruner": []}
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        draws = [(rng.integers(n_configs), rng.integers(n_seeds)) for _ in range(trials)]
        out["no pruner"].append((max(scores[c, s, -1] for c, s in draws), trials))
        for name in ("optuna's rule", "Syne Tune's rule"):
            recorded: dict[int, list[float]] = {r: [] for r in rungs}
            best, full = -np.inf, 0
            for c, s in draws:
                reached = epochs
                for r in rungs:
                    value = scores[c, s, r - 1]
                    mine = recorded[r] + [value]
                    if name == "optuna's rule":
                        keep = value >= sorted(mine, reverse=True)[max(1, len(mine) // 3) - 1]
                    else:
                        keep = not recorded[r] or sum(v > value for v in mine) / len(mine) <= 1 / 3
                    recorded[r].append(value)
                    if not keep:
                        reached = r
                        break
                best = max(best, scores[c, s, reached - 1])
                full += reached == epochs
            out[name].append((best, full))
    return {k: (float(np.mean([b for b, _ in v])), float(np.mean([f for _, f in v]))) for k, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", type=Path, default=ROOT / "tables" / "mnist5k-cnn-torch.parquet")
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    if args.smoke:
        args.seeds, args.trials = 2, 20
    started = time.perf_counter()
    print(f"{args.table.name}: {args.seeds} seeds x {args.trials} trials, 1 worker; mean over seeds of the best "
          "validation score, and of the trials trained to the last epoch\n")
    print(f"{'':<34}{'best':>8}{'to the end':>12}")
    for name, (best, full) in ours(args.table, args.seeds, args.trials).items():
        print(f"{'automl-bench ' + name:<34}{best:>8.4f}{full:>12.1f}")
    found = syne_tune(args.table, args.seeds, args.trials)
    if isinstance(found, str):
        print(f"Syne Tune: {found}")
    else:
        for name, (best, full, _, _) in found.items():
            print(f"{'Syne Tune ' + name:<34}{best:>8.4f}{full:>12.1f}")
        print("\nSyne Tune's best is the best epoch any trial reported; ours is the best trial's value at its "
              "last epoch.\nSyne Tune's runs scored as ours are, and its stopped trials that ran past a rung "
              "(stopped at an epoch that is no rung):")
        for name, (_, _, last, off) in found.items():
            print(f"{'Syne Tune ' + name + ', last epochs':<34}{last:>8.4f}{'':>12}   {off:.1f} trials past a rung")
    print("\nthe two ASHA rules on the same random draws of the table's runs (this script's own replay):")
    for name, (best, full) in rules(args.table, args.seeds, args.trials).items():
        print(f"{name:<34}{best:>8.4f}{full:>12.1f}")
    print(f"\n({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    from _page import run as run_with_page

    run_with_page(main, __file__)  # --page: also write docs/benchmarks/<script>.md
