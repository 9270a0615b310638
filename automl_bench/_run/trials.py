"""Running trials in the process that trains them: the part of every executor that is not
about processes. A `TrialRunner` sets up one backend once and then runs trial after trial,
turning whatever a trial does (raises, runs out of GPU memory, reports NaN) into a
`TrialOutcome`. The local executor's worker processes and the Ray executor's actors each hold
one; so can a third party's executor.
"""

from __future__ import annotations

import ctypes
import errno
import os
import time
import traceback
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from automl_bench._api.records import DataRef, EpochReport, Splits, TaskRef, TrialOutcome, TrialRequest
from automl_bench._model.cost import Meter, count, device_bytes, gpu_index, measure_latency

if TYPE_CHECKING:
    from automl_bench._api.interfaces import Backend
    from automl_bench._manager import Host
    from automl_bench._model.config import ModelConfig

#: Environment variables that set a framework's CPU threads: set before it is imported.
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
               "TF_NUM_INTEROP_THREADS")
CALIBRATION_REPEATS = 5  # timed runs of a backend's calibration workload, after one to warm up
#: GPU memory a trial may leave held (after `Backend.release`) before its process is replaced.
LEAK_BYTES = 16 * 2**20


class TrialRunner:
    """One backend, set up in this process, running trials one after another.

    Building it sets the thread variables, loads the plugins (entry points and
    ``plugin_modules``), builds the backend and calls its ``setup``; a missing framework or GPU
    raises here (`BackendUnavailableError`), before any trial. Build it where trials run: in a
    worker process, a Ray actor, a batch job.
    """

    def __init__(self, backend: str, plugin_modules: Sequence[str] = (), *, threads: int = 1, device: str = "cpu"):
        for var in THREAD_VARS:  # before any framework is imported
            os.environ[var] = str(threads)
        from automl_bench._manager import get_plugin_manager

        self.name = backend
        self.host = get_plugin_manager(plugin_modules)
        self.backend = self.host.backend(backend).factory()
        self.backend.setup(threads=threads, device=device)
        #: what every row of this backend records (`Backend.environment`)
        self.environment: dict[str, str] = dict(self.backend.environment())
        self._gpu = gpu_index() if self.environment.get("device", "").startswith("cuda") else None
        self._cache: dict[Any, Any] = {}
        # What every trial's data splits need, imported during set-up (a second or more) rather
        # than inside the first trial, where it counted against that trial's timeout. A backend
        # that replays tables reads no data, and a worker whose driver hands it the splits
        # (`automl_bench._run.handoff`) computes none.
        from automl_bench._run import handoff as _handoff
        if not self.host.backends()[backend].replays and not _handoff.active():
            import sklearn.model_selection  # noqa: F401

    def calibration(self, repeats: int = CALIBRATION_REPEATS) -> dict[str, Any]:
        """Time the backend's calibration workload: ``{"seconds": fastest of repeats on the wall
        clock, "cpu_seconds": fastest in the process's CPU time}``, ``{"error": why}`` if it
        raised, or ``{}`` if the backend has none. The fastest run is the one least disturbed by
        whatever else the machine was doing (as `timeit` advises)."""
        try:
            workload = self.backend.calibration_workload()
            if workload is None:
                return {}
            workload()  # warm-up: first-call costs (allocation, kernels, graph tracing) are not the machine's speed
            wall, cpu = [], []
            for _ in range(repeats):
                t0, c0 = time.perf_counter(), time.process_time()
                workload()
                wall.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
        except Exception as exc:  # noqa: BLE001 - a run goes on without a calibration figure, and records why
            return {"error": _describe(exc)}
        return {"seconds": min(wall), "cpu_seconds": min(cpu), "repeats": repeats}

    def run(self, request: TrialRequest, *, on_start: Callable[[], None] | None = None,
            on_epoch: Callable[[EpochReport], bool] | None = None) -> TrialOutcome:
        """Train and evaluate ``request``'s configuration; every exception becomes an outcome.

        ``on_start`` is called when the trial's clock starts (and again after a transfer task's
        source model is pretrained): a timeout counts from there. ``on_epoch`` is called after
        each epoch; when the request says ``prune`` and it returns True, the trial stops there,
        pruned.
        """
        held = device_bytes(self.backend.device_memory)
        outcome = run_trial(self.host, self.backend, request, self._cache, self.name, on_start, on_epoch,
                            gpu=self._gpu)
        if outcome.replace_worker:
            return outcome
        left = device_bytes(self.backend.device_memory)
        if held is not None and left is not None and left - held > LEAK_BYTES:
            return replace(outcome, replace_worker=f"the trial left {(left - held) / 2**20:.0f} MiB of GPU memory "
                                                   "held after release")
        return outcome


def run_trial(host: "Host", backend: "Backend", request: TrialRequest, cache: dict, backend_name: str,
              on_start: Callable[[], None] | None = None,
              on_epoch: Callable[[EpochReport], bool] | None = None, *, gpu: int | None = None) -> TrialOutcome:
    """Train and evaluate one configuration; every exception becomes a failed outcome. ``gpu``:
    the index NVML knows the trial's GPU by (its energy is read), None on the CPU."""
    history: list[EpochReport] = []
    last = [0.0, 0.0]  # when the previous epoch ended (or training began): wall and process CPU seconds

    def report(r: EpochReport) -> None:
        # each epoch's wall seconds, its validation pass included (what replay replays), and the
        # process's CPU seconds over it, every thread's: less moved by a busy machine than wall time
        now, cpu = time.perf_counter(), time.process_time()
        if "seconds" not in r.metrics:  # a replayed epoch brings its recorded seconds
            r = EpochReport(r.epoch, {**r.metrics, "seconds": now - last[0], "cpu_seconds": cpu - last[1]})
        last[0], last[1] = now, cpu
        history.append(r)
        if on_epoch is not None and on_epoch(r) and request.prune:
            raise TrialPruned(r.epoch)

    if on_start is not None:
        on_start()
    train_seconds = eval_seconds = 0.0
    data: dict[str, Any] = {}
    trained = True
    t0 = time.perf_counter()
    try:
        task = request.task
        if task.table:  # replayed: nothing is trained, nothing to free
            data = _table_data(task.table, cache)
            trained = False
            return _replay(backend, request, cache, report, history, data)
        splits = load_splits(host, task.data, task, cache)
        data = describe(splits)
        config = _checked_config(host, request, splits)
        extra: dict[str, Any] = {}
        if task.source is not None and config.mode != "scratch":
            extra["pretrained"], data["pretrained"] = _pretrained(host, backend, backend_name, request, cache)
            if on_start is not None and not task.source.weights:
                on_start()  # the trial's clock starts again after pretraining
        meter = Meter(backend, gpu=gpu) if request.measure_cost else None
        if meter is not None:
            meter.start()
        t0 = last[0] = time.perf_counter()
        last[1] = time.process_time()
        model = backend.fit(data=splits, config=config, seed=request.seed, report=report, **extra)
        t1 = time.perf_counter()
        metrics = {f"val_{k}": float(v) for k, v in backend.evaluate(model, splits.x_val, splits.y_val).items()}
        if request.evaluate_test:
            metrics.update({f"test_{k}": float(v) for k, v in backend.evaluate(model, splits.x_test, splits.y_test).items()})
        t2 = time.perf_counter()
        cost: dict[str, Any] = count(backend, model)
        if meter is not None:  # after the clocks above: measuring costs no trial its seconds
            cost.update(meter.stop())
            cost.update(measure_latency(backend, model, splits.x_val, config.batch_size, t1 - t0))
        model_file = str(_export(backend, model, config, request.save_model)) if request.save_model else ""
        backend.release(model)
        del model
        train_seconds, eval_seconds = t1 - t0, t2 - t1
    except TrialPruned:
        last = history[-1].metrics
        seconds = _recorded_seconds(history) if request.task.table else time.perf_counter() - t0
        return TrialOutcome("pruned", metrics={k: v for k, v in last.items() if k.startswith("val_")},
                            epochs=len(history), train_seconds=seconds, history=tuple(history),
                            dataset=data)
    except Exception as exc:  # noqa: BLE001 - a failing trial is a result, not a crash
        oom = is_gpu_out_of_memory(exc)
        return TrialOutcome("failed", epochs=len(history), train_seconds=train_seconds,
                            error=("GPU out of memory: " if oom else "") + _describe(exc), history=tuple(history),
                            dataset=data, infrastructure=is_infrastructure(exc),
                            replace_worker="the trial ran out of GPU memory" if oom else "")
    finally:  # ok, pruned or failed: hand what the trial freed back to the OS
        if trained:
            return_freed_memory()
    return TrialOutcome("ok", metrics=metrics, epochs=len(history) or config.epochs,
                        train_seconds=train_seconds, eval_seconds=eval_seconds, history=tuple(history),
                        dataset=data, model_file=model_file, cost=cost)


def _checked_config(host: "Host", request: TrialRequest, splits: Any) -> Any:
    """The trial's model configuration (a transfer task's with its source's trunk knobs), checked
    against the data it will read: a configuration that cannot train fails here, before any
    pretraining or training."""
    from automl_bench._model.checks import check_input
    from automl_bench._model.config import build_config

    task = request.task
    if task.source is None:
        config = build_config(task.family, request.params, request.max_epochs)
    else:
        from automl_bench._run.transfer import target_config

        config = target_config(request)
        config.trainable_blocks()  # a bad unfreeze_blocks fails here
    kind = host.dataset(task.dataset).kind
    if config.published:  # the trunk is a published network: it reads images of any size
        from automl_bench._model.published import check_source

        problems = [p for p in [check_source(config.published, splits.input_shape, kind, config.input_size or None)]
                    if p]
    else:
        problems = check_input(task.family, splits.input_shape, {k: [v] for k, v in asdict(config).items()}, kind)
    if problems:
        raise ValueError(f"task {task.name!r} on {task.dataset!r}: {'; '.join(problems)}")
    return config


def _pretrained(host: "Host", backend: "Backend", backend_name: str, request: TrialRequest,
                cache: dict) -> tuple[Any, Any]:
    """A transfer trial's starting weights and what the run records of them: a published
    network's file, or the source model pretrained once on the source data (and cached)."""
    source = request.task.source
    if source.weights:
        file, described = backend.published_weights(source.weights, source.weights_file or None)
        return Path(file), described
    from automl_bench._run.transfer import source_weights

    splits = load_splits(host, source.data, request.task, cache)
    return source_weights(backend_name, backend, request, splits, describe)


def _replay(backend: "Backend", request: TrialRequest, cache: dict, report: Callable[[EpochReport], None],
            history: list[EpochReport], data: dict[str, Any]) -> TrialOutcome:
    """A replay task's trial: its backend reads the configuration's curve from the task's table;
    the trial's seconds are the recorded ones; ``data`` is what its row records of its data."""
    path = request.task.table
    metrics = dict(backend.replay(_load_table(path, cache), request.params, request.seed, report,
                                  max_epochs=request.max_epochs, evaluate_test=request.evaluate_test,
                                  suite_seed=request.suite_seed))
    eval_seconds = float(metrics.pop("eval_seconds", 0.0))
    return TrialOutcome("ok", metrics=metrics, epochs=len(history), train_seconds=_recorded_seconds(history),
                        eval_seconds=eval_seconds, history=tuple(history), dataset=data)


def _recorded_seconds(history: Sequence[EpochReport]) -> float:
    return float(sum(r.metrics.get("seconds", 0.0) for r in history))


def _load_table(path: str, cache: dict) -> Any:
    """A table, read once per process."""
    from automl_bench.tables import read_table

    if ("table", path) not in cache:
        cache[("table", path)] = read_table(Path(path))
    return cache[("table", path)]


def _table_data(path: str, cache: dict) -> dict[str, Any]:
    """What a replayed trial's row records of its data: the table's dataset and the table file."""
    import hashlib

    key = ("table-data", path)
    if key not in cache:
        dataset = dict(_load_table(path, cache).provenance.get("dataset", {}))
        cache[key] = {**dataset, "table": path, "table_sha256": hashlib.sha256(Path(path).read_bytes()).hexdigest()}
    return dict(cache[key])


def _export(backend: "Backend", model: Any, config: "ModelConfig", stem: str) -> Path | str:
    """Save the trained model where the request asks; "" from a backend that cannot save models."""
    path = Path(stem)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return backend.export(model, config, path)
    except NotImplementedError:
        return ""


def load_splits(host: "Host", ref: DataRef, task: TaskRef, cache: dict) -> Splits:
    """A task's splits (some classes, some shots), kept between trials: a worker holds the
    last two datasets and split sets it used (a transfer task's source and target)."""
    from automl_bench._files.data import select_classes, split_indices, splits_at, take_shots
    from automl_bench._run import handoff as _handoff

    def remember(key: Any, make: Any) -> Any:
        if key not in cache:
            if len([k for k in cache if k[0] == key[0]]) >= 2:
                del cache[next(k for k in cache if k[0] == key[0])]  # oldest of its kind
            cache[key] = make()
        return cache[key]

    def split() -> Splits:
        handed = _handoff.read(ref, task)  # a worker whose driver loaded these already
        if handed is not None:
            return handed
        dataset = remember(("dataset", ref.dataset, ref.classes), lambda: (
            select_classes(host.dataset(ref.dataset).load(), ref.classes) if ref.classes
            else host.dataset(ref.dataset).load()))
        indices = split_indices(dataset.y, val_fraction=task.val_fraction, test_fraction=task.test_fraction,
                                seed=task.split_seed, fixed=dataset.split)
        _handoff.write(ref, task, dataset, indices)  # the driver, for its workers
        return splits_at(dataset, indices)

    splits = remember(("splits", ref.dataset, ref.classes, task.val_fraction, task.test_fraction, task.split_seed),
                      split)
    return take_shots(splits, ref.shots, task.split_seed) if ref.shots else splits


def describe(splits: Splits) -> dict[str, Any]:
    """What every result row records about its data."""
    ds = splits.dataset
    return {"name": ds.name, "source": ds.source, "sha256": ds.sha256,
            "sizes": [len(splits.y_train), len(splits.y_val), len(splits.y_test)],
            **({"files": ds.files} if ds.files else {})}


def is_infrastructure(exc: BaseException) -> bool:
    """Whether an exception says the environment failed, not the trial's configuration: data that
    cannot be had, a framework or device that is missing, a full disk."""
    from automl_bench.errors import BackendUnavailableError, DataError

    return isinstance(exc, (DataError, BackendUnavailableError)) or (
        isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT))


def is_gpu_out_of_memory(exc: BaseException) -> bool:
    """Whether an exception says a GPU ran out of memory: PyTorch's ``OutOfMemoryError``,
    TensorFlow's ``ResourceExhaustedError``, or a framework's message saying so. (The CPU's
    ``MemoryError`` is not: a trial that asked for too much host memory says so itself.)"""
    if type(exc).__name__ in ("OutOfMemoryError", "ResourceExhaustedError"):
        return True
    text = str(exc).lower()
    return "out of memory" in text and any(word in text for word in ("cuda", "gpu", "device"))


class TrialPruned(Exception):
    """Raised from the epoch report inside a backend's fit: the driver's pruner said stop."""


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


