"""automl-bench: benchmark neural-network hyperparameter search.

This module is the whole public API. A plugin, ours or a third party's, imports only what
is exported here (and, in its tests, `automl_bench.testing`); every other module of the
package is the host's internals and may change without notice. `tests/test_public_api.py`
fails when a built-in plugin imports anything else.

Everything here is light to import: numpy is imported inside the helpers that need it, and no
framework is imported at all, so ``bench --help`` stays fast however many plugins are installed.
"""

from __future__ import annotations

import pluggy

from automl_bench.data import as_model_input, augment, make_dataset
from automl_bench.downloads import RemoteFile, data_root, fetch
from automl_bench.errors import BackendUnavailableError, BenchError, DataError, PluginError, require
from automl_bench.gpus import detect_gpus
from automl_bench.interfaces import Backend, Executor, Pruner, Reporter, Strategy
from automl_bench.models import (
    BN_EPSILON,
    BN_MOMENTUM,
    CALIBRATION,
    FAMILIES,
    CalibrationShape,
    ModelConfig,
    build_config,
    calibration_data,
    config_dict,
    config_from_dict,
)
from automl_bench.published import (
    IMAGENET_BGR_MEAN,
    PUBLISHED,
    PublishedModel,
    missing_weights_message,
    published_input_size,
    weights_sha256,
)
from automl_bench.records import (
    BackendSpec,
    CellKey,
    Dataset,
    DatasetSpec,
    EpochReport,
    ExecutionSettings,
    ExecutorSpec,
    Finished,
    FinishedTrial,
    Job,
    Progressed,
    PrunerSpec,
    ReporterSpec,
    ReportSection,
    ReportSpec,
    RunResults,
    Splits,
    StrategySpec,
    TrialOutcome,
    TrialRequest,
)
from automl_bench.space import CategoricalParam, Condition, FixedParam, FloatParam, IntParam, SearchSpace
from automl_bench.training import EpochControl
from automl_bench.trials import TrialRunner

__version__ = "0.1.0"

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
    # records a plugin registers
    "BackendSpec",
    "DatasetSpec",
    "ExecutorSpec",
    "PrunerSpec",
    "ReporterSpec",
    "ReportSpec",
    "StrategySpec",
    # records a plugin receives
    "CellKey",
    "Dataset",
    "EpochReport",
    "FinishedTrial",
    "ModelConfig",
    "ReportSection",
    "RunResults",
    "Splits",
    # search spaces
    "CategoricalParam",
    "Condition",
    "FixedParam",
    "FloatParam",
    "IntParam",
    "SearchSpace",
    # helpers for backends
    "BN_EPSILON",
    "BN_MOMENTUM",
    "CALIBRATION",
    "CalibrationShape",
    "FAMILIES",
    "EpochControl",
    "as_model_input",
    "augment",
    "PUBLISHED",
    "PublishedModel",
    "IMAGENET_BGR_MEAN",
    "published_input_size",
    "missing_weights_message",
    "weights_sha256",
    "build_config",
    "config_dict",
    "config_from_dict",
    "calibration_data",
    # helpers for datasets
    "RemoteFile",
    "data_root",
    "fetch",
    "make_dataset",
    # for executors
    "ExecutionSettings",
    "Finished",
    "Job",
    "Progressed",
    "TrialOutcome",
    "TrialRequest",
    "TrialRunner",
    "detect_gpus",
    # errors a plugin raises
    "BackendUnavailableError",
    "BenchError",
    "DataError",
    "PluginError",
    "require",
    "__version__",
]
