"""How hard each shipped table is (on demand, not a test): what docs/benchmarks/table_difficulty.md shows.

    .venv/bin/python benchmarks/table_difficulty.py                  # every tables/*.parquet
    .venv/bin/python benchmarks/table_difficulty.py tables/X.parquet
    .venv/bin/python benchmarks/table_difficulty.py --smoke           # 100 draws (tests run this)

For each table: its configurations, seeds and epochs, size and sha256; the best recorded run's
final validation score, the best configuration's mean over its seeds, the median
configuration's; and random search's median best after 20 and after 50 trials, each estimated
from 10,000 draws of that many of the table's recorded runs without replacement (each a
configuration on one seed, as a replay of random search reads them), with the gap to the best
run. A table whose gap is near 0 cannot tell strategies apart.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np

from automl_bench.tables import PARAM, read_table

ROOT = Path(__file__).resolve().parents[1]
DRAWS, TRIALS = 10_000, (20, 50)


def difficulty(path: Path, draws: int = DRAWS, trials: tuple[int, ...] = TRIALS, seed: int = 0) -> dict:
    table = read_table(path)
    frame = table.frame
    objective = table.provenance.get("objective", "val_accuracy")
    params = [PARAM + p for p in table.params]
    runs = frame.groupby([*params, "seed"], dropna=False)[f"final_{objective}"].first().fillna(-np.inf)
    configs = runs.groupby(level=list(range(len(params)))).mean()
    rng = np.random.default_rng(seed)
    values = runs.to_numpy()
    medians = {n: float(np.median([values[rng.choice(len(values), size=min(n, len(values)), replace=False)].max()
                                   for _ in range(draws)])) for n in trials}
    return {
        "table": path.stem, "configurations": len(configs), "seeds": frame["seed"].nunique(),
        "epochs": int(frame["epoch"].max()), "bytes": path.stat().st_size,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "objective": objective,
        "best run": float(values.max()), "best configuration (mean)": float(configs.max()),
        "median configuration": float(configs.median()),
        **{f"random@{n} median best": m for n, m in medians.items()},
        **{f"gap@{n}": float(values.max() - m) for n, m in medians.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tables", nargs="*", type=Path)
    parser.add_argument("--smoke", action="store_true", help="100 draws: a check that it runs")
    args = parser.parse_args()
    for path in args.tables or sorted((ROOT / "tables").glob("*.parquet")):
        d = difficulty(path, draws=100 if args.smoke else DRAWS)
        print(f"{d['table']}: {d['configurations']} configurations x {d['seeds']} seeds x {d['epochs']} epochs, "
              f"{d['bytes']:,} bytes, sha256 {d['sha256']}")
        print(f"  {d['objective']}: best run {d['best run']:.4f}, best configuration {d['best configuration (mean)']:.4f}"
              f", median configuration {d['median configuration']:.4f}")
        for n in TRIALS:
            print(f"  random@{n} median best {d[f'random@{n} median best']:.4f}: gap {d[f'gap@{n}']:.4f}")


if __name__ == "__main__":
    from _page import run as run_with_page

    run_with_page(main, __file__)  # --page: also write docs/benchmarks/<script>.md
