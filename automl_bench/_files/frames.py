"""Tables: a CSV (or TSV) or Parquet file, one sample per row, for the ``mlp`` family.
``label`` names the label column (default ``label``); ``features`` lists the input columns
(default: every other numeric column). Label values become classes in sorted order.

Validation reads the header and the label column only (Parquet's schema, or the CSV's first rows
for the columns' types); the features are read when the run loads the data, before any trial,
and a non-numeric or missing value there is an error naming its row.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from automl_bench.errors import DataError

from .labels import encode_labels
from .options import Scan

if TYPE_CHECKING:
    from .options import Options

SNIFF_ROWS = 1000  # rows read to type a CSV's columns at validation


def _is_parquet(path: Path) -> bool:
    return path.suffix.lower() in (".parquet", ".pq")


def _separator(path: Path) -> str:
    return "\t" if path.suffix.lower() == ".tsv" else ","


def _head(path: Path) -> "Any":
    """The first rows (CSV) or an empty frame with the schema's types (Parquet)."""
    import pandas as pd

    try:
        if _is_parquet(path):
            import pyarrow.parquet as pq

            return pq.ParquetFile(path).schema_arrow.empty_table().to_pandas()
        return pd.read_csv(path, sep=_separator(path), nrows=SNIFF_ROWS)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: empty file (no header, no rows)") from None
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: not a readable {'Parquet' if _is_parquet(path) else 'CSV'} file "
                        f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from None


def _read(path: Path, columns: list[str]) -> "Any":
    import pandas as pd

    try:
        if _is_parquet(path):
            return pd.read_parquet(path, columns=columns)
        return pd.read_csv(path, sep=_separator(path), usecols=columns)
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: cannot read columns {', '.join(columns)} ({type(exc).__name__}: "
                        f"{str(exc).splitlines()[0] if str(exc) else ''})") from None


def _columns(options: "Options", head: Any) -> list[str]:
    """The feature columns, checked against the header."""
    import pandas as pd

    path = Path(options.path)
    if options.label not in head.columns:
        raise DataError(f"{path}: no label column {options.label!r}; its columns: {', '.join(map(str, head.columns))} "
                        "(name the label column with label = \"COLUMN\")")
    if options.features is not None:
        missing = [c for c in options.features if c not in head.columns]
        if missing:
            raise DataError(f"{path}: no column {missing[0]!r} (in features); its columns: "
                            f"{', '.join(map(str, head.columns))}")
        if options.label in options.features:
            raise DataError(f"{path}: the label column {options.label!r} is also listed in features")
        for c in options.features:
            if not (pd.api.types.is_numeric_dtype(head[c]) or pd.api.types.is_bool_dtype(head[c])):
                example = next((v for v in head[c].tolist() if isinstance(v, str)), head[c].dtype)
                raise DataError(f"{path}: feature column {c!r} is not numeric (e.g. {example!r}); encode it as "
                                "numbers or leave it out of features")
        return list(options.features)
    columns = [c for c in head.columns if c != options.label and pd.api.types.is_numeric_dtype(head[c])]
    if not columns:
        raise DataError(f"{path}: no numeric column besides the label {options.label!r}; list the inputs with "
                        "features = [...]")
    return columns


def scan(options: "Options") -> Scan:
    import numpy as np

    path = Path(options.path)
    head = _head(path)
    columns = _columns(options, head)
    labels = _read(path, [options.label])[options.label]
    if len(labels) == 0:
        raise DataError(f"{path}: a header but no rows")
    if labels.isna().any():
        raise DataError(f"{path}: {_row(path, int(np.flatnonzero(labels.isna().to_numpy())[0]))} has no label "
                        f"(column {options.label!r})")
    y, classes = encode_labels(labels.to_numpy(), f"{path}, column {options.label!r}")
    if len(classes) < 2:
        raise DataError(f"{path}, column {options.label!r}: one class only ({classes[0]!r}); a classification "
                        "dataset needs two or more")
    return Scan(files=(path.name,), classes=classes, class_counts=tuple(np.bincount(y).tolist()),
                input_shape=(len(columns),), sample_kind="features", resolved=(("features", tuple(columns)),))


def _row(path: Path, index: int) -> str:
    """A data row's place, as a person finds it: the CSV's line (the header is line 1), or Parquet's row."""
    return f"row {index} (0-based)" if _is_parquet(path) else f"line {index + 2}"


def load(options: "Options", found: Scan) -> tuple[Any, Any, None, None, str]:
    import numpy as np
    import pandas as pd

    from .arrays import scale

    path = Path(options.path)
    columns = _columns(options, _head(path))
    frame = _read(path, [*columns, options.label])
    for c in columns:
        values = frame[c]
        if not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)):
            numbers = pd.to_numeric(values, errors="coerce")
            bad = int(np.flatnonzero(numbers.isna() & values.notna())[0])
            raise DataError(f"{path}: {_row(path, bad)}, column {c!r}: {values.iloc[bad]!r} is not a number")
        missing = values.isna().to_numpy()
        if missing.any():
            raise DataError(f"{path}: {_row(path, int(np.flatnonzero(missing)[0]))}, column {c!r}: missing value "
                            f"({int(missing.sum())} in this column); fill or drop them first")
    y, _ = encode_labels(frame[options.label].to_numpy(), f"{path}, column {options.label!r}")
    x, note = scale(frame[columns].to_numpy(dtype=np.float64), f"{path}")
    return x, y, None, None, f"features {', '.join(map(str, columns))}" + (f"; {note}" if note else "")
