"""Budgets chosen by the strategy: a `Proposal` carries its epochs; every backend trains (or
replays) that many, the store and trials.csv record it, its strategy is told it, and resume
gives it back."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from automl_bench import Proposal
from automl_bench.testing import TOY_PLUGIN, toy_suite, toy_table_suite


@pytest.fixture
def bench_plugins():
    return (TOY_PLUGIN, "budget_strategy")


def test_a_proposal_is_whole_epochs():
    with pytest.raises(ValueError, match="whole number of epochs"):
        Proposal({"learning_rate": 0.1}, 0)
    with pytest.raises(ValueError, match="whole number of epochs"):
        Proposal({"learning_rate": 0.1}, 2.5)


def test_the_toy_backend_trains_the_budget_and_the_store_records_it(bench_run, bench_host, tmp_path):
    results = bench_run(toy_suite(strategies=["cycling-budgets", "random"], max_trials=6, epochs=3))
    trials = results.trials.sort_values(["strategy", "trial"])
    budgeted = trials[trials["strategy"] == "cycling-budgets"]
    assert list(budgeted["budget"]) == [1, 2, 4, 1, 2, 4]
    # a budget trains at most the configuration's own epochs (3 here), which stay the full fidelity
    assert list(budgeted["epochs"]) == [1, 2, 3, 1, 2, 3]
    assert trials.loc[trials["strategy"] == "random", "budget"].isna().all()
    assert (trials.loc[trials["strategy"] == "random", "epochs"] == 3).all()
    csv = (results.directory / "trials.csv").read_text().splitlines()
    assert "budget" in csv[0].split(",")


def test_a_budget_is_capped_by_max_epochs(bench_run):
    results = bench_run(toy_suite(strategies=["cycling-budgets"], max_trials=3, epochs=5), max_epochs=2)
    trials = results.trials.sort_values("trial")
    assert list(trials["budget"]) == [1, 2, 4] and list(trials["epochs"]) == [1, 2, 2]


def test_replay_plays_the_recorded_curve_up_to_the_budget(bench_host, bench_run, tmp_path):
    from automl_bench._results.tabulate import tabulate
    from automl_bench._run.driver import RunOptions, run_suite
    from automl_bench._suite import load_suite
    from automl_bench.tables import read_table, write_table

    build = tmp_path / "build"
    build.mkdir()
    (build / "grid.toml").write_text(toy_table_suite(name="grid", epochs=4))
    built = run_suite(load_suite(build / "grid.toml", bench_host), bench_host, RunOptions(out=build / "out"))
    table_path = write_table(tabulate(bench_host, built.directory), tmp_path / "table.parquet")
    table = read_table(table_path).frame
    suite = tmp_path / "replay.toml"
    suite.write_text('name = "replay"\nseeds = [0]\n[budget]\nmax_trials = 6\n[matrix]\nbackends = ["replay"]\n'
                     'strategies = ["cycling-budgets"]\n[[tasks]]\nname = "t"\ntable = "table.parquet"\n')
    results = bench_run(suite)
    for _, trial in results.trials.iterrows():
        params = json.loads(trial["params"])
        rows = table[(table["param.learning_rate"] == params["learning_rate"])
                     & (table["param.units"] == params["units"]) & (table["seed"] == 0)].sort_values("epoch")
        assert trial["epochs"] == trial["budget"]
        # its value is the recorded curve's at that epoch, and its seconds are those epochs' only
        assert trial["val_accuracy"] == pytest.approx(rows["val_accuracy"].iloc[trial["budget"] - 1])
        assert trial["train_seconds"] == pytest.approx(rows["seconds"].iloc[:trial["budget"]].sum(), abs=1e-3)


def test_the_strategy_is_told_each_budget_and_resume_gives_them_back(bench_host, tmp_path):
    from automl_bench._api.records import CellKey
    from automl_bench._results.store import Store
    from automl_bench._run.driver import RunOptions, run_suite
    from automl_bench._suite import load_suite

    (tmp_path / "s.toml").write_text(toy_suite(strategies=["cycling-budgets"], max_trials=5, epochs=2))
    suite = load_suite(tmp_path / "s.toml", bench_host)
    run_suite(suite, bench_host, RunOptions(out=tmp_path / "out", max_trials=3))
    results = run_suite(suite, bench_host, RunOptions(out=tmp_path / "out"))  # resumes: 2 more
    store = Store(results.directory / "bench.sqlite")
    try:
        told = store.finished_trials(CellKey("toy-task", "toy", "cycling-budgets", 0))
    finally:
        store.close()
    assert [t.budget for t in told] == [1, 2, 4, 1, 2]
    assert sorted(results.trials["trial"]) == [0, 1, 2, 3, 4]
    shutil.rmtree(tmp_path / "out")


def test_a_store_without_budgets_is_migrated_and_keeps_its_checksums(bench_run):
    import sqlite3

    from automl_bench._api.records import CellKey
    from automl_bench._results.store import Store

    results = bench_run(toy_suite(max_trials=2))
    db = Path(results.directory) / "bench.sqlite"
    with sqlite3.connect(db) as conn:  # as a store written before budgets: no such column
        conn.execute("ALTER TABLE trials DROP COLUMN budget")
        conn.execute("ALTER TABLE superseded_trials DROP COLUMN budget")
    store = Store(db)  # migrates: the column comes back, empty
    try:
        store.verify()  # the rows' checksums, written without a budget, still hold
        told = store.finished_trials(CellKey("toy-task", "toy", "random", 0))
    finally:
        store.close()
    assert [t.budget for t in told] == [None, None]
