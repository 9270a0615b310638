"""Worker processes: started with spawn, bound to one backend, reused across trials.

A worker imports its framework once and then serves trial after trial. The parent watches
every worker's pipe and process sentinel in one loop, so a trial that raises, hangs past its
timeout, or kills its process (segfault, out of memory) becomes an outcome, and the worker is
replaced on the next job.

Messages, worker to parent: ``("ready", env)``, ``("setup-failed", error)``,
``("start", key)``, ``("epoch", key, EpochReport)``, ``("done", key, TrialOutcome)``.
Parent to worker: a `TrialRequest`, or ``None`` to stop; and, after each epoch of a trial
whose request says ``prune``, ``"continue"`` or ``"prune"``.
"""

from __future__ import annotations

import ctypes
import errno
import multiprocessing as mp
import os
import signal
import threading
import time
import traceback
from dataclasses import asdict, dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, Sequence

from automl_bench.records import DataRef, EpochReport, Splits, TaskRef, TrialOutcome, TrialRequest

THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
               "TF_NUM_INTEROP_THREADS")
SETUP_TIMEOUT = 300.0  # seconds a worker may take to import its framework
CALIBRATION_REPEATS = 5  # timed runs of a backend's calibration workload, after one to warm up


# =========================================================================== child side


def worker_main(conn: Connection, backend: str, plugin_modules: Sequence[str], threads: int, device: str,
                log_path: str | None = None, calibrate: bool = False) -> None:
    if log_path:  # frameworks write to fds 1 and 2 directly: keep that out of the progress display
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
    die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the parent decides
    for var in THREAD_VARS:  # before any framework is imported
        os.environ[var] = str(threads)
    from automl_bench.manager import get_plugin_manager

    try:
        host = get_plugin_manager(plugin_modules)
        instance = host.backend(backend).factory()
        instance.setup(threads=threads, device=device)
        environment = dict(instance.environment())
        conn.send(("ready", environment, calibration(instance) if calibrate else None))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which records it
        conn.send(("setup-failed", _describe(exc)))
        return
    splits_cache: dict[Any, Any] = {}
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):  # parent went away
            return
        if request is None:
            return
        conn.send(("start", request.key))
        outcome = run_trial(host, instance, request, splits_cache, conn, backend)
        try:
            conn.send(("done", request.key, outcome))
        except (BrokenPipeError, OSError):
            return


def calibration(backend: Any, repeats: int = CALIBRATION_REPEATS) -> dict[str, Any]:
    """Time the backend's calibration workload: ``{"seconds": fastest of repeats}``, ``{"error":
    why}`` if it raised, or ``{}`` if the backend has none. The fastest run is the one least
    disturbed by whatever else the machine was doing (as `timeit` advises)."""
    try:
        workload = backend.calibration_workload()
        if workload is None:
            return {}
        workload()  # warm-up: first-call costs (allocation, kernels, graph tracing) are not the machine's speed
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            workload()
            times.append(time.perf_counter() - t0)
    except Exception as exc:  # noqa: BLE001 - a run goes on without a calibration figure, and records why
        return {"error": _describe(exc)}
    return {"seconds": min(times), "repeats": repeats}


def run_trial(host: Any, backend: Any, request: TrialRequest, cache: dict, conn: Connection | None,
              backend_name: str) -> TrialOutcome:
    """Train and evaluate one configuration; every exception becomes a failed outcome."""
    from automl_bench.models import build_config, check_input

    history: list[EpochReport] = []

    def report(r: EpochReport) -> None:
        history.append(r)
        if conn is not None:
            conn.send(("epoch", request.key, r))
            if request.prune and conn.recv() == "prune":
                raise TrialPruned(r.epoch)

    train_seconds = eval_seconds = 0.0
    data: dict[str, Any] = {}
    t0 = time.perf_counter()
    try:
        task = request.task
        splits = load_splits(host, task.data, task, cache)
        data = describe(splits)
        if task.source is None:
            config = build_config(task.family, request.params, request.max_epochs)
        else:
            from automl_bench.transfer import source_weights, target_config

            config = target_config(request)  # with the source's trunk knobs
            config.trainable_blocks()  # a bad unfreeze_blocks fails here, before any pretraining
        problems = check_input(task.family, splits.input_shape, {k: [v] for k, v in asdict(config).items()},
                               host.dataset(task.dataset).kind)
        if problems:
            raise ValueError(f"task {task.name!r} on {task.dataset!r}: {'; '.join(problems)}")
        extra: dict[str, Any] = {}
        if task.source is not None and config.mode != "scratch":
            source = load_splits(host, task.source.data, task, cache)
            extra["pretrained"], data["pretrained"] = source_weights(backend_name, backend, request, source, describe)
            if conn is not None:
                conn.send(("start", request.key))  # the trial's clock starts again after pretraining
        t0 = time.perf_counter()
        model = backend.fit(data=splits, config=config, seed=request.seed, report=report, **extra)
        t1 = time.perf_counter()
        metrics = {f"val_{k}": float(v) for k, v in backend.evaluate(model, splits.x_val, splits.y_val).items()}
        if request.evaluate_test:
            metrics.update({f"test_{k}": float(v) for k, v in backend.evaluate(model, splits.x_test, splits.y_test).items()})
        t2 = time.perf_counter()
        backend.release(model)
        del model
        train_seconds, eval_seconds = t1 - t0, t2 - t1
    except TrialPruned:
        last = history[-1].metrics
        return TrialOutcome("pruned", metrics={k: v for k, v in last.items() if k.startswith("val_")},
                            epochs=len(history), train_seconds=time.perf_counter() - t0, history=tuple(history),
                            dataset=data)
    except Exception as exc:  # noqa: BLE001 - a failing trial is a result, not a crash
        return TrialOutcome("failed", epochs=len(history), train_seconds=train_seconds,
                            error=_describe(exc), history=tuple(history), dataset=data,
                            infrastructure=is_infrastructure(exc))
    finally:  # ok, pruned or failed: hand what the trial freed back to the OS
        return_freed_memory()
    return TrialOutcome("ok", metrics=metrics, epochs=len(history) or config.epochs,
                        train_seconds=train_seconds, eval_seconds=eval_seconds, history=tuple(history),
                        dataset=data)


def load_splits(host: Any, ref: DataRef, task: TaskRef, cache: dict) -> Splits:
    """A task's splits (some classes, some shots), kept between trials: a worker holds the
    last two datasets and split sets it used (a transfer task's source and target)."""
    from automl_bench.data import make_splits, select_classes, take_shots

    def remember(key: Any, make: Any) -> Any:
        if key not in cache:
            if len([k for k in cache if k[0] == key[0]]) >= 2:
                del cache[next(k for k in cache if k[0] == key[0])]  # oldest of its kind
            cache[key] = make()
        return cache[key]

    dataset = remember(("dataset", ref.dataset, ref.classes), lambda: (
        select_classes(host.dataset(ref.dataset).load(), ref.classes) if ref.classes
        else host.dataset(ref.dataset).load()))
    splits = remember(("splits", ref.dataset, ref.classes, task.val_fraction, task.test_fraction, task.split_seed),
                      lambda: make_splits(dataset, val_fraction=task.val_fraction,
                                          test_fraction=task.test_fraction, seed=task.split_seed))
    return take_shots(splits, ref.shots, task.split_seed) if ref.shots else splits


def describe(splits: Splits) -> dict[str, Any]:
    """What every result row records about its data."""
    ds = splits.dataset
    return {"name": ds.name, "source": ds.source, "sha256": ds.sha256,
            "sizes": [len(splits.y_train), len(splits.y_val), len(splits.y_test)]}


def is_infrastructure(exc: BaseException) -> bool:
    """Whether an exception says the environment failed, not the trial's configuration: data that
    cannot be had, a framework or device that is missing, a full disk."""
    from automl_bench.errors import BackendUnavailableError, DataError

    return isinstance(exc, (DataError, BackendUnavailableError)) or (
        isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT))


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


class TrialPruned(Exception):
    """Raised from the epoch report inside a backend's fit: the parent's pruner said stop."""


def return_freed_memory() -> None:
    """Give memory freed by the last trial back to the OS.

    glibc keeps freed heap pages for reuse, so a worker's resident size wanders upwards
    with large temporary arrays (im2col buffers); ``malloc_trim`` returns them. A no-op
    where the C library has no ``malloc_trim`` (macOS, musl).
    """
    global _malloc_trim
    if _malloc_trim is None:
        try:
            _malloc_trim = ctypes.CDLL(None).malloc_trim
        except (OSError, AttributeError):
            _malloc_trim = False
    if _malloc_trim:
        _malloc_trim(0)


_malloc_trim: Any = None


def _describe(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {os.path.basename(frames[-1].filename)}:{frames[-1].lineno} in {frames[-1].name})" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"


# =========================================================================== parent side


@dataclass
class Job:
    backend: str
    request: TrialRequest
    timeout: float
    context: Any = None  # the runner's own bookkeeping, handed back with the outcome


@dataclass
class _Worker:
    backend: str
    process: Any
    conn: Connection
    job: Job | None = None
    sent_at: float = 0.0  # when the current job was sent
    served: int = 0  # trials finished by this worker
    started_at: float | None = None  # when the current trial began (worker said "start")
    epochs_seen: int = 0


@dataclass(frozen=True)
class Finished:
    job: Job
    outcome: TrialOutcome
    wall_seconds: float = 0.0  # from handing the job to a worker to its result, start-up included


@dataclass(frozen=True)
class Progressed:
    job: Job
    report: EpochReport


class WorkerPool:
    """Up to ``size`` workers; each is bound to one backend and reused while jobs for it come."""

    def __init__(self, size: int, plugin_modules: Sequence[str] = (), threads: int = 1, device: str = "cpu",
                 log_dir: Path | None = None, max_trials_per_worker: dict[str, int | None] | None = None,
                 calibrate: bool = False):
        self.size = size
        self.max_trials_per_worker = max_trials_per_worker or {}  # backend -> limit
        self.log_dir = log_dir
        self.plugin_modules = tuple(plugin_modules)
        self.threads = threads
        self.device = device
        self.workers: list[_Worker] = []
        self.environments: dict[str, dict[str, str]] = {}  # backend -> what its worker reported
        #: backend -> its calibration (`calibration`), timed by the first worker of each backend
        #: when ``calibrate`` is set
        self.calibrations: dict[str, dict[str, Any]] = {}
        self.calibrate = calibrate
        self.unavailable: dict[str, str] = {}  # backend -> why its worker could not start
        self._ctx = mp.get_context("spawn")

    @property
    def busy(self) -> int:
        return sum(1 for w in self.workers if w.job is not None)

    def has_capacity(self) -> bool:
        return self.busy < self.size

    def answer(self, job: Job, prune: bool) -> None:
        """Tell the worker running ``job`` whether to stop after the epoch it just reported."""
        worker = next((w for w in self.workers if w.job is job), None)
        if worker is not None:
            try:
                worker.conn.send("prune" if prune else "continue")
            except (BrokenPipeError, OSError):
                pass  # it died meanwhile; the sentinel reports that

    def submit(self, job: Job) -> Finished | None:
        """Hand a job to a worker; returns a finished failure at once if the backend cannot start."""
        if job.backend in self.unavailable:
            return Finished(job, TrialOutcome("failed", error=self.unavailable[job.backend],
                                              infrastructure=True))  # 0 s: never ran
        for dead in [w for w in self.workers if w.job is None and not w.process.is_alive()]:
            self._remove(dead)
        worker = next((w for w in self.workers if w.job is None and w.backend == job.backend), None)
        if worker is None:
            if len(self.workers) >= self.size:  # retire an idle worker of another backend
                idle = next(w for w in self.workers if w.job is None)
                self._stop(idle)
            worker = self._spawn(job.backend)
        worker.job, worker.sent_at, worker.started_at, worker.epochs_seen = job, time.monotonic(), None, 0
        worker.conn.send(job.request)
        return None

    def poll(self, timeout: float | None) -> list[Finished | Progressed]:
        """Wait up to ``timeout`` seconds for events; enforce trial and setup timeouts."""
        busy = [w for w in self.workers if w.job is not None]
        if not busy:
            return []
        now = time.monotonic()
        deadlines = [self._deadline(w) for w in busy]
        wait_for = max(0.0, min(deadlines) - now)
        if timeout is not None:
            wait_for = min(wait_for, timeout)
        handles: list[Any] = [w.conn for w in busy] + [w.process.sentinel for w in busy]
        wait(handles, timeout=wait_for)
        events: list[Finished | Progressed] = []
        for worker in busy:
            events += self._drain(worker)
        now = time.monotonic()
        for worker in busy:
            if worker.job is not None and now >= self._deadline(worker):
                events.append(self._expire(worker))
        return events

    def warm_up(self, backend: str) -> str | None:
        """Start a worker for ``backend`` and wait until its framework is set up; it then stays,
        idle, for the backend's first trial. Returns why it could not start, or None."""
        if backend in self.unavailable:
            return self.unavailable[backend]
        if any(w.backend == backend and w.process.is_alive() for w in self.workers):
            return None
        if len(self.workers) >= self.size:
            self._stop(next(w for w in self.workers if w.job is None))
        worker = self._spawn(backend)
        reason = None
        if not worker.conn.poll(SETUP_TIMEOUT):
            reason = f"its worker did not start within {SETUP_TIMEOUT:.0f} s"
        else:
            try:
                message = worker.conn.recv()
            except (EOFError, OSError):
                worker.process.join(timeout=5)
                message = ("setup-failed", f"worker process died ({_exit_reason(worker.process.exitcode)})")
            if message[0] == "ready":
                self._ready(backend, message)
                return None
            reason = message[1]
        self._kill(worker)
        return self._cannot_start(backend, reason)

    def close(self) -> None:
        """Stop every worker, letting each finish what it was told."""
        for worker in list(self.workers):
            self._stop(worker)

    def terminate(self) -> None:
        """Kill every worker at once (an interrupted run): a hanging trial is not waited for."""
        for worker in list(self.workers):
            self._kill(worker)

    # -- internals --------------------------------------------------------------------

    def _cannot_start(self, backend: str, reason: str) -> str:
        """Remember that ``backend``'s worker cannot start here, and why; returns the message."""
        self.unavailable[backend] = f"backend {backend!r} could not start: {reason}"
        return self.unavailable[backend]

    def _ready(self, backend: str, message: tuple) -> None:
        self.environments[backend] = message[1]
        if message[2] is not None:
            self.calibrations[backend] = message[2]

    def _spawn(self, backend: str) -> _Worker:
        parent, child = self._ctx.Pipe()
        log_path = None
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            log_path = str(self.log_dir / f"worker-{backend}.log")
        process = self._ctx.Process(
            target=worker_main, args=(child, backend, self.plugin_modules, self.threads, self.device, log_path,
                                      self.calibrate and backend not in self.calibrations),
            name=f"bench-worker-{backend}", daemon=True,
        )
        process.start()
        child.close()
        worker = _Worker(backend, process, parent)
        self.workers.append(worker)
        return worker

    def _deadline(self, worker: _Worker) -> float:
        assert worker.job is not None
        if worker.started_at is None:  # still importing its framework, or about to start
            return worker.sent_at + SETUP_TIMEOUT
        return worker.started_at + worker.job.timeout

    def _drain(self, worker: _Worker) -> list[Finished | Progressed]:
        events: list[Finished | Progressed] = []
        while worker.job is not None:
            try:
                if not worker.conn.poll():
                    break
                message = worker.conn.recv()
            except (EOFError, OSError):
                break
            kind = message[0]
            if kind == "ready":
                self._ready(worker.backend, message)
            elif kind == "setup-failed":
                error = self._cannot_start(worker.backend, message[1])
                events.append(Finished(worker.job, TrialOutcome("failed", error=error, infrastructure=True),
                                       time.monotonic() - worker.sent_at))
                self._remove(worker)
            elif kind == "start":
                worker.started_at = time.monotonic()
            elif kind == "epoch":
                worker.epochs_seen += 1
                events.append(Progressed(worker.job, message[2]))
            elif kind == "done":
                events.append(Finished(worker.job, message[2], time.monotonic() - worker.sent_at))
                worker.job = None
                worker.served += 1
                limit = self.max_trials_per_worker.get(worker.backend)
                if limit is not None and worker.served >= limit:
                    self._stop(worker)  # recycled: the next job for this backend starts a fresh one
        if worker.job is not None and not worker.process.is_alive():
            worker.process.join()
            events.append(Finished(worker.job, TrialOutcome(
                "failed", epochs=worker.epochs_seen,
                error=f"worker process died ({_exit_reason(worker.process.exitcode)}) during the trial",
            ), time.monotonic() - worker.sent_at))
            self._remove(worker)
        return events

    def _expire(self, worker: _Worker) -> Finished:
        job = worker.job
        assert job is not None
        if worker.started_at is None:
            outcome = TrialOutcome("failed", error=f"worker for {worker.backend!r} did not start within "
                                   f"{SETUP_TIMEOUT:.0f} s", infrastructure=True)
        else:
            outcome = TrialOutcome("timeout", epochs=worker.epochs_seen,
                                   train_seconds=time.monotonic() - worker.started_at,
                                   error=f"trial exceeded its timeout of {job.timeout:g} s and was stopped")
        wall = time.monotonic() - worker.sent_at
        self._kill(worker)
        return Finished(job, outcome, wall)

    def _stop(self, worker: _Worker) -> None:
        try:
            worker.conn.send(None)
        except (BrokenPipeError, OSError):
            pass
        worker.process.join(timeout=5)
        if worker.process.is_alive():
            self._kill(worker)
        else:
            self._remove(worker)

    def _kill(self, worker: _Worker) -> None:
        worker.process.kill()
        worker.process.join(timeout=10)
        self._remove(worker)

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

