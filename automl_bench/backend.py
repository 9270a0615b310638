"""What a backend needs besides the root: the model configuration a trial asks for, the epoch
control that ends training, the calibration workload, input helpers and published weights."""

from automl_bench._files.data import as_model_input, augment
from automl_bench._model.calibration import CALIBRATION, CalibrationShape, calibration_data
from automl_bench._model.config import (
    BN_EPSILON,
    BN_MOMENTUM,
    FAMILIES,
    ModelConfig,
    build_config,
    config_dict,
    config_from_dict,
)
from automl_bench._model.published import PUBLISHED, PublishedModel, missing_weights_message, weights_sha256
from automl_bench._model.training import EpochControl

__all__ = [
    "BN_EPSILON",
    "BN_MOMENTUM",
    "CALIBRATION",
    "FAMILIES",
    "PUBLISHED",
    "CalibrationShape",
    "EpochControl",
    "ModelConfig",
    "PublishedModel",
    "as_model_input",
    "augment",
    "build_config",
    "calibration_data",
    "config_dict",
    "config_from_dict",
    "missing_weights_message",
    "weights_sha256",
]
