"""automl-bench: benchmark neural-network hyperparameter search.

A plugin needs only what this module exports: the ``hookimpl`` marker, the spec records it
registers, and the small bases its objects implement.
"""

from __future__ import annotations

import pluggy

from automl_bench.interfaces import Backend, Pruner, Reporter, Strategy
from automl_bench.records import (
    BackendSpec,
    Dataset,
    DatasetSpec,
    EpochReport,
    FinishedTrial,
    PrunerSpec,
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
    "Pruner",
    "PrunerSpec",
    "Reporter",
    "ReporterSpec",
    "Splits",
    "Strategy",
    "StrategySpec",
    "hookimpl",
]
