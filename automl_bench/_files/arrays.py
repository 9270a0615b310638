"""Arrays: an ``.npz`` with ``x`` and ``y`` (or ``x_train``/``y_train`` with optional
``x_val``/``y_val`` and ``x_test``/``y_test``, which then fix those splits), or a ``.npy`` of
features with a ``.npy`` of labels (``labels = "y.npy"``), memory-mapped.

Features are scaled to [0, 1] as the models expect: uint8 values are divided by 255 (pixels);
values already in [0, 1] are kept; anything else is min-max scaled, per column for
vectors and over the whole array for images and sequences, with the range stated in the source.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automl_bench.errors import DataError

from .labels import encode_labels
from .options import Scan

if TYPE_CHECKING:
    from .options import Options

SPLITS = ("train", "val", "test")


def _npz_headers(path: Path) -> dict[str, tuple[tuple[int, ...], Any]]:
    """Each array's shape and dtype in an .npz, read from the headers alone."""
    out = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                if not member.endswith(".npy"):
                    continue
                with archive.open(member) as f:
                    out[member[:-4]] = _header(f)
    except (OSError, zipfile.BadZipFile, ValueError) as exc:
        raise DataError(f"{path}: not a readable .npz ({type(exc).__name__}: {exc})") from None
    return out


def _header(f: Any) -> tuple[tuple[int, ...], Any]:
    """An .npy's shape and dtype, from its header alone."""
    import numpy as np

    version = np.lib.format.read_magic(f)
    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, _, dtype = read(f)
    return shape, dtype


def _npy_header(path: Path) -> tuple[tuple[int, ...], Any]:
    try:
        with open(path, "rb") as f:
            return _header(f)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable .npy ({type(exc).__name__}: {exc})") from None


def _layout(options: "Options") -> tuple[dict[str, tuple[str, str]], dict[str, tuple]]:
    """{split or "": (features key, labels key)} and the headers, checked for completeness."""
    path = Path(options.path)
    if path.suffix.lower() == ".npy":
        if options.labels is None:
            raise DataError(f"{path}: a .npy holds the features only; name the labels' .npy with "
                            "labels = \"FILE.npy\" (or put both in an .npz with keys x and y)")
        headers = {"x": _npy_header(path), "y": _npy_header(Path(options.labels))}
        return {"": ("x", "y")}, headers
    headers = _npz_headers(path)
    keys = set(headers)
    if {"x", "y"} <= keys:
        return {"": ("x", "y")}, headers
    if {"x_train", "y_train"} <= keys:
        layout = {s: (f"x_{s}", f"y_{s}") for s in SPLITS if f"x_{s}" in keys or f"y_{s}" in keys}
        for split, (x, y) in layout.items():
            if x not in keys or y not in keys:
                raise DataError(f"{path}: has {x if x in keys else y} but no {y if x in keys else x}")
        return layout, headers
    raise DataError(f"{path}: an .npz of a dataset holds keys x and y, or x_train and y_train (with optional "
                    f"x_val, y_val, x_test, y_test); this one holds {', '.join(sorted(keys)) or 'no arrays'}")


def _read(options: "Options", key: str, mmap: bool = False) -> Any:
    import numpy as np

    path = Path(options.path)
    if path.suffix.lower() == ".npy":
        return np.load(options.labels if key == "y" else path, mmap_mode="r" if mmap else None, allow_pickle=False)
    try:
        with np.load(path, allow_pickle=False) as held:
            return held[key]
    except ValueError as exc:  # an object array (pickled): not read, for safety
        raise DataError(f"{path}: key {key!r} holds Python objects, which are not read (allow_pickle is off); "
                        f"save numbers or strings ({exc})") from None


def _where(options: "Options", key: str) -> str:
    path = Path(options.path)
    if path.suffix.lower() == ".npy":
        return str(options.labels if key == "y" else path)
    return f"{path}, key {key!r}"


def scan(options: "Options") -> Scan:
    import numpy as np

    layout, headers = _layout(options)
    shapes = {}
    for split, (xk, yk) in layout.items():
        shape, dtype = headers[xk]
        if dtype.kind not in "iufb":
            raise DataError(f"{_where(options, xk)}: features must be numbers, found dtype {dtype}")
        if len(shape) < 2 or len(shape) > 4:
            raise DataError(f"{_where(options, xk)}: shape {shape} is not samples of a shape a model family reads: "
                            "(n, features) for an mlp, (n, height, width[, channels]) for a cnn, (n, steps, "
                            "features) for an rnn")
        if headers[yk][0][:1] != shape[:1]:
            raise DataError(f"{_where(options, xk)} holds {shape[0]} samples but {_where(options, yk)} "
                            f"{headers[yk][0][0] if headers[yk][0] else 'a scalar'} labels: they must be as many")
        shapes[split] = tuple(shape[1:])
    if len(set(shapes.values())) > 1:
        raise DataError(f"{options.path}: the splits' samples differ in shape: "
                        + ", ".join(f"{s or 'all'} {v}" for s, v in shapes.items()))
    labels = [_read(options, yk) for _, (_, yk) in layout.items()]
    y, classes = encode_labels(np.concatenate(labels) if len(labels) > 1 else labels[0],
                               _where(options, next(iter(layout.values()))[1]))
    if len(classes) < 2:
        raise DataError(f"{_where(options, next(iter(layout.values()))[1])}: one class only ({classes[0]!r}); "
                        "a classification dataset needs two or more")
    sample = next(iter(shapes.values()))
    kind = {1: "features", 3: "image"}.get(len(sample))
    files = (Path(options.path).name,)
    return Scan(files=files, classes=classes, class_counts=tuple(np.bincount(y).tolist()), input_shape=sample,
                sample_kind=kind, fixed_splits="" not in layout)


def scale(x: Any, where: str) -> tuple[Any, str]:
    """Features in [0, 1] as float32, and what was done."""
    import numpy as np

    if x.dtype.kind == "f":
        bad = ~np.isfinite(x)
        if bad.any():
            first = int(np.argwhere(bad.reshape(len(x), -1).any(axis=1))[0][0])
            raise DataError(f"{where}: NaN or infinite features, first in sample {first} ({int(bad.sum())} values)")
    if x.dtype == np.uint8:
        return np.asarray(x, dtype=np.float32) / np.float32(255), "uint8 values divided by 255"
    low, high = (float(x.min()), float(x.max())) if x.size else (0.0, 1.0)
    if low >= 0 and high <= 1:
        return np.asarray(x, dtype=np.float32), ""
    if x.ndim == 2:
        lo, hi = x.min(axis=0).astype(np.float64), x.max(axis=0).astype(np.float64)
        span = np.where(hi > lo, hi - lo, 1.0)
        return ((x - lo) / span).astype(np.float32), "features min-max scaled per column over all samples"
    return ((x - low) / (high - low or 1.0)).astype(np.float32), f"features min-max scaled from [{low:g}, {high:g}]"


def load(options: "Options", found: Scan) -> tuple[Any, Any, Any, None, str]:
    import numpy as np

    layout, _ = _layout(options)
    parts = [(_read(options, xk, mmap=True), _read(options, yk), split) for split, (xk, yk) in layout.items()]
    x = parts[0][0] if len(parts) == 1 else np.concatenate([p[0] for p in parts])
    y_raw = parts[0][1] if len(parts) == 1 else np.concatenate([p[1] for p in parts])
    y, _ = encode_labels(y_raw, _where(options, "y"))
    x, note = scale(x, _where(options, next(iter(layout.values()))[0]))
    split = None
    if found.fixed_splits:
        split = np.concatenate([np.full(len(p[1]), SPLITS.index(p[2]), dtype=np.int8) for p in parts])
    return x, y, split, None, note
