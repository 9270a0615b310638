"""The ``local`` executor: worker processes on this machine, started with spawn, each bound to
one backend and reused across trials; optionally placed on GPUs, several trials per GPU.

A worker imports its framework once and then serves trial after trial (a `TrialRunner`). The
driver watches every worker's pipe and process sentinel in one loop, so a trial that raises,
hangs past its timeout, or kills its process (segfault, out of memory) becomes an outcome, and
the worker is replaced on the next job.

GPUs (``[execution] gpus``): each worker slot belongs to one GPU, ``trials_per_gpu`` slots per
GPU, and a worker sees only its slot's GPU (``CUDA_VISIBLE_DEVICES``). A worker of another
backend takes a slot only after the one holding it stopped, so no GPU ever runs more than
``trials_per_gpu`` trials, whatever the backends.

Messages, worker to driver: the typed messages of `automl_bench.executor` (`Ready` or
`SetupFailed`, then per trial `Started`, `Epoch`, `Done`), moved through the worker-slot state
machine every executor shares (`WorkerSlots`). Driver to worker: a `TrialRequest`, or ``None``
to stop; and, after each epoch of a trial whose request says ``prune``, an `Answer`.
"""

from __future__ import annotations

import ctypes
import multiprocessing as mp
import os
import platform
import signal
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing import resource_tracker
from multiprocessing.connection import Connection, wait
from typing import Any, Iterator, Sequence

from automl_bench import BenchError, Executor, ExecutorSpec, hookimpl
from automl_bench.executor import (
    SETUP_TIMEOUT,
    Answer,
    Done,
    Epoch,
    ExecutionSettings,
    Finished,
    Job,
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

# =========================================================================== GPUs


def gpu_slots(wanted: str | Sequence[int] | None, trials_per_gpu: int,
              detected: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """One entry per worker slot: the GPU it belongs to, ``trials_per_gpu`` slots per GPU.

    ``wanted`` "all" takes every detected GPU (none found: no slots, trials run on the CPU); a
    list of indices must name GPUs this machine has. Where no tool can list GPUs (``detected``
    None), a list is taken as given and the framework finds out.
    """
    if wanted is None:
        return []
    if wanted == "all":
        gpus = detected or []
    else:
        known = {g["gpu"]: g for g in detected or []}
        missing = [i for i in wanted if detected is not None and i not in known]
        if missing:
            have = ", ".join(str(i) for i in sorted(known)) or "none"
            raise BenchError(f"[execution] gpus names GPU {', '.join(map(str, missing))}, which this machine does not "
                             f"have (GPUs found: {have}); use gpus = \"all\" or the indices nvidia-smi lists")
        gpus = [known.get(i, {"gpu": i}) for i in wanted]
    return [gpu for gpu in gpus for _ in range(trials_per_gpu)]


# =========================================================================== worker side


def worker_main(conn: Connection, backend: str, plugin_modules: Sequence[str], threads: int, device: str,
                log_path: str | None = None, calibrate: bool = False, gpu: int | None = None) -> None:
    if log_path:  # frameworks write to fds 1 and 2 directly: keep that out of the progress display
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
    die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the driver decides
    if hasattr(signal, "pthread_sigmask"):  # blocked since spawn (`interrupts_held`): a pending one is discarded
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    if gpu is not None:  # before any framework is imported: this worker sees its slot's GPU alone
        os.environ["CUDA_VISIBLE_DEVICES"] = str(gpu)
    try:
        runner = TrialRunner(backend, plugin_modules, threads=threads, device=device)
        conn.send(Ready(runner.environment, runner.calibration() if calibrate else None))
    except BaseException as exc:  # noqa: BLE001 - reported to the driver, which records it
        conn.send(SetupFailed(f"{type(exc).__name__}: {exc}"))
        return

    def on_epoch(report: Any) -> bool:
        conn.send(Epoch(report))
        return request.prune and conn.recv().prune

    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):  # driver went away
            request = None
        if request is None:  # done: nothing to tidy that the OS does not (a framework's teardown takes a second)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)
        outcome = runner.run(request, on_start=lambda: conn.send(Started()), on_epoch=on_epoch)
        try:
            conn.send(Done(outcome))
        except (BrokenPipeError, OSError):
            return


@contextmanager
def interrupts_held() -> Iterator[None]:
    """SIGINT blocked in this thread meanwhile, then delivered if it came. A terminal's Ctrl-C goes
    to the whole process group, workers included; a worker started meanwhile inherits the blocked
    mask through fork and exec, so the interrupt cannot land in its interpreter's start-up (where
    it printed a `KeyboardInterrupt` traceback) before `worker_main` ignores it."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def die_with_parent() -> None:
    """End this worker when the process that started it ends, however it ends (SIGKILL too), so
    that no worker outlives `bench`: the kernel's parent-death signal on Linux, and a watchdog
    thread that polls the parent's pid everywhere."""
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None)
        if libc.prctl(1, signal.SIGKILL, 0, 0, 0) == 0 and os.getppid() != parent:  # PR_SET_PDEATHSIG
            os._exit(1)  # the parent died before the signal was armed
    except (OSError, AttributeError):
        pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="bench-parent-watchdog", daemon=True).start()


# =========================================================================== driver side


@dataclass(eq=False)
class _Worker(WorkerSlot):
    process: Any = None
    conn: Connection | None = None
    gpu_slot: int | None = None  # index into the executor's GPU slots


class LocalExecutor(WorkerSlots[_Worker], Executor):
    """Up to ``size`` workers; each is bound to one backend and reused while jobs for it come."""

    def __init__(self, settings: ExecutionSettings):
        super().__init__(settings)
        self.slots = gpu_slots(settings.gpus, settings.trials_per_gpu,
                               detect_gpus() if settings.gpus is not None else None)
        size = len(self.slots) or settings.workers or 1
        self.size = min(size, settings.workers) if settings.workers else size
        self.node = platform.node()
        self.workers: list[_Worker] = []
        self._ctx = mp.get_context("spawn")

    # -- the Executor protocol --------------------------------------------------------

    @property
    def busy(self) -> int:
        return sum(1 for w in self.workers if w.job is not None)

    def has_capacity(self) -> bool:
        return self.busy < self.size

    def describe(self) -> dict[str, Any]:
        gpus = {s["gpu"]: s for s in self.slots}
        return {"executor": "local", "workers": self.size, "node": self.node,
                "gpus": list(gpus.values()), "trials_per_gpu": self.settings.trials_per_gpu if gpus else None}

    def answer(self, job: Job, prune: bool) -> None:
        worker = next((w for w in self.workers if w.job is job), None)
        if worker is not None:
            try:
                worker.conn.send(Answer(prune))
            except (BrokenPipeError, OSError):
                pass  # it died meanwhile; the sentinel reports that

    def submit(self, job: Job) -> Finished | None:
        refused = self.refused(job)
        if refused is not None:
            return refused
        for dead in [w for w in self.workers if w.job is None and not w.process.is_alive()]:
            self._remove(dead)
        worker = next((w for w in self.workers if w.job is None and w.backend == job.backend), None)
        if worker is None:
            worker = self._spawn(job.backend)
        worker.assign(job)
        worker.conn.send(job.request)
        return None

    def poll(self, timeout: float | None) -> list[Finished | Progressed]:
        busy = [w for w in self.workers if w.job is not None]
        if not busy:
            return []
        wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout=self.wait_time(busy, timeout))
        events: list[Finished | Progressed] = []
        for worker in busy:
            events += self._drain(worker)
        return events + self.overdue(busy)

    def warm_up(self, backend: str) -> str | None:
        """Start a worker for ``backend`` and wait until it is set up; it then serves the backend's
        first trial. Further workers start as trials come (warming every slot up front measured no
        faster on 2 cores: docs/benchmarks/executors.md)."""
        if backend in self.unavailable:
            return self.unavailable[backend]
        worker = next((w for w in self.workers if w.backend == backend and w.process.is_alive()), None)
        if worker is not None and (worker.ready or worker.job is not None):  # set up, or serving a trial
            return None
        worker = worker or self._spawn(backend)
        reason = self._await_ready(worker)
        if reason is None:
            return None
        self.kill(worker)
        return self.cannot_start(backend, reason)

    def start(self, backend: str) -> None:
        """Spawn ``backend``'s worker and go on: it imports its framework while the driver loads
        the datasets, and `warm_up` then waits for it. Only into a free slot (a worker is never
        retired for it)."""
        if backend in self.unavailable or len(self.workers) >= self.size:
            return
        if not any(w.backend == backend and w.process.is_alive() for w in self.workers):
            self._spawn(backend)

    def _await_ready(self, worker: _Worker) -> str | None:
        """Wait for a fresh worker's set-up report; why it failed, or None."""
        if not worker.conn.poll(SETUP_TIMEOUT):
            return f"its worker did not start within {SETUP_TIMEOUT:.0f} s"
        try:
            message = worker.conn.recv()
        except (EOFError, OSError):
            worker.process.join(timeout=5)
            return f"worker process died ({_exit_reason(worker.process.exitcode)})"
        if isinstance(message, Ready):
            worker.ready = True
            self.set_up(worker.backend, message)
            return None
        return message.error

    def close(self) -> None:
        for worker in list(self.workers):
            self.retire(worker)

    def terminate(self) -> None:
        for worker in list(self.workers):
            self.kill(worker)

    # -- the worker-slot state machine's side -----------------------------------------

    def finish(self, worker: _Worker, outcome: TrialOutcome) -> Finished:
        assert worker.job is not None
        placement: dict[str, Any] = {"executor": "local", "node": self.node}
        if worker.gpu_slot is not None:
            placement.update(self.slots[worker.gpu_slot])
        finished = Finished(worker.job, outcome, time.monotonic() - worker.sent_at, placement)
        worker.job = None
        return finished

    def retire(self, worker: _Worker) -> None:
        try:
            worker.conn.send(None)
        except (BrokenPipeError, OSError):
            pass
        worker.process.join(timeout=5)
        if worker.process.is_alive():
            self.kill(worker)
        else:
            self._remove(worker)

    def kill(self, worker: _Worker) -> None:
        worker.process.kill()
        worker.process.join(timeout=10)
        self._remove(worker)

    # -- internals --------------------------------------------------------------------

    def _free_slot(self, backend: str) -> int | None:
        """A GPU slot no live worker holds, after retiring an idle worker if all are held (one of
        another backend than ``backend`` where there is one). The caller has checked
        `has_capacity`, so an idle worker exists when none is free."""
        if len(self.workers) >= self.size:
            idle = [w for w in self.workers if w.job is None]
            self.retire(next((w for w in idle if w.backend != backend), idle[0]))
        if not self.slots:
            return None
        held = {w.gpu_slot for w in self.workers}
        return next(i for i in range(len(self.slots)) if i not in held)

    def _spawn(self, backend: str) -> _Worker:
        slot = self._free_slot(backend)
        gpu = self.slots[slot]["gpu"] if slot is not None else None
        parent, child = self._ctx.Pipe()
        log_path = None
        if self.settings.log_dir is not None:
            self.settings.log_dir.mkdir(parents=True, exist_ok=True)
            log_path = str(self.settings.log_dir / f"worker-{backend}.log")
        calibrate = self.settings.calibrate and backend not in self.calibrations
        process = self._ctx.Process(
            target=worker_main, args=(child, backend, self.settings.plugin_modules, self.settings.threads,
                                      self.settings.device, log_path, calibrate, gpu),
            name=f"bench-worker-{backend}", daemon=True,
        )
        resource_tracker.ensure_running()  # starting it unblocks SIGINT: start it before holding interrupts
        with interrupts_held():  # a Ctrl-C now lands after the worker is known, so the shutdown stops it
            process.start()
            child.close()
            worker = _Worker(backend, process=process, conn=parent, gpu_slot=slot)
            self.workers.append(worker)
        return worker

    def _drain(self, worker: _Worker) -> list[Finished | Progressed]:
        events: list[Finished | Progressed] = []
        while worker.job is not None:
            try:
                if not worker.conn.poll():
                    break
                message = worker.conn.recv()
            except (EOFError, OSError):
                break
            events += self.receive(worker, message)
        if worker.job is not None and not worker.process.is_alive():
            worker.process.join()
            events.append(self.finish(worker, TrialOutcome(
                "failed", epochs=worker.epochs_seen,
                error=f"worker process died ({_exit_reason(worker.process.exitcode)}) during the trial")))
            self._remove(worker)
        return events

    def _remove(self, worker: _Worker) -> None:
        worker.job = None
        worker.conn.close()
        if worker in self.workers:
            self.workers.remove(worker)


def _exit_reason(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


@hookimpl
def bench_executors(register):
    register(ExecutorSpec("local", "worker processes on this machine, reused per backend; GPUs by "
                                   "[execution] gpus and trials_per_gpu", LocalExecutor))
