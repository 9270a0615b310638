"""Data splits handed from the driver to its workers on the same machine.

Preflight loads every dataset a run needs in the driver process, and splits it, to say up front
when one cannot be had. Each worker then loaded and split it again, importing scikit-learn to do
so (1.4 s here) and parsing the dataset's files (more, for the larger ones). Instead, the driver
writes what it loaded, once, to a folder that the environment variable `ENV` names (set before
its workers start, so they inherit it): the dataset's arrays and its split indices, in NumPy's
``.npz`` format (read without pickle), one file per dataset, classes and split. A worker that
finds the file builds the same splits from it; one that does not (a Ray actor on another node)
loads the dataset itself, as before. The folder lives in the results directory and is deleted
when the run ends.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from automl_bench._api.records import DataRef, Dataset, Splits, TaskRef

#: The environment variable naming the folder of handed-over splits.
ENV = "AUTOML_BENCH_HANDOFF_DIR"
#: The folder's name in a results directory.
FOLDER = ".bench-handoff"


def active() -> bool:
    """Whether this process's driver hands splits over (its workers need not compute them)."""
    return bool(os.environ.get(ENV))


def path(ref: "DataRef", task: "TaskRef") -> Path | None:
    """Where the splits of ``ref`` under ``task``'s fractions and seed are handed over, or None."""
    folder = os.environ.get(ENV)
    if not folder:
        return None
    key = json.dumps([ref.dataset, list(ref.classes or ()), task.val_fraction, task.test_fraction, task.split_seed])
    return Path(folder) / f"{hashlib.sha256(key.encode()).hexdigest()[:24]}.npz"


def write(ref: "DataRef", task: "TaskRef", dataset: "Dataset",
          indices: "tuple[np.ndarray, np.ndarray, np.ndarray]") -> None:
    """Hand a dataset and its split indices over (whole or not at all), if this run hands over."""
    import numpy as np

    target = path(ref, task)
    if target is None or target.exists():
        return
    meta = {"name": dataset.name, "n_classes": dataset.n_classes, "source": dataset.source,
            "sha256": dataset.sha256, "vocab_size": dataset.vocab_size, "files": dataset.files}
    partial = target.with_name(f".{target.stem}.{os.getpid()}.partial.npz")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        np.savez(partial, x=dataset.x, y=dataset.y, train=indices[0], val=indices[1], test=indices[2],
                 meta=np.array(json.dumps(meta)))
        os.replace(partial, target)
    except OSError:  # a full disk or a folder gone: workers load the dataset themselves
        partial.unlink(missing_ok=True)


def read(ref: "DataRef", task: "TaskRef") -> "Splits | None":
    """The handed-over splits of ``ref`` under ``task``, or None when there are none to read."""
    import numpy as np

    from automl_bench._api.records import Dataset
    from automl_bench._files.data import splits_at

    source = path(ref, task)
    if source is None:
        return None
    try:
        with np.load(source, allow_pickle=False) as held:
            arrays: dict[str, Any] = {name: held[name] for name in held.files}
    except (OSError, ValueError, KeyError):  # not there (another node), or unreadable: load it here
        return None
    meta = json.loads(str(arrays["meta"]))
    dataset = Dataset(name=meta["name"], x=arrays["x"], y=arrays["y"], n_classes=meta["n_classes"],
                      source=meta["source"], sha256=meta["sha256"], vocab_size=meta["vocab_size"],
                      files=meta.get("files"))
    return splits_at(dataset, (arrays["train"], arrays["val"], arrays["test"]))
