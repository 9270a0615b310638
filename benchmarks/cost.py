"""What measuring a model's cost costs, how steady the latency figure is, and how fast fronts and
hypervolumes are (on demand, not a test).

    .venv/bin/python benchmarks/cost.py                 # all three parts
    .venv/bin/python benchmarks/cost.py --smoke         # tiny sizes (tests run this)

1. **The cost of measuring**: `bench run suites/quickstart.toml` (``--max-trials``, default 2
   trials a cell) with ``measure_cost`` on and off, alternating, ``--rounds`` times. Each trial
   runs on both sides (the same configuration and seed); it prints the median over those pairs
   of the ratio of their wall seconds (as the worker measured them: latency timing and memory
   reading included), and of the seconds added. Target: at most 1.05.
2. **Latency, repeated**: one trained PyTorch MLP measured ``--repeats`` times by the harness's
   own `latency`; how far the figures spread (max / min, and the share within 20% of their median).
3. **Fronts and hypervolume for 100,000 trials** (``--trials``): three objectives, ten entries,
   ten seeds, random values; the time of `automl_bench.pareto.hypervolumes` (scaling, fronts and
   hypervolume of every search). Target: at most 10 s.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = str(Path(sys.executable).parent / "bench")


def trial_seconds(out: Path) -> dict[tuple, float]:
    """Each completed trial's wall seconds, by cell and trial number."""
    db = sqlite3.connect(next(out.glob("*/bench.sqlite")))
    try:
        return {tuple(row[:5]): row[5] for row in db.execute(
            "SELECT task, backend, strategy, seed, number, wall_seconds FROM trials WHERE status = 'ok'")}
    finally:
        db.close()


def cost_of_measuring(rounds: int, max_trials: int) -> None:
    suite = (ROOT / "suites" / "quickstart.toml").read_text()
    off = suite.replace('device = "cpu"', 'device = "cpu"\nmeasure_cost = false')
    assert off != suite, "quickstart.toml's [execution] table moved: update this benchmark"
    ratios, added = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for side, text in (("on", suite), ("off", off)):
            (Path(tmp) / f"{side}.toml").write_text(text)
        for r in range(rounds):
            figures = {}
            for side in ("on", "off") if r % 2 == 0 else ("off", "on"):  # alternate which runs first
                out = Path(tmp) / f"{side}-{r}"
                subprocess.run([BENCH, "run", str(Path(tmp) / f"{side}.toml"), "--out", str(out), "--fresh",
                                "--quiet", "--no-report", "--max-trials", str(max_trials)], check=True, cwd=ROOT,
                               stdout=subprocess.DEVNULL)
                figures[side] = trial_seconds(out)
            common = sorted(figures["on"].keys() & figures["off"].keys())  # the same trial on both sides
            these = [figures["on"][k] / figures["off"][k] for k in common]
            ratios += these
            added += [figures["on"][k] - figures["off"][k] for k in common]
            print(f"round {r + 1}: {len(common)} trials on both sides; median ratio of a trial's wall seconds, "
                  f"measuring / not: x{statistics.median(these):.3f}")
    ratio = statistics.median(ratios)
    print(f"cost of measuring: x{ratio:.3f} a trial, {statistics.median(added) * 1000:+.0f} ms (medians over "
          f"{len(ratios)} paired trials in {rounds} rounds; target x1.05 at most): {'met' if ratio <= 1.05 else 'NOT met'}")


def latency_spread(repeats: int) -> None:
    from automl_bench._manager import get_plugin_manager
    from automl_bench._model import cost as _cost
    from automl_bench.backend import build_config
    from automl_bench.testing.data import tiny_digits

    backend = get_plugin_manager().backend("torch").factory()
    backend.setup(threads=1, device="cpu")
    data = tiny_digits()
    model = backend.fit(data=data, config=build_config("mlp", {"layers": 1, "units": 32, "epochs": 1}), seed=0,
                        report=lambda r: None)
    for name in ("latency_ms_1", "latency_ms_batch"):
        values = [_cost.measure_latency(backend, model, data.x_val, 64)[name] for _ in range(repeats)]
        middle = statistics.median(values)
        within = sum(abs(v - middle) <= 0.2 * middle for v in values) / len(values)
        print(f"{name}: median {middle:.4f} ms, min {min(values):.4f}, max {max(values):.4f} (x{max(values) / min(values):.2f});"
              f" {within:.0%} of {repeats} measurements within 20% of the median")


def pareto_speed(n: int) -> None:
    import numpy as np
    import pandas as pd

    from automl_bench.pareto import hypervolumes

    rng = np.random.default_rng(0)
    trials = pd.DataFrame({"task": "t", "backend": "b", "strategy": rng.choice([f"s{i}" for i in range(10)], n),
                           "seed": rng.integers(0, 10, n), "status": "ok", "val_accuracy": rng.random(n),
                           "train_seconds": rng.exponential(10, n), "params_total": rng.integers(100, 10**6, n)})
    objectives = {"val_accuracy": "maximize", "train_seconds": "minimize", "params_total": "minimize"}
    start = time.perf_counter()
    volumes = hypervolumes(trials, objectives)
    seconds = time.perf_counter() - start
    print(f"fronts and hypervolume of {n:,} trials ({len(volumes)} searches, 3 objectives): {seconds:.2f} s "
          f"(target 10 s at most: {'met' if seconds <= 10 else 'NOT met'})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-trials", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--trials", type=int, default=100_000)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: one round of one trial a cell")
    args = parser.parse_args()
    if args.smoke:
        args.rounds, args.max_trials, args.repeats, args.trials = 1, 1, 3, 2_000
    pareto_speed(args.trials)
    latency_spread(args.repeats)
    cost_of_measuring(args.rounds, args.max_trials)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _page import run as run_with_page

    run_with_page(main, __file__)  # --page: also write docs/benchmarks/<script>.md
