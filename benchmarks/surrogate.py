"""What a proposal off a sampled table's configurations is answered with, and how wrong it is.

    .venv/bin/python benchmarks/surrogate.py              # the sampled tables in tables/
    .venv/bin/python benchmarks/surrogate.py --smoke      # 150 configurations of one table (tests run this)

A sampled table records 1,000 configurations; an optimizer over continuous ranges proposes
others. Replay answers each with the recorded run of the nearest configuration (`SearchSpace.snap`:
squared differences in each parameter's own scale, log or linear, over its range). Syne Tune's
blackbox repository offers surrogates fitted to the table instead (k nearest neighbours, random
forests). This measures, per table, the error of each answer on configurations the answer has
not seen (leave one out for the nearest neighbour, which is exactly replay's rule on the table
less that configuration; 10-fold cross-validation for the fitted surrogates):

- ``nearest`` (what replay does): the nearest other configuration's mean final score;
- ``knn-5``: the mean of the 5 nearest, in the same coordinates (scikit-learn);
- ``forest``: a random forest of 200 trees on the same coordinates (scikit-learn);

each as the median absolute error against the configuration's own mean over its seeds, and
Spearman's ρ between answer and truth; beside the table's own noise floor, the median absolute
difference between two seeds of one configuration. An answer whose error is far above that
floor gives an optimizer a landscape the table does not have.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

from automl_bench.tables import PARAM, read_table

ROOT = Path(__file__).resolve().parents[1]


def coordinates(table, frame):
    """Each configuration's position in [0, 1] per numeric parameter (its own scale: log where the
    table's space says so), as replay's distance measures it; categorical ones one-hot."""
    space = {p["name"]: p for p in table.provenance.get("space", [])}
    columns = []
    for name in table.params:
        values = frame[PARAM + name]
        spec = space.get(name, {})
        if values.dtype.kind in "if":
            v = values.astype(float).to_numpy()
            if spec.get("log"):
                v = np.log(v)
            span = v.max() - v.min()
            columns.append(((v - v.min()) / span if span else v * 0)[:, None])
        else:
            columns.append((values.to_numpy()[:, None] == np.unique(values.to_numpy())[None, :]).astype(float))
    return np.hstack(columns)


def measure(path: Path, limit: int | None = None, seed: int = 0) -> dict:
    from scipy.stats import spearmanr
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.model_selection import KFold, cross_val_predict
    from sklearn.neighbors import KNeighborsRegressor

    table = read_table(path)
    objective = table.provenance.get("objective", "val_accuracy")
    params = [PARAM + p for p in table.params]
    runs = table.frame.groupby([*params, "seed"], dropna=False)[f"final_{objective}"].first().fillna(0.0)
    by_seed = runs.unstack("seed")
    if limit:
        by_seed = by_seed.iloc[:limit]
    truth = by_seed.mean(axis=1).to_numpy()
    seeds = by_seed.to_numpy()
    noise = float(np.median(np.abs(seeds[:, 0] - seeds[:, 1])))
    frame = by_seed.index.to_frame(index=False)
    x = coordinates(table, frame)
    # replay's rule: squared distance over the coordinates; leave one out = the nearest other one
    distances = ((x[:, None, :] - x[None, :, :]) ** 2).sum(axis=2)
    np.fill_diagonal(distances, math.inf)
    answers = {"nearest": truth[distances.argmin(axis=1)]}
    folds = KFold(10, shuffle=True, random_state=seed)
    answers["knn-5"] = cross_val_predict(KNeighborsRegressor(5), x, truth, cv=folds)
    answers["forest"] = cross_val_predict(RandomForestRegressor(200, random_state=seed, n_jobs=1), x, truth, cv=folds)
    out = {"table": path.stem, "configurations": len(truth), "seeds": seeds.shape[1], "noise": noise,
           "spread": float(np.std(truth)),
           "nearest distance": float(np.median(np.sqrt(distances.min(axis=1))))}
    for name, answer in answers.items():
        out[name] = (float(np.median(np.abs(answer - truth))), float(spearmanr(answer, truth).statistic))
    # the same errors among the configurations that train (mean score in the table's top quarter),
    # where an optimizer spends its late trials
    top = truth >= np.quantile(truth, 0.75)
    out["top quarter"] = {name: float(np.median(np.abs(answer[top] - truth[top]))) for name, answer in answers.items()}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tables", nargs="*", type=Path)
    parser.add_argument("--smoke", action="store_true", help="150 configurations of one table: a check that it runs")
    args = parser.parse_args()
    sampled = [p for p in sorted((ROOT / "tables").glob("*.parquet"))
               if read_table(p).provenance.get("design") == "sample"]
    paths = args.tables or (sampled[:1] if args.smoke else sampled)
    for path in paths:
        d = measure(path, limit=150 if args.smoke else None)
        print(f"{d['table']}: {d['configurations']} configurations x {d['seeds']} seeds; spread of the "
              f"configurations' mean scores (std) {d['spread']:.4f}; median distance to the nearest other "
              f"configuration {d['nearest distance']:.3f} (coordinates in [0, 1] per parameter)")
        print(f"  noise floor (median |seed a - seed b| of one configuration): {d['noise']:.4f}")
        print(f"  {'answer':<10}{'median |error|':>16}{'Spearman rho':>14}{'top quarter |error|':>22}")
        for name in ("nearest", "knn-5", "forest"):
            error, rho = d[name]
            print(f"  {name:<10}{error:>16.4f}{rho:>14.3f}{d['top quarter'][name]:>22.4f}")


if __name__ == "__main__":
    from _page import run as run_with_page

    run_with_page(main, __file__)  # --page: also write docs/benchmarks/<script>.md
