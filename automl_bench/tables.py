"""Tables of training runs: what `bench tabulate` writes and replay reads, in Parquet.

A table holds every epoch of every configuration of a design (a grid, or a sample drawn once),
trained on several seeds, one task on one backend: what a tabular benchmark (LCBench, NAS-Bench-201, Syne Tune's
blackbox repository) publishes, made from a run of automl-bench or written by anyone. A file is
one Parquet table (pyarrow), one row per (configuration, seed, epoch):

==================  ===================================================================
column              holds
==================  ===================================================================
``param.<name>``    the configuration: one column per parameter of the space
``seed``            the suite seed of the trial (its cell's); replay picks one of them
``trial_seed``      the seed the backend trained with
``epoch``           1, 2, ... (0 on the one row of a trial that ended before any epoch)
``seconds``         that epoch's wall seconds: its training and the backend's validation
``status``          how the trial ended: ``ok``, ``failed``, ``timeout`` or ``pruned``
each epoch metric   ``val_accuracy``, ``val_loss``, ``train_loss``, ``learning_rate``, ...
``final_val_<m>``   the validation score training ended with (the best epoch's weights
                    where the backend restores them), as the trial recorded it
``test_<metric>``   the configuration's test score when training ended (NaN where the run
                    did not score every trial: ``test_every_trial = true`` does)
``eval_seconds``    the seconds of that final evaluation
==================  ===================================================================

The file's key-value metadata holds, under ``automl_bench``, JSON with the table's provenance
(`Table.provenance`): ``schema_version``; ``task``, ``model`` (the family), ``dataset`` (``name``,
``sha256``, ``sizes``), ``backend``; ``design`` (``grid`` or ``sample``) and ``configurations``;
``space`` (each parameter's ``name``, ``type``, ``values``, ``log``, and a range's ``low`` and
``high``); ``seeds``; ``objective`` (the metric searched, such as ``val_accuracy``); ``suite``
(``name``, ``sha256``); ``environment`` (Python, platform, CPU, package versions, git commit) and
``calibration`` (the backend's calibration figure, seconds); ``missing``, the configurations a grid
lacked when it was written with ``--allow-missing``; ``source`` (``automl-bench`` and its version,
or a converter's name: ``bench tabulate --from lcbench`` converts LCBench's published JSON). A
reader refuses a file whose ``schema_version`` is newer than `SCHEMA_VERSION`. A table need not
hold every combination of its parameters' values (LCBench sampled its configurations, and so do
the sampled tables `bench tabulate` writes): replay then moves each proposal to the nearest
configuration it records.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from automl_bench.errors import DataError, require

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["METADATA_KEY", "PARAM", "SCHEMA_VERSION", "Table", "TableError", "describe", "read_table",
           "write_table"]

#: The table format this version writes, and the newest it reads.
SCHEMA_VERSION = 1
#: The key of the file's metadata that holds the provenance.
METADATA_KEY = b"automl_bench"
#: The prefix of the configuration's columns.
PARAM = "param."


class TableError(DataError):
    """A table file that cannot be read (missing, cut short, not a table, a newer format), or a
    run that cannot be tabulated; the message names the file and what to do."""


@dataclass
class Table:
    """A table: its rows (a pandas DataFrame, columns as the module docstring lists) and its
    provenance (JSON-able)."""

    frame: "pd.DataFrame"
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def params(self) -> list[str]:
        """The space's parameter names, in column order."""
        return [c[len(PARAM):] for c in self.frame.columns if c.startswith(PARAM)]


def write_table(table: Table, path: Path) -> Path:
    """Write ``table`` to ``path`` (Parquet with its provenance), whole or not at all: it is
    written beside the target and renamed into place."""
    pa = require("pyarrow", needed_by="tables", install="pip install pyarrow", error=TableError)
    import pyarrow.parquet as pq

    path = Path(path)
    provenance = {"schema_version": SCHEMA_VERSION, **table.provenance}
    arrow = pa.Table.from_pandas(table.frame, preserve_index=False)
    arrow = arrow.replace_schema_metadata({**(arrow.schema.metadata or {}),
                                           METADATA_KEY: json.dumps(provenance, sort_keys=True).encode()})
    partial = path.with_name(f".{path.name}.partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(arrow, partial)
        os.replace(partial, path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise TableError(f"{path} cannot be written ({exc.strerror or exc})") from None
    return path


def read_table(path: Path) -> Table:
    """Read a table file, checking that it is one: a `TableError` names what is wrong."""
    require("pyarrow", needed_by="tables", install="pip install pyarrow", error=TableError)
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.is_file():
        raise TableError(f"{path}: no such table file (`bench tabulate RESULTS_DIR -o {path}` writes one)")
    try:
        arrow = pq.ParquetFile(path).read()  # one file: not read_table, whose dataset layer takes 0.4 s to import
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise TableError(f"{path} is not a readable Parquet table ({str(exc).splitlines()[0]}): cut short, "
                         "damaged, or another kind of file") from None
    raw = (arrow.schema.metadata or {}).get(METADATA_KEY)
    if raw is None:
        raise TableError(f"{path} is a Parquet file but not an automl-bench table (no '{METADATA_KEY.decode()}' "
                         "metadata): write tables with `bench tabulate`, or as automl_bench.tables documents")
    try:
        provenance = json.loads(raw)
        version = int(provenance["schema_version"])
    except (ValueError, KeyError, TypeError) as exc:
        raise TableError(f"{path}: its automl-bench metadata cannot be read ({exc})") from None
    if version > SCHEMA_VERSION:
        raise TableError(f"{path} is a table of schema version {version}, newer than this automl-bench reads "
                         f"({SCHEMA_VERSION}): upgrade automl-bench")
    frame = arrow.to_pandas()
    missing = [c for c in ("seed", "epoch", "seconds", "status") if c not in frame.columns]
    if missing or not any(c.startswith(PARAM) for c in frame.columns):
        raise TableError(f"{path} lacks the columns {missing or ['param.<name>']} that every table has")
    return Table(frame, provenance)


def describe(table: Table) -> Mapping[str, Any]:
    """A table in a few numbers: configurations, seeds, rows, epochs."""
    frame = table.frame
    configs = frame[[PARAM + p for p in table.params]].drop_duplicates()
    return {"configurations": len(configs), "seeds": sorted(frame["seed"].unique().tolist()), "rows": len(frame),
            "epochs": int(frame["epoch"].max()) if len(frame) else 0}
