"""Is each configuration's tabled score what training it again gives? (On demand, not a test.)

    .venv/bin/python benchmarks/faithfulness_configs.py                    # every shipped table
    .venv/bin/python benchmarks/faithfulness_configs.py --tables tables/X.parquet --configurations 20
    .venv/bin/python benchmarks/faithfulness_configs.py --smoke            # a toy table, seconds

For each table in tables/ (its build suite in suites/tables/ says how it was trained): picks
``--configurations`` of its configurations spread over its range (the one whose mean final
validation score over the table's seeds is nearest to each of that many evenly spaced values
from the table's lowest to its highest), trains each again with the build's
backend, data, model and epochs on a suite seed the table does not hold, and compares:
Spearman's rho between the real and the tabled scores (scipy), the median absolute difference,
and the table's own seed-to-seed spread (the median over the same configurations of the mean
absolute difference between two of its seeds). A table is faithful per configuration where rho
is high (target 0.9) and the real scores differ from the table by about what its seeds differ by.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
import tomllib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def chosen(table, count: int):
    """``count`` configurations spread over the range of their mean final scores (the one nearest
    to each of ``count`` evenly spaced values from the lowest to the highest), with their runs.
    Evenly spaced ranks would pick mostly from where most configurations are: on a table where
    most of the space trains nothing, a dozen near chance, ranked by noise."""
    from automl_bench.tables import PARAM

    objective = table.provenance.get("objective", "val_accuracy")
    params = [PARAM + p for p in table.params]
    runs = table.frame.groupby([*params, "seed"], dropna=False)[f"final_{objective}"].first().unstack("seed")
    runs = runs.dropna()  # configurations that ended on every seed
    means = runs.mean(axis=1)
    picks: list = []
    for target in np.linspace(means.min(), means.max(), count):
        left = means.drop(index=picks)
        picks.append((left - target).abs().idxmin())
    return runs.loc[means.loc[picks].sort_values().index], params


def plain(value):
    return value.item() if hasattr(value, "item") else value


def suite_for(build: Path, table, configs, params: list[str], seed: int) -> dict:
    """The build suite with one task per configuration, every parameter fixed to its value."""
    suite = tomllib.loads(build.read_text())
    base = {k: v for k, v in suite["tasks"][0].items() if k not in ("space", "name")}
    tasks = []
    for i, values in enumerate(configs.index):
        fixed = {p[len("param."):]: plain(v) for p, v in zip(params, values)}
        tasks.append({**base, "name": f"c{i:02d}", "space": fixed})
    return {
        "name": f"faithful-{table.provenance['suite']['name']}", "seeds": [seed],
        "budget": {"max_trials": 1, **{k: v for k, v in suite["budget"].items() if k == "trial_timeout"}},
        "matrix": {"backends": suite["matrix"]["backends"], "strategies": ["random"]},
        "execution": {**suite.get("execution", {}), "workers": 2},
        "space": {k: v for k, v in suite.get("space", {}).items() if not isinstance(v, dict)},
        "tasks": tasks,
    }


def check(path: Path, count: int, build_dir: Path) -> dict:
    from scipy.stats import spearmanr

    import automl_bench as ab
    from automl_bench.tables import read_table

    table = read_table(path)
    build = build_dir / f"{table.provenance['suite']['name']}.toml"
    configs, params = chosen(table, count)
    seed = max(table.provenance["seeds"]) + 1
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        trials = ab.run(suite_for(build, table, configs, params, seed), out=out, report=False, progress=False).trials
    real = trials.set_index("task").sort_index()["val_" + table.provenance.get("objective", "val_accuracy")[4:]]
    tabled = configs.mean(axis=1).to_numpy()
    pairs = [np.abs(configs[a] - configs[b]).to_numpy() for a, b in itertools.combinations(configs.columns, 2)]
    spread = float(np.median(np.mean(pairs, axis=0)))
    rho = spearmanr(real.to_numpy(), tabled).statistic
    return {"table": path.stem, "configurations": len(configs), "seed": seed, "rho": float(rho),
            "median |real - table|": float(np.median(np.abs(real.to_numpy() - tabled))),
            "seed-to-seed spread": spread, "seconds": time.perf_counter() - started,
            "failed": int((trials["status"] != "ok").sum()),
            "rows": list(zip(tabled, real.to_numpy()))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", nargs="*", type=Path)
    parser.add_argument("--configurations", type=int, default=12)
    parser.add_argument("--smoke", action="store_true", help="a toy table of 8 configurations, 4 of them retrained")
    args = parser.parse_args()
    if args.smoke:
        smoke()
        return
    build_dir = ROOT / "suites" / "tables"
    tables = args.tables or sorted((ROOT / "tables").glob("*.parquet"))
    print(f"{'table':<24}{'configs':>8}{'seed':>6}{'rho':>7}{'|real-table|':>14}{'seed spread':>13}{'s':>7}")
    results = []
    for path in tables:
        r = check(path, args.configurations, build_dir)
        results.append(r)
        print(f"{r['table']:<24}{r['configurations']:>8}{r['seed']:>6}{r['rho']:>7.2f}"
              f"{r['median |real - table|']:>14.4f}{r['seed-to-seed spread']:>13.4f}{r['seconds']:>7.0f}"
              + (f"   ({r['failed']} failed)" if r["failed"] else ""))
    print("\ntabled (mean over the table's seeds) and real scores of each configuration, low to high:")
    for r in results:
        print(f"  {r['table']}: " + ", ".join(f"{t:.3f}/{v:.3f}" for t, v in r["rows"]))
    met = [r["table"] for r in results if r["rho"] >= 0.9]
    print(f"\nrho >= 0.9 on {len(met)} of {len(results)} tables")


def smoke() -> None:
    """A toy table built here and checked the same way (the toy backend's scores are exact)."""
    import automl_bench as ab
    from automl_bench._manager import get_plugin_manager
    from automl_bench._results.tabulate import tabulate
    from automl_bench.tables import write_table
    from automl_bench.testing import TOY_PLUGIN, toy_table_suite

    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        (work / "builds").mkdir()
        (work / "builds" / "table.toml").write_text(toy_table_suite(name="table"))
        results = ab.run(str(work / "builds" / "table.toml"), out=work / "out", report=False, progress=False,
                         plugins=[TOY_PLUGIN])
        table = write_table(tabulate(get_plugin_manager((TOY_PLUGIN,)), results.directory), work / "table.parquet")
        import os

        os.environ["BENCH_PLUGINS"] = TOY_PLUGIN  # the retraining runs load the toy plugin too
        r = check(table, 4, work / "builds")
        print(f"{r['table']}: {r['configurations']} configurations on seed {r['seed']}: rho {r['rho']:.2f}, "
              f"median |real - table| {r['median |real - table|']:.4f}")


if __name__ == "__main__":
    from _page import run as run_with_page

    run_with_page(main, __file__)  # --page: also write docs/benchmarks/<script>.md
