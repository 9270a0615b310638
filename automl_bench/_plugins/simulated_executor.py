"""The ``simulated`` executor: replayed trials on a simulated clock, as N workers would run them.

``[execution] executor = "simulated"`` with ``workers = N`` (and optionally ``speed``, a factor
on every recorded second). Each worker has its own clock. A trial starts on a free worker when
the driver hands it over, at the simulated time the driver did so; its epochs end at the times
their recorded seconds (times ``speed``) add up to, and it ends after its final evaluation's
recorded seconds. Every event is handed to the driver in simulated-time order, one at a time,
ties broken by the order the trials started in, then by epoch: each epoch's report reaches the
pruner, and each finished trial reaches the strategy, exactly when it would have with N real
workers, and the driver hands out the next trial before the clock moves on. So the median
pruner compares against the epochs reported by that moment, and constant-liar TPE, ASHA's
promotions and the genetic population see what N real workers would have seen.

Trials run in this process through `TrialRunner` (a replay backend imports no framework): each
is replayed whole when it starts, and its events are then released as the clock reaches them;
a trial the driver prunes after epoch k ends there, as a pruned trial of training does. A
trial longer than its ``trial_timeout`` (in simulated seconds) ends as timed out at that time.
Rows record the simulated start and end (``sim_start``, ``sim_end``) and the worker. A backend
that trains (rather than replays) is refused before the first trial.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Mapping

from automl_bench import BenchError, Executor, ExecutorSpec, hookimpl
from automl_bench.executor import ExecutionSettings, Finished, Job, Progressed, TrialOutcome, TrialRunner


@dataclass
class _Running:
    """A trial on a simulated worker: how it ends, and the times its events happen at."""

    job: Job
    worker: int
    order: int
    start: float
    ending: TrialOutcome  # the replayed outcome; or its timeout, or (once the driver says so) its pruning
    epoch_ends: list[float]  # when each epoch still to be reported ends
    end: float
    reported: list[Any] = field(default_factory=list)  # the epoch reports handed to the driver
    waiting: bool = False  # for the driver's answer after an epoch (a pruned search)

    def next_event(self) -> tuple[float, int, int]:
        """When this trial's next event happens, and the tie-breakers: start order, then epoch. The
        epochs of a trial that nothing prunes are not events: the driver would do nothing with them."""
        step = len(self.reported)
        if step < len(self.epoch_ends) and self.job.request.prune:
            return self.epoch_ends[step], self.order, step
        return self.end, self.order, len(self.epoch_ends) + 1


class SimulatedExecutor(Executor):
    def __init__(self, settings: ExecutionSettings):
        self.settings = settings
        self.size = settings.workers or 1
        self.speed = float(settings.options.get("speed", 1.0))
        if not self.speed > 0:
            raise BenchError(f"[execution] speed must be > 0 (a factor on every recorded second), got {self.speed}")
        self.now = 0.0
        self.runners: dict[str, TrialRunner] = {}
        self.unavailable: dict[str, str] = {}
        self.running: list[_Running] = []
        self.order = itertools.count()
        self.environments: dict[str, Mapping[str, str]] = {}
        self.calibrations: dict[str, Mapping[str, Any]] = {}

    # -- the Executor protocol --------------------------------------------------------

    def warm_up(self, backend: str) -> str | None:
        if backend in self.unavailable:
            return self.unavailable[backend]
        if backend in self.runners:
            return None
        try:
            runner = TrialRunner(backend, self.settings.plugin_modules, threads=self.settings.threads,
                                 device=self.settings.device)
        except Exception as exc:  # noqa: BLE001 - the reason the backend's cells cannot run
            self.unavailable[backend] = f"backend {backend!r} could not start: {type(exc).__name__}: {exc}"
            return self.unavailable[backend]
        if not runner.host.backends()[backend].replays:
            self.unavailable[backend] = (f"the simulated executor replays tables on a simulated clock; backend "
                                         f"{backend!r} trains (run it with the local or ray executor)")
            return self.unavailable[backend]
        self.runners[backend] = runner
        self.environments[backend] = dict(runner.environment)
        return None

    @property
    def busy(self) -> int:
        return len(self.running)

    def has_capacity(self) -> bool:
        return len(self.running) < self.size

    def submit(self, job: Job) -> Finished | None:
        problem = self.warm_up(job.backend)
        if problem is not None:
            return Finished(job, TrialOutcome("failed", error=problem, infrastructure=True))
        outcome = self.runners[job.backend].run(job.request)  # replayed whole; released as the clock goes
        if outcome.infrastructure:  # its table cannot be read here: not a result, said at once
            return Finished(job, outcome)
        busy = {r.worker for r in self.running}
        worker = next(i for i in range(self.size) if i not in busy)
        ends, t = [], self.now
        for report in outcome.history:
            t += self.speed * float(report.metrics.get("seconds", 0.0))
            ends.append(t)
        end = t + self.speed * outcome.eval_seconds
        if end - self.now > job.timeout:  # stopped at its timeout, after the epochs that ended before it
            ends = [e for e in ends if e <= self.now + job.timeout]
            end = self.now + job.timeout
            outcome = TrialOutcome("timeout", epochs=len(ends), train_seconds=job.timeout,
                                   history=outcome.history[:len(ends)], dataset=outcome.dataset,
                                   error=f"trial exceeded its timeout of {job.timeout:g} s and was stopped")
        self.running.append(_Running(job, worker, next(self.order), self.now, outcome, ends, end))
        return None

    def poll(self, timeout: float | None) -> list[Finished | Progressed]:
        """The next event in simulated time (one: the driver answers it before the clock moves)."""
        ready = [r for r in self.running if not r.waiting]
        if not ready:
            return []
        trial = min(ready, key=_Running.next_event)
        when, _, step = trial.next_event()
        self.now = max(self.now, when)
        if step < len(trial.epoch_ends):
            report = trial.ending.history[step]
            trial.reported.append(report)
            trial.waiting = trial.job.request.prune
            return [Progressed(trial.job, report)]
        self.running.remove(trial)
        placement = {"executor": "simulated", "node": f"simulated worker {trial.worker}",
                     "sim_start": round(trial.start, 9), "sim_end": round(self.now, 9)}
        return [Finished(trial.job, trial.ending, wall_seconds=self.now - trial.start, placement=placement)]

    def answer(self, job: Job, prune: bool) -> None:
        trial = next((r for r in self.running if r.job is job), None)
        if trial is None:
            return
        trial.waiting = False
        if prune:  # it ends now, at the epoch it just reported, as a pruned trial of training does
            history = tuple(trial.reported)
            trial.ending = TrialOutcome(
                "pruned", metrics={k: v for k, v in history[-1].metrics.items() if k.startswith("val_")},
                epochs=len(history), train_seconds=float(sum(r.metrics.get("seconds", 0.0) for r in history)),
                history=history, dataset=trial.ending.dataset)
            trial.epoch_ends, trial.end = trial.epoch_ends[:len(history)], self.now

    def describe(self) -> Mapping[str, Any]:
        return {"executor": "simulated", "workers": self.size, "speed": self.speed}

    def close(self) -> None:
        self.running.clear()

    def terminate(self) -> None:
        self.running.clear()


@hookimpl
def bench_executors(register):
    register(ExecutorSpec("simulated", "replayed trials on a simulated clock with N workers (replay backends only)",
                          SimulatedExecutor, options={"speed": 1.0}))
