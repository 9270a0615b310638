"""automl-bench: benchmark neural-network hyperparameter search.

The tree draws the public boundary. A module or package whose name starts with ``_`` is the
host's machinery and may change without notice; everything else is public:

- this root: the hook marker, the bases a plugin's objects implement, the specs a plugin
  registers, the records it receives, and the errors it raises;
- `automl_bench.space`: search spaces and their parameters (strategies);
- `automl_bench.backend`: model configurations, epoch control, calibration and published
  weights (backends);
- `automl_bench.datasets`: building datasets and fetching their files (dataset plugins);
- `automl_bench.executor`: jobs, events and the trial runner (executors);
- `automl_bench.statistics`: per-seed scores, ranks and tests (reports);
- `automl_bench.errors`, `automl_bench.hookspecs` and, for plugin tests, `automl_bench.testing`;
- `automl_bench.runs`: running a suite and reading results from Python, whose `run` and `load`
  this root holds too (``automl_bench.run("suites/ci.toml")``).

Built-in plugins (``automl_bench._plugins``) import only these, so they can do nothing a third
party's could not; `tests/test_public_api.py` keeps them to it and derives the boundary from the
tree. Everything here is light to import: no framework, so ``bench --help`` stays fast.
"""

from __future__ import annotations

from typing import Any

import pluggy

from automl_bench._api.interfaces import Backend, Executor, Pruner, Reporter, Strategy
from automl_bench._api.records import (
    CellKey,
    Dataset,
    EpochReport,
    FinishedTrial,
    Proposal,
    ReportSection,
    RunResults,
    Splits,
)
from automl_bench._api.specs import (
    BackendSpec,
    DatasetSpec,
    ExecutorSpec,
    PrunerSpec,
    ReporterSpec,
    ReportSectionSpec,
    StrategySpec,
)
from automl_bench._version import __version__
from automl_bench.errors import BackendUnavailableError, BenchError, DataError, PluginError, require

#: Marks a function of a plugin module as the implementation of the hook of the same name.
hookimpl = pluggy.HookimplMarker("automl_bench")

__all__ = [
    # the marker
    "hookimpl",
    # bases a plugin's objects implement
    "Backend",
    "Executor",
    "Pruner",
    "Reporter",
    "Strategy",
    # specs a plugin registers
    "BackendSpec",
    "DatasetSpec",
    "ExecutorSpec",
    "PrunerSpec",
    "ReporterSpec",
    "ReportSectionSpec",
    "StrategySpec",
    # records a plugin receives
    "CellKey",
    "Dataset",
    "EpochReport",
    "FinishedTrial",
    "Proposal",
    "ReportSection",
    "RunResults",
    "Splits",
    # errors a plugin raises
    "BackendUnavailableError",
    "BenchError",
    "DataError",
    "PluginError",
    "require",
    # running suites and reading their results from Python (automl_bench.runs)
    "run",
    "load",
    "__version__",
]


def __getattr__(name: str) -> Any:
    """`run` and `load`, from `automl_bench.runs` when first asked for: a plugin imports this root,
    and `bench --help` too, without paying for the Python API."""
    if name in ("run", "load"):
        from automl_bench import runs

        return getattr(runs, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
