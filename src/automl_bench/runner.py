"""Runs a suite: every cell (task x backend x strategy x seed) is one ask/tell search.

Trials go to a pool of reusable worker processes. Each finished trial is committed to the
store before the strategy hears of it, so a killed run resumes without losing or repeating a
trial: each cell's strategy is rebuilt from what was recorded and asked only for the trial
numbers still missing. When a cell's search is over, its best configuration (by validation
score) is trained once more with the same seed and scored on the test split: the search
itself never sees a test score.
"""

from __future__ import annotations

import hashlib
import math
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol, Sequence

from automl_bench.environment import capture
from automl_bench.errors import ResultsError
from automl_bench.manager import Host
from automl_bench.records import CellKey, DataRef, FinishedTrial, SourceRef, TaskRef, TrialOutcome, TrialRequest
from automl_bench.store import Store
from automl_bench.suite import Suite, Task
from automl_bench.worker import Finished, Job, Progressed, WorkerPool

DB_NAME = "bench.sqlite"


@dataclass(frozen=True)
class RunOptions:
    out: Path = Path("results")
    workers: int | None = None
    max_trials: int | None = None
    max_epochs: int | None = None
    seeds: Sequence[int] | None = None
    fresh: bool = False


class Observer(Protocol):
    """Receives progress; the CLI's rich display implements it."""

    def start(self, cells: Sequence[tuple[CellKey, int]]) -> None: ...
    def trial_done(self, cell: CellKey, done: int, total: int, best: float | None) -> None: ...
    def stop(self) -> None: ...


class _Silent:
    def start(self, cells: Sequence[tuple[CellKey, int]]) -> None: ...
    def trial_done(self, cell: CellKey, done: int, total: int, best: float | None) -> None: ...
    def stop(self) -> None: ...


def derive_seed(*parts: Any) -> int:
    """A stable 31-bit seed from any parts (same parts, same seed, on every platform)."""
    digest = hashlib.sha256("/".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


@dataclass
class Cell:
    key: CellKey
    task: Task
    strategy: Any
    max_trials: int
    objective: str  # the metric the search maximises, e.g. "val_accuracy"
    pruner: Any = None  # stops trials early from their epoch reports, when the entry names one
    done: dict[int, FinishedTrial] = field(default_factory=dict)
    in_flight: set[int] = field(default_factory=set)
    exhausted: bool = False
    final_state: str = "pending"  # pending | issued | done
    tested: int | None = None  # the trial whose configuration was scored on the test split

    def trial_seed(self, number: int) -> int:
        # Shared across backends and strategies: trial n of seed s trains from the same seed everywhere.
        return derive_seed(self.key.seed, self.key.task, "trial", number)

    def next_number(self) -> int | None:
        if self.exhausted:
            return None
        return next((n for n in range(self.max_trials) if n not in self.done and n not in self.in_flight), None)

    @property
    def planned(self) -> int:
        """Trials this search will have run: fewer than the budget once a strategy is exhausted."""
        return len(self.done) + len(self.in_flight) if self.exhausted else self.max_trials

    @property
    def searching(self) -> bool:
        return bool(self.in_flight) or self.next_number() is not None

    def best(self) -> FinishedTrial | None:
        ok = [t for t in self.done.values() if t.status == "ok" and t.value is not None]
        return max(ok, key=lambda t: (t.value, -t.number)) if ok else None


class Runner:
    def __init__(self, suite: Suite, host: Host, options: RunOptions, observer: Observer | None = None):
        self.suite, self.host, self.options = suite, host, options
        self.observer = observer or _Silent()
        model = suite.model
        self.max_trials = min(model.budget.max_trials, options.max_trials or model.budget.max_trials)
        caps = [c for c in (model.budget.max_epochs, options.max_epochs) if c is not None]
        self.max_epochs = min(caps) if caps else None
        self.seeds = list(options.seeds) if options.seeds is not None else list(model.seeds)
        self.directory = Path(options.out) / suite.name

    # -- public -----------------------------------------------------------------------

    def run(self) -> Any:
        from filelock import FileLock, Timeout

        self.directory.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.directory / ".bench.lock"))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            raise ResultsError(f"another `bench run` is writing to {self.directory}; wait for it or use --out") from None
        try:
            return self._run_locked()
        finally:
            lock.release()

    # -- internals --------------------------------------------------------------------

    def _run_locked(self) -> Any:
        from automl_bench.results import collect, write_reports

        if self.options.fresh:
            for path in self.directory.iterdir():
                if path.name != ".bench.lock":
                    shutil.rmtree(path) if path.is_dir() else path.unlink()
        store = Store(self.directory / DB_NAME)
        try:
            self._check_same_suite(store)
            declared = [p for b in self.suite.model.matrix.backends for p in self.host.backend(b).packages]
            environment = capture(self.suite.sha256, str(self.suite.path.resolve().parent), declared)
            run_id = store.start_run(environment)
            cells = self._cells(store)
            self.observer.start([(c.key, c.max_trials) for c in cells])
            for cell in cells:
                self.observer.trial_done(cell.key, len(cell.done), cell.planned, _value(cell.best()))
            execution = self.suite.model.execution
            limits = {b: execution.max_trials_per_worker or self.host.backend(b).max_trials_per_worker
                      for b in self.suite.model.matrix.backends}
            pool = WorkerPool(self.options.workers or execution.workers, self.host.extra_modules,
                              execution.threads, execution.device, log_dir=self.directory / "logs",
                              max_trials_per_worker=limits)
            try:
                self._loop(cells, pool, store, run_id)
            finally:
                pool.close()
                self.observer.stop()
                store.update_run_environment(run_id, {**environment, "backends": pool.environments})
            results = collect(store, self.suite, self.directory)
        finally:
            store.close()
        write_reports(self.host, results, self.suite.model.reporters)
        self.host.pm.hook.bench_on_run_end(results=results)
        return results

    def _check_same_suite(self, store: Store) -> None:
        recorded = store.meta("suite_sha256")
        if recorded is None:
            store.set_meta("suite_sha256", self.suite.sha256)
            store.set_meta("suite_name", self.suite.name)
        elif recorded != self.suite.sha256:
            raise ResultsError(
                f"{self.directory} holds results of a different version of suite {self.suite.name!r} "
                f"(sha256 {recorded[:12]}, this file {self.suite.sha256[:12]}); "
                "rerun with --fresh to start over, or --out to write elsewhere"
            )

    def _cells(self, store: Store) -> list[Cell]:
        model = self.suite.model
        cells = []
        for backend in model.matrix.backends:  # grouped by backend: workers are reused in turn
            for task in self.suite.tasks:
                for entry in model.matrix.strategies:  # "strategy" or "strategy+pruner"
                    strategy_name, _, pruner_name = entry.partition("+")
                    spec = self.host.strategy(strategy_name)
                    options = {**spec.options, **model.strategy.get(strategy_name, {})}
                    for seed in self.seeds:
                        key = CellKey(task.name, backend, entry, seed)
                        objective = f"val_{task.definition.metric}"
                        strategy = spec.factory(space=task.space, seed=derive_seed(seed, task.name, "strategy"),
                                                **options)
                        cell = Cell(key, task, strategy, self.max_trials, objective)
                        recorded = store.finished_trials(key)
                        strategy.restore(recorded)
                        if pruner_name:
                            pspec = self.host.pruner(pruner_name)
                            cell.pruner = pspec.factory(**{**pspec.options, **model.pruner.get(pruner_name, {})})
                            cell.pruner.restore(recorded, store.histories(key, objective))
                        cell.done = {t.number: t for t in recorded}
                        cell.tested = store.final_number(key)
                        cells.append(cell)
        return cells

    def _loop(self, cells: list[Cell], pool: WorkerPool, store: Store, run_id: int) -> None:
        while True:
            while pool.has_capacity():
                job = self._next_job(cells)
                if job is None:
                    break
                immediate = pool.submit(job)
                if immediate is not None:
                    self._finish(immediate, store, run_id)
            if pool.busy == 0:
                return
            for event in pool.poll(timeout=1.0):
                if isinstance(event, Finished):
                    self._finish(event, store, run_id)
                elif isinstance(event, Progressed) and event.job.request.prune:
                    cell, number, _ = event.job.context
                    value = event.report.metrics.get(cell.objective)
                    prune = value is not None and cell.pruner.should_prune(number, event.report.epoch, value)
                    pool.answer(event.job, prune)

    def _next_job(self, cells: list[Cell]) -> Job | None:
        for cell in cells:
            number = cell.next_number()
            while number is not None:
                params = cell.strategy.ask(number)
                if params is not None:
                    cell.in_flight.add(number)
                    return self._job(cell, number, dict(params), final=False)
                cell.exhausted = True
                number = None
                self.observer.trial_done(cell.key, len(cell.done), cell.planned, _value(cell.best()))
            if not cell.searching and cell.final_state == "pending":  # search over: test its best
                best = cell.best()
                if best is None or best.number == cell.tested:  # nothing to test, or tested already
                    cell.final_state = "done"
                    continue
                cell.final_state = "issued"
                return self._job(cell, best.number, dict(best.params), final=True)
        return None

    def _job(self, cell: Cell, number: int, params: dict, *, final: bool) -> Job:
        t = cell.task.definition
        source = None
        if t.source is not None:
            s = t.source
            source = SourceRef(DataRef(s.dataset, tuple(s.classes) if s.classes else None, s.shots), dict(s.params))
        ref = TaskRef(cell.task.name, t.dataset, t.model, t.val_fraction, t.test_fraction, t.split_seed,
                      classes=tuple(t.classes) if t.classes else None, shots=cell.task.shots, source=source)
        request = TrialRequest(
            key=f"{cell.key}#{'final' if final else number}", task=ref, params=params,
            seed=cell.trial_seed(number), max_epochs=self.max_epochs, evaluate_test=final,
            prune=cell.pruner is not None and not final,
            # One source model per suite seed, shared by every trial, shots value and mode of the task.
            source_seed=derive_seed(cell.key.seed, t.name, "source"),
        )
        return Job(cell.key.backend, request, self.suite.model.budget.trial_timeout, context=(cell, number, final))

    def _finish(self, event: Finished, store: Store, run_id: int) -> None:
        cell, number, final = event.job.context
        outcome = _check_finite(event.outcome)
        params = event.job.request.params
        if final:
            store.record_final(cell.key, number, run_id, params, outcome)
            cell.final_state, cell.tested = "done", number
            return
        value = outcome.metrics.get(cell.objective) if outcome.status in ("ok", "pruned") else None
        if outcome.status == "ok" and value is None:
            outcome = replace(outcome, status="failed", error=f"backend reported no {cell.objective}")
        store.record_trial(cell.key, number, run_id, event.job.request.seed, params, outcome, value,
                           event.wall_seconds)
        trial = FinishedTrial(number, params, outcome.status, value)
        cell.in_flight.discard(number)
        cell.done[number] = trial
        cell.strategy.tell(trial)
        if cell.pruner is not None:
            cell.pruner.finish(trial)
        self.observer.trial_done(cell.key, len(cell.done), cell.planned, _value(cell.best()))
        self.host.pm.hook.bench_on_trial_end(cell=cell.key, trial=trial, metrics=dict(outcome.metrics))


def _check_finite(outcome: TrialOutcome) -> TrialOutcome:
    bad = outcome.non_finite()
    if outcome.status != "ok" or not bad:
        return outcome
    values = ", ".join(f"{k}={outcome.metrics[k]}" for k in bad)
    return replace(outcome, status="failed", error=f"non-finite metrics: {values}")


def _value(trial: FinishedTrial | None) -> float | None:
    return None if trial is None or trial.value is None or math.isnan(trial.value) else trial.value


def run_suite(suite: Suite, host: Host, options: RunOptions, observer: Observer | None = None) -> Any:
    """Run (or resume) a suite and write its reports; returns `RunResults`."""
    return Runner(suite, host, options, observer).run()
