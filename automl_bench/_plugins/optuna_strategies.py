"""Strategies driven through optuna's ask/tell interface: TPE, Gaussian-process Bayesian
optimisation, a genetic algorithm, CMA-ES, and for multi-objective suites NSGA-II, NSGA-III and
multi-objective TPE.

``gp`` is optuna's GPSampler (Keras Tuner's ``BayesianOptimization`` and most tutorials' "Bayesian
optimization"): a Gaussian process with a Matern 5/2 kernel and one length scale per parameter,
fitted by maximum a posteriori, and log expected improvement; trials still running are accounted
for by q-batch log EI, so parallel asks do not repeat each other. It models the parameters every
trial has; a conditional parameter is drawn at random by optuna's independent sampler.

The genetic algorithm is optuna's NSGA-II sampler (with one objective: tournament selection
on rank, uniform crossover, per-parameter mutation), a maintained implementation rather than
one written here; ``nsga2`` is the same sampler searching a suite's several objectives
(non-dominated sorting and crowding distance), ``nsga3`` optuna's NSGA-III (reference points
instead of crowding), and ``motpe`` optuna's TPE sampler, which models several objectives
(MOTPE, Ozaki et al. 2020) when its study has several directions. optuna is imported when a
strategy is built, not when the plugin loads.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from automl_bench import FinishedTrial, Strategy, StrategySpec, hookimpl, require
from automl_bench.space import CategoricalParam, FixedParam, FloatParam, IntParam, SearchSpace


def _optuna() -> Any:
    return require("optuna", needed_by="the optuna strategies (tpe, gp, cmaes, genetic)",
                   install="pip install 'automl-bench[search]'")


class OptunaStrategy(Strategy):
    """Asks an optuna study for each trial, define-by-run, so conditional parameters are
    suggested only when active. Failed and timed-out trials are told as FAIL, pruned ones as
    PRUNED; in-flight trials stay RUNNING, which TPE's constant liar accounts for."""

    def __init__(self, *, space: SearchSpace, sampler: Any, directions: tuple[str, ...] | None = None):
        optuna = _optuna()

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.optuna = optuna
        self.space = space
        #: several objectives: trials are told their ``values``, in the suite's order
        self.multi = directions is not None
        self.study = optuna.create_study(directions=list(directions or ("maximize",)), sampler=sampler)
        self.pending: dict[int, tuple[Any, dict[str, Any]]] = {}

    def ask(self, number: int) -> Mapping[str, Any]:
        trial = self.study.ask()
        config: dict[str, Any] = {}
        for p in self.space:
            if p.when is None or p.when.holds(config):
                config[p.name] = p.value if isinstance(p, FixedParam) else _suggest(trial, p)
        self.pending[number] = (trial, config)
        return config

    def tell(self, trial: FinishedTrial) -> None:
        State = self.optuna.trial.TrialState
        state = {"ok": State.COMPLETE, "pruned": State.PRUNED}.get(trial.status, State.FAIL)
        value: Any = trial.value if state == State.COMPLETE else None
        if self.multi:
            value = list(trial.values) if state == State.COMPLETE and trial.values is not None else None
            if state == State.PRUNED:  # several objectives have no intermediate value to prune on
                state = State.FAIL
        asked = self.pending.pop(trial.number, None)
        if asked is not None and asked[1] == dict(trial.params):
            self.study.tell(asked[0], value, state=state)
            return
        # Told parameters it did not propose (restored after a parallel run): record them as they were.
        if asked is not None:
            self.study.tell(asked[0], state=State.FAIL)
        searched = {p.name: p for p in self.space if not isinstance(p, FixedParam)}
        params = {k: v for k, v in trial.params.items() if k in searched}
        self.study.add_trial(self.optuna.trial.create_trial(
            params=params, distributions={k: _distribution(self.optuna, searched[k]) for k in params},
            **({"values": value} if self.multi else {"value": value}), state=state))


def _suggest(trial: Any, p: Any) -> Any:
    if isinstance(p, IntParam):
        return trial.suggest_int(p.name, p.low, p.high, step=p.step, log=p.log)
    if isinstance(p, FloatParam):
        return trial.suggest_float(p.name, p.low, p.high, step=p.step, log=p.log)
    return trial.suggest_categorical(p.name, list(p.choices))


def _distribution(optuna: Any, p: Any) -> Any:
    d = optuna.distributions
    if isinstance(p, IntParam):
        return d.IntDistribution(p.low, p.high, log=p.log, step=p.step)
    if isinstance(p, FloatParam):
        return d.FloatDistribution(p.low, p.high, log=p.log, step=p.step)
    return d.CategoricalDistribution(list(p.choices))


def _factory(make_sampler: Callable[..., Any], *, multi: bool = False) -> Callable[..., Strategy]:
    def build(*, space: SearchSpace, seed: int, directions: tuple[str, ...] | None = None, **options: Any) -> Strategy:
        optuna = _optuna()

        if multi and (directions is None or len(directions) < 2):
            raise ValueError("a multi-objective strategy needs two or more objectives (the suite's `objectives`)")
        return OptunaStrategy(space=space, sampler=make_sampler(optuna.samplers, seed=seed, **options),
                              directions=tuple(directions) if multi else None)

    return build


def _tpe(samplers: Any, *, seed: int, n_startup_trials: int, multivariate: bool, constant_liar: bool) -> Any:
    return samplers.TPESampler(seed=seed, n_startup_trials=n_startup_trials, multivariate=multivariate,
                               group=multivariate, constant_liar=constant_liar)


def _genetic(samplers: Any, *, seed: int, population_size: int, mutation_prob: float, crossover_prob: float,
             swapping_prob: float) -> Any:
    return samplers.NSGAIISampler(seed=seed, population_size=population_size,
                                  mutation_prob=None if mutation_prob < 0 else mutation_prob,
                                  crossover_prob=crossover_prob, swapping_prob=swapping_prob)


def _nsga3(samplers: Any, *, seed: int, population_size: int, mutation_prob: float, crossover_prob: float,
           swapping_prob: float) -> Any:
    import warnings

    from optuna.exceptions import ExperimentalWarning

    with warnings.catch_warnings():  # experimental since optuna 3.2: the suite's author chose it by name
        warnings.simplefilter("ignore", ExperimentalWarning)
        return samplers.NSGAIIISampler(seed=seed, population_size=population_size,
                                       mutation_prob=None if mutation_prob < 0 else mutation_prob,
                                       crossover_prob=crossover_prob, swapping_prob=swapping_prob)


def _cmaes(samplers: Any, *, seed: int, n_startup_trials: int, sigma0: float, popsize: int,
           restart_strategy: str) -> Any:
    return samplers.CmaEsSampler(seed=seed, n_startup_trials=n_startup_trials,
                                 sigma0=None if sigma0 <= 0 else sigma0, popsize=None if popsize <= 0 else popsize,
                                 restart_strategy=restart_strategy or None, warn_independent_sampling=False)


def _gp(samplers: Any, *, seed: int, n_startup_trials: int, deterministic_objective: bool) -> Any:
    require("torch", needed_by="strategy 'gp' (optuna's GPSampler fits its Gaussian process with torch)",
            install="pip install 'automl-bench[torch]'")
    return samplers.GPSampler(seed=seed, n_startup_trials=n_startup_trials,
                              deterministic_objective=deterministic_objective, warn_independent_sampling=False)


def cmaes_space_problems(space: SearchSpace) -> list[str]:
    """CMA-ES searches int and float ranges only; optuna would silently sample the rest at random."""
    problems = []
    for p in space:
        if isinstance(p, CategoricalParam):
            problems.append(f"strategy 'cmaes' cannot search categorical parameter {p.name!r} "
                            "(CMA-ES needs numeric ranges); fix it to one value or use tpe or genetic")
        elif p.when is not None:
            problems.append(f"strategy 'cmaes' cannot search conditional parameter {p.name!r} "
                            "(CMA-ES needs a fixed set of dimensions); use tpe or genetic")
    return problems


@hookimpl
def bench_strategies(register):
    register(StrategySpec("tpe", "Bayesian TPE (optuna TPESampler), constant liar for parallel asks",
                          _factory(_tpe), options={"n_startup_trials": 10, "multivariate": False,
                                                   "constant_liar": True}))
    register(StrategySpec("gp", "Gaussian-process Bayesian optimisation (optuna GPSampler: Matern 5/2, log EI; "
                                "running trials by q-batch log EI; conditional parameters drawn at random)",
                          _factory(_gp), options={"n_startup_trials": 10, "deterministic_objective": False}))
    register(StrategySpec("genetic", "genetic algorithm (optuna NSGAIISampler: selection, crossover, mutation)",
                          _factory(_genetic), options={"population_size": 10, "mutation_prob": -1.0,
                                                       "crossover_prob": 0.9, "swapping_prob": 0.5}))
    register(StrategySpec("cmaes", "CMA-ES (optuna CmaEsSampler) over int and float ranges",
                          _factory(_cmaes), options={"n_startup_trials": 1, "sigma0": 0.0, "popsize": 0,
                                                     "restart_strategy": ""},
                          check_space=cmaes_space_problems))
    genetic = {"population_size": 10, "mutation_prob": -1.0, "crossover_prob": 0.9, "swapping_prob": 0.5}
    register(StrategySpec("nsga2", "NSGA-II over several objectives (optuna NSGAIISampler): Pareto ranks, crowding",
                          _factory(_genetic, multi=True), options=genetic, objectives="multi"))
    register(StrategySpec("nsga3", "NSGA-III over several objectives (optuna NSGAIIISampler): reference points",
                          _factory(_nsga3, multi=True), options=genetic, objectives="multi"))
    register(StrategySpec("motpe", "multi-objective TPE (optuna TPESampler with several objectives)",
                          _factory(_tpe, multi=True), options={"n_startup_trials": 10, "multivariate": False,
                                                               "constant_liar": True}, objectives="multi"))
