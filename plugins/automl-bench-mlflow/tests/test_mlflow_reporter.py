"""The MLflow reporter, checked through MLflow's own client against a real local sqlite store."""

from __future__ import annotations

import json

import pytest

from automl_bench.testing import toy_suite

mlflow = pytest.importorskip("mlflow")


@pytest.fixture
def tracking(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'tracking.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return mlflow.MlflowClient(tracking_uri=uri)


def runs(client, suite: str, kind: str):
    experiment = client.get_experiment_by_name(f"automl-bench/{suite}")
    found = client.search_runs([experiment.experiment_id], filter_string=f"tags.`automl_bench.kind` = '{kind}'")
    return sorted(found, key=lambda r: (r.data.tags["automl_bench.seed"], int(r.data.tags["automl_bench.trial"])))


def test_a_real_suite_is_logged_trial_by_trial_with_each_cells_best(bench_run, tracking):
    results = bench_run(
        'name = "digits-mlflow"\nseeds = [0, 1]\nreporters = ["csv", "mlflow"]\n[budget]\nmax_trials = 2\n'
        '[matrix]\nbackends = ["numpy"]\nstrategies = ["random"]\n'
        '[space]\nunits = { type = "int", low = 8, high = 32 }\nlayers = 1\nepochs = 2\n'
        '[[tasks]]\nname = "digits-mlp"\ndataset = "digits"\n')
    trials = runs(tracking, "digits-mlflow", "trial")
    assert len(trials) == len(results.trials) == 4
    for run, row in zip(trials, results.trials.sort_values(["seed", "trial"]).to_dict("records")):
        assert run.info.status == "FINISHED"
        assert run.data.params == {k: json.dumps(v) for k, v in json.loads(row["params"]).items()}
        assert run.data.metrics["value"] == pytest.approx(row["value"])
        history = tracking.get_metric_history(run.info.run_id, "val_accuracy")
        assert sorted(m.step for m in history) == [1, 2]
        assert run.data.tags["automl_bench.device"] == row["device"] and "numpy" in run.data.tags["automl_bench.packages"]
        assert run.data.tags["automl_bench.suite_sha256"] == row["suite_sha256"]
    cells = runs(tracking, "digits-mlflow", "cell")
    assert len(cells) == 2
    for cell, final in zip(cells, results.finals.sort_values("seed").to_dict("records")):
        assert cell.data.metrics["test_accuracy"] == pytest.approx(final["test_accuracy"])
        assert int(cell.data.tags["automl_bench.trial"]) == final["trial"]


def test_a_resumed_run_logs_nothing_twice_and_failures_keep_their_status(bench_run, tracking):
    suite = toy_suite(name="toy-mlflow", reporters=["mlflow"], max_trials=3)
    bench_run(suite.replace("epochs = 2", 'epochs = 2\nactivation = { type = "categorical", choices = ["relu", "tanh"] }'))
    first = runs(tracking, "toy-mlflow", "trial")
    bench_run(suite.replace("epochs = 2", 'epochs = 2\nactivation = { type = "categorical", choices = ["relu", "tanh"] }'))
    again = runs(tracking, "toy-mlflow", "trial")
    assert len(first) == len(again) == 3
    statuses = {r.data.tags["automl_bench.status"]: r.info.status for r in again}
    assert statuses.get("failed", "FAILED") == "FAILED" and statuses.get("ok", "FINISHED") == "FINISHED"


def test_it_runs_only_where_a_suite_names_it(bench_host, bench_run, tracking):
    assert bench_host.reporters()["mlflow"].default is False
    bench_run(toy_suite(name="no-mlflow"))
    assert tracking.get_experiment_by_name("automl-bench/no-mlflow") is None
