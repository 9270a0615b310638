"""A cell of a run (task x backend x strategy x seed) as the driver keeps it: its search's state
(trials done and in flight, the next free number, the best so far, its final's state), the seeds
its trials train from, and the record of a job it handed out."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from automl_bench._api.interfaces import Pruner, Strategy
from automl_bench._api.records import (
    CellKey,
    DataRef,
    FinishedTrial,
    SourceRef,
    TaskRef,
)
from automl_bench._suite import Task


def derive_seed(*parts: Any) -> int:
    """A stable 31-bit seed from any parts (same parts, same seed, on every platform)."""
    digest = hashlib.sha256("/".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


@dataclass(frozen=True)
class Pending:
    """A cell as preflight sees it: its key and what a worker needs to know of its task."""

    key: CellKey
    task_ref: TaskRef


@dataclass(frozen=True)
class JobContext:
    """The driver's own record of a job it handed out (`Job.context`): whose trial it is, whether
    it is the cell's final (its best scored on the test split), and the budget its strategy chose."""

    cell: "Cell"
    number: int
    final: bool
    budget: int | None = None

    def astuple(self) -> tuple["Cell", int, bool, int | None]:
        return self.cell, self.number, self.final, self.budget


@dataclass
class Cell:
    key: CellKey
    task: Task
    strategy: Strategy
    max_trials: int
    objective: str  # the metric the search maximises, e.g. "val_accuracy"
    #: a multi-objective suite's objectives, in its order (empty: one objective, ``objective``)
    objectives: tuple[str, ...] = ()
    pruner: Pruner | None = None  # stops trials early from their epoch reports, when the entry names one
    done: dict[int, FinishedTrial] = field(default_factory=dict)
    in_flight: set[int] = field(default_factory=set)
    exhausted: bool = False
    final_state: str = "pending"  # pending | issued | done
    tested: int | None = None  # the trial whose configuration was scored on the test split
    blocked: str | None = None  # why this cell cannot run here (preflight, or an environment failure)
    _cursor: int = 0  # no trial number below it is free
    _best: FinishedTrial | None = None

    @cached_property
    def task_ref(self) -> TaskRef:
        """What workers need to know of the task."""
        return task_ref(self.task)

    @property
    def own_final(self) -> bool:
        """A search of one trial, unpruned: that trial is the cell's final too (scored on the test
        split and saved), not trained a second time."""
        return self.max_trials == 1 and self.pruner is None

    def trial_seed(self, number: int) -> int:
        # Shared across backends and strategies: trial n of seed s trains from the same seed everywhere.
        return derive_seed(self.key.seed, self.key.task, "trial", number)

    def next_number(self) -> int | None:
        """The lowest trial number neither done nor in flight (searched from a cursor: a search of
        100,000 trials does not rescan its trials for each new one)."""
        if self.exhausted:
            return None
        n = self._cursor
        while n < self.max_trials and (n in self.done or n in self.in_flight):
            n += 1
        self._cursor = n
        return n if n < self.max_trials else None

    def release(self, number: int) -> None:
        """A trial in flight that was not recorded (its environment failed): its number is free again."""
        self.in_flight.discard(number)
        self._cursor = min(self._cursor, number)

    def record(self, trial: FinishedTrial) -> None:
        """A finished trial: done, and the best so far kept as trials come (not found by a scan)."""
        self.in_flight.discard(trial.number)
        self.done[trial.number] = trial
        if trial.status == "ok" and trial.value is not None and (
                self._best is None or (trial.value, -trial.number) > (self._best.value, -self._best.number)):
            self._best = trial

    @property
    def planned(self) -> int:
        """Trials this search will have run: fewer than the budget once a strategy is exhausted."""
        return len(self.done) + len(self.in_flight) if self.exhausted else self.max_trials

    @property
    def searching(self) -> bool:
        return bool(self.in_flight) or self.next_number() is not None

    @property
    def over(self) -> bool:
        """Nothing more will run in this cell: blocked, or searched with its final recorded."""
        return self.blocked is not None or (self.final_state == "done" and not self.searching)

    def best(self) -> FinishedTrial | None:
        return self._best


def task_ref(task: Task) -> TaskRef:
    t = task.definition
    source = None
    if t.source is not None:
        s = t.source
        data = DataRef(s.dataset, tuple(s.classes) if s.classes else None, s.shots) if s.dataset else None
        source = SourceRef(data, dict(s.params), s.weights or "", s.weights_file or "", s.input_size)
    return TaskRef(task.name, t.dataset, t.model, t.val_fraction, t.test_fraction, t.split_seed,
                   classes=tuple(t.classes) if t.classes else None, shots=task.shots, source=source,
                   table=t.table or "")
