"""Worker slots: what every executor that keeps reusable workers (processes, Ray actors) shares.

A worker is bound to one backend and runs one job at a time. It tells the executor what happens
in typed messages, the same for every executor whatever carries them (a pipe, a Ray queue):

- `Ready` (set up: the backend's environment, its calibration, where it runs) or
  `SetupFailed` (why the backend could not start there);
- per job: `Started` (the trial began: its timeout counts from here), an `Epoch` per epoch, and
  `Done` with the outcome.

After an `Epoch` of a job whose request says ``prune``, the worker waits for the executor's
`Answer`: go on, or stop the trial there (the driver's pruner decides).

`WorkerSlot` holds one worker's state (its job, when it was sent and started, epochs seen,
trials served) and `WorkerSlots` moves messages through it: the events the driver receives,
timeouts, recycling after ``max_trials_per_worker`` or a trial that asked for a fresh process,
and backends that cannot start. An executor only carries messages and starts and ends workers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any, Generic, Mapping, TypeVar, Union

from automl_bench._api.records import EpochReport, ExecutionSettings, Finished, Job, Progressed, TrialOutcome

SETUP_TIMEOUT = 300.0  # seconds a worker may take to be placed and import its framework


@dataclass(frozen=True)
class Ready:
    """The worker is set up: its backend's environment, calibration (None: not asked), and where
    it runs (node, GPU), for the rows it will record."""

    environment: Mapping[str, str]
    calibration: Mapping[str, Any] | None = None
    where: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SetupFailed:
    """The worker could not set its backend up (the framework is missing, the device is absent)."""

    error: str
    where: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Started:
    """The job's trial began (its data loaded): its timeout counts from now."""


@dataclass(frozen=True)
class Epoch:
    """One epoch of the running trial ended."""

    report: EpochReport


@dataclass(frozen=True)
class Done:
    """The running trial ended, however it ended."""

    outcome: TrialOutcome


Message = Union[Ready, SetupFailed, Started, Epoch, Done]


@dataclass(frozen=True)
class Answer:
    """The executor's reply to an `Epoch` of a trial its driver may prune: stop it there, or go on."""

    prune: bool


@dataclass(eq=False)
class WorkerSlot:
    """One worker's state: idle (``job`` None), sent a job (``started_at`` None), or running it."""

    backend: str
    job: Job | None = None
    sent_at: float = 0.0  # when the current job was sent
    started_at: float | None = None  # when its trial began (`Started`)
    epochs_seen: int = 0
    served: int = 0  # trials finished by this worker
    ready: bool = False  # its set-up report (`Ready`) has come

    def assign(self, job: Job) -> None:
        self.job, self.sent_at, self.started_at, self.epochs_seen = job, time.monotonic(), None, 0

    def deadline(self) -> float:
        """When the job is overdue: set-up time from when it was sent, then its timeout from its start."""
        assert self.job is not None
        if self.started_at is None:  # still importing its framework, or being placed
            return self.sent_at + SETUP_TIMEOUT
        return self.started_at + self.job.timeout


Slot = TypeVar("Slot", bound=WorkerSlot)


class WorkerSlots(Generic[Slot]):
    """The state machine an executor of reusable workers shares, mixed into its `Executor`
    (``class MyExecutor(WorkerSlots[MySlot], Executor)``). The executor carries messages and
    implements `finish` (a `Finished` for the slot's job, with its placement), `retire` (end a
    worker gracefully) and `kill` (end it now)."""

    #: How the executor's messages name a worker: "worker", "Ray actor".
    worker_word = "worker"

    def __init__(self, settings: ExecutionSettings) -> None:
        self.settings = settings
        self.environments: dict[str, Mapping[str, str]] = {}
        self.calibrations: dict[str, Mapping[str, Any]] = {}
        self.unavailable: dict[str, str] = {}  # backend -> why its worker could not start

    # -- what a subclass implements ---------------------------------------------------

    def finish(self, slot: Slot, outcome: TrialOutcome) -> Finished:
        raise NotImplementedError

    def retire(self, slot: Slot) -> None:
        raise NotImplementedError

    def kill(self, slot: Slot) -> None:
        raise NotImplementedError

    # -- shared -----------------------------------------------------------------------

    def refused(self, job: Job) -> Finished | None:
        """A job for a backend that could not start here: failed at once (0 s: it never ran)."""
        if job.backend in self.unavailable:
            return Finished(job, TrialOutcome("failed", error=self.unavailable[job.backend], infrastructure=True))
        return None

    def cannot_start(self, backend: str, reason: str) -> str:
        """Remember that ``backend``'s worker cannot start here, and why; returns the message."""
        self.unavailable[backend] = f"backend {backend!r} could not start: {reason}"
        return self.unavailable[backend]

    def set_up(self, backend: str, ready: Ready) -> None:
        self.environments[backend] = dict(ready.environment)
        if ready.calibration is not None:
            self.calibrations[backend] = dict(ready.calibration)

    def receive(self, slot: Slot, message: Message) -> list[Finished | Progressed]:
        """Move one message of ``slot``'s worker through the state machine; the events for the driver."""
        if isinstance(message, Ready):
            slot.ready = True
            self.set_up(slot.backend, message)
        elif isinstance(message, Started):
            slot.started_at = time.monotonic()
        elif isinstance(message, Epoch) and slot.job is not None:
            slot.epochs_seen += 1
            return [Progressed(slot.job, message.report)]
        elif isinstance(message, SetupFailed) and slot.job is not None:
            error = self.cannot_start(slot.backend, message.error)
            finished = self.finish(slot, TrialOutcome("failed", error=error, infrastructure=True))
            self.retire(slot)
            return [finished]
        elif isinstance(message, Done) and slot.job is not None:
            outcome = message.outcome
            if outcome.replace_worker and outcome.status == "failed":
                outcome = replace(outcome, error=f"{outcome.error}; its {self.worker_word} was replaced")
            finished = self.finish(slot, outcome)
            slot.served += 1
            limit = self.settings.max_trials_per_worker.get(slot.backend)
            if outcome.replace_worker or (limit is not None and slot.served >= limit):
                self.retire(slot)  # recycled: the next job for this backend starts a fresh one
            return [finished]
        return []

    def expire(self, slot: Slot) -> Finished:
        """The slot's job is past its deadline: a worker that never started it failed to set up, a
        trial that ran past its timeout timed out. The worker is killed either way."""
        job = slot.job
        assert job is not None
        if slot.started_at is None:
            outcome = TrialOutcome("failed", infrastructure=True, error=f"its {self.worker_word} for {slot.backend!r} "
                                   f"did not start within {SETUP_TIMEOUT:.0f} s")
        else:
            outcome = TrialOutcome("timeout", epochs=slot.epochs_seen,
                                   train_seconds=time.monotonic() - slot.started_at,
                                   error=f"trial exceeded its timeout of {job.timeout:g} s and was stopped")
        finished = self.finish(slot, outcome)
        self.kill(slot)
        return finished

    def overdue(self, slots: list[Slot]) -> list[Finished]:
        """`expire` every slot whose job is past its deadline."""
        now = time.monotonic()
        return [self.expire(s) for s in slots if s.job is not None and now >= s.deadline()]

    @staticmethod
    def wait_time(busy: list[Slot], timeout: float | None) -> float:
        """How long to wait for messages: until the nearest deadline, at most ``timeout``."""
        wait_for = max(0.0, min(s.deadline() for s in busy) - time.monotonic())
        return wait_for if timeout is None else min(wait_for, timeout)
