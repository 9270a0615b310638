"""The calibration workload: one small MLP every backend trains the same way, so that the
figures of two frameworks (and two machines) measure the same work."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CalibrationShape:
    """The one workload every backend's `Backend.calibration_workload` trains, so that the
    figures of two frameworks measure the same work: an MLP ``inputs`` -> ``hidden`` x ``layers``
    (ReLU) -> ``classes``, trained with plain SGD (learning rate 0.01) on ``steps`` batches of
    ``batch`` rows of `calibration_data`, one pass per call, in float32."""

    inputs: int = 64
    hidden: int = 256
    layers: int = 2
    classes: int = 10
    batch: int = 64
    steps: int = 32


CALIBRATION = CalibrationShape()


def calibration_data(shape: CalibrationShape = CALIBRATION) -> tuple[Any, Any]:
    """The calibration workload's inputs (float32, ``steps * batch`` x ``inputs``) and integer
    labels, the same on every machine."""
    import numpy as np

    rng = np.random.default_rng(0)
    rows = shape.steps * shape.batch
    return (rng.standard_normal((rows, shape.inputs)).astype(np.float32),
            rng.integers(0, shape.classes, rows).astype(np.int64))
