"""Helpers for dataset plugins and for the host's fixed, stratified splits."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from automl_bench.errors import DataError
from automl_bench.records import Dataset, Splits

if TYPE_CHECKING:
    import numpy as np


def digest(x: "np.ndarray", y: "np.ndarray") -> str:
    """sha256 over the feature and label bytes (shape and dtype included)."""
    import numpy as np

    h = hashlib.sha256()
    for a in (x, y):
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def make_dataset(name: str, x: "np.ndarray", y: "np.ndarray", source: str) -> Dataset:
    """Check and wrap arrays: float32 features in [0, 1], integer labels 0..k-1."""
    import numpy as np

    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y).astype(np.int64)
    if len(x) != len(y) or len(x) == 0:
        raise DataError(f"dataset {name!r}: {len(x)} samples but {len(y)} labels")
    if x.min() < 0 or x.max() > 1:
        raise DataError(f"dataset {name!r}: features must be scaled to [0, 1], found [{x.min()}, {x.max()}]")
    classes = np.unique(y)
    if classes[0] != 0 or classes[-1] != len(classes) - 1:
        raise DataError(f"dataset {name!r}: labels must be 0..k-1, found {classes.tolist()}")
    return Dataset(name=name, x=x, y=y, n_classes=len(classes), source=source, sha256=digest(x, y))


def make_splits(dataset: Dataset, *, val_fraction: float, test_fraction: float, seed: int) -> Splits:
    """Stratified train / validation / test splits, the same for the same seed."""
    import numpy as np
    from sklearn.model_selection import train_test_split

    index = np.arange(len(dataset.y))
    rest, test = train_test_split(index, test_size=test_fraction, stratify=dataset.y, random_state=seed)
    train, val = train_test_split(
        rest, test_size=val_fraction / (1 - test_fraction), stratify=dataset.y[rest], random_state=seed
    )
    x, y = dataset.x, dataset.y
    return Splits(dataset, x[train], y[train], x[val], y[val], x[test], y[test])


def as_model_input(x: "np.ndarray", family: str) -> "np.ndarray":
    """Arrange samples channels-last for a model family, as Keras and the NumPy backend read them:
    mlp (n, features); cnn (n, height, width, channels); rnn (n, steps, features)."""
    if family == "mlp":
        return x.reshape(len(x), -1)
    if family == "cnn" and x.ndim == 3:
        return x[..., None]
    return x
