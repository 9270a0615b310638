"""Preflight: before the first trial, check what can be known up front, once.

- The results directory can be written and its disk has room for the store.
- Every dataset a cell with work left trains on loads (or is found in its cache), and the
  task's classes and shots can be drawn from it: the same code the workers run, once.
- Every backend with work left starts a worker on the run's executor (its framework imports,
  and a GPU exists where ``device = "cuda"``); that worker stays for the backend's first trial.
  The first backend's worker is started before the datasets load (`Executor.start`), so that
  its set-up and theirs overlap.

A cell that cannot run is reported once with the reason, and nothing is recorded for it.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from automl_bench._api.records import CellKey
from automl_bench.errors import BenchError, PreflightError

if TYPE_CHECKING:
    from automl_bench._api.interfaces import Executor
    from automl_bench._manager import Host

#: Room a run needs on the results disk: the store grows by a few kilobytes a trial, and SQLite
#: needs room for its write-ahead log and checkpoints.
MIN_FREE_BYTES = 64 * 2**20


def check_directory(directory: Path) -> None:
    """Raise `PreflightError` unless ``directory`` can be created and written, with room to spare."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".bench-write-check-"):
            pass
    except OSError as exc:
        raise PreflightError(f"cannot write results to {directory}: {exc.strerror or exc}; "
                             "choose a writable directory with --out") from None
    free = shutil.disk_usage(directory).free
    if free < MIN_FREE_BYTES:
        raise PreflightError(f"only {free / 2**20:.0f} MiB free on the disk of {directory} (a run needs "
                             f"{MIN_FREE_BYTES // 2**20} MiB); free some space or choose another disk with --out")


def check_cells(host: "Host", cells: Iterable[Any], pool: "Executor") -> dict[CellKey, str]:
    """Why each cell that cannot run cannot run. ``cells`` are the driver's cells with work left."""
    cells = list(cells)
    backends = list(dict.fromkeys(c.key.backend for c in cells))
    if backends:  # the first warmed (below) starts setting up now, while the datasets load here
        pool.start(backends[-1])
    blocked: dict[CellKey, str] = {}
    data_problems: dict[Any, str | None] = {}
    cache: dict[Any, Any] = {}
    for cell in cells:
        ref = cell.task_ref
        if ref.table:  # a replayed table: read when the suite was validated, and by each worker
            continue
        refs = [ref.data] + ([ref.source.data] if ref.source is not None and ref.source.data is not None else [])
        for data in refs:
            key = (data, ref.val_fraction, ref.test_fraction, ref.split_seed)
            if key not in data_problems:
                data_problems[key] = _data_problem(host, data, ref, cache)
            if data_problems[key] is not None and cell.key not in blocked:
                blocked[cell.key] = data_problems[key]
    cache.clear()
    wanted = dict.fromkeys(c.key.backend for c in cells if c.key not in blocked)
    for backend in reversed(list(wanted)):  # the last one warmed is the first one used, and stays
        problem = pool.warm_up(backend)
        for cell in cells:
            if problem is not None and cell.key.backend == backend:
                blocked.setdefault(cell.key, problem)
    return blocked


def _data_problem(host: "Host", data: Any, task: Any, cache: dict) -> str | None:
    from automl_bench._run.trials import load_splits

    try:
        load_splits(host, data, task, cache)
    except Exception as exc:  # noqa: BLE001 - reported, with its message, as the reason the cell cannot run
        return str(exc) if isinstance(exc, BenchError) else f"{type(exc).__name__}: {exc}"
    return None


def describe(blocked: dict[CellKey, str]) -> str:
    """One paragraph per reason, naming the cells it blocks, then what to do (a run that goes on
    with --keep-going reports its blocked cells as not run instead)."""
    by_reason: dict[str, list[CellKey]] = {}
    for key, reason in blocked.items():
        by_reason.setdefault(reason, []).append(key)
    lines = []
    for reason, keys in by_reason.items():
        names = ", ".join(str(k) for k in keys[:3]) + (f" and {len(keys) - 3} more" if len(keys) > 3 else "")
        lines.append(f"{len(keys)} cell{'s' if len(keys) != 1 else ''} cannot run: {reason}\n  ({names})")
    them = "them" if len(blocked) > 1 else "it"
    return "\n".join(lines) + (f"\nNothing was recorded for {them}: fix this and rerun the same command; or "
                               "rerun with --keep-going to run the other cells meanwhile")
