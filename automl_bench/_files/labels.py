"""Labels as a user's files hold them (integers or strings) made classes 0..k-1, in a stated
order: sorted, numbers by value and strings alphabetically (as Keras orders class folders)."""

from __future__ import annotations

from typing import Any

from automl_bench.errors import DataError


def encode_labels(values: Any, where: str) -> "tuple[Any, tuple[str, ...]]":
    """``values`` as int64 class indices and the class names in index order; a `DataError`
    naming ``where`` (the file, and key or column) for labels that are neither integers nor strings."""
    import numpy as np

    values = np.asarray(values)
    if values.ndim != 1:
        raise DataError(f"{where}: labels must be one per sample (a 1-d array), found shape {values.shape}")
    if values.dtype.kind == "O":
        kinds = {type(v).__name__ for v in values.tolist()}
        if kinds <= {"str"}:
            values = values.astype(str)
        elif kinds <= {"int"}:
            values = values.astype(np.int64)
    if values.dtype.kind not in "iuUb":
        shown = next((repr(v) for v in values.tolist() if not isinstance(v, (int, str))), repr(values.dtype))
        raise DataError(f"{where}: labels must be integers or strings, found {values.dtype} (e.g. {shown}); "
                        "a float label column usually means a missing value")
    classes, y = np.unique(values, return_inverse=True)
    return y.astype(np.int64), tuple(str(c) for c in classes.tolist())
