"""Every hook automl-bench calls, grouped by phase. This file is the hook reference.

Hooks are called with keyword arguments only, and an implementation may take fewer
arguments than its spec, so specs can grow without breaking plugins. Registration hooks
hand small frozen records (name, summary, factory) to a ``register`` callback: nothing is
imported or built until a suite uses the component.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Mapping

import pluggy

if TYPE_CHECKING:  # from where they are defined: the root imports the host, which imports this
    from automl_bench._records import CellKey, FinishedTrial, RunResults
    from automl_bench._specs import (
        BackendSpec,
        DatasetSpec,
        ExecutorSpec,
        PrunerSpec,
        ReporterSpec,
        ReportSectionSpec,
        StrategySpec,
    )

hookspec = pluggy.HookspecMarker("automl_bench")


# --------------------------------------------------------------------------- registration


@hookspec
def bench_backends(register: Callable[["BackendSpec"], None]) -> None:
    """Register training backends by calling ``register(BackendSpec(...))``.

    Called once per plugin host: in the main process when a suite is validated or plugins
    are listed, and once in each worker process.
    """


@hookspec
def bench_strategies(register: Callable[["StrategySpec"], None]) -> None:
    """Register search strategies by calling ``register(StrategySpec(...))``.

    Called once per plugin host, when a suite or `bench plugins` first needs strategies.
    """


@hookspec
def bench_datasets(register: Callable[["DatasetSpec"], None]) -> None:
    """Register datasets by calling ``register(DatasetSpec(...))``.

    Called once per plugin host, when datasets are first needed. A task in a suite names one of
    them together with a model family.
    """


@hookspec
def bench_reporters(register: Callable[["ReporterSpec"], None]) -> None:
    """Register reporters by calling ``register(ReporterSpec(...))``.

    Called once per plugin host, when reporters are first needed (when a run ends).
    """


@hookspec
def bench_pruners(register: Callable[["PrunerSpec"], None]) -> None:
    """Register pruners by calling ``register(PrunerSpec(...))``.

    Called once per plugin host, when pruners are first needed. A suite pairs a pruner with a
    strategy as ``"strategy+pruner"`` in ``matrix.strategies``.
    """


@hookspec
def bench_report_sections(register: Callable[["ReportSectionSpec"], None]) -> None:
    """Register sections of the report by calling ``register(ReportSectionSpec(...))``.

    Called once per plugin host, when a report is written (`bench report`, or the end of
    `bench run`). The built-in sections (leaderboard, ranks and tests, anytime curves, learning
    curves, transfer, backend speed) register through this hook too.
    """


@hookspec
def bench_executors(register: Callable[["ExecutorSpec"], None]) -> None:
    """Register executors by calling ``register(ExecutorSpec(...))``.

    Called once per plugin host, when a run starts or `bench plugins` lists them. A suite picks
    one with ``[execution] executor = "NAME"`` (``bench run --executor NAME`` overrides it). The
    built-in ``local`` (worker processes on this machine, the default) and ``ray`` executors
    register through this hook too.
    """


# --------------------------------------------------------------------------- events


@hookspec
def bench_on_trial_end(cell: "CellKey", trial: "FinishedTrial", metrics: Mapping[str, float]) -> None:
    """Called in the main process each time a trial's result has been recorded.

    ``cell`` names the task, backend, strategy and seed. Useful for live logging.
    """


@hookspec
def bench_on_run_end(results: "RunResults") -> None:
    """Called once when a run has finished every cell and written its reports."""
