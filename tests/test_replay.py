"""The replay backend: a task that names a table replays its recorded curves instead of training,
exactly as recorded, so strategies and pruners can be compared on real training runs in moments."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from automl_bench import FinishedTrial
from automl_bench._results.tabulate import tabulate
from automl_bench._run.driver import RunOptions, run_suite
from automl_bench._suite import load_suite
from automl_bench.errors import SuiteError
from automl_bench.tables import PARAM, write_table

REPLAY = """\
name = "replay"
seeds = [0, 1, 2]

[budget]
max_trials = {max_trials}

[matrix]
backends = ["replay"]
strategies = [{strategies}]
{extra}
[[tasks]]
name = "toy-replay"
table = "table.parquet"
"""


@pytest.fixture
def host(bench_host):
    return bench_host


@pytest.fixture(scope="module")
def built_table(tmp_path_factory):
    """A table of the toy backend: 8 configurations x 2 seeds x 4 epochs, test scores included
    (built once for the module)."""
    from automl_bench._manager import get_plugin_manager
    from automl_bench.testing import TOY_PLUGIN, toy_table_suite

    host = get_plugin_manager((TOY_PLUGIN,))
    work = tmp_path_factory.mktemp("table")
    (work / "grid.toml").write_text(toy_table_suite(name="grid"))
    results = run_suite(load_suite(work / "grid.toml", host), host, RunOptions(out=work / "built"))
    return write_table(tabulate(host, results.directory), work / "table.parquet")


@pytest.fixture
def table(built_table, tmp_path):
    """Each test's own copy of the table, beside its suite."""
    import shutil

    return Path(shutil.copy(built_table, tmp_path / "table.parquet"))


def replay(host, tmp_path, *, max_trials=6, strategies='"random"', extra="", out="replayed"):
    path = tmp_path / "replay.toml"
    path.write_text(REPLAY.format(max_trials=max_trials, strategies=strategies, extra=extra))
    return run_suite(load_suite(path, host), host, RunOptions(out=tmp_path / out))


def test_a_replayed_trial_reports_exactly_the_tables_values_for_its_configuration_and_seed(host, tmp_path, table):
    from automl_bench.tables import read_table

    frame = read_table(table).frame
    results = replay(host, tmp_path, strategies='"random", "tpe"')
    assert set(results.trials["backend"]) == {"replay"} and (results.trials["status"] == "ok").all()
    epochs = results.epochs
    seeds_seen = set()
    for _, trial in results.trials.iterrows():
        params = json.loads(trial["params"])
        assert params["learning_rate"] in set(frame[PARAM + "learning_rate"])  # TPE's proposals snap to the table
        rows = frame[(frame[PARAM + "learning_rate"] == params["learning_rate"])
                     & (frame[PARAM + "units"] == params["units"])]
        replayed = epochs[(epochs["strategy"] == trial["strategy"]) & (epochs["seed"] == trial["seed"])
                          & (epochs["trial"] == trial["trial"])].sort_values("epoch")
        matches = [s for s, curve in rows.groupby("seed")
                   if curve.sort_values("epoch")["val_accuracy"].tolist() == replayed["val_accuracy"].tolist()
                   and curve.sort_values("epoch")["seconds"].tolist() == replayed["seconds"].tolist()]
        assert matches, (params, replayed)
        seeds_seen.update(matches)
        recorded = rows[rows["seed"] == matches[0]].iloc[0]
        assert trial["val_accuracy"] == recorded["final_val_accuracy"]
        assert trial["train_seconds"] == pytest.approx(rows[rows["seed"] == matches[0]]["seconds"].sum(), abs=1e-4)
        assert trial["dataset"] == "toy" and trial["device"] == "replay (no training)"
    assert seeds_seen == {0, 1}  # trial seeds pick among the table's seeds: both recorded runs are replayed
    finals = results.finals.set_index(["strategy", "seed"])
    for (strategy, seed), final in finals.iterrows():  # the test score of the best is the table's
        params = json.loads(final["params"])
        rows = frame[(frame[PARAM + "learning_rate"] == params["learning_rate"])
                     & (frame[PARAM + "units"] == params["units"])]
        assert final["test_accuracy"] in set(rows["test_accuracy"])


def test_the_same_seeds_give_identical_trials(host, tmp_path, table):
    columns = ["strategy", "seed", "trial", "params", "status", "value", "val_accuracy", "train_seconds"]
    first = replay(host, tmp_path, strategies='"tpe", "random"', out="a").trials[columns]
    second = replay(host, tmp_path, strategies='"tpe", "random"', out="b").trials[columns]
    assert first.equals(second)


def test_asha_on_a_replayed_table_stops_the_trials_that_asha_fed_the_same_curves_stops(host, tmp_path, table):
    results = replay(host, tmp_path, max_trials=8, strategies='"random+asha"')
    epochs = results.epochs
    for seed, trials in results.trials.groupby("seed"):
        pruner = host.pruners()["asha"].factory(**host.pruners()["asha"].options)
        for _, trial in trials.sort_values("trial").iterrows():  # one worker: trials end in number order
            curve = epochs[(epochs["seed"] == seed) & (epochs["trial"] == trial["trial"])].sort_values("epoch")
            stopped = False
            for epoch, value in zip(curve["epoch"], curve["val_accuracy"]):
                if pruner.should_prune(int(trial["trial"]), int(epoch), float(value)):
                    stopped = True
                    break
            assert stopped == (trial["status"] == "pruned"), (seed, trial["trial"])
            pruner.finish(FinishedTrial(int(trial["trial"]), json.loads(trial["params"]), trial["status"],
                                        trial["value"]))
    assert (results.trials["status"] == "pruned").any()  # the check above saw pruning happen


@pytest.mark.parametrize("change, where, says", [
    (("table = \"table.parquet\"", "table = \"nowhere.parquet\""), "tasks[0].table",
     "no such table file"),
    (("[[tasks]]", "[space]\nunits = { type = \"categorical\", choices = [16, 64] }\n\n[[tasks]]"), "space.units",
     "64: not in the table table.parquet, whose values of units are [16, 32]"),
    (("[[tasks]]", "[space]\ndropout = 0.5\n\n[[tasks]]"), "space.dropout",
     "the table table.parquet has no parameter 'dropout'; its parameters: learning_rate, units, epochs"),
    (("backends = [\"replay\"]", "backends = [\"replay\", \"toy\"]"), "matrix.backends[1]",
     "task 'toy-replay' replays a table: its backends must replay it (backend \"replay\"), not train ('toy')"),
    (("table = \"table.parquet\"", "dataset = \"toy\""), "matrix.backends[0]",
     "backend 'replay' replays tables: task 'toy-replay' names no table"),
])
def test_a_bad_replay_task_is_refused_at_validation_with_its_place(host, tmp_path, table, change, where, says):
    path = tmp_path / "replay.toml"
    path.write_text(REPLAY.format(max_trials=4, strategies='"random"', extra="").replace(*change))
    with pytest.raises(SuiteError) as info:
        load_suite(path, host)
    assert any(where in p and says in p for p in info.value.problems), info.value.problems


def test_a_table_of_another_objective_is_refused(host, tmp_path, table):
    from automl_bench.tables import read_table

    other = read_table(table)
    other.frame = other.frame.rename(columns={"val_accuracy": "val_f1", "final_val_accuracy": "final_val_f1"})
    other.provenance["objective"] = "val_f1"
    write_table(other, table)
    path = tmp_path / "replay.toml"
    path.write_text(REPLAY.format(max_trials=4, strategies='"random"', extra=""))
    with pytest.raises(SuiteError) as info:
        load_suite(path, host)
    assert any("tasks[0].table" in p and "the table table.parquet was searched on val_f1 and records val_loss, val_f1; "
               "this task's objective is val_accuracy" in p for p in info.value.problems), info.value.problems


def test_a_narrowed_space_replays_only_the_values_it_keeps(host, tmp_path, table):
    extra = "\n[space]\nunits = 32\nlearning_rate = { type = \"float\", low = 0.01, high = 1.0, log = true }\n"
    results = replay(host, tmp_path, strategies='"random"', extra=extra)
    params = [json.loads(p) for p in results.trials["params"]]
    assert {p["units"] for p in params} == {32} and min(p["learning_rate"] for p in params) >= 0.01


def test_a_changed_table_is_a_new_suite_version(host, tmp_path, table):
    from automl_bench.tables import read_table

    path = tmp_path / "replay.toml"
    path.write_text(REPLAY.format(max_trials=4, strategies='"random"', extra=""))
    before = load_suite(path, host).sha256
    changed = read_table(table)
    changed.frame["val_accuracy"] = changed.frame["val_accuracy"] / 2
    write_table(changed, table)
    assert load_suite(path, host).sha256 != before


@pytest.mark.slow  # a real torch grid (about 10 s), then its replay
def test_replaying_a_real_torch_grid_reproduces_the_recorded_best_of_every_seed(host, tmp_path):
    suite = Path(__file__).resolve().parents[1] / "suites" / "tables" / "digits-mlp-small.toml"
    built = run_suite(load_suite(suite, host), host, RunOptions(out=tmp_path / "built"))
    write_table(tabulate(host, built.directory), tmp_path / "table.parquet")
    (tmp_path / "replay.toml").write_text(
        'name = "replayed"\nseeds = [0, 1]\n[budget]\nmax_trials = 6\n[matrix]\nbackends = ["replay"]\n'
        'strategies = ["grid"]\n[strategy.grid]\npoints = 3\n[[tasks]]\nname = "digits-mlp"\n'
        'table = "table.parquet"\n')
    replayed = run_suite(load_suite(tmp_path / "replay.toml", host), host, RunOptions(out=tmp_path / "replayed"))
    assert (replayed.trials["status"] == "ok").all()
    ours, theirs = (r.finals.sort_values("seed", ignore_index=True) for r in (replayed, built))
    assert ours["params"].tolist() == theirs["params"].tolist()  # the same best configuration of each seed
    for column in ("val_accuracy", "test_accuracy"):
        assert ours[column].tolist() == theirs[column].tolist()
    best = lambda r: r.trials.groupby("seed")["val_accuracy"].max().tolist()  # noqa: E731
    assert best(replayed) == best(built)


def test_a_replay_killed_with_sigkill_then_rerun_records_every_trial_exactly_once(host, tmp_path, table):
    import os
    import signal
    import sqlite3
    import subprocess
    import sys
    import time

    extra = '\n[execution]\nexecutor = "simulated"\nworkers = 3\n'
    path = tmp_path / "replay.toml"
    path.write_text(REPLAY.format(max_trials=400, strategies='"random", "tpe"', extra=extra))
    bench = [str(Path(sys.executable).parent / "bench"), "run", str(path), "--out", str(tmp_path / "killed"),
             "--quiet", "--no-report"]
    process = subprocess.Popen(bench, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    store = tmp_path / "killed" / "replay" / "bench.sqlite"
    recorded = 0
    while recorded < 100 and process.poll() is None:  # killed once a hundred of the 2,400 trials are in
        time.sleep(0.02)
        try:
            recorded = sqlite3.connect(f"file:{store}?mode=ro", uri=True).execute("SELECT COUNT(*) FROM trials").fetchone()[0]
        except sqlite3.Error:
            pass
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL  # killed mid-run, not finished
    assert subprocess.run(bench, capture_output=True, text=True).returncode == 0
    whole = run_suite(load_suite(path, host), host, RunOptions(out=tmp_path / "whole")).trials
    resumed = run_suite(load_suite(path, host), host, RunOptions(out=tmp_path / "killed")).trials  # nothing left
    columns = ["strategy", "seed", "trial", "params", "status", "value", "sim_start", "sim_end"]
    key = ["strategy", "seed", "trial"]
    assert len(resumed) == len(whole) == 2 * 3 * 400
    assert not resumed.duplicated(key).any()
    random = lambda t: t[t["strategy"] == "random"][columns].sort_values(key, ignore_index=True)  # noqa: E731
    # random search proposes the same trials however often it is resumed (TPE learns from what it saw first)
    assert random(resumed)[["trial", "params", "status", "value"]].equals(random(whole)[["trial", "params", "status",
                                                                                           "value"]])


def test_a_table_of_per_layer_lists_is_refused_until_replay_reads_them(host, tmp_path):
    import pandas as pd

    from automl_bench.tables import Table

    frame = pd.DataFrame({PARAM + "units": [[64, 32], [16, 8]], "seed": [0, 0], "epoch": [1, 1],
                          "seconds": [0.1, 0.1], "status": ["ok", "ok"], "val_accuracy": [0.5, 0.6]})
    write_table(Table(frame, {"task": "t"}), tmp_path / "table.parquet")
    path = tmp_path / "replay.toml"
    path.write_text(REPLAY.format(max_trials=4, strategies='"random"', extra=""))
    with pytest.raises(SuiteError) as info:
        load_suite(path, host)
    assert info.value.problems == [f"{path}:13: tasks[0].table: task 'toy-replay': the table table.parquet holds "
                                   "lists in parameter 'units' (per-layer values), which replay does not read yet"]


def test_replayed_trials_are_committed_in_groups_and_a_kill_loses_only_the_open_group(tmp_path, monkeypatch):
    import shutil
    import sqlite3

    from automl_bench import CellKey
    from automl_bench._results import schema as _schema
    from automl_bench._results import store as _store
    from automl_bench._results.store import Store
    from automl_bench.executor import TrialOutcome

    def committed(path):
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return db.execute("SELECT COUNT(*) FROM trials").fetchone()[0]
        finally:
            db.close()

    cell, outcome = CellKey("t", "replay", "random", 0), TrialOutcome("ok", metrics={"val_accuracy": 0.5})
    path = tmp_path / "bench.sqlite"
    store = Store(path)
    run_id = store.start_run({})
    monkeypatch.setattr(_store, "GROUP_SECONDS", 3600.0)
    for number in range(3):
        store.record_trial(cell, number, run_id, 1, {"x": number}, outcome, 0.5, 0.0, grouped=True)
    assert (store.pending, committed(path)) == (3, 0)  # the group is open: nothing committed, nothing listed
    assert (tmp_path / _schema.RECORDED).read_text() == ""
    killed = tmp_path / "killed"  # what a SIGKILL now leaves: the store, its -wal and its list, as they are
    killed.mkdir()
    for name in ("bench.sqlite", "bench.sqlite-wal", _schema.RECORDED):
        shutil.copy(tmp_path / name, killed / name)
    monkeypatch.setattr(_store, "GROUP_TRIALS", 4)
    store.record_trial(cell, 3, run_id, 1, {"x": 3}, outcome, 0.5, 0.0, grouped=True)  # the group is full
    assert (store.pending, committed(path)) == (0, 4)
    assert len((tmp_path / _schema.RECORDED).read_text().splitlines()) == 4
    store.record_trial(cell, 4, run_id, 1, {"x": 4}, outcome, 0.5, 0.0, grouped=True)
    store.record_trial(cell, 5, run_id, 1, {"x": 5}, outcome, 0.5, 0.0)  # a trained trial: committed now, and its group
    assert (store.pending, committed(path)) == (0, 6)
    store.record_trial(cell, 6, run_id, 1, {"x": 6}, outcome, 0.5, 0.0, grouped=True)
    store.close()  # closing commits the open group
    assert committed(path) == 7 and not (tmp_path / _schema.RECORDED).exists()
    lost = Store(killed / "bench.sqlite")  # the killed copy: the open group is gone, and nothing it listed is
    assert (lost.lost, lost.finished_trials(cell)) == ("", [])
    lost.close()


@pytest.mark.parametrize("value, train_seconds, seed", [
    (0.5, 1.25, 3), (-0.0, 0, 3), (float("nan"), True, 3), (None, 2**40, True), (0.5, 1.0, 3.0)])
def test_a_trials_checksum_computed_before_it_is_written_is_the_one_its_stored_values_give(tmp_path, value,
                                                                                          train_seconds, seed):
    """The store computes a trial's checksum from its values as SQLite will hand them back, in the
    INSERT itself (-0.0 comes back 0.0, NaN as NULL, an int in a REAL column as a float); `verify`
    checks the row against the values read back. The last case (a float seed) is SQLite's to seal."""
    import sqlite3

    from automl_bench import CellKey
    from automl_bench._results.schema import TRIAL_COLUMNS, TRIAL_KINDS
    from automl_bench._results.store import Store
    from automl_bench.executor import TrialOutcome

    store = Store(tmp_path / "bench.sqlite")
    kinds = {row[1]: row[2][0] for row in store.db.execute("PRAGMA table_info(trials)")}
    assert "".join(kinds[c] for c in TRIAL_COLUMNS) == TRIAL_KINDS  # the kinds are the schema's
    run_id = store.start_run({})
    outcome = TrialOutcome("ok", metrics={"val_accuracy": 0.5}, train_seconds=train_seconds)
    store.record_trial(CellKey("t", "b", "s", seed), 0, run_id, 1, {"x": 1}, outcome, value, 0.0)
    store.verify()
    stored = store.db.execute("SELECT checksum FROM trials").fetchone()[0]
    store.db.execute("UPDATE trials SET checksum = ''")
    store._seal("trials", "1")  # what SQLite computes from the stored values
    assert store.db.execute("SELECT checksum FROM trials").fetchone()[0] == stored
    store.close()
    assert sqlite3.connect(tmp_path / "bench.sqlite").execute("SELECT COUNT(*) FROM trials").fetchone()[0] == 1


def test_a_replayed_study_imports_no_framework(table, tmp_path):
    """A replay run, report included, in a fresh process: no PyTorch, TensorFlow or Keras is
    imported anywhere in it (the simulated executor runs its trials in that process)."""
    import subprocess
    import sys

    path = tmp_path / "replay.toml"
    path.write_text(REPLAY.format(max_trials=6, strategies='"random", "tpe+asha"',
                                  extra='\n[execution]\nexecutor = "simulated"\nworkers = 2\n'))
    script = f"""
import sys
from automl_bench._cli import main
sys.argv = ["bench", "run", {str(path)!r}, "--out", {str(tmp_path / "out")!r}, "--quiet"]
try:
    main()
except SystemExit as exit:
    assert exit.code in (0, None), exit.code
print(sorted(m for m in ("torch", "tensorflow", "keras") if m in sys.modules))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"
    assert (tmp_path / "out" / "replay" / "report" / "index.html").is_file()


def test_a_multi_objective_suite_replays_scores_and_seconds(host, tmp_path, table):
    """Tables record scores and seconds, not costs: a replayed multi-objective search can trade
    accuracy against training seconds; a cost objective fails each trial, saying which."""
    path = tmp_path / "mo.toml"
    text = REPLAY.format(max_trials=6, strategies='"nsga2", "random"', extra="").replace(
        'seeds = [0, 1, 2]', 'seeds = [0, 1, 2]\nobjectives = ["val_accuracy", "train_seconds"]')
    path.write_text(text)
    results = run_suite(load_suite(path, host), host, RunOptions(out=tmp_path / "mo"))
    assert (results.trials["status"] == "ok").all() and (results.leaderboard["hypervolume"] > 0).all()
    path.write_text(text.replace('"train_seconds"', '"params_total"'))
    results = run_suite(load_suite(path, host), host, RunOptions(out=tmp_path / "costs"))
    assert (results.trials["error"] == "backend reported no params_total").all()
