"""SMAC3 (Lindauer et al., JMLR 2022) as automl-bench strategies, through SMAC's ask and tell.

- ``smac``: the hyperparameter-optimisation facade: a random forest over the configurations told
  so far, expected improvement maximised by local and random search, a Sobol initial design;
- ``smac-mf``: the multi-fidelity facade: the same model, with Hyperband's successive halving
  choosing each trial's epochs (BOHB's recipe with a random forest in place of TPE's densities);
  the space's ``epochs`` must be one whole number (the full budget), ``max_epochs`` may lower it;
- ``smac-hyperband``: Hyperband alone: random configurations, successive halving over epochs.

The multi-fidelity strategies return a `Proposal` per trial: its configuration and the epochs
SMAC's intensifier allots (Hyperband's budgets between ``min_epochs`` and the configuration's
``epochs``, rounded to whole epochs). Parallel asks: SMAC hands out the next configurations of
its intensifier's queue; there is no constant liar, and the model learns from told trials only.

What SMAC is told: the objective as a cost to minimise (its negative); failed and timed-out trials
as crashed, with the worst cost told so far (0 before any: SMAC's default crash cost, infinity,
is more than its random forest can fit); a trial is told as the configuration SMAC asked for (a replayed table's trial runs the
nearest recorded configuration: SMAC then sees the table as a step function). Resume replays
the recorded asks and tells by trial number, which SMAC, seeded, answers as before.
"""

from __future__ import annotations

import math
import tempfile
from typing import Any, Mapping

from automl_bench import FinishedTrial, Proposal, Strategy, StrategySpec, hookimpl
from automl_bench.space import CategoricalParam, FixedParam, FloatParam, IntParam, SearchSpace

__all__ = ["SmacStrategy", "configuration_space"]

FACADES = {"smac": "HyperparameterOptimizationFacade", "smac-mf": "MultiFidelityFacade",
           "smac-hyperband": "HyperbandFacade"}


def configuration_space(space: SearchSpace, seed: int) -> tuple[Any, dict[str, Any]]:
    """``space`` as a ConfigSpace ``ConfigurationSpace`` and a decoder from its values back to
    ours. Categorical parameters become categories of their choices' indices (so any value, a
    list of per-layer sizes included, can be a choice); stepped ranges become integer indices;
    fixed parameters stay out (the decoder adds them). Conditions become ConfigSpace conditions,
    bounds made exact (``x >= a`` as ``x > a - 1`` on integers, ``x > nextafter(a, -inf)`` on floats)."""
    from ConfigSpace import Categorical, ConfigurationSpace, Float, Integer

    cs = ConfigurationSpace(seed=seed)
    decode: dict[str, Any] = {}
    fixed = {p.name: p.value for p in space if isinstance(p, FixedParam)}
    for p in space:
        if isinstance(p, FixedParam):
            continue
        if isinstance(p, CategoricalParam):
            hp, decode[p.name] = Categorical(p.name, [str(i) for i in range(len(p.choices))]), \
                (lambda v, c=p.choices: c[int(v)])
        elif isinstance(p, IntParam) and p.step == 1:
            hp, decode[p.name] = Integer(p.name, (p.low, p.high), log=p.log), int
        elif isinstance(p, IntParam):
            hp, decode[p.name] = Integer(p.name, (0, (p.high - p.low) // p.step)), \
                (lambda v, q=p: q.low + int(v) * q.step)
        elif isinstance(p, FloatParam) and p.step is None:
            hp, decode[p.name] = Float(p.name, (p.low, p.high), log=p.log), float
        elif isinstance(p, FloatParam):
            hp, decode[p.name] = Integer(p.name, (0, int(round((p.high - p.low) / p.step)))), \
                (lambda v, q=p: q.low + int(v) * q.step)
        else:
            raise ValueError(f"SMAC cannot search parameter {p.name!r} of type {type(p).__name__}")
        cs.add(hp)
    for p in space:
        if p.when is None or p.name not in cs:
            continue
        condition = _condition(cs, space, p, fixed)
        if condition is not None:
            cs.add(condition)
    return cs, decode


def _condition(cs: Any, space: SearchSpace, p: Any, fixed: Mapping[str, Any]) -> Any:
    from ConfigSpace import AndConjunction, GreaterThanCondition, InCondition, LessThanCondition

    when = p.when
    if when.parent in fixed:  # decided now: the parameter is always there, or never asked for
        return None
    parent = next(q for q in space if q.name == when.parent)
    child, mother = cs[p.name], cs[when.parent]
    if when.values is not None:
        if isinstance(parent, CategoricalParam):
            values = [str(i) for i, c in enumerate(parent.choices) if c in when.values]
        else:
            values = list(when.values)
        return InCondition(child, mother, values)
    parts = []
    integer = isinstance(parent, IntParam)
    if when.minimum is not None:
        parts.append(GreaterThanCondition(child, mother, when.minimum - 1 if integer
                                          else math.nextafter(when.minimum, -math.inf)))
    if when.maximum is not None:
        parts.append(LessThanCondition(child, mother, when.maximum + 1 if integer
                                       else math.nextafter(when.maximum, math.inf)))
    return parts[0] if len(parts) == 1 else AndConjunction(*parts)


class SmacStrategy(Strategy):
    """One SMAC facade asked and told trial by trial (see the module's docstring)."""

    def __init__(self, *, space: SearchSpace, seed: int, facade: str, initial_configurations: int = 10,
                 eta: int = 3, min_epochs: int = 1, max_epochs: int = 0):
        import smac
        from smac.runhistory.dataclasses import TrialValue

        self.space, self.TrialValue = space, TrialValue
        cs, self.decode = configuration_space(space, seed)
        self.multi_fidelity = facade != "smac"
        budgets: dict[str, Any] = {}
        if self.multi_fidelity:
            epochs = _fixed_epochs(space)
            top = min(max_epochs, epochs) if max_epochs else epochs
            if min_epochs < 1 or top < min_epochs:
                raise ValueError(f"{facade} needs 1 <= min_epochs <= max_epochs, got {min_epochs} and {top}")
            budgets = {"min_budget": min_epochs, "max_budget": top}
        self._output = tempfile.TemporaryDirectory(prefix="automl-bench-smac-")
        scenario = smac.Scenario(cs, deterministic=True, n_trials=10**9, seed=seed,
                                 output_directory=self._output.name, **budgets)
        cls = getattr(smac, FACADES[facade])
        extra: dict[str, Any] = {}
        if facade != "smac-hyperband":  # Hyperband's configurations are random from the start
            extra["initial_design"] = cls.get_initial_design(scenario, n_configs=initial_configurations)
        if self.multi_fidelity:
            extra["intensifier"] = cls.get_intensifier(scenario, eta=eta)
        if facade != "smac-hyperband":  # Hyperband's random configurations need no model
            extra["model"] = _single_threaded(cls.get_model(scenario))
        self.smac = cls(scenario, _never_called, overwrite=True, logging_level=40, **extra)
        _canonical_start_points(self.smac)
        self.pending: dict[int, Any] = {}
        self.worst: float | None = None  # the highest cost told, which failed trials are told too

    def ask(self, number: int) -> Mapping[str, Any] | Proposal:
        info = self.smac.ask()
        self.pending[number] = info
        values = dict(info.config)
        config: dict[str, Any] = {}
        for p in self.space:
            if p.when is None or p.when.holds(config):
                config[p.name] = p.value if isinstance(p, FixedParam) else self.decode[p.name](values[p.name])
        if self.multi_fidelity:
            return Proposal(config, max(1, int(round(info.budget))))
        return config

    def tell(self, trial: FinishedTrial) -> None:
        from smac.runhistory.enumerations import StatusType

        info = self.pending.pop(trial.number, None)
        if info is None:  # never asked here: nothing SMAC could place in its brackets
            return
        if trial.value is not None and trial.status in ("ok", "pruned"):
            cost = -float(trial.value)
            self.worst = cost if self.worst is None else max(self.worst, cost)
            value = self.TrialValue(cost=cost, status=StatusType.SUCCESS)
        else:  # SMAC's forest cannot fit its default crash cost (infinity): the worst cost told so far
            value = self.TrialValue(cost=0.0 if self.worst is None else self.worst, status=StatusType.CRASHED)
        self.smac.tell(info, value, save=False)


def _single_threaded(model: Any) -> Any:
    """The facade's own random forest, fitted and asked in the calling thread.

    SMAC 2.4 builds its forest with scikit-learn's ``n_jobs=-1``: every fit and each of the
    acquisition search's hundreds of predictions go through a joblib thread pool, whose waits
    cost more than ten small trees do. The trees and their random states are the same whatever
    ``n_jobs`` is, so the proposals are too (a test checks it); measured at 100 trials on the
    strategy benchmark's mixed space, one thread halves the time an ask and tell takes here
    (benchmarks/strategies.py). The facades take a model but not its ``n_jobs``, hence the
    option set on the model they built."""
    options = getattr(model, "_rf_opts", None)
    if isinstance(options, dict) and "n_jobs" in options:
        options["n_jobs"] = 1
    return model


def _canonical_start_points(facade: Any) -> None:
    """Make SMAC's local search start from its points in one order whatever the process.

    SMAC 2.4's ``LocalSearch._get_initial_points`` returns ``list(set(...))`` of configurations,
    whose order follows Python's per-process string hashing (PYTHONHASHSEED); the local search's
    random draws then differ between processes, so the same seed proposed other configurations
    after a resume, or in another run (measured: the 15th trial of a seeded toy run differed in 3
    of 3 processes). Sorting the same points by their encoded values fixes the order and keeps
    every point."""
    local = getattr(getattr(facade, "_acquisition_maximizer", None), "_local_search", None)
    found = getattr(local, "_get_initial_points", None)
    if found is None:
        return

    def ordered(*args: Any, **kwargs: Any) -> list[Any]:
        return sorted(found(*args, **kwargs), key=lambda c: tuple(_sortable(v) for v in c.get_array()))

    local._get_initial_points = ordered


def _sortable(value: float) -> float:
    return -math.inf if value != value else float(value)  # an inactive parameter is NaN


def _fixed_epochs(space: SearchSpace) -> int:
    epochs = next((p for p in space if p.name == "epochs"), None)
    if not isinstance(epochs, FixedParam) or not isinstance(epochs.value, int):
        raise ValueError("a multi-fidelity SMAC strategy allots epochs up to the configuration's own: set `epochs` "
                         "to one whole number in the space (epochs = 20), not a range")
    return epochs.value


def _never_called(config: Any, seed: int = 0, budget: float | None = None) -> float:
    raise RuntimeError("automl-bench asks and tells SMAC; it never calls SMAC's target function")


def _factory(facade: str) -> Any:
    def build(*, space: SearchSpace, seed: int, **options: Any) -> Strategy:
        return SmacStrategy(space=space, seed=seed, facade=facade, **options)

    return build


def _check(space: SearchSpace) -> list[str]:
    try:
        configuration_space(space, 0)
    except (ValueError, TypeError) as exc:
        return [str(exc)]
    return []


def _check_multi_fidelity(space: SearchSpace) -> list[str]:
    problems = _check(space)
    try:
        _fixed_epochs(space)
    except ValueError as exc:
        problems.append(str(exc))
    return problems


@hookimpl
def bench_strategies(register):
    register(StrategySpec("smac", "SMAC3 random-forest Bayesian optimisation (HPO facade: EI, Sobol initial design)",
                          _factory("smac"), options={"initial_configurations": 10}, check_space=_check))
    mf = {"initial_configurations": 10, "eta": 3, "min_epochs": 1, "max_epochs": 0}
    register(StrategySpec("smac-mf", "SMAC3 multi-fidelity facade: random forest + Hyperband; chooses each "
                          "trial's epochs", _factory("smac-mf"), options=mf, check_space=_check_multi_fidelity))
    register(StrategySpec("smac-hyperband", "SMAC3 Hyperband: random configurations, successive halving over "
                          "epochs; chooses each trial's epochs", _factory("smac-hyperband"),
                          options={k: v for k, v in mf.items() if k != "initial_configurations"},
                          check_space=_check_multi_fidelity))
