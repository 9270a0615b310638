"""Does `bench history` find planted steps, and how fast is its site? (on demand, not a test)

    .venv/bin/python benchmarks/history.py            # 200 planted exports; the site of 1,000 exports x 50 cells
    .venv/bin/python benchmarks/history.py --smoke    # 40 exports; a site of 40 x 3 (tests run this)

A planted history: 200 exports of one commit each, of three cells, with noise like a CI suite's
(best val sd 0.002, seconds per epoch sd 2%), and planted in them:

- cell a: best val drops by 0.02 at export 60;
- cell b: seconds per epoch 15% slower from export 120;
- cell c: seconds per epoch 1% slower at each of exports 150 to 169 (a drift: 22% in all, no
  single step beyond the 10% tolerance).

Prints each step found (export, size) against the planted ones, the false steps beyond tolerance
(target: at most one), and whether `bench compare --against-history --since 20` at export 170 of
cell c fails (target: it does). Then times `bench history --site` on 1,000 exports of 50 cells
(targets: at most 30 s; the index at most 5 MB), with the time `bench history` takes without the
site as its baseline, both in this run.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from automl_bench._regression import history as _history
from automl_bench._regression.baseline import Baseline, SeedRow, SuiteInfo, write

BENCH = str(Path(sys.executable).parent / "bench")


def planted(n: int, seed: int = 0) -> dict[str, tuple[list[float], list[float]]]:
    """{cell: (best val per export, seconds per epoch per export)} with the plants above."""
    rng = np.random.default_rng(seed)
    out = {}
    for cell in "abc":
        best = 0.95 + rng.normal(0, 0.002, n)
        seconds = np.exp(rng.normal(0, 0.02, n))
        if cell == "a":
            best[int(0.3 * n):] -= 0.02
        if cell == "b":
            seconds[int(0.6 * n):] *= 1.15
        if cell == "c":
            start = int(0.75 * n)
            for i in range(start, n):
                seconds[i] *= 1.01 ** min(i - start + 1, 20)
        out[cell] = (best.tolist(), seconds.tolist())
    return out


def write_exports(folder: Path, cells: dict[str, tuple[list[float], list[float]]], seeds: int = 3) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    n = len(next(iter(cells.values()))[0])
    for i in range(n):
        rows = [SeedRow(task=cell, backend="torch", strategy="random", seed=s, best_val=values[0][i], test=values[0][i],
                        trials_to_best=1.0, epoch_seconds=values[1][i], wall_seconds=10.0, trials=4, failed=0)
                for cell, values in cells.items() for s in range(seeds)]
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(1767225600 + 3600 * i))  # hourly from 2026
        write(Baseline(created=stamp, automl_bench="0.1.0", suite=SuiteInfo(name="ci", sha256="x", metric="accuracy"),
                       environment={"git_commit": f"{i:04d}".ljust(40, "0"), "machine": "m"}, rows=rows),
              folder / f"{i:05d}.json")


def steps_found(folder: Path) -> list[tuple[str, str, int, float, bool]]:
    history = _history.read_histories([folder])[0]
    found = _history.series(history.exports)
    return [(s.task, s.metric, step.index, step.change, step.beyond(0.01, 1.10))
            for s in found if s.metric in ("best_val", "epoch_seconds") for step in s.steps]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="small sizes: a check that it runs")
    args = parser.parse_args()
    n, site_exports, site_cells = (40, 40, 3) if args.smoke else (200, 1000, 50)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "planted"
        write_exports(folder, planted(n))
        expected = {("a", "best_val"): int(0.3 * n), ("b", "epoch_seconds"): int(0.6 * n)}
        found = steps_found(folder)
        print(f"planted history: {n} exports, 3 cells")
        for task, metric, index, change, beyond in found:
            plant = expected.get((task, metric))
            what = ("the planted step" if plant == index else
                    "within the drift" if task == "c" and int(0.75 * n) <= index <= int(0.75 * n) + 20 else "FALSE")
            print(f"  {task} {metric}: step at export {index + 1}, "
                  f"{'x%.3f' % change if metric.endswith('seconds') else '%+.4f' % change}"
                  f"{' (beyond tolerance)' if beyond else ''}: {what}")
        missed = [k for k, v in expected.items() if not any((t, m, i) == (*k, v) for t, m, i, _, _ in found)]
        false = [f for f in found if f[4] and expected.get((f[0], f[1])) != f[2]
                 and not (f[0] == "c" and int(0.75 * n) <= f[2] <= int(0.75 * n) + 20)]
        print(f"  planted steps found at their export: {len(expected) - len(missed)} of {len(expected)}; false steps "
              f"beyond tolerance: {len(false)} (target: at most 1)")
        drift_end = min(n, int(0.75 * n) + 20)
        drift = Path(tmp) / "drift"
        write_exports(drift, {k: (v[0][:drift_end], v[1][:drift_end]) for k, v in planted(n).items()})
        done = subprocess.run([BENCH, "compare", "--against-history", str(drift), "--since", "20",
                               str(drift / f"{drift_end - 1:05d}.json"), "--gate", "epoch_seconds"],
                              capture_output=True, text=True)
        print(f"  drift of cell c over 20 exports, bench compare --since 20: exit {done.returncode} "
              f"({'caught' if done.returncode == 1 else 'NOT caught'}; target: caught)")

        big = Path(tmp) / "big"
        rng = np.random.default_rng(1)
        write_exports(big, {f"cell{c:02d}": ((0.9 + rng.normal(0, 0.002, site_exports)).tolist(),
                                             np.exp(rng.normal(0, 0.02, site_exports)).tolist())
                            for c in range(site_cells)}, seeds=2)
        start = time.perf_counter()
        plain = subprocess.run([BENCH, "history", str(big)], capture_output=True, text=True)
        plain_seconds = time.perf_counter() - start
        start = time.perf_counter()
        site = subprocess.run([BENCH, "history", str(big), "--site", str(Path(tmp) / "site")], capture_output=True,
                              text=True)
        site_seconds = time.perf_counter() - start
        if plain.returncode != 0 or site.returncode != 0:
            raise SystemExit(plain.stderr[-2000:] + site.stderr[-2000:])
        index = Path(tmp) / "site" / "index.html"
        pages = list((Path(tmp) / "site" / "cells").glob("*.html"))
        print(f"site of {site_exports:,} exports x {site_cells} cells: {site_seconds:.1f} s (target: at most 30 s; "
              f"bench history without the site {plain_seconds:.1f} s, x{site_seconds / plain_seconds:.1f}), index "
              f"{index.stat().st_size / 2**20:.2f} MiB (target: at most 5), {len(pages)} cell pages of "
              f"{sum(p.stat().st_size for p in pages) / len(pages) / 2**20:.2f} MiB on average")


if __name__ == "__main__":
    from _page import run as run_with_page

    run_with_page(main, __file__)  # --page: also write docs/benchmarks/<script>.md
