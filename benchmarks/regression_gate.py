"""How often the regression gate (`bench compare`) cries wolf, and how often it catches a real
regression, on a real suite and on the toy plugin.

    .venv/bin/python benchmarks/regression_gate.py                 # both suites, N = 20 (about 25 minutes)
    .venv/bin/python benchmarks/regression_gate.py --suites toy --runs 5
    .venv/bin/python benchmarks/regression_gate.py --busy-only --contention 20   # about 25 minutes
    .venv/bin/python benchmarks/regression_gate.py --seed-by-seed 5 10          # about 40 minutes
    .venv/bin/python benchmarks/regression_gate.py --duet 10 20                 # about 20 minutes

For each suite (``torch``: suites/ci.toml, a PyTorch MLP and CNN on digits with 5 seeds;
``toy``: the toy plugin, 5 seeds, epochs that sleep 10 ms), one baseline run is exported, then:

- ``A/A``: the unchanged code is run N times; each run is compared with the stored baseline.
  A false alarm is a run the gate fails (exit 1). Target: at most 1 in 20.
- ``score -2 pts``: N runs with every accuracy 2 points lower (benchmarks/planted.py for torch,
  TOY_SCORE_SHIFT for the toy). A detection is a run where a score metric regressed. Target:
  at least 18 in 20.
- ``training x1.2``: N runs whose training is 20% slower (PLANT_SLOWDOWN / a longer toy epoch).
  A detection is a run where seconds per epoch regressed. Target: at least 18 in 20.
- ``back to back``: consecutive A/A runs compared with each other, as the interleaved workflow
  does (two builds in one job).
- ``busy machine`` (torch only; ``--contention`` N, ``--busy-only`` for this alone): while two
  processes spin on the CPU (a noisy neighbour), the unchanged code and a planted 20% slowdown
  run in turn, N times each. Eight ways of timing judge the same runs: against the quiet stored
  baseline or interleaved (against the unchanged code's run just before, under the same load,
  as two builds in one job), on wall or CPU seconds per epoch, raw or calibrated. Each way's
  false alarms and slowdowns caught (`busy_machine`). Target for the recommended way: at most 1
  false alarm in 10, at least 18 of 20 slowdowns caught.

Finally the noise measured in the A/A runs, within a run (the scatter of a cell's per-seed
changes, which the t-test sees) and between runs (a whole run's drift, which it cannot tell from
a change), and the minimum effect the gate detects with 80% power at 3, 5 and 10 seeds from the
within-run noise (statsmodels' power of the one-sided paired t-test, at alpha / number of gated
tests, Holm's first step): scores and seconds per epoch. Drift adds to a planted slowdown or
takes from it, which is why the measured detection rates are the figures that count.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from automl_bench._regression.baseline import from_results, read
from automl_bench._regression.compare import Settings, compare

ROOT = Path(__file__).resolve().parent.parent
BENCH = str(Path(sys.executable).with_name("bench"))
TOY_EPOCH = 0.01


def toy_suite_text() -> str:
    from automl_bench.testing import toy_suite

    return toy_suite(name="toy-gate", seeds=(0, 1, 2, 3, 4), max_trials=4, epochs=3)


class Suite:
    def __init__(self, name: str, work: Path):
        self.name, self.work = name, work
        if name == "torch":
            self.path, self.plugins = ROOT / "suites" / "ci.toml", ["-p", "no:torch", "-p", "planted"]
        else:
            self.path = work / "toy-gate.toml"
            self.path.write_text(toy_suite_text())
            self.plugins = ["-p", "automl_bench.testing.toy"]
        self.count = 0

    def env(self, plant: str | None) -> dict[str, str]:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "benchmarks"), os.environ.get("PYTHONPATH", "")])}
        if self.name == "toy":
            env["TOY_EPOCH_SECONDS"] = str(TOY_EPOCH * (1.2 if plant == "slow" else 1))
            if plant == "drop":
                env["TOY_SCORE_SHIFT"] = "-0.02"
        else:
            if plant == "drop":
                env["PLANT_SCORE_SHIFT"] = "-0.02"
            if plant == "slow":
                env["PLANT_SLOWDOWN"] = "1.2"
        return env

    def run(self, plant: str | None = None, out: Path | None = None, *options: str) -> Path:
        self.count += 1
        out = out or self.work / f"run{self.count:03d}"
        return self.finish(self.start(plant, out, *options), out)

    def start(self, plant: str | None, out: Path, *options: str) -> subprocess.Popen:
        return subprocess.Popen([BENCH, *self.plugins, "run", str(self.path), "--out", str(out), "--quiet",
                                 "--no-report", *options], env=self.env(plant), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, cwd=self.work)

    @staticmethod
    def finish(proc: subprocess.Popen, out: Path) -> Path:
        stdout, stderr = proc.communicate()
        if proc.returncode != 0:
            sys.exit(f"run failed ({proc.returncode}):\n{stdout[-2000:]}\n{stderr[-2000:]}")
        return next(p for p in out.iterdir() if p.is_dir() and p.name != "logs")


def judge(baseline, directory: Path, **settings) -> tuple[bool, set[str], list]:
    """(gate failed, metrics that regressed, rows)."""
    current = from_results(directory)
    comparison = compare(baseline, current, Settings.resolve(current, **settings))
    return bool(comparison.regressions), {r.metric for r in comparison.regressions}, comparison.rows


class Hog:
    """Two processes spinning on the CPU: a slower machine, for as long as it lives."""

    def __enter__(self):
        self.procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
        time.sleep(0.5)
        return self

    def __exit__(self, *exc):
        for p in self.procs:
            p.kill()
            p.wait()


def mde(noise_sd: float, margin: float, seeds: int, tests: int, alpha: float = 0.05) -> float:
    """Smallest change beyond which the one-sided paired t-test fires with 80% power, at Holm's
    first step (alpha / tests)."""
    from statsmodels.stats.power import TTestPower

    if noise_sd == 0:
        return margin
    d = TTestPower().solve_power(nobs=seeds, alpha=alpha / tests, power=0.8, alternative="larger")
    return margin + d * noise_sd


#: The ways to time a gate on a busy machine: (against, clock, time basis). "stored": the run
#: under load against the quiet stored baseline; "interleaved": against a run of the unchanged
#: code just before it, under the same load (both builds in one job).
WAYS = [(against, clock, basis) for against in ("stored", "interleaved") for clock in ("wall", "cpu")
        for basis in ("raw", "calibrated")]


def tally(key: str, alarms: list, catches: list, clock: str, basis: str) -> dict:
    """One way of timing judged over (baseline, current results) pairs: ``alarms`` of unchanged
    code (a failed gate is a false alarm), ``catches`` of the planted slowdown (caught when seconds
    per epoch regressed). Prints and returns the counts and the time ratios seen."""
    ratios: dict[str, list[float]] = {"same": [], "slow": []}
    false = caught = 0
    for kind, pairs in (("same", alarms), ("slow", catches)):
        for base, current in pairs:
            failed, metrics, rows = judge(base, current, clock=clock, time_basis=basis)
            ratios[kind] += [r.change for r in rows if r.metric == "epoch_seconds" and r.change]
            if kind == "same":
                false += failed
            else:
                caught += "epoch_seconds" in metrics
    same, slow = ratios["same"], ratios["slow"]
    print(f"[torch] busy, {key:27} false alarms {false}/{len(alarms)}, x1.2 caught {caught}/{len(catches)}; "
          f"time ratio of the unchanged code {statistics.median(same):.2f} ({min(same):.2f} to {max(same):.2f}), "
          f"of x1.2 {statistics.median(slow):.2f} ({min(slow):.2f} to {max(slow):.2f})", flush=True)
    return {"alarms": false, "comparisons": len(alarms), "caught": caught, "slowdowns": len(catches),
            "ratio_median": statistics.median(same), "ratio_range": [min(same), max(same)],
            "slow_ratio_median": statistics.median(slow), "slow_ratio_range": [min(slow), max(slow)]}


def every_clock(mode: str, alarms: list, catches: list) -> dict:
    """One interleaved mode's comparisons judged on wall and CPU seconds, raw and calibrated."""
    return {f"{mode} {clock} {basis}": tally(f"{mode} {clock} {basis}", alarms, catches, clock, basis)
            for clock in ("wall", "cpu") for basis in ("raw", "calibrated")}


def busy_machine(suite: Suite, baseline, n: int) -> dict:
    """Two processes spin while the unchanged code (A) and a planted 20% slowdown (S) run in
    turn, n times each: A1 S1 A2 S2 ... Every way of timing judges the same runs:

    - false alarms: stored, each A against the quiet baseline (n); interleaved, A(2k) against
      A(2k+1), two unchanged runs of one job (n / 2);
    - slowdowns caught (seconds per epoch regressed): stored, each S against the quiet baseline;
      interleaved, each S against the A just before it (n each)."""
    t0 = time.perf_counter()
    unchanged, slow = [], []
    with Hog():
        for _ in range(n):
            unchanged.append(suite.run())
            slow.append(suite.run("slow"))
    print(f"[torch] busy machine: {2 * n} runs in {time.perf_counter() - t0:.0f} s", flush=True)
    exported = [from_results(d) for d in unchanged]  # each unchanged run as the next one's baseline
    pairs = {"stored": ([(baseline, d) for d in unchanged], [(baseline, d) for d in slow]),
             "interleaved": (list(zip(exported[0::2], unchanged[1::2])), list(zip(exported, slow)))}
    ways = {f"{against} {clock} {basis}": tally(f"{against} {clock} {basis}", *pairs[against], clock, basis)
            for against, clock, basis in WAYS}
    return {"runs": n, "ways": ways}


def seed_by_seed(suite: Suite, n_same: int, n_slow: int) -> dict:
    """The interleaved mode of scripts/regression-gate.sh under load: each comparison runs both
    sides seed by seed, alternately (base seed 0, current seed 0, base seed 1, ...), each seed a
    `bench run --seeds K` of its own, while two processes spin. ``n_same`` comparisons of the
    unchanged code with itself (false alarms), ``n_slow`` of the planted slowdown against it."""
    import tomllib

    seeds = tomllib.loads(suite.path.read_text()).get("seeds", [0])
    t0 = time.perf_counter()
    plants = [None] * n_same + ["slow"] * n_slow
    with Hog():
        for k, plant in enumerate(plants):
            for seed in seeds:
                suite.run(None, suite.work / f"sbs{k:02d}-base", "--seeds", str(seed))
                suite.run(plant, suite.work / f"sbs{k:02d}-current", "--seeds", str(seed))
    alarms, catches = [], []
    for k, plant in enumerate(plants):  # read after the load, as the whole-run ways are
        base, current = (next(p.parent for p in (suite.work / f"sbs{k:02d}-{side}").glob("*/bench.sqlite"))
                         for side in ("base", "current"))
        (alarms if plant is None else catches).append((from_results(base), current))
    print(f"[torch] busy machine, seed by seed: {n_same + n_slow} comparisons in {time.perf_counter() - t0:.0f} s",
          flush=True)
    return {"ways": every_clock("seed by seed", alarms, catches)}


def duet(suite: Suite, n_same: int, n_slow: int) -> dict:
    """The duet mode of scripts/regression-gate.sh under load: both sides run at the same time,
    two `bench run` processes side by side, while two processes spin, so that whatever the
    machine does falls on both at once (duet benchmarking, Bulej et al., ICPE 2020). ``n_same``
    duets of the unchanged code with itself (false alarms), ``n_slow`` of the planted slowdown
    beside the unchanged code (slowdowns caught)."""
    t0 = time.perf_counter()
    plants = [None] * n_same + ["slow"] * n_slow
    alarms, catches = [], []
    with Hog():
        for k, plant in enumerate(plants):
            sides = {side: suite.work / f"duet{k:02d}-{side}" for side in ("base", "current")}
            procs = [suite.start(None, sides["base"]), suite.start(plant, sides["current"])]
            base, current = (suite.finish(p, d) for p, d in zip(procs, sides.values()))
            (alarms if plant is None else catches).append((base, current))
    print(f"[torch] busy machine, duet: {n_same + n_slow} duets in {time.perf_counter() - t0:.0f} s", flush=True)
    pairs = [[(from_results(b), c) for b, c in group] for group in (alarms, catches)]  # read after the load
    return {"ways": every_clock("duet", *pairs)}


def bench_suite(name: str, runs: int, contention: int, work: Path, seed_pairs: tuple[int, int] = (),
                duets: tuple[int, int] = ()) -> dict:
    suite = Suite(name, work)
    t0 = time.perf_counter()
    base_dir = suite.run()
    baseline = from_results(base_dir)
    exported = work / "baseline.json"
    exported.write_text(baseline.to_json())
    baseline = read(exported)  # as CI reads it: through the file
    print(f"[{name}] baseline in {time.perf_counter() - t0:.0f} s; {len(baseline.rows)} cell-seeds, "
          f"calibration {baseline.calibration}", flush=True)
    out: dict = {"suite": name, "runs": runs, "scenarios": {}}
    if runs == 0 and duets:  # --duet
        out["scenarios"]["busy machine"] = duet(suite, *duets)
        out["seconds"] = time.perf_counter() - t0
        return out
    if runs == 0 and seed_pairs:  # --seed-by-seed
        out["scenarios"]["busy machine"] = seed_by_seed(suite, *seed_pairs)
        out["seconds"] = time.perf_counter() - t0
        return out
    if runs == 0:  # --busy-only
        out["scenarios"]["busy machine"] = busy_machine(suite, baseline, contention)
        out["seconds"] = time.perf_counter() - t0
        return out

    aa_dirs, aa_rows = [], []
    alarms = alarms_cpu = 0
    for _ in range(runs):
        d = suite.run()
        aa_dirs.append(d)
        failed, metrics, rows = judge(baseline, d)
        alarms += failed
        alarms_cpu += judge(baseline, d, clock="cpu")[0] if name == "torch" else 0
        aa_rows.append(rows)
        if failed:
            print(f"  A/A false alarm: {sorted(metrics)}", flush=True)
    out["scenarios"]["A/A"] = {"alarms": alarms, "alarms_cpu": alarms_cpu if name == "torch" else None}
    print(f"[{name}] A/A: {alarms}/{runs} false alarms"
          + (f" (on CPU seconds: {alarms_cpu}/{runs})" if name == "torch" else ""), flush=True)

    for plant, wanted in (("drop", {"best_val", "test"}), ("slow", {"epoch_seconds"})):
        hits = hits_cpu = 0
        for _ in range(runs):
            d = suite.run(plant)
            hits += bool(judge(baseline, d)[1] & wanted)
            hits_cpu += bool(judge(baseline, d, clock="cpu")[1] & wanted) if name == "torch" else 0
        out["scenarios"][plant] = {"detections": hits, "detections_cpu": hits_cpu if name == "torch" else None}
        print(f"[{name}] planted {plant}: {hits}/{runs} detected"
              + (f" (on CPU seconds: {hits_cpu}/{runs})" if name == "torch" else ""), flush=True)

    pairs = list(zip(aa_dirs[0::2], aa_dirs[1::2]))
    back = sum(judge(from_results(a), b)[0] for a, b in pairs)
    out["scenarios"]["back to back"] = {"alarms": back, "pairs": len(pairs)}
    print(f"[{name}] back to back: {back}/{len(pairs)} false alarms", flush=True)

    if contention and name == "torch":
        out["scenarios"]["busy machine"] = busy_machine(suite, baseline, contention)

    # noise from the A/A runs, against the baseline: within a comparison (the scatter of the
    # per-seed changes of a cell, which the t-test sees) and between runs (the drift of a whole
    # run, which it cannot tell from a change)
    gated = len([r for r in aa_rows[0] if r.gated and r.p is not None]) or 1
    base_rows = {(r.task, r.backend, r.strategy, r.seed): r for r in baseline.rows}
    within: dict[str, list[float]] = {"score": [], "time": []}
    drift: list[float] = []
    for d in aa_dirs:
        cells: dict = {}
        for r in from_results(d).rows:
            b = base_rows[(r.task, r.backend, r.strategy, r.seed)]
            entry = cells.setdefault(r.cell, {"score": [], "time": []})
            if r.best_val is not None and b.best_val is not None:
                entry["score"].append(r.best_val - b.best_val)
            if r.epoch_seconds and b.epoch_seconds:
                entry["time"].append(math.log(r.epoch_seconds / b.epoch_seconds))
        for entry in cells.values():
            for kind in ("score", "time"):
                if len(entry[kind]) > 1:
                    within[kind].append(statistics.variance(entry[kind]))
            if entry["time"]:
                drift.append(statistics.mean(entry["time"]))
    by_cell: dict = {}
    for r in baseline.rows:
        by_cell.setdefault(r.cell, []).append(r.best_val)
    seed_sd = [statistics.stdev(v) for v in by_cell.values() if len(v) > 1 and None not in v]
    sd_score = math.sqrt(statistics.mean(within["score"])) if within["score"] else 0.0
    sd_time = math.sqrt(statistics.mean(within["time"])) if within["time"] else 0.0
    sd_seed = statistics.mean(seed_sd) if seed_sd else 0.0
    drift_sd = statistics.stdev(drift) if len(drift) > 1 else 0.0
    out["noise"] = {"score_paired_sd": sd_score, "score_between_seeds_sd": sd_seed, "log_time_paired_sd": sd_time,
                    "log_time_run_drift_sd": drift_sd, "largest_run_drift": math.exp(max(map(abs, drift or [0]))),
                    "gated_tests": gated}
    out["mde"] = {}
    for n in (3, 5, 10):
        out["mde"][n] = {
            "score_same_machine": mde(sd_score, 0.01, n, gated),
            # unpaired seeds (another machine's rounding, a change of random streams): the
            # difference of two means of n seeds each, sd * sqrt(2)
            "score_independent_seeds": mde(sd_seed * math.sqrt(2), 0.01, n, gated),
            "epoch_seconds_ratio": math.exp(mde(sd_time, math.log(1.10), n, gated)),
        }
    print(f"[{name}] noise: score paired sd {sd_score:.4f}, between seeds sd {sd_seed:.4f}; log time paired sd "
          f"{sd_time:.3f} within a run, {drift_sd:.3f} between runs (largest drift "
          f"x{out['noise']['largest_run_drift']:.3f}); {gated} gated tests", flush=True)
    for n, v in out["mde"].items():
        print(f"[{name}] smallest effect detected (80% power) with {n:2d} seeds: score drop "
              f"{v['score_same_machine']:.4f} (same machine) / {v['score_independent_seeds']:.4f} "
              f"(independent seeds); slowdown x{v['epoch_seconds_ratio']:.3f}", flush=True)
    out["seconds"] = time.perf_counter() - t0
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20, help="runs per scenario (N)")
    parser.add_argument("--contention", type=int, default=10, help="busy-machine runs (torch)")
    parser.add_argument("--suites", default="torch,toy")
    parser.add_argument("--busy-only", action="store_true",
                        help="only the busy-machine ways of timing (torch: a baseline, then 2 x --contention runs)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--seed-by-seed", type=int, nargs=2, metavar=("SAME", "SLOW"),
                        help="only the interleaved mode under load, seed by seed: SAME comparisons of the unchanged "
                             "code, SLOW of the planted slowdown (torch)")
    parser.add_argument("--duet", type=int, nargs=2, metavar=("SAME", "SLOW"),
                        help="only the duet mode under load, both sides at once: SAME duets of the unchanged code, "
                             "SLOW of the planted slowdown beside it (torch)")
    parser.add_argument("--keep", type=Path, help="run in this folder and keep every run's results there")
    parser.add_argument("--smoke", action="store_true", help="the toy suite, 2 runs, no contention: the script runs")
    args = parser.parse_args()
    if args.smoke:
        args.runs, args.contention, args.suites = 2, 0, "toy"
    if args.busy_only or args.seed_by_seed or args.duet:
        args.runs, args.suites = 0, "torch"
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-gate-") as tmp:
        for name in args.suites.split(","):
            work = (args.keep or Path(tmp)) / name
            work.mkdir(parents=True)
            results.append(bench_suite(name, args.runs, args.contention, work, tuple(args.seed_by_seed or ()),
                                       tuple(args.duet or ())))
    print()
    print(f"{'suite':6} {'scenario':16} {'result':>10}  target")
    for r in results:
        n, s = r["runs"], r["scenarios"]
        if n:
            print(f"{r['suite']:6} {'A/A':16} {s['A/A']['alarms']:>4}/{n:<4} ≤ {max(1, n // 20)}/{n} false alarms")
            print(f"{r['suite']:6} {'score -2 pts':16} {s['drop']['detections']:>4}/{n:<4} ≥ {math.ceil(n * 0.9)}/{n}")
            print(f"{r['suite']:6} {'training x1.2':16} {s['slow']['detections']:>4}/{n:<4} ≥ {math.ceil(n * 0.9)}/{n}")
            if s["A/A"].get("alarms_cpu") is not None:
                print(f"{r['suite']:6} {'A/A, CPU s':16} {s['A/A']['alarms_cpu']:>4}/{n:<4} ≤ {max(1, n // 20)}/{n}")
                print(f"{r['suite']:6} {'x1.2, CPU s':16} {s['slow']['detections_cpu']:>4}/{n:<4} "
                      f"≥ {math.ceil(n * 0.9)}/{n}")
            b = s["back to back"]
            print(f"{r['suite']:6} {'back to back':16} {b['alarms']:>4}/{b['pairs']:<4} false alarms")
        if "busy machine" in s:
            for key, w in s["busy machine"]["ways"].items():
                print(f"{r['suite']:6} {'busy, ' + key:34} {w['alarms']:>3}/{w['comparisons']:<3} false alarms, "
                      f"x1.2 caught {w['caught']:>2}/{w['slowdowns']} (time ratio {w['ratio_median']:.2f} unchanged, "
                      f"{w['slow_ratio_median']:.2f} x1.2)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    from _page import run as run_with_page

    run_with_page(main, __file__)  # --page: also write docs/benchmarks/<script>.md
