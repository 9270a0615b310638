"""The driver with the toy backend: failures become rows, runs resume, workers are reused."""

from __future__ import annotations

import json

import pytest
from filelock import FileLock

from automl_bench import hookimpl
from automl_bench._run.driver import RunOptions, run_suite
from automl_bench._suite import load_suite
from automl_bench.errors import ResultsError
from automl_bench.testing.toy import toy_score

FIVE_BEHAVIOURS = '{ type = "categorical", choices = ["relu", "tanh", "sigmoid", "elu", "gelu"] }'


def run(path, host, out, **options):
    return run_suite(load_suite(path, host), host, RunOptions(out=out, **options))


def by_behaviour(trials):
    return {json.loads(p)["activation"]: row for p, row in zip(trials["params"], trials.to_dict("records"))}


@pytest.mark.parametrize("executor", ["local", "ray"])
def test_each_failure_kind_becomes_its_row_and_the_run_goes_on(write_suite, host, tmp_path, executor):
    suite = write_suite(max_trials=10, timeout=2, strategies='"grid"', activation=FIVE_BEHAVIOURS,
                        learning_rate="0.01")
    results = run(suite, host, tmp_path / "out", executor=executor)
    rows = by_behaviour(results.trials)
    assert len(results.trials) == 5  # the grid has 5 points and is exhausted
    assert rows["relu"]["status"] == "ok" and rows["relu"]["value"] == pytest.approx(toy_score(0.01))
    assert rows["tanh"]["status"] == "failed"
    assert rows["tanh"]["error"].startswith("RuntimeError: toy backend was told to fail (at toy.py:")
    assert rows["sigmoid"]["status"] == "failed"
    assert rows["sigmoid"]["error"] == "non-finite metrics: val_accuracy=nan, val_loss=nan"
    assert rows["elu"]["status"] == "timeout"
    assert rows["elu"]["error"] == "trial exceeded its timeout of 2 s and was stopped"
    assert rows["gelu"]["status"] == "failed"
    if executor == "local":
        assert rows["gelu"]["error"] == "worker process died (exit code 17) during the trial"
    else:  # Ray does not pass the exit code on
        assert rows["gelu"]["error"].startswith("worker process died (Ray actor: ")
        assert rows["gelu"]["error"].endswith(") during the trial")
    assert set(results.trials["executor"]) == {executor} and (results.trials["retries"] == 0).all()
    # every row carries what is needed to reproduce it
    assert all(len(h) == 64 for h in results.trials["suite_sha256"])
    assert all("cpu (threads=1)" == d for d in results.trials["device"])
    assert rows["elu"]["wall_seconds"] >= 2 and rows["relu"]["wall_seconds"] > 0
    # the best (only successful) configuration was scored on the test split
    assert results.leaderboard.loc[0, "test_mean"] == pytest.approx(toy_score(0.01), abs=1e-6)
    assert results.leaderboard.loc[0, "failed"] == 4


def test_rerun_resumes_without_losing_or_repeating_trials(write_suite, host, tmp_path):
    suite = write_suite(max_trials=6)
    first = run(suite, host, tmp_path / "a", max_trials=3)
    assert list(first.trials["trial"]) == [0, 1, 2]
    resumed = run(suite, host, tmp_path / "a")
    straight = run(suite, host, tmp_path / "b")
    assert list(resumed.trials["trial"]) == [0, 1, 2, 3, 4, 5]
    assert list(resumed.trials["run_id"]) == [1, 1, 1, 2, 2, 2]
    cols = ["trial", "trial_seed", "params", "value"]
    assert resumed.trials[cols].equals(straight.trials[cols])
    # the test score belongs to the best of all six trials, not to the best of the first three
    best = resumed.trials.loc[resumed.trials["value"].idxmax(), "trial"]
    assert list(resumed.finals["trial"]) == [best] == list(straight.finals["trial"])
    assert resumed.finals["test_accuracy"].equals(straight.finals["test_accuracy"])
    # nothing left to do: a third run records nothing new
    again = run(suite, host, tmp_path / "a")
    assert list(again.trials["run_id"]) == [1, 1, 1, 2, 2, 2]


def test_parallel_workers_give_the_same_trials(write_suite, host, tmp_path):
    suite = write_suite(max_trials=6)
    one = run(suite, host, tmp_path / "one")
    two = run(suite, host, tmp_path / "two", workers=2)
    cols = ["trial", "params", "value"]
    assert two.trials[cols].equals(one.trials[cols])


def test_a_changed_suite_is_not_mixed_with_old_results(write_suite, host, tmp_path):
    out = tmp_path / "out"
    run(write_suite(max_trials=2), host, out)
    changed = write_suite(max_trials=3)
    with pytest.raises(ResultsError, match="different version of suite 'toy'.*--fresh"):
        run(changed, host, out)
    fresh = run(changed, host, out, fresh=True)
    assert list(fresh.trials["trial"]) == [0, 1, 2]


def test_comments_and_layout_do_not_make_a_new_suite_version(write_suite, host, tmp_path):
    out = tmp_path / "out"
    path = write_suite(max_trials=2)
    run(path, host, out)
    path.write_text("# a comment\n" + path.read_text().replace("max_trials = 2", "max_trials   =   2  # two"))
    resumed = run(path, host, out)
    assert list(resumed.trials["run_id"]) == [1, 1]


def test_a_store_from_before_content_hashing_is_still_accepted(write_suite, host, tmp_path):
    import hashlib
    import sqlite3

    path = write_suite(max_trials=2)
    run(path, host, tmp_path)
    db = sqlite3.connect(tmp_path / "toy" / "bench.sqlite")
    db.execute("UPDATE meta SET value = ?, checksum = '' WHERE key = 'suite_sha256'",  # nor row checksums
               (hashlib.sha256(path.read_bytes()).hexdigest(),))
    db.commit()
    db.close()
    assert list(run(path, host, tmp_path).trials["run_id"]) == [1, 1]


def test_a_locked_results_directory_is_refused(write_suite, host, tmp_path):
    (tmp_path / "out" / "toy").mkdir(parents=True)
    with FileLock(str(tmp_path / "out" / "toy" / ".bench.lock")):
        with pytest.raises(ResultsError, match="another `bench run` is writing to"):
            run(write_suite(), host, tmp_path / "out")


def test_trial_end_events_reach_plugins(write_suite, host, tmp_path):
    seen = []

    class Listener:
        @hookimpl
        def bench_on_trial_end(self, cell, trial):
            seen.append((cell.backend, trial.number, trial.status))

    host.pm.register(Listener())
    run(write_suite(max_trials=3), host, tmp_path / "out")
    assert seen == [("toy", 0, "ok"), ("toy", 1, "ok"), ("toy", 2, "ok")]


def test_a_model_that_cannot_fit_the_data_fails_with_a_clear_error(write_suite, host, tmp_path):
    # the toy dataset declares no input shape, so the check happens per trial: a cnn on flat data
    suite = write_suite(max_trials=1).read_text().replace('dataset = "toy"', 'dataset = "toy"\nmodel = "cnn"')
    suite = suite.replace('activation = "relu"', 'activation = "relu"\nconv_blocks = 1')
    path = tmp_path / "cnn.toml"
    path.write_text(suite)
    results = run(path, host, tmp_path / "out")
    assert list(results.trials["status"]) == ["failed"]
    assert results.trials["error"][0].startswith(
        "ValueError: task 'toy-task' on 'toy': a cnn needs image input (height, width[, channels]); "
        "this dataset's samples have shape (4,)")


def test_workers_are_recycled_after_their_trial_limit(write_suite, host, tmp_path):
    suite = write_suite(max_trials=5).read_text().replace("[matrix]", "[execution]\nmax_trials_per_worker = 2\n\n[matrix]")
    path = tmp_path / "recycle.toml"
    path.write_text(suite)
    results = run(path, host, tmp_path / "out")
    assert (results.trials["status"] == "ok").all() and len(results.trials) == 5
    # each fresh worker writes one 'ready' line: 5 trials + 1 final at 2 per worker = 3 workers
    log = (tmp_path / "out" / "toy" / "logs" / "worker-toy.log").read_text()
    assert log.count("toy worker ready") == 3


PRUNED_SUITE_EXTRA = "\n[pruner.median]\nn_startup_trials = 2\nn_warmup_steps = 0\n"


def test_a_pruner_stops_weak_trials_early_and_they_are_recorded_as_pruned(write_suite, host, tmp_path):
    suite = write_suite(max_trials=10, strategies='"random+median"', extra=PRUNED_SUITE_EXTRA)
    suite.write_text(suite.read_text().replace("epochs = 2", "epochs = 4"))
    results = run(suite, host, tmp_path / "out")
    trials = results.trials
    pruned, ok = trials[trials["status"] == "pruned"], trials[trials["status"] == "ok"]
    assert len(pruned) >= 2 and len(ok) >= 2, trials[["trial", "status", "value", "epochs"]]
    assert (pruned["epochs"] < 4).all() and (ok["epochs"] == 4).all()
    assert pruned["value"].notna().all()  # the score at the epoch it reached
    assert pruned["value"].max() < ok["value"].max()
    board = results.leaderboard.iloc[0]
    assert board["strategy"] == "random+median" and board["pruned"] == len(pruned) and board["failed"] == 0
    assert board["epochs"] == trials["epochs"].sum()  # compute spent counts pruned epochs


def test_a_pruned_search_resumes_exactly(write_suite, host, tmp_path):
    suite = write_suite(max_trials=10, strategies='"tpe+median"', extra=PRUNED_SUITE_EXTRA)
    suite.write_text(suite.read_text().replace("epochs = 2", "epochs = 4"))
    run(suite, host, tmp_path / "a", max_trials=5)
    resumed = run(suite, host, tmp_path / "a")
    straight = run(suite, host, tmp_path / "b")
    cols = ["trial", "params", "status", "epochs", "value"]
    assert resumed.trials[cols].equals(straight.trials[cols])
    assert (straight.trials["status"] == "pruned").any()


@pytest.mark.parametrize("strategy", ["tpe", "tpe-hyperopt", "genetic"])
def test_parallel_workers_keep_distinct_configurations_in_flight(write_suite, host, tmp_path, strategy):
    suite = write_suite(max_trials=8, strategies=f'"{strategy}"')
    results = run(suite, host, tmp_path / "out", workers=2)
    assert (results.trials["status"] == "ok").all() and len(results.trials) == 8
    assert results.trials["params"].nunique() == 8


def test_a_store_from_before_dataset_records_is_migrated(write_suite, host, tmp_path):
    import sqlite3

    from automl_bench._results.schema import SCHEMA
    from automl_bench._results.store import Store

    directory = tmp_path / "out" / "toy"
    directory.mkdir(parents=True)
    old = sqlite3.connect(directory / "bench.sqlite")
    old.executescript(SCHEMA.replace("    dataset TEXT NOT NULL DEFAULT '{}',\n", ""))
    assert "dataset" not in {row[1] for row in old.execute("PRAGMA table_info(trials)")}
    old.close()
    Store(directory / "bench.sqlite").close()
    results = run(write_suite(max_trials=2), host, tmp_path / "out")
    assert list(results.trials["dataset"]) == ["toy", "toy"]


def test_a_store_from_before_placement_records_is_migrated_and_retries_work(write_suite, host, tmp_path):
    """A store written before rows recorded where they ran: its tables gain the column (at their
    end, so the history table's columns are in another order than the trials'), and moving failed
    trials into the history still puts every value in its column."""
    import sqlite3

    from automl_bench._results.schema import HISTORY, SCHEMA

    directory = tmp_path / "out" / "toy"
    directory.mkdir(parents=True)
    old = sqlite3.connect(directory / "bench.sqlite")
    old.executescript(SCHEMA.replace("    placement TEXT NOT NULL DEFAULT '{}',\n", "") + HISTORY)
    assert "placement" not in {row[1] for row in old.execute("PRAGMA table_info(superseded_trials)")}
    old.close()
    suite = write_suite(max_trials=2, activation='"tanh"')
    first = run(suite, host, tmp_path / "out")
    assert list(first.trials["executor"]) == ["local", "local"] and (first.trials["status"] == "failed").all()
    again = run(suite, host, tmp_path / "out", retry_failed=True)
    assert list(again.trials["run_id"]) == [2, 2]
    db = sqlite3.connect(directory / "bench.sqlite")
    moved = db.execute("SELECT status, error, placement, superseded FROM superseded_trials").fetchall()
    db.close()
    assert len(moved) == 2
    for status, error, placement, superseded in moved:
        assert status == "failed" and error.startswith("RuntimeError: toy backend was told to fail")
        assert json.loads(placement)["executor"] == "local" and superseded > 0
