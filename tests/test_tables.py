"""`bench tabulate` and the table format: a toy grid run becomes a table that holds exactly what
the store recorded, with its provenance; runs that are not a complete grid, and files that are
not tables, are refused with what is wrong."""

from __future__ import annotations

import json
import sqlite3

import pandas as pd
import pytest
from click.testing import CliRunner

from automl_bench._cli import State, cli
from automl_bench._results.tabulate import tabulate
from automl_bench._run.driver import RunOptions, run_suite
from automl_bench._suite import load_suite
from automl_bench.tables import PARAM, SCHEMA_VERSION, Table, TableError, describe, read_table, write_table

GRID = """\
name = "grid"
seeds = [0, 1]
test_every_trial = true

[budget]
max_trials = {max_trials}

[matrix]
backends = ["toy"]
strategies = [{strategies}]

[strategy.grid]
points = 3

[space]
learning_rate = {{ type = "float", low = 1e-3, high = 1e-1, log = true }}
units = {{ type = "categorical", choices = [16, 32] }}
epochs = 3

[[tasks]]
name = "toy-task"
dataset = "toy"
"""


def run_grid(host, tmp_path, max_trials=6, strategies='"grid"'):
    path = tmp_path / "grid.toml"
    path.write_text(GRID.format(max_trials=max_trials, strategies=strategies))
    return run_suite(load_suite(path, host), host, RunOptions(out=tmp_path / "results"))


@pytest.fixture
def host(bench_host):
    return bench_host


def test_a_grid_run_becomes_a_table_of_exactly_what_was_recorded(host, tmp_path):
    results = run_grid(host, tmp_path)
    assert results.trials["test_accuracy"].notna().all()  # test_every_trial: every trial scored on the test split
    best = results.trials.sort_values(["value", "trial"], ascending=[False, True]).groupby("seed").head(1)
    assert sorted(results.finals["params"]) == sorted(best["params"])  # each cell's final is still its best
    table = tabulate(host, results.directory)
    frame = table.frame
    assert describe(table) == {"configurations": 6, "seeds": [0, 1], "rows": 6 * 2 * 3, "epochs": 3}
    assert table.params == ["learning_rate", "units", "epochs"]
    epochs = results.epochs
    for _, trial in results.trials.iterrows():
        params = json.loads(trial["params"])
        rows = frame[(frame["seed"] == trial["seed"]) & (frame[PARAM + "learning_rate"] == params["learning_rate"])
                     & (frame[PARAM + "units"] == params["units"])]
        recorded = epochs[(epochs["seed"] == trial["seed"]) & (epochs["trial"] == trial["trial"])]
        assert rows["epoch"].tolist() == [1, 2, 3]
        for column in ("val_accuracy", "val_loss", "train_loss", "seconds"):
            assert rows[column].tolist() == recorded[column].tolist()
        assert (rows["test_accuracy"] == trial["test_accuracy"]).all() and (rows["status"] == trial["status"]).all()
        assert (rows["trial_seed"] == trial["trial_seed"]).all()
    p = table.provenance
    assert p["task"] == "toy-task" and p["backend"] == "toy" and p["objective"] == "val_accuracy"
    assert p["dataset"]["sha256"] == results.trials["dataset_sha256"].iloc[0]
    assert p["suite"]["sha256"] == results.trials["suite_sha256"].iloc[0]
    assert p["space"][0] == {"name": "learning_rate", "type": "float", "log": True, "low": 1e-3, "high": 0.1,
                             "values": sorted(set(frame[PARAM + "learning_rate"]))}
    assert p["design"] == "grid" and p["configurations"] == len(frame.drop_duplicates([c for c in frame if c.startswith(PARAM)]))
    assert p["seeds"] == [0, 1] and p["missing"] == [] and "seconds" in p["calibration"]

    path = write_table(table, tmp_path / "tables" / "toy.parquet")  # and back, whole
    again = read_table(path)
    pd.testing.assert_frame_equal(again.frame, frame)
    assert again.provenance == {"schema_version": SCHEMA_VERSION, **json.loads(json.dumps(p))}


def test_the_command_writes_the_table_and_says_what_it_holds(host, tmp_path):
    results = run_grid(host, tmp_path)
    out = tmp_path / "t.parquet"
    result = CliRunner().invoke(cli, ["tabulate", str(results.directory), "-o", str(out)], obj=State(False, (), host))
    assert result.exit_code == 0, result.output
    assert result.output == f"{out}: 6 configurations x 2 seeds, 36 rows (up to 3 epochs) of toy-task on toy\n"
    assert len(read_table(out).frame) == 36


def test_an_incomplete_grid_is_refused_with_its_missing_points_or_kept_with_its_holes(host, tmp_path):
    results = run_grid(host, tmp_path, max_trials=4)  # 4 of the 6 configurations on each seed
    with pytest.raises(TableError, match=r"(?s)4 of 12 points of the grid \(6 configurations x seeds \[0, 1\]\) have no "
                                         r"trial of toy-task/toy/grid:\n  \{\"seed\": 0, .*--allow-missing"):
        tabulate(host, results.directory)
    table = tabulate(host, results.directory, allow_missing=True)
    assert len(table.provenance["missing"]) == 4 and describe(table)["rows"] == 8 * 3
    missing = {(m["seed"], m["learning_rate"], m["units"]) for m in table.provenance["missing"]}
    present = {(r["seed"], r[PARAM + "learning_rate"], r[PARAM + "units"]) for _, r in table.frame.iterrows()}
    assert not missing & present


def test_a_run_of_several_strategies_asks_which(host, tmp_path):
    results = run_grid(host, tmp_path, strategies='"grid", "random"')
    with pytest.raises(TableError, match=r"holds several strategies \(grid, random\).*choose with --strategy"):
        tabulate(host, results.directory)
    with pytest.raises(TableError, match=r"has no trials of strategy 'tpe'; it has: grid, random"):
        tabulate(host, results.directory, strategy="tpe")
    assert describe(tabulate(host, results.directory, strategy="grid"))["configurations"] == 6


def test_a_store_without_epoch_seconds_is_refused(host, tmp_path):
    results = run_grid(host, tmp_path)
    db = sqlite3.connect(results.directory / "bench.sqlite")
    for rowid, history in db.execute("SELECT rowid, history FROM trials").fetchall():
        epochs = [{k: v for k, v in e.items() if k != "seconds"} for e in json.loads(history)]
        db.execute("UPDATE trials SET history = ?, checksum = '' WHERE rowid = ?", (json.dumps(epochs), rowid))
    db.commit()
    db.close()
    with pytest.raises(TableError, match="written before runs recorded each epoch's seconds"):
        tabulate(host, results.directory)


@pytest.mark.parametrize("damage, says", [
    ("missing", "no such table file"),
    ("truncated", "is not a readable Parquet table"),
    ("foreign", "is not a readable Parquet table"),
    ("plain-parquet", "is a Parquet file but not an automl-bench table"),
    ("newer", "is a table of schema version 99, newer than this automl-bench reads (1): upgrade automl-bench"),
])
def test_a_file_that_is_not_a_readable_table_is_refused(tmp_path, damage, says):
    path = tmp_path / "t.parquet"
    frame = pd.DataFrame({PARAM + "x": [1, 2], "seed": [0, 0], "epoch": [1, 1], "seconds": [0.1, 0.1],
                          "status": ["ok", "ok"], "val_accuracy": [0.5, 0.6]})
    write_table(Table(frame, {"task": "t"}), path)
    if damage == "missing":
        path.unlink()
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif damage == "foreign":
        path.write_text("task,seed\nx,0\n")
    elif damage == "plain-parquet":
        frame.to_parquet(path)
    elif damage == "newer":
        import pyarrow.parquet as pq

        arrow = pq.read_table(path)
        pq.write_table(arrow.replace_schema_metadata({b"automl_bench": b'{"schema_version": 99}'}), path)
    with pytest.raises(TableError) as info:
        read_table(path)
    assert says in str(info.value) and str(path) in str(info.value)


def sampled(host, tmp_path, extra: str, max_trials: int = 5):
    """A random search over the grid's space; ``extra`` sets its options."""
    path = tmp_path / "sample.toml"
    text = GRID.format(max_trials=max_trials, strategies='"random"').replace("[strategy.grid]\npoints = 3", extra)
    path.write_text(text)
    return run_suite(load_suite(path, host), host, RunOptions(out=tmp_path / "results"))


def test_a_sampled_design_trained_on_every_seed_becomes_a_table(host, tmp_path):
    results = sampled(host, tmp_path, "[strategy.random]\ndesign_seed = 4")
    by_seed = results.trials.groupby("seed")["params"].apply(sorted)
    assert by_seed[0] == by_seed[1]  # design_seed: every seed trains the same five configurations
    table = tabulate(host, results.directory)
    p = table.provenance
    assert p["design"] == "sample" and p["configurations"] == 5 and p["strategy"] == "random"
    assert describe(table) == {"configurations": 5, "seeds": [0, 1], "rows": 5 * 2 * 3, "epochs": 3}
    rates = sorted({json.loads(t)["learning_rate"] for t in results.trials["params"]})
    assert p["space"][0]["values"] == rates and p["space"][0]["low"] == 1e-3


def test_a_sample_that_differs_between_seeds_is_refused_with_the_fix(host, tmp_path):
    results = sampled(host, tmp_path, "")  # no design_seed: each seed draws its own configurations
    with pytest.raises(TableError, match=r"(?s)of the sampled design .* design_seed set"):
        tabulate(host, results.directory)
    table = tabulate(host, results.directory, allow_missing=True)
    assert len(table.provenance["missing"]) == 2 * 10 - 10  # 10 configurations, each on one of 2 seeds
