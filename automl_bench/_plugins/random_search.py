"""Random search: each trial's configuration drawn independently from the seed and trial number."""

from __future__ import annotations

import random
from typing import Any, Mapping

from automl_bench import Strategy, StrategySpec, hookimpl
from automl_bench.space import SearchSpace


class RandomSearch(Strategy):
    """Draws trial ``n`` from ``random.Random(f"{seed}/{n}")``: the same proposals in any order,
    so parallel runs and resumed runs propose exactly what an uninterrupted run would.

    ``design_seed`` draws from that seed instead of the cell's: every seed of a suite then trains
    the same configurations, which is how a sampled table is built (each configuration on every
    seed, as LCBench sampled its 2,000 a task; `bench tabulate` checks it)."""

    def __init__(self, *, space: SearchSpace, seed: int, directions: Any = None, design_seed: int | None = None):
        if design_seed is not None and (isinstance(design_seed, bool) or not isinstance(design_seed, int)):
            raise ValueError(f"design_seed must be an integer, got {design_seed!r}")
        self.space = space  # draws the same whatever the objectives
        self.seed = seed if design_seed is None else f"design{design_seed}"

    def ask(self, number: int) -> Mapping[str, Any]:
        return self.space.sample(random.Random(f"{self.seed}/{number}"))


@hookimpl
def bench_strategies(register):
    register(StrategySpec("random", "random search, each parameter drawn independently", RandomSearch,
                          options={"design_seed": None}, objectives="any"))
