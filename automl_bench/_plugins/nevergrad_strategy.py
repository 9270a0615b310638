"""nevergrad's NGOpt (Meta's gradient-free optimisation library), driven ask/tell.

NGOpt is nevergrad's "wizard": it picks an algorithm (CMA-ES, differential evolution, Bayesian
optimisation, a discrete (1+1), ...) from the parametrization's kinds of variables, its
dimension, the ``budget`` and the ``num_workers`` it is told; set them to the suite's
``max_trials`` and workers. Log-scale ranges are ``Log`` variables, integer ones are cast,
categorical values are ``Choice`` over their indices (so any value can be a choice). nevergrad
has no conditional parameters: a conditional parameter is searched as if always present and left
out of a trial where its condition fails. Parallel asks draw further candidates of the chosen
algorithm (no liar); the model learns from told trials only. Failed and timed-out trials are told
the worst loss told so far (0 before any), pruned ones their last score.
"""

from __future__ import annotations

from typing import Any, Mapping

from automl_bench import FinishedTrial, Strategy, StrategySpec, hookimpl, require
from automl_bench.space import CategoricalParam, FixedParam, FloatParam, IntParam, SearchSpace

INSTALL = "pip install 'automl-bench[search]'"


class NGOptStrategy(Strategy):
    def __init__(self, *, space: SearchSpace, seed: int, budget: int = 100, num_workers: int = 1):
        ng = require("nevergrad", needed_by="strategy 'ngopt'", install=INSTALL)
        import numpy as np

        if budget < 1 or num_workers < 1:
            raise ValueError(f"ngopt needs budget >= 1 and num_workers >= 1, got {budget} and {num_workers}")
        self.space = space
        variables, self.decode = {}, {}
        for p in space:
            if not isinstance(p, FixedParam):
                variables[p.name], self.decode[p.name] = _variable(ng, p)
        parametrization = ng.p.Dict(**variables)
        parametrization.random_state = np.random.RandomState(seed)
        self.optimizer = ng.optimizers.NGOpt(parametrization=parametrization, budget=budget, num_workers=num_workers)
        self.pending: dict[int, Any] = {}
        self.worst: float | None = None

    def ask(self, number: int) -> Mapping[str, Any]:
        candidate = self.optimizer.ask()
        self.pending[number] = candidate
        values = candidate.value
        config: dict[str, Any] = {}
        for p in self.space:
            if p.when is None or p.when.holds(config):
                config[p.name] = p.value if isinstance(p, FixedParam) else self.decode[p.name](values[p.name])
        return config

    def tell(self, trial: FinishedTrial) -> None:
        candidate = self.pending.pop(trial.number, None)
        if candidate is None:  # never asked here
            return
        if trial.value is not None and trial.status in ("ok", "pruned"):
            loss = -float(trial.value)
            self.worst = loss if self.worst is None else max(self.worst, loss)
        else:
            loss = 0.0 if self.worst is None else self.worst
        self.optimizer.tell(candidate, loss)


def _variable(ng: Any, p: Any) -> tuple[Any, Any]:
    """A parameter as a nevergrad variable, and how its value becomes ours."""
    if isinstance(p, CategoricalParam):
        return ng.p.Choice(list(range(len(p.choices)))), (lambda v, c=p.choices: c[int(v)])
    if isinstance(p, (IntParam, FloatParam)) and p.step not in (None, 1):
        top = int(round((p.high - p.low) / p.step))
        return ng.p.Scalar(lower=0, upper=top).set_integer_casting(), (lambda v, q=p: type(q.low)(q.low + int(v) * q.step))
    if isinstance(p, (IntParam, FloatParam)):
        variable = ng.p.Log(lower=p.low, upper=p.high) if p.log else ng.p.Scalar(lower=p.low, upper=p.high)
        if isinstance(p, IntParam):
            return variable.set_integer_casting(), (lambda v, q=p: min(max(int(v), q.low), q.high))
        return variable, (lambda v, q=p: min(max(float(v), q.low), q.high))
    raise ValueError(f"ngopt cannot search parameter {p.name!r} of type {type(p).__name__}")


@hookimpl
def bench_strategies(register):
    register(StrategySpec("ngopt", "nevergrad's NGOpt: picks CMA-ES, DE, BO or a discrete (1+1) by the space and "
                          "budget", NGOptStrategy, options={"budget": 100, "num_workers": 1}))
