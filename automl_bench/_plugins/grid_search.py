"""Grid search over every combination; numeric ranges discretised into ``points`` values."""

from __future__ import annotations

import random
from typing import Any, Mapping

from automl_bench import Strategy, StrategySpec, hookimpl
from automl_bench.space import SearchSpace


class GridSearch(Strategy):
    """The full grid of the space. A range becomes ``points`` evenly spaced values (log-spaced
    on a log scale) unless the parameter lists its own ``grid``; categorical parameters use all
    their choices. With ``shuffle`` (the default) the grid is visited in a seeded random order,
    so a budget smaller than the grid still covers it evenly. The search ends when the grid is
    exhausted."""

    def __init__(self, *, space: SearchSpace, seed: int, points: int = 3, shuffle: bool = True,
                 directions: Any = None):  # visits the same grid whatever the objectives
        if points < 1:
            raise ValueError(f"grid points must be >= 1, got {points}")
        self.grid = space.grid(points)
        if shuffle:
            random.Random(seed).shuffle(self.grid)

    def ask(self, number: int) -> Mapping[str, Any] | None:
        return self.grid[number] if number < len(self.grid) else None


@hookimpl
def bench_strategies(register):
    register(StrategySpec("grid", "exhaustive grid, ranges discretised into `points` values", GridSearch,
                          options={"points": 3, "shuffle": True}, objectives="any"))
