"""Published tabular benchmarks as automl-bench tables: `bench tabulate --from FORMAT FILE`.

One format so far: **LCBench** (Zimmer, Lindauer and Hutter, 2021), the JSON its authors publish
(``data_2k.json``, or the lighter ``data_2k_lw.json``, on figshare): for each of 35 OpenML
datasets, 2,000 configurations of a funnel-shaped MLP trained 50 epochs with SGD, each with its
``config``, its per-epoch ``log`` (``Train/val_accuracy``, ``Train/val_cross_entropy``,
``time``, ...) and its final ``results``. One dataset of the file becomes one table: its
parameters are the configuration's values that vary across the dataset's configurations (log
scale for ``batch_size``, ``learning_rate`` and ``max_units``, as LCBench sampled them); each
epoch's ``seconds`` is the step of the cumulative ``time`` log; accuracies, which LCBench logs in
percent, become fractions; its one run per configuration is seed 0. LCBench sampled its
configurations at random rather than on a grid, so the table's space has `configurations`:
replay moves each proposal to the nearest recorded configuration (`automl_bench.space`).

The files cannot be downloaded from this machine (no internet): the converter is tested on small
files the tests write in the same layout.
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from automl_bench.tables import PARAM, Table, TableError

#: The formats `bench tabulate --from` reads.
FORMATS = ("lcbench",)
#: LCBench's log tags, as table columns (accuracies in percent, made fractions).
LCBENCH_METRICS = {"Train/val_accuracy": "val_accuracy", "Train/val_cross_entropy": "val_loss",
                   "Train/val_balanced_accuracy": "val_balanced_accuracy", "Train/train_accuracy": "train_accuracy",
                   "Train/loss": "train_loss", "Train/train_cross_entropy": "train_cross_entropy"}
LCBENCH_TEST = {"Train/test_accuracy": "test_accuracy", "Train/test_cross_entropy": "test_loss",
                "Train/test_balanced_accuracy": "test_balanced_accuracy"}
#: The parameters LCBench sampled on a log scale.
LCBENCH_LOG = ("batch_size", "learning_rate", "max_units")


def convert(kind: str, path: Path, *, dataset: str | None = None) -> Table:
    """The table of ``path``, a file of a published benchmark in format ``kind`` (`FORMATS`)."""
    if kind != "lcbench":
        raise TableError(f"no converter for {kind!r}; bench tabulate --from reads: {', '.join(FORMATS)}")
    return from_lcbench(Path(path), dataset=dataset)


def from_lcbench(path: Path, *, dataset: str | None = None) -> Table:
    """One dataset of an LCBench JSON file as a table (``dataset``: which, where it holds several)."""
    import pandas as pd

    try:
        raw = path.read_bytes()
        data = json.loads(raw)
    except FileNotFoundError:
        raise TableError(f"{path}: no such file") from None
    except (OSError, ValueError) as exc:
        raise TableError(f"{path} is not an LCBench JSON file ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict) or not data or not all(isinstance(v, dict) for v in data.values()):
        raise TableError(f"{path} is not an LCBench JSON file: it should map dataset names to their configurations")
    names = sorted(data)
    if dataset is None and len(names) > 1:
        raise TableError(f"{path} holds {len(names)} datasets ({', '.join(names[:8])}{', ...' if len(names) > 8 else ''}"
                         "): choose one with --task")
    dataset = dataset or names[0]
    if dataset not in data:
        raise TableError(f"{path} has no dataset {dataset!r}; it has: {', '.join(names)}")
    runs = data[dataset]
    try:
        configs = {cid: run["config"] for cid, run in runs.items()}
        logs = {cid: run["log"] for cid, run in runs.items()}
    except (KeyError, TypeError):
        raise TableError(f"{path}: the configurations of {dataset!r} lack their 'config' or 'log'") from None
    keys = sorted({k for c in configs.values() for k in c})
    varying = [k for k in keys if len({json.dumps(c.get(k), sort_keys=True) for c in configs.values()}) > 1]
    if not varying:
        raise TableError(f"{path}: the configurations of {dataset!r} do not differ; nothing to search")
    percent = any(isinstance(v, (int, float)) and v > 1.0 for log in logs.values()
                  for v in log.get("Train/val_accuracy", []))
    rows = []
    for cid in sorted(runs, key=lambda c: (len(c), c)):
        log, results = logs[cid], runs[cid].get("results", {})
        if "Train/val_accuracy" not in log:
            raise TableError(f"{path}: configuration {cid} of {dataset!r} has no Train/val_accuracy log")
        steps = len(log["Train/val_accuracy"])
        epochs = [int(e) for e in log.get("epoch", range(1, steps + 1))]
        times = [float(t) for t in log.get("time", [math.nan] * steps)]
        base = {**{PARAM + k: configs[cid].get(k) for k in varying}, "seed": 0, "trial_seed": 0, "status": "ok",
                "eval_seconds": 0.0}
        for tag, column in LCBENCH_TEST.items():
            if tag in log and log[tag]:
                base[column] = _scaled(column, log[tag][-1], percent)
        if "final_test_accuracy" in results:
            base["test_accuracy"] = _scaled("test_accuracy", results["final_test_accuracy"], percent)
        previous, mine = 0.0, []
        for i in range(steps):
            seconds, previous = times[i] - previous, times[i]
            if epochs[i] < 1:  # LCBench's evaluation before the first epoch: not an epoch
                continue
            row = {**base, "epoch": epochs[i], "seconds": seconds}
            for tag, column in LCBENCH_METRICS.items():
                if tag in log and i < len(log[tag]):
                    row[column] = _scaled(column, log[tag][i], percent)
            mine.append(row)
        final = {f"final_{c}": v for c, v in (mine[-1] if mine else {}).items() if c.startswith("val_")}
        rows += [{**row, **final} for row in mine]
    frame = pd.DataFrame(rows).sort_values([*(PARAM + k for k in varying), "epoch"], ignore_index=True, kind="stable")
    space = []
    for k in varying:
        values = sorted({v for v in frame[PARAM + k].tolist()}, key=lambda v: (isinstance(v, str), v))
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        kind = ("int" if all(isinstance(v, int) for v in values) else "float") if numeric else "categorical"
        space.append({"name": k, "type": kind, "values": values, "log": numeric and k in LCBENCH_LOG})
    provenance = {
        "task": dataset, "model": "mlp", "dataset": {"name": dataset, "sha256": "", "sizes": []},
        "backend": "lcbench", "strategy": "random sample", "objective": "val_accuracy", "space": space,
        "seeds": [0], "max_epochs": None, "test_every_trial": "test_accuracy" in frame.columns,
        "source": {"name": "lcbench", "file": path.name, "sha256": hashlib.sha256(raw).hexdigest(),
                   "percent_accuracies": percent},
        "missing": [], "trials": len(runs), "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    return Table(frame, provenance)


def _scaled(column: str, value: Any, percent: bool) -> Any:
    return value / 100.0 if percent and "accuracy" in column and isinstance(value, (int, float)) else value
