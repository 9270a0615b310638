"""`bench export --format optuna`: a run's cells as optuna studies in a SQLite file, which
``optuna-dashboard sqlite:///FILE`` shows and ``optuna.load_study`` reads.

One study per cell, named ``<suite>/<task>/<backend>/<strategy>/seed=<n>``, with the suite's
direction (or directions) and metric names (the validation score, or the objectives). Each trial keeps its number, its parameters with the distributions
of the task's search space as the store recorded it, its value (or values), one intermediate
value per epoch (the validation score), its state (ok: complete, pruned: pruned, failed and
timed out: fail), its start and end from the store, and automl-bench's columns as user
attributes. A parameter the recorded space does not describe (a store older than spaces were
recorded) is written as categorical over the values its cell's trials took; a value optuna
cannot hold as a choice (a per-layer list) is written as its JSON text.

The file is written beside its target and then moved over it, so a reader never sees half of
it, and writing it twice from the same store gives the same bytes. A run still going exports
what its store holds.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from automl_bench.errors import ResultsError, require

CELL = ["task", "backend", "strategy", "seed"]
STATES = {"ok": "COMPLETE", "pruned": "PRUNED", "failed": "FAIL", "timeout": "FAIL"}
#: Columns that are the trial's identity or are written as something else than a user attribute.
NOT_ATTRIBUTES = {*CELL, "trial", "params", "value", "suite"}


def export(results_dir: Path, output: Path) -> tuple[int, int]:
    """Write ``results_dir``'s cells as optuna studies into ``output`` (a SQLite file); returns
    (studies, trials)."""
    optuna = require("optuna", needed_by="bench export --format optuna", install="pip install 'automl-bench[search]'")
    from automl_bench._results.collect import load_described

    results, description = load_described(Path(results_dir))
    if results.trials.empty:
        raise ResultsError(f"{results_dir} holds no trial yet: nothing to export")
    output = Path(output)
    partial = output.with_name(f".{output.name}.partial")
    partial.unlink(missing_ok=True)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.RDBStorage(f"sqlite:///{partial}")
    epochs = results.epochs
    metric = f"val_{results.metric}"
    curves = ({key: dict(zip(g["epoch"], g[metric])) for key, g in epochs.groupby([*CELL, "trial"])}
              if metric in epochs else {})
    directions = list(results.objectives.values()) or ["maximize"]
    studies = trials = 0
    for key, cell in results.trials.groupby(CELL, sort=True):
        studies += 1
        study = optuna.create_study(storage=storage, study_name=f"{results.suite}/{'/'.join(map(str, key[:3]))}"
                                                                f"/seed={key[3]}", directions=directions)
        for name, value in zip(CELL, key):
            study.set_user_attr(name, value.item() if hasattr(value, "item") else value)
        study.set_user_attr("suite", results.suite)
        study.set_user_attr("metric", results.metric)
        with warnings.catch_warnings():  # experimental in optuna: what optuna-dashboard labels its axes with
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names(list(results.objectives) or [metric])
        distributions = _distributions(description.get("spaces", {}).get(key[0], []), cell)
        for row in cell.sort_values("trial").to_dict("records"):
            study.add_trial(_trial(optuna, row, distributions, curves.get((*key, row["trial"]), {}), results))
            trials += 1
    storage.engine.dispose()
    os.replace(partial, output)
    return studies, trials


def _choice(value: Any) -> Any:
    """A value as optuna holds a categorical choice: None, bool, int, float or str; else its JSON."""
    return value if value is None or isinstance(value, (bool, int, float, str)) else json.dumps(value)


def _distributions(space: list[dict[str, Any]], cell: Any) -> dict[str, Any]:
    """Each parameter's optuna distribution: from the recorded search space, else categorical
    over the values the cell's trials took."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    out: dict[str, Any] = {}
    for p in space:
        if p["type"] == "float":
            out[p["name"]] = FloatDistribution(p["low"], p["high"], log=p["log"], step=p["step"])
        elif p["type"] == "int":
            out[p["name"]] = IntDistribution(p["low"], p["high"], log=p["log"], step=p["step"] or 1)
        else:  # categorical, or fixed: one choice
            out[p["name"]] = CategoricalDistribution([_choice(v) for v in p["values"]])
    seen: dict[str, list[Any]] = {}
    for params in cell["params"]:
        for name, value in json.loads(params).items():
            if name not in out and _choice(value) not in seen.setdefault(name, []):
                seen[name].append(_choice(value))
    out.update({name: CategoricalDistribution(values) for name, values in seen.items()})
    return out


def _trial(optuna: Any, row: dict[str, Any], distributions: dict[str, Any], curve: dict[int, float],
           results: Any) -> Any:
    state = getattr(optuna.trial.TrialState, STATES.get(row["status"], "FAIL"))
    params = {name: _choice(value) for name, value in json.loads(row["params"]).items()}
    values = None
    if state == optuna.trial.TrialState.COMPLETE:
        values = [float(row[o]) for o in results.objectives] if results.objectives else [float(row["value"])]
        if any(not math.isfinite(v) for v in values):  # a score optuna cannot hold: the trial failed as a result
            state, values = optuna.trial.TrialState.FAIL, None
    end = datetime.fromisoformat(str(row["finished"])).astimezone(timezone.utc).replace(tzinfo=None)
    wall = row.get("wall_seconds")
    start = end - timedelta(seconds=float(wall)) if _finite(wall) else end
    return optuna.trial.FrozenTrial(
        number=int(row["trial"]), state=state, value=None, values=values, datetime_start=start,
        datetime_complete=end, params=params, distributions={n: distributions[n] for n in params},
        user_attrs=_attributes(row), system_attrs={},
        intermediate_values={int(e): float(v) for e, v in sorted(curve.items()) if _finite(v)}, trial_id=0)


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _attributes(row: dict[str, Any]) -> dict[str, Any]:
    """automl-bench's columns of a trial as JSON-able user attributes (empty and NaN left out)."""
    out = {}
    for name, value in row.items():
        if name in NOT_ATTRIBUTES or value is None or (isinstance(value, float) and not math.isfinite(value)):
            continue
        out[name] = value.item() if hasattr(value, "item") else value
    return out
