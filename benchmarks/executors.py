"""The local and Ray executors measured against each other, in one run, on this machine.

    .venv/bin/python benchmarks/executors.py                   # everything (about 15 minutes on 2 cores)
    .venv/bin/python benchmarks/executors.py --skip-quickstart  # the first two parts (about 5 minutes)
    .venv/bin/python benchmarks/executors.py --smoke            # seconds, local only: the script still runs

1. Parallel efficiency T1 / (k * Tk) with k = 2 workers, on a real CPU suite (PyTorch MLPs on
   mnist-5k, 30 trials of 5 epochs, one thread each), for each executor. T is the search's span,
   from the first trial's start to the last trial's end (start-up left out; it is printed
   beside). Target: >= 0.85 on the local executor.
2. Overhead per trial after warm-up: 300 toy trials that train nothing (microseconds each), one
   worker; the span divided by the trials is what the executor costs per trial. Target: Ray at
   most 50 ms above local.
3. The quickstart suite (`suites/quickstart.toml`) end to end with `bench run`, each executor,
   start-up included. Target: Ray's wall time at most 1.10 x local's.

4. With ``--gpu``, on a machine with NVIDIA GPUs: trials per hour of small PyTorch MLP and CNN
   trials with K = 1, 2, 4, 8 trials per GPU (local executor, ``gpus = "all"``), and the mean
   GPU utilisation ``nvidia-smi`` reports during each. Target: K = 4 gives >= 2x the trials per
   hour of K = 1. This part has not run yet: no GPU was lent while it was written.

Ratios are printed against the local executor measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from datetime import datetime
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
BENCH = [sys.executable, "-m", "automl_bench"]
EXECUTORS = ["local", "ray"]
TOY_ONLY: list[bool] = []  # --smoke: every suite on the toy plugin

REAL = """
name = "executors-real"
seeds = [0]
[budget]
max_trials = 30
trial_timeout = 600
[matrix]
backends = ["torch"]
strategies = ["random"]
[execution]
threads = 1
calibrate = false
[space]
learning_rate = { type = "float", low = 1e-3, high = 3e-2, log = true }
units = { type = "int", low = 128, high = 256, log = true }
layers = 2
batch_size = 64
epochs = 5
[[tasks]]
name = "mnist5k-mlp"
dataset = "mnist-5k"
model = "mlp"
"""

TOY = """
name = "executors-toy"
seeds = [0]
[budget]
max_trials = 300
[matrix]
backends = ["toy"]
strategies = ["random"]
[execution]
calibrate = false
[space]
learning_rate = { type = "float", low = 1e-4, high = 1.0, log = true }
epochs = 1
[[tasks]]
name = "toy-task"
dataset = "toy"
"""


def bench_run(suite: Path, out: Path, executor: str, workers: int, *, toy: bool = False) -> tuple[float, pd.DataFrame]:
    """``bench run`` on ``executor`` with ``workers``; returns its wall seconds and its trials.csv."""
    env = {**os.environ, "PYTHONHASHSEED": "0", "TOY_EPOCH_SECONDS": "0"}
    plugins = ["-p", "automl_bench.testing.toy"] if toy or TOY_ONLY else []
    t0 = time.perf_counter()
    done = subprocess.run([*BENCH, *plugins, "run", str(suite), "--out", str(out), "--executor", executor,
                           "--workers", str(workers), "--quiet", "--no-report", "--fresh"],
                          capture_output=True, text=True, env=env, cwd=ROOT)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        sys.exit(f"bench run {suite.name} on {executor} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return wall, pd.read_csv(next(p for p in out.iterdir() if p.is_dir()) / "trials.csv")


def _trials(suite: str) -> int:
    return int(suite.split("max_trials = ")[1].split()[0])


def span(trials: pd.DataFrame) -> float:
    """Seconds from the first trial's start to the last trial's end."""
    ends = pd.to_datetime(trials["finished"]).map(datetime.timestamp)
    starts = ends - trials["wall_seconds"]
    return float(ends.max() - starts.min())


def steady(trials: pd.DataFrame, k: int) -> tuple[float, float]:
    """Mean wall and train seconds per trial, leaving out the first ``k`` trials to start (each
    worker's first: its start-up and first data loading are in it)."""
    ends = pd.to_datetime(trials["finished"]).map(datetime.timestamp)
    later = trials.assign(start=ends - trials["wall_seconds"]).sort_values("start").iloc[k:]
    return float(later["wall_seconds"].mean()), float(later["train_seconds"].mean())


def efficiency(work: Path) -> None:
    suite = work / "real.toml"
    suite.write_text(textwrap.dedent(REAL))
    what = "toy trials (--smoke)" if TOY_ONLY else "PyTorch MLP trials on mnist-5k, 5 epochs, 1 thread each"
    print(f"1. parallel efficiency, k = 2 workers: {_trials(REAL)} {what}\n")
    print("| executor | T1 (s) | T2 (s) | T1 / (2 T2) | past each worker's first trial | train s per trial, 1 / 2 workers "
          "| whole run, 1 / 2 workers (s) |")
    print("|---|---|---|---|---|---|---|")
    found = {}
    for executor in EXECUTORS:
        w1, t1 = bench_run(suite, work / f"real-{executor}-1", executor, 1)
        w2, t2 = bench_run(suite, work / f"real-{executor}-2", executor, 2)
        found[executor] = span(t1) / (2 * span(t2))
        (wall1, train1), (wall2, train2) = steady(t1, 1), steady(t2, 2)
        print(f"| {executor} | {span(t1):.1f} | {span(t2):.1f} | {found[executor]:.2f} | {wall1 / wall2:.2f} "
              f"| {train1:.2f} / {train2:.2f} | {w1:.1f} / {w2:.1f} |")
    print(f"\ntarget: local >= 0.85: {'met' if found['local'] >= 0.85 else 'NOT met'} ({found['local']:.2f}); "
          f"ray's efficiency / local's: {found['ray'] / found['local'] if 'ray' in found else float('nan'):.2f}. \"Past each worker's first trial\": "
          "mean wall per trial with 1 worker over that with 2, each worker's first trial (start-up, data loading) "
          "left out\n")


def overhead(work: Path) -> None:
    suite = work / "toy.toml"
    suite.write_text(textwrap.dedent(TOY))
    print(f"2. overhead per trial after warm-up: {_trials(TOY)} toy trials that train nothing, 1 worker\n")
    per_trial = {}
    for executor in EXECUTORS:
        wall, trials = bench_run(suite, work / f"toy-{executor}", executor, 1, toy=True)
        per_trial[executor] = span(trials) / len(trials) * 1000
        print(f"- {executor}: {per_trial[executor]:.1f} ms per trial ({len(trials)} trials; whole run {wall:.1f} s)")
    if "ray" not in per_trial:
        return
    extra = per_trial["ray"] - per_trial["local"]
    print(f"\nRay above local: {extra:+.1f} ms per trial (target <= 50 ms: {'met' if extra <= 50 else 'NOT met'})\n")


def quickstart(work: Path) -> None:
    print("3. suites/quickstart.toml end to end (bench run, 1 worker as the suite says, start-up included)\n")
    walls = {}
    for executor in ("local", "ray"):
        walls[executor], trials = bench_run(ROOT / "suites" / "quickstart.toml", work / f"qs-{executor}", executor, 1)
        print(f"- {executor}: {walls[executor]:.1f} s, {len(trials)} trials")
    ratio = walls["ray"] / walls["local"]
    print(f"\nray / local wall: {ratio:.3f} (target <= 1.10: {'met' if ratio <= 1.10 else 'NOT met'})\n")


GPU = """
name = "executors-gpu"
seeds = [0, 1]
[budget]
max_trials = 16
trial_timeout = 600
[matrix]
backends = ["torch"]
strategies = ["random"]
[execution]
gpus = "all"
trials_per_gpu = {k}
calibrate = false
[space]
learning_rate = {{ type = "float", low = 1e-3, high = 3e-2, log = true }}
batch_size = 64
epochs = 5
[[tasks]]
name = "digits-mlp"
dataset = "digits"
model = "mlp"
[tasks.space]
layers = 2
units = {{ type = "int", low = 64, high = 256, log = true }}
[[tasks]]
name = "digits-cnn"
dataset = "digits"
model = "cnn"
[tasks.space]
conv_blocks = 1
filters = {{ type = "categorical", choices = [16, 32] }}
dense_units = 64
"""


def gpu(work: Path) -> None:
    import threading

    from automl_bench.executor import detect_gpus

    gpus = detect_gpus()
    if not gpus:
        print("4. trials per hour by trials per GPU: skipped, no NVIDIA GPU found here\n")
        return
    print(f"4. trials per hour by trials per GPU: {len(gpus)} x {gpus[0]['gpu_name']}, PyTorch MLP and CNN on digits\n")
    print("| trials per GPU | trials | search span (s) | trials per hour | x K=1 | mean GPU utilisation |")
    print("|---|---|---|---|---|---|")
    base = None
    for k in (1, 2, 4, 8):
        suite = work / f"gpu-{k}.toml"
        suite.write_text(textwrap.dedent(GPU.format(k=k)))
        samples: list[float] = []
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                done = subprocess.run(["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"],
                                      capture_output=True, text=True)
                samples.extend(float(v) for v in done.stdout.split() if v.replace(".", "").isdigit())
                stop.wait(0.5)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, trials = bench_run(suite, work / f"gpu-{k}", "local", len(gpus) * k)
        stop.set()
        sampler.join()
        per_hour = len(trials) / span(trials) * 3600
        base = base or per_hour
        utilisation = f"{sum(samples) / len(samples):.0f}%" if samples else "n/a"
        print(f"| {k} | {len(trials)} | {span(trials):.1f} | {per_hour:.0f} | {per_hour / base:.2f} | {utilisation} |")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-quickstart", action="store_true")
    parser.add_argument("--only-efficiency", action="store_true", help="part 1 alone")
    parser.add_argument("--gpu", action="store_true", help="also measure trials per hour by trials per GPU")
    parser.add_argument("--smoke", action="store_true", help="parts 1 and 2 at a tiny size, local executor only")
    args = parser.parse_args()
    global REAL, TOY
    if args.smoke:  # checks the script runs, as the tests do; its figures mean nothing (the toy backend trains nothing)
        REAL = REAL.replace("max_trials = 30", "max_trials = 4").replace("epochs = 5", "epochs = 1").replace(
            'backends = ["torch"]', 'backends = ["toy"]').replace('dataset = "mnist-5k"', 'dataset = "toy"')
        TOY_ONLY[:] = [True]
        TOY = TOY.replace("max_trials = 300", "max_trials = 10")
        EXECUTORS[:] = ["local"]
        args.skip_quickstart, args.gpu = True, False
    print(f"{os.cpu_count()} CPUs; {sys.version.split()[0]}\n")
    with tempfile.TemporaryDirectory(prefix="bench-executors-") as tmp:
        work = Path(tmp)
        efficiency(work)
        if args.only_efficiency:
            return
        overhead(work)
        if not args.skip_quickstart:
            quickstart(work)
        if args.gpu:
            gpu(work)


if __name__ == "__main__":
    from _page import run as run_with_page

    run_with_page(main, __file__)  # --page: also write docs/benchmarks/<script>.md
