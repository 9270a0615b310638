"""A minimal automl-bench plugin: one search strategy, ``local-search``.

Local search keeps the best configuration seen so far and proposes a neighbour of it: each
parameter keeps the incumbent's value, or with probability ``mutation_rate`` takes a fresh draw
from the space. The first ``n_startup_trials`` trials are random draws.

A plugin imports only from `automl_bench`. It registers small records through hooks (here one
`StrategySpec`), and the host builds the objects (here a `LocalSearch` per search) only when a
suite uses them.
"""

from __future__ import annotations

import random
from typing import Any, Mapping

from automl_bench import FinishedTrial, Strategy, StrategySpec, hookimpl
from automl_bench.space import SearchSpace


class LocalSearch(Strategy):
    """Mutates the best configuration so far. Every draw for trial ``n`` comes from a generator
    seeded with ``(seed, n)``, and the incumbent only from told results, so a resumed search
    (the base class replays recorded trials through `ask` and `tell`) continues exactly."""

    def __init__(self, *, space: SearchSpace, seed: int, n_startup_trials: int = 5, mutation_rate: float = 0.3):
        if not 0 < mutation_rate <= 1:
            raise ValueError(f"mutation_rate must be in (0, 1], got {mutation_rate}")
        self.space, self.seed = space, seed
        self.n_startup_trials, self.mutation_rate = n_startup_trials, mutation_rate
        self.best: FinishedTrial | None = None

    def ask(self, number: int) -> Mapping[str, Any]:
        rng = random.Random(f"{self.seed}/{number}")
        if number < self.n_startup_trials or self.best is None:
            return self.space.sample(rng)
        config: dict[str, Any] = {}
        for param in self.space:  # in space order, so a conditional parameter sees its parent's value
            if param.when is None or param.when.holds(config):
                keep = param.name in self.best.params and rng.random() >= self.mutation_rate
                config[param.name] = self.best.params[param.name] if keep else param.sample(rng)
        return config

    def tell(self, trial: FinishedTrial) -> None:
        if trial.status == "ok" and trial.value is not None and (self.best is None or trial.value > self.best.value):
            self.best = trial


@hookimpl
def bench_strategies(register):
    register(StrategySpec(
        "local-search", "mutates the best configuration so far (template plugin)", LocalSearch,
        options={"n_startup_trials": 5, "mutation_rate": 0.3},
    ))
