"""The ``ray`` executor: trials run in Ray actors, on one machine or a cluster.

Each actor is bound to one backend and holds a `TrialRunner` (its framework imported once) for
trial after trial, asking Ray for ``num_cpus = threads`` and, with ``gpus = "all"``,
``num_gpus = 1 / trials_per_gpu``: Ray packs that many trials on each GPU and sets the actor's
``CUDA_VISIBLE_DEVICES``. The search, the store and resume stay in the driver, as with the
local executor.

Designed around Ray's known behaviour (checked against Ray 2.60):

- ``ray.cancel(force=True)`` is refused for actor tasks: a trial past its timeout is stopped
  with ``ray.kill`` on its actor, and a fresh actor takes the next trial;
- GPU memory is reliably freed only when an actor's process exits (ray #30414, #48134):
  actors are recycled as the local pool recycles workers (``max_trials_per_worker``, and after
  a trial that ran out of GPU memory or left memory held);
- actor restarts have open bugs (ray #44719): actors are created with ``max_restarts=0`` and
  replaced here;
- a whole-GPU request waits forever while fractional actors hold part of that GPU: every actor
  of a run asks for the same fraction.

An actor that dies with its node is the cluster's failure, not the configuration's: the trial
runs again on another actor (at most ``max_retries`` times), and its row says how often.
"""

from __future__ import annotations

import logging
import os
import platform
import queue
import re
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from automl_bench import BenchError, Executor, ExecutorSpec, hookimpl, require
from automl_bench.executor import (
    SETUP_TIMEOUT,
    Answer,
    Done,
    Epoch,
    ExecutionSettings,
    Finished,
    Job,
    Message,
    Progressed,
    Ready,
    SetupFailed,
    Started,
    TrialOutcome,
    TrialRunner,
    WorkerSlot,
    WorkerSlots,
    detect_gpus,
)

LONG_POLL = 1.0  # seconds an actor's next_events call waits for an event before answering none
RESOURCES_EVERY = 2.0  # seconds between readings of the cluster's size (nodes come and go)
SETTLE_SECONDS = 60.0  # how long Ray may take to say why it lost contact with an actor
UNBLOCK_AFTER = 10.0  # seconds an actor may wait to be placed before an idle actor of another backend makes room


class TrialActor:
    """Lives in a Ray actor process: one backend, trial after trial. Methods run on threads
    (``max_concurrency``), so ``next_events`` and ``answer`` are served while ``run`` trains."""

    def __init__(self, backend: str, plugin_modules: tuple[str, ...], threads: int, device: str, calibrate: bool):
        import ray

        self.events: queue.Queue = queue.Queue()
        self.answers: queue.Queue = queue.Queue()
        context = ray.get_runtime_context()
        where = {"node": f"{platform.node()} ({context.get_node_id()[:8]})", "node_id": context.get_node_id()}
        gpu_ids = ray.get_gpu_ids()
        if gpu_ids:  # Ray set CUDA_VISIBLE_DEVICES to these; name and memory where a tool can tell
            known = {g["gpu"]: g for g in detect_gpus() or []}
            where.update(known.get(int(gpu_ids[0]), {"gpu": int(gpu_ids[0])}))
        try:
            self.runner = TrialRunner(backend, plugin_modules, threads=threads, device=device)
            self.status: Ready | SetupFailed = Ready(self.runner.environment,
                                                     self.runner.calibration() if calibrate else None, where)
        except BaseException as exc:  # noqa: BLE001 - reported to the driver, which records it
            self.status = SetupFailed(f"{type(exc).__name__}: {exc}", where)

    def ready(self) -> Ready | SetupFailed:
        return self.status

    def run(self, request: Any) -> None:
        if isinstance(self.status, SetupFailed):
            self.events.put(self.status)
            return

        def on_epoch(report: Any) -> bool:
            self.events.put(Epoch(report))
            return request.prune and self.answers.get().prune

        outcome = self.runner.run(request, on_start=lambda: self.events.put(Started()), on_epoch=on_epoch)
        self.events.put(Done(outcome))

    def next_events(self, timeout: float) -> list[Message]:
        """Every event since the last call, waiting up to ``timeout`` seconds for the first."""
        try:
            events = [self.events.get(timeout=timeout)]
        except queue.Empty:
            return []
        while True:
            try:
                events.append(self.events.get_nowait())
            except queue.Empty:
                return events

    def answer(self, decision: str) -> None:
        self.answers.put(decision)


@dataclass(eq=False)
class _Actor(WorkerSlot):
    handle: Any = None
    ready_ref: Any = None
    where: dict[str, Any] = field(default_factory=dict)
    events_ref: Any = None


class RayExecutor(WorkerSlots[_Actor], Executor):
    worker_word = "Ray actor"

    def __init__(self, settings: ExecutionSettings):
        self.ray = require("ray", needed_by="executor 'ray'", install="pip install 'automl-bench[ray]'")
        if isinstance(settings.gpus, tuple):
            raise BenchError('on Ray, gpus = "all" (Ray picks the GPU of each trial, on any node); a list of '
                             "indices is for the local executor")
        super().__init__(settings)
        address = settings.options.get("ray_address") or os.environ.get("RAY_ADDRESS")
        self.owned = not self.ray.is_initialized()
        if self.owned:  # a local instance, or a cluster's head; started and shut down by this run
            try:
                self.ray.init(address=address, include_dashboard=False, log_to_driver=False,
                              logging_level=logging.WARNING)
            except Exception as exc:  # noqa: BLE001 - Ray's own words say what is wrong
                where = f"the cluster at {address}" if address else "a local Ray instance"
                raise BenchError(f"cannot start or join {where}: {type(exc).__name__}: {exc}") from None
        largest = max((n["Resources"].get("CPU", 0) for n in self.ray.nodes() if n["Alive"]), default=0)
        if largest < settings.threads:
            self._shutdown_ray()
            raise BenchError(f"each trial asks Ray for threads = {settings.threads} CPUs, and no node of the cluster "
                             f"has more than {largest:g}: lower [execution] threads or add larger nodes")
        #: What each actor asks of a GPU: 1 / trials_per_gpu with gpus = "all" on a cluster that has GPUs
        #: when the run starts; the same for every actor of the run (a whole-GPU request would wait
        #: forever beside fractional ones).
        self.gpu_share = 0.0
        if settings.gpus is not None and self.ray.cluster_resources().get("GPU"):
            self.gpu_share = 1.0 / settings.trials_per_gpu
        self.remote_class = self.ray.remote(TrialActor)
        self.actors: list[_Actor] = []
        self.retrying: deque[Job] = deque()  # jobs whose node died, to run again
        self.retries: dict[int, int] = {}  # id(job) -> times it was run again
        self.first_sent: dict[int, float] = {}  # id(job) -> when it was first handed to an actor
        self._size, self._size_read = 0, -RESOURCES_EVERY

    # -- capacity ---------------------------------------------------------------------

    @property
    def size(self) -> int:
        """Trials at once: as many actors as the cluster's CPUs (or GPU shares) hold now, capped by
        ``workers``; read again every few seconds, as nodes join and leave."""
        now = time.monotonic()
        if now - self._size_read >= RESOURCES_EVERY:
            resources = self.ray.cluster_resources()
            fits = int(resources.get("CPU", 0) // self.settings.threads)
            if self.gpu_share:
                fits = min(fits, int(round(resources.get("GPU", 0) * self.settings.trials_per_gpu)))
            self._size = max(1, min(fits, self.settings.workers) if self.settings.workers else fits)
            self._size_read = now
        return self._size

    @property
    def busy(self) -> int:
        return sum(1 for a in self.actors if a.job is not None) + len(self.retrying)

    def has_capacity(self) -> bool:
        return self.busy < self.size

    def describe(self) -> dict[str, Any]:
        resources = self.ray.cluster_resources()
        return {"executor": "ray", "workers": self.size, "nodes": len([n for n in self.ray.nodes() if n["Alive"]]),
                "cluster_cpus": resources.get("CPU", 0), "cluster_gpus": resources.get("GPU", 0),
                "gpu_share": self.gpu_share, "ray": self.ray.__version__}

    # -- the Executor protocol --------------------------------------------------------

    def warm_up(self, backend: str) -> str | None:
        """Start an actor for ``backend`` and wait until it is set up; it then serves the backend's
        first trial."""
        if backend in self.unavailable:
            return self.unavailable[backend]
        if any(a.backend == backend for a in self.actors):
            return None
        actor = self._spawn(backend)
        status = self._await_ready(actor)
        if isinstance(status, Ready):
            return None
        self.kill(actor)
        return self.cannot_start(backend, status.error)

    def _await_ready(self, actor: _Actor) -> Ready | SetupFailed:
        """Wait for a fresh actor's set-up report."""
        try:
            status = self.ray.get(actor.ready_ref, timeout=SETUP_TIMEOUT)
        except self.ray.exceptions.GetTimeoutError:
            status = SetupFailed(f"its Ray actor was not placed and set up within {SETUP_TIMEOUT:.0f} s (does "
                                 "the cluster have the CPUs and GPUs one trial asks for?)")
        except self.ray.exceptions.RayError as exc:
            status = SetupFailed(f"its Ray actor died while starting: {_first_line(exc)}")
        if isinstance(status, Ready):
            self._ready(actor, status)
        return status

    def submit(self, job: Job) -> Finished | None:
        refused = self.refused(job)
        if refused is not None:
            return refused
        self.first_sent[id(job)] = time.monotonic()
        self._start(job)
        return None

    def answer(self, job: Job, prune: bool) -> None:
        actor = next((a for a in self.actors if a.job is job), None)
        if actor is not None:
            actor.handle.answer.remote(Answer(prune))

    def poll(self, timeout: float | None) -> list[Finished | Progressed]:
        events: list[Finished | Progressed] = []
        while self.retrying and sum(1 for a in self.actors if a.job is not None) < self.size:
            self._start(self.retrying.popleft())
        self._unblock()
        busy = [a for a in self.actors if a.job is not None]
        if not busy:
            if self.retrying and timeout:
                time.sleep(min(timeout, RESOURCES_EVERY))  # waiting for the cluster to have room again
            return events
        refs = [a.events_ref for a in busy]
        self.ray.wait(refs, num_returns=1, timeout=self.wait_time(busy, timeout))
        ready, _ = self.ray.wait(refs, num_returns=len(refs), timeout=0)
        for actor in busy:
            if actor.events_ref in ready:
                events += self._collect(actor)
        return events + self.overdue(list(self.actors))

    def close(self) -> None:
        self.terminate()

    def terminate(self) -> None:
        for actor in list(self.actors):
            self.kill(actor)
        self.retrying.clear()
        self._shutdown_ray()

    def _shutdown_ray(self) -> None:
        """Shut down the Ray instance this run started or joined (one it found running stays)."""
        if self.owned and self.ray.is_initialized():
            self.ray.shutdown()

    # -- internals --------------------------------------------------------------------

    def _ready(self, actor: _Actor, status: Ready) -> None:
        self.set_up(actor.backend, status)
        actor.where = dict(status.where)

    def _spawn(self, backend: str) -> _Actor:
        if len(self.actors) >= self.size:  # retire an idle actor, of another backend first: its resources are needed
            idle = [a for a in self.actors if a.job is None]
            if idle:
                self.kill(next((a for a in idle if a.backend != backend), idle[0]))
        calibrate = self.settings.calibrate and backend not in self.calibrations
        handle = self.remote_class.options(
            num_cpus=self.settings.threads, num_gpus=self.gpu_share, max_restarts=0, max_concurrency=3,
        ).remote(backend, self.settings.plugin_modules, self.settings.threads, self.settings.device, calibrate)
        actor = _Actor(backend, handle=handle, ready_ref=handle.ready.remote())
        self.actors.append(actor)
        return actor

    def _start(self, job: Job) -> None:
        actor = next((a for a in self.actors if a.job is None and a.backend == job.backend), None)
        if actor is None:
            actor = self._spawn(job.backend)
        self._assign(actor, job)

    def _assign(self, actor: _Actor, job: Job) -> None:
        actor.assign(job)
        actor.handle.run.remote(job.request)  # its result is the events below; dropping the ref cancels nothing
        actor.events_ref = actor.handle.next_events.remote(LONG_POLL)

    def _unblock(self) -> None:
        """An actor still waiting to be placed while an idle one holds the resources it needs (the
        cluster shrank, a node died): its job goes to an idle actor of its backend, or, after a
        while, an idle actor of another backend makes room."""
        waiting = [a for a in self.actors if a.job is not None and a.started_at is None]
        if not waiting or not any(a.job is None for a in self.actors):
            return
        placed, _ = self.ray.wait([a.ready_ref for a in waiting], num_returns=len(waiting), timeout=0)
        now = time.monotonic()
        for actor in [a for a in waiting if a.ready_ref not in placed]:
            idle = next((a for a in self.actors if a.job is None and a.backend == actor.backend), None)
            if idle is not None:
                job, sent_at = actor.job, actor.sent_at
                self.kill(actor)
                self._assign(idle, job)
                idle.sent_at = sent_at
            elif now - actor.sent_at > UNBLOCK_AFTER:
                other = next((a for a in self.actors if a.job is None), None)
                if other is not None:
                    self.kill(other)

    # -- the worker-slot state machine's side -----------------------------------------

    def finish(self, actor: _Actor, outcome: TrialOutcome) -> Finished:
        job = actor.job
        assert job is not None
        retries = self.retries.pop(id(job), 0)
        sent = self.first_sent.pop(id(job), actor.sent_at)
        actor.job = None
        placement = {"executor": "ray", **{k: v for k, v in actor.where.items() if k != "node_id"}}
        return Finished(job, outcome, time.monotonic() - sent, placement, retries)

    def retire(self, actor: _Actor) -> None:
        self.kill(actor)  # its process exits: GPU memory is freed for sure

    def kill(self, actor: _Actor) -> None:
        try:
            self.ray.kill(actor.handle, no_restart=True)
        except Exception:  # noqa: BLE001 - already gone with its node
            pass
        self._forget(actor)

    def _collect(self, actor: _Actor) -> list[Finished | Progressed]:
        try:
            messages = self.ray.get(actor.events_ref)
        except self.ray.exceptions.RayError as exc:
            died = self._died(actor, exc)
            return [died] if died is not None else []
        if not actor.where:
            self._ready_now(actor)
        events: list[Finished | Progressed] = []
        for message in messages:
            events += self.receive(actor, message)
            if actor.job is None:  # done, or could not start: no more events to ask for
                return events
        actor.events_ref = actor.handle.next_events.remote(LONG_POLL)
        return events

    def _ready_now(self, actor: _Actor) -> None:
        """Read the set-up report of an actor started for a trial (environment, calibration, where
        it runs), once it is there."""
        ready, _ = self.ray.wait([actor.ready_ref], timeout=0)
        if ready:
            status = self.ray.get(actor.ready_ref)
            if isinstance(status, Ready):
                self._ready(actor, status)
            else:
                actor.where = dict(status.where)

    def _died(self, actor: _Actor, exc: BaseException) -> Finished | None:
        """The actor running a job died, not by our hand: its node's failure (the job runs again:
        None) or the trial's (the process crashed: a failed trial, as a dead local worker is)."""
        job = actor.job
        assert job is not None
        if not actor.where:
            try:
                actor.where = dict(self.ray.get(actor.ready_ref, timeout=1).where)
            except Exception:  # noqa: BLE001 - it died before saying where it ran
                pass
        exc = self._settle(actor, exc)
        lost_node = self._node_lost(actor, exc)
        retries = self.retries.get(id(job), 0)
        if lost_node and retries < self.settings.max_retries:
            self.retries[id(job)] = retries + 1
            self.retrying.append(job)
            self._forget(actor)
            return None
        if lost_node:
            outcome = TrialOutcome("failed", epochs=actor.epochs_seen, infrastructure=True,
                                   error=f"the Ray node running it died {retries + 1} times (max_retries = "
                                         f"{self.settings.max_retries})")
        else:
            outcome = TrialOutcome("failed", epochs=actor.epochs_seen,
                                   error=f"worker process died (Ray actor: {_first_line(exc)}) during the trial")
        finished = self.finish(actor, outcome)
        self._forget(actor)
        return finished

    def _settle(self, actor: _Actor, exc: BaseException) -> BaseException:
        """Ray first says only that it lost contact with an actor (``ActorUnavailableError``), both
        when the actor's process crashed and when its node died: ask the actor again until Ray
        knows which (``ActorDiedError`` with its cause), for at most ``SETTLE_SECONDS``."""
        deadline = time.monotonic() + SETTLE_SECONDS
        while isinstance(exc, self.ray.exceptions.ActorUnavailableError) and time.monotonic() < deadline:
            time.sleep(0.5)
            try:
                self.ray.get(actor.handle.ready.remote(), timeout=5)
                return exc  # it answers again: contact was lost for a while, and the trial with it
            except self.ray.exceptions.GetTimeoutError:
                continue
            except self.ray.exceptions.RayError as later:
                exc = later
        return exc

    def _node_lost(self, actor: _Actor, exc: BaseException) -> bool:
        """Whether the actor was lost with its node, not by its trial: Ray says its node died or
        was preempted, the node it ran on is no longer alive, or Ray still cannot reach it after
        `_settle`. A trial whose process crashed on a live node (a segfault) is the trial's
        failure."""
        if isinstance(exc, self.ray.exceptions.ActorUnavailableError) or getattr(exc, "preempted", False):
            return True
        text = " ".join(str(exc).lower().split())
        if "node" in text and ("died" in text or "dead" in text) and "worker process has died" not in text:
            return True
        node = actor.where.get("node_id")
        return node is not None and not {n["NodeID"]: n["Alive"] for n in self.ray.nodes()}.get(node, False)

    def _forget(self, actor: _Actor) -> None:
        actor.job = None
        if actor in self.actors:
            self.actors.remove(actor)


def _first_line(exc: BaseException) -> str:
    """Ray's reason in a few words: its "exit detail" sentence where it gives one."""
    text = " ".join(str(exc).split())
    detail = re.search(r"Worker exit detail: (.*?\.)", text)
    if detail:
        return detail.group(1)
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__


@hookimpl
def bench_executors(register):
    register(ExecutorSpec("ray", "Ray actors on a local Ray instance or a cluster (ray_address); GPUs shared by "
                                 "fractional requests", RayExecutor, options={"ray_address": ""}, packages=("ray",)))
