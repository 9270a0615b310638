"""Pruners from optuna: median, successive halving (ASHA) and Hyperband.

Each cell keeps a small optuna study that only records intermediate values (one per epoch)
so that optuna's pruner can compare a running trial with the others. It works beside any
strategy, optuna-based or not.
"""

from __future__ import annotations

from typing import Any, Callable

from automl_bench import FinishedTrial, Pruner, PrunerSpec, hookimpl, require


def _optuna() -> Any:
    return require("optuna", needed_by="the optuna pruners", install="pip install 'automl-bench[search]'")


class OptunaPruner(Pruner):
    def __init__(self, pruner: Any):
        optuna = _optuna()

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.State = optuna.trial.TrialState
        # The sampler is never consulted (nothing is suggested); fixed for determinism. The
        # name is fixed too: Hyperband assigns brackets by a hash of study name and trial
        # number, and an unnamed study gets a random one.
        self.study = optuna.create_study(study_name="automl-bench-pruning", direction="maximize", pruner=pruner,
                                         sampler=optuna.samplers.RandomSampler(seed=0))
        self.running: dict[int, Any] = {}

    def should_prune(self, number: int, epoch: int, value: float) -> bool:
        trial = self.running.get(number)
        if trial is None:
            trial = self.running[number] = self.study.ask()
        trial.report(value, epoch)
        return trial.should_prune()

    def finish(self, trial: FinishedTrial) -> None:
        running = self.running.pop(trial.number, None)
        if running is None:  # ended before its first report: nothing to compare with
            return
        if trial.status == "ok" and trial.value is not None:
            self.study.tell(running, trial.value)
        elif trial.status == "pruned":
            self.study.tell(running, state=self.State.PRUNED)
        else:
            self.study.tell(running, state=self.State.FAIL)


def _factory(make: Callable[..., Any]) -> Callable[..., Pruner]:
    def build(**options: Any) -> Pruner:
        optuna = _optuna()

        return OptunaPruner(make(optuna.pruners, **options))

    return build


def _median(p: Any, *, n_startup_trials: int, n_warmup_steps: int) -> Any:
    return p.MedianPruner(n_startup_trials=n_startup_trials, n_warmup_steps=n_warmup_steps)


def _asha(p: Any, *, min_resource: int, reduction_factor: int) -> Any:
    return p.SuccessiveHalvingPruner(min_resource=min_resource, reduction_factor=reduction_factor)


def _hyperband(p: Any, *, min_resource: int, max_resource: int, reduction_factor: int) -> Any:
    return p.HyperbandPruner(min_resource=min_resource, max_resource=max_resource if max_resource > 0 else "auto",
                             reduction_factor=reduction_factor)


@hookimpl
def bench_pruners(register):
    register(PrunerSpec("median", "stop a trial below the median of earlier trials at the same epoch",
                        _factory(_median), options={"n_startup_trials": 3, "n_warmup_steps": 1}))
    register(PrunerSpec("asha", "asynchronous successive halving: keep the top 1/reduction_factor at each rung",
                        _factory(_asha), options={"min_resource": 1, "reduction_factor": 3}))
    register(PrunerSpec("hyperband", "Hyperband: successive halving over several brackets",
                        _factory(_hyperband), options={"min_resource": 1, "max_resource": 0,
                                                       "reduction_factor": 3}))
