"""Search strategies compared at equal trial budgets, as Bayesmark scores them.

    .venv/bin/python benchmarks/strategies.py                     # everything (about 10 minutes)
    .venv/bin/python benchmarks/strategies.py --seeds 10 --trials 60 --skip-real --skip-overhead

For each objective and strategy, over ``--seeds`` seeds and ``--trials`` trials:

- normalised score = (optimum - best found) / (optimum - median best found by random search),
  so 0 is the optimum and 1 is random search's median; mean and std over seeds;
- anytime: median best-so-far after 25%, 50% and 100% of the trials, and the seconds spent.

Objectives (all maximised, optimum known):

- ``hpo-mixed``: a hyperparameter-shaped surface over log-float, log-int, float and
  categorical parameters, with a conditional momentum for sgd; optimum 0.
- ``branin-int``: negated Branin over two floats, plus an int offset; optimum -0.397887.
- ``rosen-4d``: negated Rosenbrock in 4 float dimensions on [-2, 2]; optimum 0.
- ``digits-mlp`` (real, unless --skip-real): validation accuracy of a PyTorch MLP on digits,
  5 epochs; the optimum is unknown, so the best score seen by any strategy stands in for it.

Strategies that cannot search a space (CMA-ES on categorical or conditional parameters;
hyperopt on conditions over numeric parents) are shown as n/a; those not installed (the SMAC
package's) are named and left out. A multi-fidelity strategy's trials train the epochs it chose
on the real objective; the synthetic ones score every budget alike. Finally, the ask + tell cost
per trial at 100 and at 1,000 recorded trials (target: 10 ms or less at 1,000), each strategy's
run stopped after ``--overhead-limit`` seconds, where the trial it reached is said.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time

from automl_bench import FinishedTrial, Proposal
from automl_bench._manager import get_plugin_manager
from automl_bench._run.cells import derive_seed
from automl_bench.space import CategoricalParam, Condition, FixedParam, FloatParam, IntParam, SearchSpace

ACT_PENALTY = {"relu": 0.0, "gelu": 0.05, "tanh": 0.3, "sigmoid": 0.8}


def hpo_mixed(p):
    loss = (math.log10(p["learning_rate"]) + 2.5) ** 2 + (math.log2(p["units"]) - 7) ** 2 / 4
    loss += 4 * (p["dropout"] - 0.2) ** 2 + ACT_PENALTY[p["activation"]]
    if p["optimizer"] == "sgd":
        loss += 0.1 + 10 * (p["momentum"] - 0.9) ** 2
    return -loss


def branin_int(p):
    x1, x2 = p["x1"], p["x2"]
    b, c, t = 5.1 / (4 * math.pi ** 2), 5 / math.pi, 1 / (8 * math.pi)
    f = (x2 - b * x1 ** 2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10
    return -(f + 0.5 * abs(p["k"] - 3))


def rosen_4d(p):
    x = [p[f"x{i}"] for i in range(4)]
    return -sum(100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2 for i in range(3))


OBJECTIVES = {
    "hpo-mixed": (SearchSpace((
        FloatParam("learning_rate", 1e-5, 1e-1, log=True), IntParam("units", 8, 1024, log=True),
        FloatParam("dropout", 0.0, 0.8),
        CategoricalParam("activation", ("relu", "gelu", "tanh", "sigmoid")),
        CategoricalParam("optimizer", ("adam", "sgd")),
        FloatParam("momentum", 0.0, 0.99, when=Condition("optimizer", values=("sgd",))),
        FixedParam("epochs", 9),
    )), hpo_mixed, 0.0),
    "branin-int": (SearchSpace((FloatParam("x1", -5, 10), FloatParam("x2", 0, 15), IntParam("k", 0, 10),
                                FixedParam("epochs", 9))), branin_int, -0.397887),
    "rosen-4d": (SearchSpace((*(FloatParam(f"x{i}", -2.0, 2.0) for i in range(4)), FixedParam("epochs", 9))),
                 rosen_4d, 0.0),
}


def make_real_objective():
    from automl_bench._files.data import make_splits
    from automl_bench.backend import build_config

    host = get_plugin_manager()
    backend = host.backend("torch").factory()
    backend.setup(threads=1, device="cpu")
    data = make_splits(host.dataset("digits").load(), val_fraction=0.2, test_fraction=0.2, seed=0)
    space = SearchSpace((
        FloatParam("learning_rate", 1e-4, 1e-1, log=True), IntParam("units", 8, 256, log=True),
        IntParam("layers", 1, 3), CategoricalParam("activation", ("relu", "tanh", "sigmoid")),
        FloatParam("dropout", 0.0, 0.5), FixedParam("epochs", 5),
    ))

    def objective(p):
        model = backend.fit(data=data, config=build_config("mlp", p), seed=0, report=lambda r: None)
        return backend.evaluate(model, data.x_val, data.y_val)["accuracy"]

    return space, objective


def search(name, spec, space, objective, seed, trials):
    options = dict(spec.options)
    if "n_startup_trials" in options and spec.name != "cmaes":
        options["n_startup_trials"] = min(10, max(2, trials // 5))
    if "population_size" in options:
        options["population_size"] = min(options["population_size"], max(4, trials // 5))
    if "points" in options:  # grid: enough points to fill the budget
        options["points"] = next(k for k in range(2, 50) if len(space.grid(k)) >= trials or k == 49)
    strategy = spec.factory(space=space, seed=derive_seed(seed, name), **options)
    best, curve, overhead = -math.inf, [], 0.0
    for n in range(trials):
        t0 = time.perf_counter()
        params = strategy.ask(n)
        overhead += time.perf_counter() - t0
        if params is None:
            curve += [best] * (trials - n)
            break
        params, budget = unwrap(params)
        value = objective({**params, "epochs": budget} if budget else dict(params))  # the real one trains a budget
        t0 = time.perf_counter()
        strategy.tell(FinishedTrial(n, params, "ok", value, budget=budget))
        overhead += time.perf_counter() - t0
        best = max(best, value)
        curve.append(best)
    return curve, overhead


def unwrap(asked):
    """A multi-fidelity strategy's `Proposal` as its parameters and budget (these objectives have
    no epochs: every budget scores the same), else the parameters and None."""
    return (asked.params, asked.epochs) if isinstance(asked, Proposal) else (asked, None)


def overhead_at(spec, space, objective, checkpoints=(100, 1000), window: int = 20, limit: float = 300.0):
    """Mean milliseconds of ask + tell over the ``window`` trials before each checkpoint (trials
    81-100 and 981-1,000), stopping after ``limit`` seconds: returns those that were reached, the
    trials run, and the mean over the last ``window`` of them."""
    total = max(checkpoints)
    options = dict(spec.options)
    if "points" in options:  # grid: a grid at least as large as the run
        options["points"] = next(k for k in range(2, 1000) if len(space.grid(k)) >= total)
    strategy = spec.factory(space=space, seed=0, **options)
    times, started = [], time.perf_counter()
    for n in range(total):
        t0 = time.perf_counter()
        params, budget = unwrap(strategy.ask(n))
        mid = time.perf_counter()
        value = objective(dict(params))
        t1 = time.perf_counter()
        strategy.tell(FinishedTrial(n, params, "ok", value, budget=budget))
        times.append(mid - t0 + time.perf_counter() - t1)
        if time.perf_counter() - started > limit:
            break
    reached = {c: statistics.mean(times[c - window:c]) * 1000 for c in checkpoints if len(times) >= c}
    return reached, len(times), statistics.mean(times[-window:]) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--strategies", default="random,grid,tpe,tpe-hyperopt,genetic,cmaes,gp,smac,smac-mf,"
                                                  "smac-hyperband", help="those installed are run")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--trials", type=int, default=60)
    parser.add_argument("--real-trials", type=int, default=20)
    parser.add_argument("--skip-real", action="store_true")
    parser.add_argument("--skip-overhead", action="store_true")
    parser.add_argument("--overhead-trials", default="100,1000", help="checkpoints of the overhead measurement")
    parser.add_argument("--overhead-limit", type=float, default=300.0, help="seconds a strategy's overhead run may take")
    parser.add_argument("--smoke", action="store_true", help="three strategies, 2 seeds, 10 trials: the script runs")
    args = parser.parse_args()
    if args.smoke:
        args.strategies, args.seeds, args.trials, args.skip_real, args.overhead_trials = "random,grid,tpe", 2, 10, True, "60"
    host = get_plugin_manager()
    installed = host.strategies()
    names = [n for n in args.strategies.split(",") if n in installed]
    missing = [n for n in args.strategies.split(",") if n not in installed]
    if missing:
        print(f"not installed, so not run: {', '.join(missing)}")
    specs = {n: host.strategy(n) for n in names}

    objectives = dict(OBJECTIVES)
    if not args.skip_real:
        space, fn = make_real_objective()
        objectives["digits-mlp"] = (space, fn, None)

    for obj_name, (space, fn, optimum) in objectives.items():
        trials = args.real_trials if optimum is None else args.trials
        runs = {}
        for name, spec in specs.items():
            if spec.check_space and spec.check_space(space):
                continue
            t0 = time.perf_counter()
            runs[name] = [search(name, spec, space, fn, seed, trials) for seed in range(args.seeds)]
            print(f"  {obj_name}/{name}: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        best_seen = max(c[-1] for r in runs.values() for c, _ in r)
        opt = best_seen if optimum is None else optimum
        random_median = statistics.median(c[-1] for c, _ in runs["random"])
        gap = opt - random_median
        print(f"\n{obj_name}: {trials} trials x {args.seeds} seeds; optimum {opt:.5g}"
              f"{' (best seen)' if optimum is None else ''}; random median best {random_median:.5g}")
        print(f"{'strategy':<14}{'score mean':>11}{'std':>8}{'best@25%':>11}{'best@50%':>11}{'best@100%':>11}"
              f"{'s/search':>10}")
        for name in names:
            if name not in runs:
                print(f"{name:<14}{'n/a':>11}")
                continue
            scores = [(opt - c[-1]) / gap if gap > 0 else 0.0 for c, _ in runs[name]]
            at = lambda f: statistics.median(c[max(0, int(trials * f) - 1)] for c, _ in runs[name])  # noqa: E731
            secs = statistics.mean(o for _, o in runs[name])
            print(f"{name:<14}{statistics.mean(scores):>11.3f}{statistics.pstdev(scores):>8.3f}"
                  f"{at(0.25):>11.4g}{at(0.5):>11.4g}{at(1.0):>11.4g}{secs:>10.3f}")

    if not args.skip_overhead:
        space, fn, _ = OBJECTIVES["branin-int"]
        checkpoints = tuple(int(c) for c in args.overhead_trials.split(","))
        print(f"\nask + tell per trial (ms, mean of the 20 trials before each checkpoint; target <= 10 ms at "
              f"1,000), each strategy's run stopped after {args.overhead_limit:.0f} s:")
        print(f"  {'strategy':<16}" + "".join(f"{'at ' + str(c):>12}" for c in checkpoints) + "   run")
        for name, spec in specs.items():
            t0 = time.perf_counter()
            reached, ran, last = overhead_at(spec, space, fn, checkpoints, limit=args.overhead_limit)
            cells = "".join(f"{reached[c]:>12.2f}" if c in reached else f"{'-':>12}" for c in checkpoints)
            stopped = "" if ran == max(checkpoints) else f"; stopped at trial {ran}, {last:.0f} ms a trial there"
            print(f"  {name:<16}{cells}   {time.perf_counter() - t0:.0f} s{stopped}")


if __name__ == "__main__":
    from _page import run as run_with_page

    run_with_page(main, __file__)  # --page: also write docs/benchmarks/<script>.md
