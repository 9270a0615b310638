"""Every hook automl-bench calls, grouped by phase. This file is the hook reference.

Hooks are called with keyword arguments only, and an implementation may take fewer
arguments than its spec, so specs can grow without breaking plugins. Registration hooks
hand small frozen records (name, summary, factory) to a ``register`` callback: nothing is
imported or built until a suite uses the component.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Mapping

import pluggy

if TYPE_CHECKING:
    from automl_bench.records import (
        BackendSpec,
        DatasetSpec,
        FinishedTrial,
        PrunerSpec,
        ReporterSpec,
        StrategySpec,
    )
    from automl_bench.results import RunResults

hookspec = pluggy.HookspecMarker("automl_bench")


# --------------------------------------------------------------------------- registration


@hookspec
def bench_backends(register: Callable[["BackendSpec"], None]) -> None:
    """Register training backends by calling ``register(BackendSpec(...))``.

    Called whenever the host needs the list of backends: when validating a suite, listing
    plugins, and once in each worker process.
    """


@hookspec
def bench_strategies(register: Callable[["StrategySpec"], None]) -> None:
    """Register search strategies by calling ``register(StrategySpec(...))``.

    Called whenever the host needs the list of strategies.
    """


@hookspec
def bench_datasets(register: Callable[["DatasetSpec"], None]) -> None:
    """Register datasets by calling ``register(DatasetSpec(...))``.

    Called whenever the host needs the list of datasets. A task in a suite names one of
    them together with a model family.
    """


@hookspec
def bench_reporters(register: Callable[["ReporterSpec"], None]) -> None:
    """Register reporters by calling ``register(ReporterSpec(...))``.

    Called when a run ends, to write its results.
    """


@hookspec
def bench_pruners(register: Callable[["PrunerSpec"], None]) -> None:
    """Register pruners by calling ``register(PrunerSpec(...))``.

    Called whenever the host needs the list of pruners. A suite pairs a pruner with a
    strategy as ``"strategy+pruner"`` in ``matrix.strategies``.
    """


# --------------------------------------------------------------------------- events


@hookspec
def bench_on_trial_end(cell: Mapping[str, Any], trial: "FinishedTrial", metrics: Mapping[str, float]) -> None:
    """Called in the main process each time a trial's result has been recorded.

    ``cell`` names the task, backend, strategy and seed. Useful for live logging.
    """


@hookspec
def bench_on_run_end(results: "RunResults") -> None:
    """Called once when a run has finished every cell and written its reports."""
