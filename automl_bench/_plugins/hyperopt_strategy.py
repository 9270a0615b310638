"""TPE through hyperopt, driven ask/tell: ``tpe.suggest`` proposes, a ``Trials`` object learns.

Conditional parameters become nested ``hp.choice`` branches under their categorical parent;
hyperopt cannot express a condition on a numeric parent, so such spaces are rejected at
validation. Pruned, failed and timed-out trials are told as failures (hyperopt's TPE learns
from completed trials only).
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any, Mapping

from automl_bench import FinishedTrial, Strategy, StrategySpec, hookimpl, require
from automl_bench.space import CategoricalParam, FixedParam, FloatParam, IntParam, SearchSpace

INSTALL = "pip install 'automl-bench[search]'"


class HyperoptTPE(Strategy):
    def __init__(self, *, space: SearchSpace, seed: int, n_startup_trials: int = 10, n_ei_candidates: int = 24,
                 gamma: float = 0.25):
        hyperopt = require("hyperopt", needed_by="strategy 'tpe-hyperopt'", install=INSTALL)
        self.hyperopt, self.space, self.seed = hyperopt, space, seed
        self.expr = self._expression([p for p in space if p.when is None], branch="")
        self.domain = hyperopt.Domain(lambda _: 0.0, self.expr)
        self.trials = hyperopt.Trials()
        self.suggest = partial(hyperopt.tpe.suggest, n_startup_jobs=n_startup_trials,
                               n_EI_candidates=n_ei_candidates, gamma=gamma, verbose=False)
        self.asked: dict[int, tuple[int, dict[str, Any]]] = {}  # number -> (hyperopt tid, config)

    # -- space --------------------------------------------------------------------------

    def _expression(self, params: list[Any], branch: str) -> dict[str, Any]:
        hp = self.hyperopt.hp
        expr: dict[str, Any] = {}
        for p in params:
            label = p.name + branch
            children = [c for c in self.space if c.when is not None and c.when.parent == p.name]
            if isinstance(p, FixedParam):
                expr[p.name] = p.value
            elif isinstance(p, CategoricalParam) and children:
                options = []
                for value in p.choices:
                    active = [c for c in children if c.when.holds({p.name: value})]
                    options.append({p.name: value, **self._expression(active, f"{branch}|{p.name}={value}")})
                expr[f"{p.name}{branch}/branch"] = hp.choice(label, options)
            elif isinstance(p, CategoricalParam):
                expr[p.name] = hp.choice(label, list(p.choices))
            elif isinstance(p, IntParam):
                if p.log:
                    expr[p.name] = hp.loguniform(label, math.log(p.low), math.log(p.high + 1))
                else:
                    expr[p.name] = hp.quniform(label, -0.5, (p.high - p.low) // p.step + 0.5, 1)
            elif p.log:
                expr[p.name] = hp.loguniform(label, math.log(p.low), math.log(p.high))
            else:
                expr[p.name] = hp.uniform(label, p.low, p.high)
        return expr

    def _config(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        flat: dict[str, Any] = {}

        def walk(d: Mapping[str, Any]) -> None:
            for key, value in d.items():
                if key.endswith("/branch"):
                    walk(value)
                else:
                    flat[key] = value

        walk(raw)
        config = {}
        for p in self.space:  # space order, values mapped back into each parameter's range
            if p.name not in flat:
                continue
            v = flat[p.name]
            if isinstance(p, IntParam):
                v = min(int(v), p.high) if p.log else min(p.low + int(round(v)) * p.step, p.high)
                v = max(v, p.low)
            elif isinstance(p, FloatParam):
                v = p.snap(float(v))
            config[p.name] = v
        return config

    # -- ask / tell ---------------------------------------------------------------------

    def ask(self, number: int) -> Mapping[str, Any]:
        h = self.hyperopt
        tid = self.trials.new_trial_ids(1)[0]
        self.trials.refresh()
        (doc,) = self.suggest([tid], self.domain, self.trials, (self.seed * 1_000_003 + number) % 2**31)
        self.trials.insert_trial_docs([doc])
        self.trials.refresh()
        vals = {label: v[0] for label, v in doc["misc"]["vals"].items() if v}
        config = self._config(h.space_eval(self.expr, vals))
        self.asked[number] = (tid, config)
        return config

    def tell(self, trial: FinishedTrial) -> None:
        h = self.hyperopt
        asked = self.asked.pop(trial.number, None)
        if asked is None:
            return
        tid, config = asked
        doc = next(d for d in self.trials.trials if d["tid"] == tid)  # the live document, not a copy
        # A told configuration it did not propose (restored after a parallel run) cannot be
        # mapped back into hyperopt's internal values: the proposal is recorded as failed.
        if trial.status == "ok" and config == dict(trial.params):
            doc["result"], doc["state"] = {"status": h.STATUS_OK, "loss": -float(trial.value)}, h.JOB_STATE_DONE
        else:
            doc["result"], doc["state"] = {"status": h.STATUS_FAIL}, h.JOB_STATE_ERROR
        self.trials.refresh()


def hyperopt_space_problems(space: SearchSpace) -> list[str]:
    params = {p.name: p for p in space}
    problems = []
    for p in space:
        if p.when is not None and not (isinstance(params[p.when.parent], CategoricalParam)
                                       and p.when.values is not None):
            problems.append(f"strategy 'tpe-hyperopt' cannot search {p.name!r}: hyperopt expresses conditions only "
                            f"on a categorical parent's values, not '{p.when}'; use tpe or genetic")
    return problems


@hookimpl
def bench_strategies(register):
    register(StrategySpec("tpe-hyperopt", "Bayesian TPE (hyperopt tpe.suggest), driven ask/tell", HyperoptTPE,
                          options={"n_startup_trials": 10, "n_ei_candidates": 24, "gamma": 0.25},
                          check_space=hyperopt_space_problems))
