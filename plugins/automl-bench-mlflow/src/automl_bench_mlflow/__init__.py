"""An automl-bench reporter, ``mlflow``: every trial and every cell's best, logged to MLflow.

Name it in a suite (``reporters = ["csv", "markdown", "mlflow"]``); it does not run otherwise.
It logs to ``MLFLOW_TRACKING_URI`` when that is set (MLflow's own variable: a server, a
database, a Databricks workspace), else to ``sqlite:///<results dir>/mlflow.db``. The
experiment is named ``automl-bench/<suite name>``.

- One MLflow run per trial, named ``<task> <backend> <strategy> s<seed> #<trial>``: the trial's
  parameters and trial seed as params; every per-epoch metric with its epoch as the step, and
  the objective, epochs and seconds as metrics; status, error, cell, data and the environment
  (suite sha256, git commit, Python, platform, CPU, device, package versions) as tags. MLflow's
  run status says how it ended: FINISHED (ok or pruned), FAILED (failed) or KILLED (timeout).
- One run per finished cell (tag ``automl_bench.kind = cell``): the best configuration's
  parameters, its validation score and the test scores of its final evaluation.

Reporters run after every ``bench run``, resumed runs too: each MLflow run carries a tag
``automl_bench.key`` that names the trial (or cell) and when it finished, and a key that is
already logged is not logged again. Runs are created with the trial's finish time, so MLflow's
time axis is the benchmark's.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator, Sequence

from automl_bench import Reporter, ReporterSpec, RunResults, hookimpl, require

KEY_TAG = "automl_bench.key"
CELL = ("task", "backend", "strategy", "seed")
STATUS = {"ok": "FINISHED", "pruned": "FINISHED", "failed": "FAILED", "timeout": "KILLED"}
TRIAL_METRICS = ("value", "epochs", "train_seconds", "eval_seconds", "wall_seconds")
ENVIRONMENT = ("suite_sha256", "git_commit", "python", "platform", "cpu", "device", "packages", "dataset",
               "dataset_sha256", "dataset_sizes", "trial_seed")


def tracking_uri(results: RunResults) -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path(results.directory).resolve() / 'mlflow.db'}"


class MlflowReporter(Reporter):
    def write(self, results: RunResults, out_dir: Path) -> Sequence[Path]:
        mlflow = require("mlflow", needed_by="reporter 'mlflow'", install="pip install automl-bench-mlflow")
        uri = tracking_uri(results)
        client = mlflow.MlflowClient(tracking_uri=uri)
        name = f"automl-bench/{results.suite}"
        experiment = client.get_experiment_by_name(name)
        experiment_id = experiment.experiment_id if experiment else client.create_experiment(name)
        logged = {run.data.tags.get(KEY_TAG) for run in _all_runs(client, experiment_id)}
        epochs = {key: group for key, group in results.epochs.groupby([*CELL, "trial"])} if len(results.epochs) else {}
        for row in results.trials.to_dict("records"):
            key = f"trial:{_cell(row)}/trial={row['trial']}@{row['finished']}"
            if key not in logged:
                _log_trial(mlflow, client, experiment_id, key, row, epochs.get(tuple(row[c] for c in (*CELL, "trial"))))
        for row in _best_per_cell(results):
            key = f"cell:{_cell(row)}@{row['finished']}"
            if key not in logged:
                _log_cell(mlflow, client, experiment_id, key, row)
        path = Path(out_dir) / "mlflow.db"
        return [path] if uri == f"sqlite:///{path.resolve()}" else []


def _cell(row: dict[str, Any]) -> str:
    return f"{row['task']}/{row['backend']}/{row['strategy']}/seed={row['seed']}"


def _all_runs(client: Any, experiment_id: str) -> Iterator[Any]:
    token = None
    while True:
        page = client.search_runs([experiment_id], max_results=1000, page_token=token)
        yield from page
        token = page.token
        if not token:
            return


def _millis(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


def _log_trial(mlflow: Any, client: Any, experiment_id: str, key: str, row: dict[str, Any], epochs: Any) -> None:
    from mlflow.entities import Metric, Param, RunTag

    when = _millis(row["finished"])
    start = when - int(1000 * (row["wall_seconds"] or 0))
    run = client.create_run(experiment_id, start_time=start,
                            run_name=f"{row['task']} {row['backend']} {row['strategy']} s{row['seed']} #{row['trial']}",
                            tags={KEY_TAG: key, "automl_bench.kind": "trial"})
    params = [Param(k, _text(v)) for k, v in json.loads(row["params"]).items()]
    metrics = [Metric(m, float(row[m]), when, 0) for m in TRIAL_METRICS if _number(row.get(m))]
    for epoch in (epochs.to_dict("records") if epochs is not None else ()):
        metrics += [Metric(m, float(v), when, int(epoch["epoch"])) for m, v in epoch.items()
                    if m not in (*CELL, "trial", "epoch") and _number(v)]
    tags = [RunTag(f"automl_bench.{k}", _text(row[k])) for k in (*CELL, "trial", "status", "error", *ENVIRONMENT)
            if k in row]
    tags.append(RunTag("automl_bench.suite", str(row["suite"])))
    client.log_batch(run.info.run_id, metrics=metrics, params=params, tags=tags)
    client.set_terminated(run.info.run_id, status=STATUS.get(row["status"], "FAILED"), end_time=when)


def _log_cell(mlflow: Any, client: Any, experiment_id: str, key: str, row: dict[str, Any]) -> None:
    from mlflow.entities import Metric, Param, RunTag

    when = _millis(row["finished"])
    run = client.create_run(experiment_id, start_time=when,
                            run_name=f"best: {row['task']} {row['backend']} {row['strategy']} s{row['seed']}",
                            tags={KEY_TAG: key, "automl_bench.kind": "cell"})
    params = [Param(k, _text(v)) for k, v in json.loads(row["params"]).items()]
    metrics = [Metric(m, float(v), when, 0) for m, v in row["scores"].items() if _number(v)]
    tags = [RunTag(f"automl_bench.{k}", _text(row[k])) for k in (*CELL, "trial", "trials", "suite")]
    client.log_batch(run.info.run_id, metrics=metrics, params=params, tags=tags)
    client.set_terminated(run.info.run_id, status="FINISHED", end_time=when)


def _best_per_cell(results: RunResults) -> list[dict[str, Any]]:
    """Each cell whose search has finished (its best configuration was scored on the test split):
    the best trial, with its validation score and the final evaluation's test scores."""
    if results.finals.empty or results.trials.empty:
        return []
    cells = []
    for final in results.finals.to_dict("records"):
        trials = results.trials[(results.trials[list(CELL)] == [final[c] for c in CELL]).all(axis=1)]
        best = trials[trials["trial"] == final["trial"]].to_dict("records")
        if not best:
            continue
        row = {**best[0], "trials": len(trials), "suite": results.suite}
        tests = {k: v for k, v in final.items() if k.startswith("test_")}
        row["scores"] = {"best_value": best[0]["value"], **tests}
        cells.append(row)
    return cells


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


@hookimpl
def bench_reporters(register):
    register(ReporterSpec("mlflow", "every trial and each cell's best to MLflow tracking (when a suite names it)",
                          MlflowReporter, default=False))
