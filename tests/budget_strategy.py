"""A test plugin: a strategy that chooses each trial's epochs, as a multi-fidelity optimizer does
(`Proposal`), without a library: random configurations, budgets cycling through 1, 2 and 4."""

from __future__ import annotations

import random

from automl_bench import Proposal, Strategy, StrategySpec, hookimpl

BUDGETS = (1, 2, 4)


class CyclingBudgets(Strategy):
    def __init__(self, *, space, seed):
        self.space, self.seed = space, seed
        self.told: list = []

    def ask(self, number):
        return Proposal(self.space.sample(random.Random(f"{self.seed}/{number}")), BUDGETS[number % len(BUDGETS)])

    def tell(self, trial):
        self.told.append(trial)


@hookimpl
def bench_strategies(register):
    register(StrategySpec("cycling-budgets", "test: budgets 1, 2, 4 in turn", CyclingBudgets))
