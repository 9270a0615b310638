"""Tables: a CSV (or TSV) or Parquet file, one sample per row, for the ``mlp`` family.
``label`` names the label column (default ``label``); ``features`` lists the input columns
(default: every other numeric column, then the ``categorical`` ones). Label values become classes
in sorted order.

Columns are typed from the whole file, never from its first rows: a CSV column that mixes numbers
and text is an error naming its first value that is not a number and its line, at validation as
at load, unless the suite declares it ``categorical``. A categorical column is one-hot encoded,
one input per category (its values as text, sorted), and the categories are recorded with every
result. A column of text alone is left out of the default features, and the dataset's source
names it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automl_bench.errors import DataError

from .labels import encode_labels
from .options import Scan

if TYPE_CHECKING:
    from .options import Options


@dataclass(frozen=True)
class Columns:
    """What a table's columns are, as read from the whole file."""

    numeric: tuple[str, ...]  # numeric features, in the order read
    categories: dict[str, list[str]]  # categorical features -> their sorted categories
    left_out: tuple[str, ...]  # text columns not among the features

    @property
    def width(self) -> int:
        """Inputs a model reads: one a numeric column, one a category."""
        return len(self.numeric) + sum(len(c) for c in self.categories.values())


def _is_parquet(path: Path) -> bool:
    return path.suffix.lower() in (".parquet", ".pq")


def _separator(path: Path) -> str:
    return "\t" if path.suffix.lower() == ".tsv" else ","


def _kind(path: Path) -> str:
    return "Parquet" if _is_parquet(path) else "CSV"


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else ""


def _table(path: Path, columns: list[str] | None = None) -> "Any":
    """The whole file (or ``columns`` of it), typed from every row."""
    import pandas as pd

    try:
        if _is_parquet(path):
            return pd.read_parquet(path, columns=columns)
        return pd.read_csv(path, sep=_separator(path), usecols=columns, low_memory=False)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: empty file (no header, no rows)") from None
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: not a readable {_kind(path)} file ({type(exc).__name__}: {_first_line(exc)})") \
            from None


def _header(path: Path) -> "Any":
    """An empty frame with the Parquet schema's types (a CSV is typed only from all its rows)."""
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path).schema_arrow.empty_table().to_pandas()
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable Parquet file ({type(exc).__name__}: {_first_line(exc)})") from None


def _is_number(values: Any) -> bool:
    import pandas as pd

    return bool(pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values))


def _mixed(path: Path, column: str, values: Any) -> DataError | None:
    """The error for a column of text that holds numbers too, or None: its first value that is not
    a number, where it is."""
    import numpy as np
    import pandas as pd

    numbers = pd.to_numeric(values, errors="coerce")
    text = (values.notna() & numbers.isna()).to_numpy()
    counted = int(numbers.notna().sum())
    if counted == 0 or not text.any():
        return None
    first = int(np.flatnonzero(text)[0])
    return DataError(f"{path}: {_row(path, first)}, column {column!r}: {values.iloc[first]!r} is not a number, though "
                     f"{counted} of the column's {int(values.notna().sum())} values are; fix it, or declare the "
                     f"column categorical = [{column!r}] to encode its values as categories")


def _check_names(path: Path, options: "Options", names: list[str]) -> None:
    shown = ", ".join(map(str, names))
    if options.label not in names:
        raise DataError(f"{path}: no label column {options.label!r}; its columns: {shown} "
                        "(name the label column with label = \"COLUMN\")")
    for key in ("features", "categorical"):
        listed = getattr(options, key) or ()
        missing = [c for c in listed if c not in names]
        if missing:
            raise DataError(f"{path}: no column {missing[0]!r} (in {key}); its columns: {shown}")
        if options.label in listed:
            raise DataError(f"{path}: the label column {options.label!r} is also listed in {key}")
    outside = [c for c in options.categorical or () if options.features is not None and c not in options.features]
    if outside:
        raise DataError(f"{path}: categorical column {outside[0]!r} is not in features; list it there too, or leave "
                        "features out to use every numeric column and the categorical ones")


def _refuse_missing(path: Path, column: str, values: Any) -> None:
    """A `DataError` at a column's first missing value: numbers and categories alike need every one."""
    import numpy as np

    missing = values.isna().to_numpy()
    if missing.any():
        raise DataError(f"{path}: {_row(path, int(np.flatnonzero(missing)[0]))}, column {column!r}: missing value "
                        f"({int(missing.sum())} in this column); fill or drop them first")


def _categories(path: Path, column: str, values: Any) -> list[str]:
    _refuse_missing(path, column, values)
    return sorted({str(v) for v in values.tolist()})


def columns_of(options: "Options", frame: Any) -> Columns:
    """The feature columns of ``frame`` (the whole file, or a Parquet file's typed header plus its
    categorical columns), checked: a column that is named but not numeric, or that mixes numbers
    and text, is a `DataError` unless it is categorical."""
    path = Path(options.path)
    names = [str(c) for c in frame.columns]
    _check_names(path, options, names)
    categorical = tuple(options.categorical or ())
    candidates = options.features if options.features is not None else [c for c in names if c != options.label]
    numeric, left_out = [], []
    for c in candidates:
        if c in categorical:
            continue
        values = frame[c]
        if _is_number(values):
            numeric.append(c)
            continue
        mixed = _mixed(path, c, values)
        if mixed is not None:
            raise mixed
        if options.features is not None:
            example = next((v for v in values.tolist() if isinstance(v, str)), values.dtype)
            raise DataError(f"{path}: feature column {c!r} is not numeric (e.g. {example!r}); encode it as numbers, "
                            f"declare it categorical = [{c!r}], or leave it out of features")
        left_out.append(c)
    categories = {c: _categories(path, c, frame[c]) for c in categorical if len(frame)}
    found = Columns(tuple(numeric), categories, tuple(left_out))
    if not found.numeric and not categorical:
        raise DataError(f"{path}: no numeric column besides the label {options.label!r}; list the inputs with "
                        "features = [...], or declare text columns categorical = [...]")
    return found


def _frame_for_scan(options: "Options", path: Path) -> Any:
    """What validation types the columns from: a CSV whole; a Parquet file's schema, with its
    label and categorical columns read."""
    if not _is_parquet(path):
        return _table(path)
    header = _header(path)
    wanted = [c for c in (options.label, *(options.categorical or ())) if c in header.columns]
    if not wanted:
        return header
    read = _table(path, list(dict.fromkeys(wanted)))
    frame = header.reindex(range(len(read)))
    for c in read.columns:
        frame[c] = read[c]
    return frame


def scan(options: "Options") -> Scan:
    import numpy as np

    path = Path(options.path)
    frame = _frame_for_scan(options, path)
    found = columns_of(options, frame)
    labels = frame[options.label]  # there: columns_of checked the names
    if len(labels) == 0:
        raise DataError(f"{path}: a header but no rows")
    if labels.isna().any():
        raise DataError(f"{path}: {_row(path, int(np.flatnonzero(labels.isna().to_numpy())[0]))} has no label "
                        f"(column {options.label!r})")
    y, classes = encode_labels(labels.to_numpy(), f"{path}, column {options.label!r}")
    if len(classes) < 2:
        raise DataError(f"{path}, column {options.label!r}: one class only ({classes[0]!r}); a classification "
                        "dataset needs two or more")
    resolved: tuple[tuple[str, Any], ...] = (("features", (*found.numeric, *found.categories)),)
    if found.categories:
        resolved += (("categories", found.categories),)
    return Scan(files=(path.name,), classes=classes, class_counts=tuple(np.bincount(y).tolist()),
                input_shape=(found.width,), sample_kind="features", resolved=resolved)


def _row(path: Path, index: int) -> str:
    """A data row's place, as a person finds it: the CSV's line (the header is line 1), or Parquet's row."""
    return f"row {index} (0-based)" if _is_parquet(path) else f"line {index + 2}"


def _numbers(path: Path, frame: Any, columns: tuple[str, ...]) -> Any:
    import numpy as np

    for c in columns:
        _refuse_missing(path, c, frame[c])
    return frame[list(columns)].to_numpy(dtype=np.float64)


def _one_hot(frame: Any, categories: dict[str, list[str]]) -> Any:
    import numpy as np

    blocks = []
    for c, known in categories.items():
        codes = {v: i for i, v in enumerate(known)}
        index = np.array([codes[str(v)] for v in frame[c].tolist()], dtype=np.int64)
        blocks.append(np.eye(len(known), dtype=np.float64)[index])
    return np.concatenate(blocks, axis=1) if blocks else np.zeros((len(frame), 0))


def load(options: "Options", found: Scan) -> tuple[Any, Any, None, None, str]:
    import numpy as np

    from .arrays import scale

    path = Path(options.path)
    frame = _frame_for_scan(options, path)
    columns = columns_of(options, frame)
    if _is_parquet(path):  # typed by its schema: read only the columns used
        frame = _table(path, list(dict.fromkeys([*columns.numeric, *columns.categories, options.label])))
    y, _ = encode_labels(frame[options.label].to_numpy(), f"{path}, column {options.label!r}")
    x = np.concatenate([_numbers(path, frame, columns.numeric), _one_hot(frame, columns.categories)], axis=1)
    x, note = scale(x, f"{path}")
    described = [f"features {', '.join(map(str, (*columns.numeric, *columns.categories)))}"]
    if columns.categories:
        described.append("categorical " + ", ".join(f"{c} one-hot over {len(v)} categories"
                                                    for c, v in columns.categories.items()))
    if columns.left_out:
        described.append(f"text columns left out: {', '.join(columns.left_out)}")
    return x, y, None, None, "; ".join(described + ([note] if note else []))
