"""Runs a suite: every cell (task x backend x strategy x seed) is one ask/tell search.

Trials go to an executor (the local pool of reusable worker processes, Ray, or a plugin's),
which only runs them: the search, the store and resume stay here, in the driver. Each finished
trial is committed to the store before the strategy hears of it, so a killed run resumes
without losing or repeating a trial: each cell's strategy is rebuilt from what was recorded
and asked only for the trial numbers still missing. When a cell's search is over, its best
configuration (by validation score) is trained once more with the same seed and scored on the
test split: the search itself never sees a test score.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Protocol, Sequence

from automl_bench._api.interfaces import Executor
from automl_bench._api.records import (
    CellKey,
    ExecutionSettings,
    Finished,
    FinishedTrial,
    Job,
    Progressed,
    Proposal,
    RunResults,
    TrialOutcome,
    TrialRequest,
)
from automl_bench._manager import Host
from automl_bench._model.objectives import search_arguments, values_of
from automl_bench._results.schema import DB_NAME, RUN_LOCK
from automl_bench._results.store import Store
from automl_bench._run import interrupts as _interrupts
from automl_bench._run.cells import Cell, JobContext, Pending, derive_seed, task_ref
from automl_bench._run.environment import capture
from automl_bench._run.options import RunOptions
from automl_bench._run.preflight import check_cells, check_directory, describe
from automl_bench._suite import Suite, Task
from automl_bench.errors import BenchError, PreflightError, ResultsError

#: Characters of ``--seeds`` a results folder's name spells out; a longer list is named by its digest.
SEEDS_IN_NAME = 60


class Observer(Protocol):
    """Receives progress; the CLI's rich display implements it."""

    def start(self, cells: Sequence[tuple[CellKey, int]]) -> None: ...
    def trial_done(self, cell: CellKey, done: int, total: int, best: float | None) -> None: ...
    def stop(self) -> None: ...


class _Silent:
    def start(self, cells: Sequence[tuple[CellKey, int]]) -> None: ...
    def trial_done(self, cell: CellKey, done: int, total: int, best: float | None) -> None: ...
    def stop(self) -> None: ...


class Driver:
    """Drives one run of a suite: asks each cell's strategy, hands trials to the executor, records
    what comes back, and ends every cell with its final test evaluation."""

    def __init__(self, suite: Suite, host: Host, options: RunOptions, observer: Observer | None = None):
        self.suite, self.host, self.options = suite, host, options
        self.observer = observer or _Silent()
        self._replaying: dict[str, bool] = {}  # backend: whether it replays (its trials are committed in groups)
        model = suite.model
        self.max_trials = min(model.budget.max_trials, options.max_trials or model.budget.max_trials)
        caps = [c for c in (model.budget.max_epochs, options.max_epochs) if c is not None]
        self.max_epochs = min(caps) if caps else None
        self.seeds = list(options.seeds) if options.seeds is not None else list(model.seeds)
        self.directory = Path(options.out) / results_name(suite.name, model.budget.max_epochs, self.max_epochs,
                                                          model.seeds, self.seeds)

    # -- public -----------------------------------------------------------------------

    def run(self) -> RunResults:
        from filelock import FileLock, Timeout

        check_directory(self.directory)
        lock = FileLock(str(self.directory / RUN_LOCK))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            raise ResultsError(f"another `bench run` is writing to {self.directory}; wait for it or use --out") from None
        try:
            return self._run_locked()
        finally:
            lock.release()

    # -- internals --------------------------------------------------------------------

    def _run_locked(self) -> RunResults:
        from automl_bench._results.collect import (
            check_against_outputs,
            check_store_not_lost,
            collect,
            describe_suite,
            note,
            write_reports,
        )

        executor = self._executor()
        store: Store | None = None
        run_id, finished, execution = None, False, {}
        handoff = _HandoffFolder(self.directory)  # datasets loaded here, handed to the workers
        try:
            # Preflight first: a run that cannot start changes nothing, --fresh deletes nothing.
            blocked = self._preflight(executor)
            execution = dict(executor.describe())  # while it runs: where the run's trials go
            if self.options.fresh:
                for path in self.directory.iterdir():
                    if path.name not in (RUN_LOCK, "logs", handoff.folder.name):  # the workers' own
                        shutil.rmtree(path) if path.is_dir() else path.unlink()
            check_store_not_lost(self.directory)
            store = Store(self.directory / DB_NAME, accept_loss=self.options.accept_loss, alone=True)
            if store.lost:
                note(f"--accept-loss: {store.path}: {store.lost}; those trials run again")
            store.verify()
            check_against_outputs(store, self.directory, accept_loss=self.options.accept_loss)
            self._check_same_suite(store)
            description = describe_suite(self.suite)
            store.set_meta("suite", json.dumps(description))  # for `bench report`
            if self.options.retry_failed:
                store.supersede_failed()
            cells = self._cells(store)
            for cell in cells:
                cell.blocked = blocked.get(cell.key)
            declared = [p for b in self.suite.model.matrix.backends for p in self.host.backend(b).packages]
            declared += self.host.executor(self.executor_name).packages
            environment = capture(self.suite.sha256, str(self.suite.path.resolve().parent), declared)
            run_id = store.start_run(environment)
            self.observer.start([(c.key, c.max_trials) for c in cells])
            for cell in cells:
                self.observer.trial_done(cell.key, len(cell.done), cell.planned, _value(cell.best()))
            self._loop(cells, executor, store, run_id)
            executor.close()
            finished = True
        finally:
            if not finished:
                executor.terminate()  # interrupted or broken: no trial is waited for
            handoff.close()
            self.observer.stop()
            if store is not None:
                if run_id is not None:
                    store.update_run_environment(run_id, {**environment, "backends": executor.environments,
                                                         "calibration": executor.calibrations,
                                                         "execution": execution})
                if not finished:
                    store.close()
        try:
            not_run = {str(c.key): c.blocked for c in cells if c.blocked is not None}
            results = collect(store, self.directory, description, not_run)
        finally:
            store.close()
        write_reports(self.host, results, self.suite.model.reporters)
        self.host.pm.hook.bench_on_run_end(results=results)
        return results

    @property
    def executor_name(self) -> str:
        """The executor this run uses: --executor, or the suite's [execution] executor."""
        return self.options.executor or self.suite.model.execution.executor

    def _executor(self) -> Executor:
        """The executor the suite (or --executor) names, built with the suite's [execution] settings."""
        execution = self.suite.model.execution
        name = self.executor_name
        spec = self.host.executor(name)
        settings = ExecutionSettings(
            plugin_modules=self.host.extra_modules, workers=self.options.workers or execution.workers,
            threads=execution.threads, device=execution.effective_device,
            gpus=tuple(execution.gpus) if isinstance(execution.gpus, list) else execution.gpus,
            trials_per_gpu=execution.trials_per_gpu,
            max_trials_per_worker={b: execution.max_trials_per_worker or self.host.backend(b).max_trials_per_worker
                                   for b in self.suite.model.matrix.backends},
            calibrate=execution.calibrate, max_retries=execution.max_retries, log_dir=self.directory / "logs",
            options={**spec.options, **{k: v for k, v in execution.options.items() if k in spec.options}})
        try:
            return spec.factory(settings)
        except BenchError as exc:
            raise PreflightError(f"executor {name!r} cannot start: {exc}") from None

    def _preflight(self, executor: Executor) -> dict[CellKey, str]:
        """Which cells with work left cannot run here, and why (every cell, with --fresh or --retry-failed).
        Reads the store without changing it; raises `PreflightError` unless --keep-going."""
        path = self.directory / DB_NAME
        cells = [Pending(key, task_ref(task)) for key, task in self._keys()]
        if not self.options.fresh and not self.options.retry_failed and path.exists():
            store = Store(path, accept_loss=self.options.accept_loss, alone=True)
            try:  # a cell whose trials and test score are all recorded has nothing to check
                self._check_same_suite(store, record=False)
                cells = [c for c in cells if store.final_number(c.key) is None
                         or len(store.finished_trials(c.key)) < self.max_trials]
            finally:
                store.close()
        blocked = check_cells(self.host, cells, executor)
        if blocked and not self.options.keep_going:
            raise PreflightError(describe(blocked))
        return blocked

    def _check_same_suite(self, store: Store, *, record: bool = True) -> None:
        """Refuse a store of another suite version or epoch cap; with ``record``, claim a new store."""
        recorded = store.meta("suite_sha256")
        epochs = json.dumps(self.max_epochs)
        if recorded is not None and store.meta("max_epochs") not in (None, epochs):
            raise ResultsError(
                f"{self.directory} holds trials capped at max_epochs={store.meta('max_epochs')}, this run "
                f"max_epochs={epochs}: one leaderboard would average both. Rerun with --out to write elsewhere, "
                "or --fresh to start over")
        if recorded is not None and recorded == self.suite.file_sha256:  # written before content hashing
            recorded = self.suite.sha256
            if record:
                store.set_meta("suite_sha256", recorded)
        if recorded is None and record:
            store.set_meta("suite_sha256", self.suite.sha256)
            store.set_meta("suite_name", self.suite.name)
            store.set_meta("max_epochs", epochs)
            if self.suite.files:
                store.set_meta("files_sha256", json.dumps(self.suite.files, sort_keys=True))
        elif recorded is not None and recorded != self.suite.sha256:
            before = json.loads(store.meta("files_sha256") or "{}")
            changed = [k for k in sorted(set(before) | set(self.suite.files))
                       if before.get(k) != self.suite.files.get(k)]
            if changed:
                was, now = before.get(changed[0]) or "none", self.suite.files.get(changed[0]) or "none"
                raise ResultsError(
                    f"the files of task {changed[0]!r} changed since {self.directory} recorded its results "
                    f"(sha256 {was[:12]} then, {now[:12]} now), and results of old and new data are never mixed: "
                    "rerun with --fresh to start over on the new data, or --out to write elsewhere")
            raise ResultsError(
                f"{self.directory} holds results of a different version of suite {self.suite.name!r} "
                f"(sha256 {recorded[:12]}, this file {self.suite.sha256[:12]}; comments and layout do not count, "
                "anything else does); rerun with --fresh to start over, or --out to write elsewhere"
            )

    def _keys(self) -> list[tuple[CellKey, Task]]:
        """Every cell's key and task, grouped by backend: workers are reused in turn."""
        model = self.suite.model
        return [(CellKey(task.name, backend, entry, seed), task) for backend in model.matrix.backends
                for task in self.suite.tasks for entry in model.matrix.strategies for seed in self.seeds]

    def _cells(self, store: Store) -> list[Cell]:
        """Every cell, its strategy and pruner rebuilt from what ``store`` recorded."""
        model = self.suite.model
        directions = model.directions  # a multi-objective suite's objectives, or None
        cells = []
        for key, task in self._keys():
            strategy_name, _, pruner_name = key.strategy.partition("+")  # "strategy" or "strategy+pruner"
            spec = self.host.strategy(strategy_name)
            options = {**spec.options, **model.strategy.get(strategy_name, {})}
            objective = f"val_{task.definition.metric}"
            strategy = spec.factory(space=task.space, seed=derive_seed(key.seed, task.name, "strategy"),
                                    **search_arguments(spec.objectives, directions), **options)
            cell = Cell(key, task, strategy, self.max_trials, objective, tuple(directions or ()))
            recorded = store.finished_trials(key, cell.objectives)
            strategy.restore(recorded)
            if pruner_name:
                pspec = self.host.pruner(pruner_name)
                cell.pruner = pspec.factory(**{**pspec.options, **model.pruner.get(pruner_name, {})})
                cell.pruner.restore(recorded, store.histories(key, objective))
            for trial in recorded:
                cell.record(trial)
            cell.tested = store.final_number(key)
            cells.append(cell)
        return cells

    def _loop(self, cells: list[Cell], executor: Executor, store: Store, run_id: int) -> None:
        self._first_open = 0  # cells before it are over
        while True:
            _interrupts.check()  # an interrupt that a library swallowed on its way still stops the run
            while executor.has_capacity():
                job = self._next_job(cells)
                if job is None:
                    break
                immediate = executor.submit(job)
                if immediate is not None:
                    self._finish(immediate, store, run_id)
            if executor.busy == 0:
                return
            # Replayed trials are committed in groups: the group is committed before the run waits.
            events = executor.poll(timeout=0) if store.pending else ()
            if not events:
                store.flush()
                events = executor.poll(timeout=1.0)
            for event in events:
                if isinstance(event, Finished):
                    self._finish(event, store, run_id)
                elif isinstance(event, Progressed) and event.job.request.prune:
                    cell, number = event.job.context.cell, event.job.context.number
                    value = event.report.metrics.get(cell.objective)
                    prune = value is not None and cell.pruner.should_prune(number, event.report.epoch, value)
                    executor.answer(event.job, prune)

    def _replays(self, backend: str) -> bool:
        if backend not in self._replaying:
            self._replaying[backend] = self.host.backend(backend).replays
        return self._replaying[backend]

    def _next_job(self, cells: list[Cell]) -> Job | None:
        """The next trial or final to run: of the first cell, in order, that has one. Cells at the
        front that are over are passed by once (a study of thousands of cells does not look at
        each again for every trial)."""
        first = self._first_open
        while first < len(cells) and cells[first].over:
            first += 1
        self._first_open = first
        for i in range(first, len(cells)):
            cell = cells[i]
            if cell.blocked is not None:
                continue
            number = cell.next_number()
            while number is not None:
                params = cell.strategy.ask(number)
                if params is not None:
                    budget = None
                    if isinstance(params, Proposal):  # a multi-fidelity strategy chose the epochs
                        params, budget = params.params, params.epochs
                    cell.in_flight.add(number)  # a replayed table's parameters take only its values
                    return self._job(cell, number, cell.task.space.snap(params), final=False, budget=budget)
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

    def _job(self, cell: Cell, number: int, params: dict, *, final: bool, budget: int | None = None) -> Job:
        t = cell.task.definition
        epochs = self.max_epochs if budget is None else min(budget, self.max_epochs or budget)
        # A search of one trial has its best already: that trial is scored on the test split and
        # saved, instead of training the same configuration from the same seed a second time.
        tested = final or cell.own_final
        request = TrialRequest(
            key=f"{cell.key}#{'final' if final else number}", task=cell.task_ref, params=params,
            seed=cell.trial_seed(number), max_epochs=epochs,
            evaluate_test=tested or self.suite.model.test_every_trial,
            prune=cell.pruner is not None and not final,
            # One source model per suite seed, shared by every trial, shots value and mode of the task.
            source_seed=derive_seed(cell.key.seed, t.name, "source"), suite_seed=cell.key.seed,
            save_model=str(self.directory / model_path(cell.key)) if tested else "",
            measure_cost=self.suite.model.execution.measure_cost,
        )
        return Job(cell.key.backend, request, self.suite.model.budget.trial_timeout,
                   context=JobContext(cell, number, final, budget))

    def _finish(self, event: Finished, store: Store, run_id: int) -> None:
        cell, number, final, budget = event.job.context.astuple()
        outcome = _check_finite(event.outcome)
        if outcome.infrastructure:  # not a result: nothing is recorded, the next run tries again
            cell.blocked = cell.blocked or outcome.error
            cell.release(number)
            if final:
                cell.final_state = "pending"
            self.observer.trial_done(cell.key, len(cell.done), cell.planned, _value(cell.best()))
            return
        params = event.job.request.params
        grouped = self._replays(cell.key.backend)  # microseconds a trial: committed in groups
        if final:
            store.record_final(cell.key, number, run_id, params, outcome, _relative(outcome.model_file, self.directory),
                               grouped=grouped)
            cell.final_state, cell.tested = "done", number
            return
        value = outcome.metrics.get(cell.objective) if outcome.status in ("ok", "pruned") else None
        if outcome.status == "ok" and value is None:
            outcome = replace(outcome, status="failed", error=f"backend reported no {cell.objective}")
        values = values_of(outcome, cell.objectives) if cell.objectives and outcome.status == "ok" else None
        if values is not None and None in values:  # an objective the trial did not report: not a result
            missing = cell.objectives[values.index(None)]
            outcome, value, values = replace(outcome, status="failed", error=f"backend reported no {missing}"), None, None
        store.record_trial(cell.key, number, run_id, event.job.request.seed, params, outcome, value,
                           event.wall_seconds, {**event.placement, "retries": event.retries}, grouped=grouped,
                           budget=budget)
        if cell.own_final and outcome.status == "ok":  # a one-trial search: its final too
            store.record_final(cell.key, number, run_id, params, outcome, _relative(outcome.model_file, self.directory),
                               grouped=grouped)
            cell.final_state, cell.tested = "done", number
        trial = FinishedTrial(number, params, outcome.status, value, values, budget)
        cell.record(trial)
        cell.strategy.tell(trial)
        if cell.pruner is not None:
            cell.pruner.finish(trial)
        self.observer.trial_done(cell.key, len(cell.done), cell.planned, _value(cell.best()))
        self.host.pm.hook.bench_on_trial_end(cell=cell.key, trial=trial, metrics=dict(outcome.metrics))


class _HandoffFolder:
    """The folder in which this run's driver hands loaded datasets to its workers
    (`automl_bench._run.handoff`): emptied and named in the environment (which workers inherit) when
    the run starts, deleted and unnamed when it ends."""

    def __init__(self, directory: Path) -> None:
        from automl_bench._run import handoff as _handoff
        self.folder = directory / _handoff.FOLDER
        shutil.rmtree(self.folder, ignore_errors=True)  # left by a killed run: never read again
        self.env, self.before = _handoff.ENV, os.environ.get(_handoff.ENV)
        os.environ[self.env] = str(self.folder)

    def close(self) -> None:
        if self.before is None:
            os.environ.pop(self.env, None)
        else:
            os.environ[self.env] = self.before
        shutil.rmtree(self.folder, ignore_errors=True)


def model_path(cell: CellKey) -> Path:
    """Where a cell's final model is saved, under its results directory (the backend adds the suffix)."""
    return Path("models") / cell.task / cell.backend / cell.strategy / f"seed{cell.seed}"


def _relative(path: str, directory: Path) -> str:
    """A saved model's path as the leaderboard names it: relative to the results directory."""
    if not path:
        return ""
    try:
        return str(Path(path).relative_to(directory))
    except ValueError:  # written elsewhere (another node's disk): keep it whole
        return path


def results_name(name: str, suite_epochs: int | None, max_epochs: int | None, suite_seeds: Sequence[int],
                 seeds: Sequence[int]) -> str:
    """The results directory's name: the suite's, unless a cap changes what its trials are.

    ``--max-trials`` keeps it (a capped search is the start of the full one: the same trial
    seeds and proposals, so a later full run extends it), and so do seeds from the suite's own
    list (they are its cells). ``--max-epochs`` below the suite's changes every trial, and seeds
    the suite lacks add cells it does not have: such runs go to ``<name>+epochs<N>`` or
    ``<name>+seeds<a_b>``, and never mix into the suite's leaderboard. A list of seeds too long
    for a folder's name is named by its count and digest: ``<name>+seeds<n>-<sha256[:12]>``.
    """
    parts = []
    if max_epochs != suite_epochs:
        parts.append(f"epochs{max_epochs}")
    if not set(seeds) <= set(suite_seeds):
        listed = "_".join(map(str, seeds))
        if len(listed) > SEEDS_IN_NAME:
            listed = f"{len(seeds)}-{hashlib.sha256(listed.encode()).hexdigest()[:12]}"
        parts.append("seeds" + listed)
    return "+".join([name, *parts])


def _check_finite(outcome: TrialOutcome) -> TrialOutcome:
    bad = outcome.non_finite()
    if outcome.status != "ok" or not bad:
        return outcome
    values = ", ".join(f"{k}={outcome.metrics[k]}" for k in bad)
    return replace(outcome, status="failed", error=f"non-finite metrics: {values}")


def _value(trial: FinishedTrial | None) -> float | None:
    return None if trial is None or trial.value is None or math.isnan(trial.value) else trial.value


def run_suite(suite: Suite, host: Host, options: RunOptions, observer: Observer | None = None) -> RunResults:
    """Run (or resume) a suite and write its reports; returns `RunResults`."""
    return Driver(suite, host, options, observer).run()
