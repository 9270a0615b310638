"""Random search: each trial's configuration drawn independently from the seed and trial number."""

from __future__ import annotations

import random
from typing import Any, Mapping

from automl_bench import Strategy, StrategySpec, hookimpl
from automl_bench.space import SearchSpace


class RandomSearch(Strategy):
    """Draws trial ``n`` from ``random.Random(f"{seed}/{n}")``: the same proposals in any order,
    so parallel runs and resumed runs propose exactly what an uninterrupted run would."""

    def __init__(self, *, space: SearchSpace, seed: int, directions: Any = None):
        self.space, self.seed = space, seed  # draws the same whatever the objectives

    def ask(self, number: int) -> Mapping[str, Any]:
        return self.space.sample(random.Random(f"{self.seed}/{number}"))


@hookimpl
def bench_strategies(register):
    register(StrategySpec("random", "random search, each parameter drawn independently", RandomSearch,
                          objectives="any"))
