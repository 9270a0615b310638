"""Time `bench report` on synthetic stores of 1,000 and 100,000 trials (on demand, not a test).

    .venv/bin/python benchmarks/report.py            # both sizes, then 10,000 seeds
    .venv/bin/python benchmarks/report.py --trials 1000 --seeds
    .venv/bin/python benchmarks/report.py --smoke    # seconds: 160 trials, 3 epochs (tests run this)
    .venv/bin/python benchmarks/report.py --trials --seeds 10000   # 10,000 seeds alone

Each store has 4 tasks x 2 backends x 4 strategies x 5 seeds (160 cells), trials spread evenly
over the cells, 10 and then 100 epochs of history each (memory should not grow with them). Prints the wall time and the peak resident memory
of a `bench report` subprocess, against its targets (10 s at 1,000 trials, 60 s at
100,000 on the 2-core machine), and, as a baseline measured in the same run, the time to only
load the results from the store.

With ``--seeds N`` the store has one task, one backend and two strategies over N seeds, four
trials of 5 epochs a seed (a run of many seeds rather than many trials), against the target of
60 s and 1 GiB at 10,000 seeds.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from automl_bench import CellKey, EpochReport
from automl_bench._results.store import Store
from automl_bench.executor import TrialOutcome

TARGETS = {1_000: 10.0, 100_000: 60.0}
SEEDS_TARGET = (10_000, 60.0, 1024.0)  # seeds, seconds, MiB


def synthetic_store(directory: Path, trials: int, epochs: int = 10, seeds: int | None = None) -> None:
    """160 cells sharing ``trials``; or, with ``seeds``, 2 cells a seed of 4 trials each."""
    import numpy as np

    rng = np.random.default_rng(0)
    directory.mkdir(parents=True)
    store = Store(directory / "bench.sqlite")
    tasks = [f"task{i}" for i in range(4 if seeds is None else 1)]
    store.set_meta("suite", json.dumps({"name": "synthetic", "metric": "accuracy", "variants": {},
                                        "tasks": {t: {"model": "mlp", "dataset": "toy"} for t in tasks}}))
    run = store.start_run({"python": sys.version.split()[0]})
    if seeds is None:
        cells = [CellKey(t, b, s, seed) for t in tasks for b in ("torch", "numpy")
                 for s in ("random", "grid", "tpe", "genetic") for seed in range(5)]
        per_cell = max(1, trials // len(cells))
    else:
        cells = [CellKey(tasks[0], "torch", s, seed) for s in ("random", "tpe") for seed in range(seeds)]
        per_cell = 4
    rows = []
    for cell in cells:
        for number in range(per_cell):
            value = float(rng.uniform(0.5, 0.99))
            history = tuple(EpochReport(e, {"val_accuracy": value * e / epochs, "val_loss": 1 / e, "train_loss": 1 / e})
                            for e in range(1, epochs + 1))
            rows.append((cell, number, TrialOutcome("ok", {"val_accuracy": value}, epochs=epochs, train_seconds=1.0,
                                                    eval_seconds=0.1, history=history), value))
    with store.transaction():  # one transaction: building the benchmark's input is not what is measured
        for cell, number, outcome, value in rows:  # through the store's own writer: its columns can grow
            store.record_trial(cell, number, run, 7, {"lr": 0.1}, outcome, value, 1.2)
        for cell in cells:
            store.record_final(cell, 0, run, {"lr": 0.1}, TrialOutcome("ok", {"test_accuracy": 0.9}))
    store.close()


def measure(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident MiB of a subprocess (sampled every 50 ms)."""
    start = time.perf_counter()
    process = psutil.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while process.poll() is None:
        try:
            peak = max(peak, process.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    if process.returncode != 0:
        raise SystemExit(process.stderr.read().decode())
    return time.perf_counter() - start, peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, nargs="*", default=sorted(TARGETS))
    parser.add_argument("--epochs", type=int, nargs="*", default=[10, 100],
                        help="epochs of history per trial: memory should not grow with them")
    parser.add_argument("--smoke", action="store_true", help="a tiny store, to check the script still runs")
    parser.add_argument("--seeds", type=int, nargs="*", default=[SEEDS_TARGET[0]],
                        help="stores of many seeds, after those of many trials (--seeds alone: none)")
    args = parser.parse_args()
    if args.smoke:
        args.trials, args.epochs, args.seeds = [160], [3], [40]
    load = "from automl_bench._results.collect import load_results; import sys; load_results(sys.argv[1])"
    for n, epochs in [(n, e) for n in args.trials for e in args.epochs]:
        with tempfile.TemporaryDirectory() as tmp:
            directory = Path(tmp) / "synthetic"
            synthetic_store(directory, n, epochs)
            load_s, load_mib = measure([sys.executable, "-c", load, str(directory)])
            report_s, report_mib = measure([sys.executable, "-m", "automl_bench", "report", str(directory)])
            target = TARGETS.get(n)
            verdict = "" if target is None else f"  target {target:.0f} s: {'met' if report_s <= target else 'MISSED'}"
            print(f"{n:>7} trials x {epochs:>3} epochs: bench report {report_s:6.1f} s, peak {report_mib:5.0f} MiB | load only "
                  f"{load_s:5.1f} s, {load_mib:5.0f} MiB | report / load {report_s / load_s:4.1f}x{verdict}")
    for seeds in args.seeds:
        many_seeds(seeds, load)


def many_seeds(seeds: int, load: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "synthetic"
        synthetic_store(directory, 0, 5, seeds=seeds)
        load_s, load_mib = measure([sys.executable, "-c", load, str(directory)])
        report_s, report_mib = measure([sys.executable, "-m", "automl_bench", "report", str(directory)])
        verdict = ""
        if seeds == SEEDS_TARGET[0]:
            met = report_s <= SEEDS_TARGET[1] and report_mib <= SEEDS_TARGET[2]
            verdict = f"  target {SEEDS_TARGET[1]:.0f} s and {SEEDS_TARGET[2]:.0f} MiB: {'met' if met else 'MISSED'}"
        print(f"{seeds:>7} seeds ({seeds * 8} trials): bench report {report_s:6.1f} s, peak {report_mib:5.0f} MiB | "
              f"load only {load_s:5.1f} s, {load_mib:5.0f} MiB{verdict}")


if __name__ == "__main__":
    from _page import run as run_with_page

    run_with_page(main, __file__)  # --page: also write docs/benchmarks/<script>.md
