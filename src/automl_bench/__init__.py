"""automl-bench: benchmark neural-network hyperparameter search.

A plugin needs only what this module exports: the ``hookimpl`` marker, the spec records it
registers, and the small bases its objects implement.
"""

from __future__ import annotations

import pluggy

from automl_bench.interfaces import Backend, Reporter, Strategy
from automl_bench.records import (
    BackendSpec,
    Dataset,
    DatasetSpec,
    EpochReport,
    FinishedTrial,
    ReporterSpec,
    Splits,
    StrategySpec,
)

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("automl_bench")

__all__ = [
    "Backend",
    "BackendSpec",
    "Dataset",
    "DatasetSpec",
    "EpochReport",
    "FinishedTrial",
    "Reporter",
    "ReporterSpec",
    "Splits",
    "Strategy",
    "StrategySpec",
    "hookimpl",
]
