"""A run that cannot work stops before it starts; failures of the environment are not results;
exit codes a CI job can trust; capped runs keep to their own directory; damaged stores are named."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from automl_bench._cli import cli
from automl_bench._manager import get_plugin_manager
from automl_bench._results.collect import exit_status
from automl_bench._run.driver import RunOptions, results_name, run_suite
from automl_bench._suite import load_suite
from automl_bench.errors import PreflightError, ResultsError, StoreError
from automl_bench.testing import TOY_PLUGIN

#: A dataset that loads only once a file exists ($FLAKY_DATA_FILE), and, with $FLAKY_DATA_IN_WORKERS
#: unset, not in worker processes either: the environment failing, not a configuration.
FLAKY_PLUGIN = '''
import multiprocessing, os
from pathlib import Path
from automl_bench import Backend, BackendSpec, DataError, DatasetSpec, BackendUnavailableError, hookimpl
from automl_bench.testing.toy import load_toy


def load():
    if not Path(os.environ["FLAKY_DATA_FILE"]).exists():
        raise DataError(f"dataset 'flaky': cannot find {os.environ['FLAKY_DATA_FILE']}; put it there")
    in_worker = multiprocessing.current_process().name != "MainProcess"
    if in_worker and not os.environ.get("FLAKY_DATA_IN_WORKERS"):
        raise DataError("dataset 'flaky': the workers' disk lost it")
    return load_toy()


class Missing(Backend):
    def setup(self, *, threads, device):
        raise BackendUnavailableError("needs jax: pip install jax")
    def fit(self, **kw): pass
    def evaluate(self, model, x, y): pass
    def environment(self): return {"device": "cpu"}


@hookimpl
def bench_datasets(register):
    register(DatasetSpec("flaky", "loads when its file is there", load))


@hookimpl
def bench_backends(register):
    register(BackendSpec("jaxish", "needs jax", Missing))
'''


@pytest.fixture
def flaky(tmp_path, monkeypatch):
    """A host with the toy and flaky plugins; returns (host, data file)."""
    (tmp_path / "flaky_plugin.py").write_text(textwrap.dedent(FLAKY_PLUGIN))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", f"{tmp_path}{os.pathsep}{os.environ['PYTHONPATH']}")
    data = tmp_path / "flaky.data"
    monkeypatch.setenv("FLAKY_DATA_FILE", str(data))
    monkeypatch.setenv("FLAKY_DATA_IN_WORKERS", "1")
    return get_plugin_manager([TOY_PLUGIN, "flaky_plugin"]), data


def suite_with(write_suite, tmp_path, *, backends='"toy"', dataset="toy", max_trials=2, **kw):
    text = write_suite(max_trials=max_trials, **kw).read_text()
    text = text.replace('backends = ["toy"]', f"backends = [{backends}]").replace('dataset = "toy"',
                                                                                   f'dataset = "{dataset}"')
    path = tmp_path / "suite.toml"
    path.write_text(text)
    return path


def run(path, host, out, **options):
    return run_suite(load_suite(path, host), host, RunOptions(out=out, **options))


def recorded(out, table="trials"):
    """Rows in a table of the toy suite's store; 0 when no store was even created."""
    path = out / "toy" / "bench.sqlite"
    if not path.exists():
        return 0
    db = sqlite3.connect(path)
    try:
        return db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    finally:
        db.close()


# --------------------------------------------------------------------------- preflight


def test_missing_data_stops_the_run_before_any_trial_then_runs_every_trial_once_there(flaky, write_suite, tmp_path):
    host, data = flaky
    path = suite_with(write_suite, tmp_path, dataset="flaky", max_trials=3)
    with pytest.raises(PreflightError) as error:
        run(path, host, tmp_path / "out")
    assert error.value.exit_code == 2
    assert str(error.value).startswith(f"1 cell cannot run: dataset 'flaky': cannot find {data}; put it there\n"
                                       "  (toy-task/toy/random/seed=0)\nNothing was recorded for it")
    assert not (tmp_path / "out" / "toy" / "bench.sqlite").exists()  # nothing written at all
    data.write_text("here now")
    results = run(path, host, tmp_path / "out")
    assert list(results.trials["status"]) == ["ok"] * 3 and results.not_run == {}


def test_fresh_deletes_nothing_when_the_run_cannot_start(flaky, write_suite, tmp_path):
    host, data = flaky
    data.write_text("here")
    path = suite_with(write_suite, tmp_path, dataset="flaky")
    run(path, host, tmp_path / "out")
    data.unlink()
    with pytest.raises(PreflightError):
        run(path, host, tmp_path / "out", fresh=True)
    assert recorded(tmp_path / "out") == 2  # the earlier results are still there


def test_a_backend_that_cannot_start_blocks_only_its_cells_with_keep_going(flaky, write_suite, tmp_path):
    host, _ = flaky
    path = suite_with(write_suite, tmp_path, backends='"jaxish", "toy"')
    with pytest.raises(PreflightError, match="backend 'jaxish' could not start: BackendUnavailableError: needs jax"):
        run(path, host, tmp_path / "out")
    results = run(path, host, tmp_path / "out", keep_going=True)
    assert set(results.trials["backend"]) == {"toy"} and (results.trials["status"] == "ok").all()
    assert list(results.not_run) == ["toy-task/jaxish/random/seed=0"]
    status, problems = exit_status(results)
    assert status == 2 and problems[0].startswith("toy-task/jaxish/random/seed=0: not run: backend 'jaxish'")


def test_a_failure_of_the_environment_mid_run_is_not_recorded_and_is_retried(flaky, write_suite, tmp_path,
                                                                               monkeypatch):
    from automl_bench._run import handoff as _handoff
    host, data = flaky
    data.write_text("present for the main process")
    monkeypatch.delenv("FLAKY_DATA_IN_WORKERS")  # ... but not for the workers
    monkeypatch.setattr(_handoff, "write", lambda *a: None)  # nor handed to them: they load it themselves
    path = suite_with(write_suite, tmp_path, dataset="flaky", max_trials=3)
    results = run(path, host, tmp_path / "out")
    assert results.trials.empty and recorded(tmp_path / "out") == 0
    assert results.not_run == {"toy-task/toy/random/seed=0": "DataError: dataset 'flaky': the workers' disk lost it"
                               " (at flaky_plugin.py:13 in load)"}
    assert exit_status(results)[0] == 2
    monkeypatch.setenv("FLAKY_DATA_IN_WORKERS", "1")
    results = run(path, host, tmp_path / "out")
    assert list(results.trials["trial"]) == [0, 1, 2] and (results.trials["status"] == "ok").all()


@pytest.mark.parametrize("extra, expected", [
    ("classes = [0, 5]", "dataset 'toy' has classes 0..1; no class 5"),
    ("shots = 50", "50 training examples per class asked, but class"),
])
def test_classes_and_shots_the_data_cannot_give_are_found_before_any_trial(host, write_suite, tmp_path, extra,
                                                                           expected):
    """A dataset that does not declare its class counts (`DatasetSpec.class_counts`; the toy one
    does, and validation then finds these: tests/test_suite.py) is found out by preflight."""
    from dataclasses import replace

    specs = host._registry("dataset").specs
    specs["toy"] = replace(specs["toy"], class_counts=None)
    path = write_suite().read_text().replace('dataset = "toy"', f'dataset = "toy"\n{extra}')
    (tmp_path / "s.toml").write_text(path)
    with pytest.raises(PreflightError, match=expected):
        run(tmp_path / "s.toml", host, tmp_path / "out")
    assert recorded(tmp_path / "out") == 0


def test_an_unwritable_results_directory_is_a_preflight_error(host, write_suite, tmp_path):
    if os.geteuid() == 0:
        target = tmp_path / "file-in-the-way"  # root writes anywhere: make the path unusable instead
        target.write_text("")
        out = target / "sub"
    else:
        out = tmp_path / "ro"
        out.mkdir(mode=0o500)
    with pytest.raises(PreflightError, match=r"cannot write results to .*; choose a writable directory with --out"):
        run(write_suite(), host, out)


# --------------------------------------------------------------------------- retry failed


def test_retry_failed_reruns_failed_trials_and_keeps_their_rows_as_superseded(host, write_suite, tmp_path):
    suite = write_suite(max_trials=4, activation='{ type = "categorical", choices = ["relu", "tanh"] }')
    first = run(suite, host, tmp_path / "out")
    failed = sorted(first.trials.loc[first.trials["status"] == "failed", "trial"])
    assert failed and len(failed) < 4
    resumed = run(suite, host, tmp_path / "out")
    assert list(resumed.trials["run_id"]) == list(first.trials["run_id"])  # a plain rerun repeats nothing
    retried = run(suite, host, tmp_path / "out", retry_failed=True)
    again = retried.trials.set_index("trial")
    assert sorted(again.index) == [0, 1, 2, 3]
    assert all(again.loc[n, "run_id"] == 3 for n in failed)  # run 3 ran them again (the toy fails them again)
    assert all(again.loc[n, "run_id"] == 1 for n in again.index if n not in failed)
    assert recorded(tmp_path / "out", "superseded_trials") == len(failed)
    assert recorded(tmp_path / "out", "superseded_finals") == 1  # the cell's test score was redone too
    assert len(retried.finals) == 1


# --------------------------------------------------------------------------- exit codes


def invoke(*args):
    return CliRunner().invoke(cli, ["-p", TOY_PLUGIN, *map(str, args)])


def test_exit_codes(write_suite, tmp_path, flaky):
    out = tmp_path / "out"
    some_fail = write_suite(max_trials=4, activation='{ type = "categorical", choices = ["relu", "tanh"] }',
                            name="some.toml")
    assert invoke("run", some_fail, "--out", out, "--quiet").exit_code == 0  # failed configurations are results
    strict = invoke("run", some_fail, "--out", out, "--quiet", "--strict")
    assert strict.exit_code == 2 and "--strict: " in strict.output and "trials failed or timed out" in strict.output
    all_fail = write_suite(max_trials=2, activation='"tanh"', name="all.toml")
    result = invoke("run", all_fail, "--out", tmp_path / "out2", "--quiet")
    assert result.exit_code == 2 and "toy-task/toy/random/seed=0: every trial failed" in result.output
    assert invoke("run", tmp_path / "nonexistent.toml").exit_code == 1
    assert invoke("run", some_fail, "--workers", "0").exit_code == 1  # a usage error
    bad = tmp_path / "bad.toml"
    bad.write_text("name = 3\n")
    assert invoke("run", bad).exit_code == 1
    flaky_suite = suite_with(write_suite, tmp_path, dataset="flaky")
    preflight = CliRunner().invoke(cli, ["-p", TOY_PLUGIN, "-p", "flaky_plugin", "run", "--quiet", "--out",
                                         str(tmp_path), str(flaky_suite)])
    assert preflight.exit_code == 2 and "1 cell cannot run: dataset 'flaky'" in preflight.output


def test_run_help_states_the_exit_codes():
    result = CliRunner().invoke(cli, ["run", "--help"])
    assert "Exit status:" in result.output and "130  interrupted (Ctrl-C, SIGTERM or SIGHUP)" in result.output


# --------------------------------------------------------------------------- capped runs


def test_an_epoch_capped_run_gets_its_own_directory_and_a_trial_capped_one_extends_the_suite(host, write_suite,
                                                                                           tmp_path):
    suite = write_suite(max_trials=4)
    capped = run(suite, host, tmp_path, max_trials=2, max_epochs=1)
    assert capped.directory == tmp_path / "toy+epochs1" and set(capped.trials["epochs"]) == {1}
    foreign_seed = run(suite, host, tmp_path, max_trials=1, seeds=[7])
    assert foreign_seed.directory == tmp_path / "toy+seeds7"
    many = list(range(100, 140))  # their list would outrun a folder name's 255 bytes at a few hundred seeds
    assert results_name("toy", 2, 2, [0], many) == "toy+seeds40-" + hashlib.sha256(
        "_".join(map(str, many)).encode()).hexdigest()[:12]
    prefix = run(suite, host, tmp_path, max_trials=2, seeds=[0])
    full = run(suite, host, tmp_path)
    assert prefix.directory == full.directory == tmp_path / "toy"
    assert list(full.trials["trial"]) == [0, 1, 2, 3] and set(full.trials["epochs"]) == {2}


def test_a_directory_of_other_caps_is_refused(host, write_suite, tmp_path):
    suite = write_suite(max_trials=2)
    run(suite, host, tmp_path)
    from automl_bench._results.store import Store

    store = Store(tmp_path / "toy" / "bench.sqlite")
    store.set_meta("max_epochs", "1")  # as if written with another cap
    store.close()
    with pytest.raises(ResultsError, match="holds trials capped at max_epochs=1, this run max_epochs=null"):
        run(suite, host, tmp_path)


# --------------------------------------------------------------------------- damaged stores


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_a_damaged_store_is_named_with_what_to_do(host, write_suite, tmp_path, damage):
    suite = write_suite(max_trials=2)
    run(suite, host, tmp_path)
    path = tmp_path / "toy" / "bench.sqlite"
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 3] if damage == "truncate" else data[:100] + os.urandom(4000) + data[4100:])
    before = path.read_bytes()
    with pytest.raises(StoreError, match=rf"{path} is damaged: .+; nothing in it was "
                                         r"changed\. Restore it from a backup, or rerun with --fresh"):
        run(suite, host, tmp_path)
    assert path.read_bytes() == before


@pytest.mark.parametrize("column, value, says", [
    ("dataset", "CAST(X'FFFE41' AS TEXT)", "Could not decode to UTF-8 column 'dataset'"),  # bytes hit a value
    ("metrics", "'{\"val_accuracy\": 0.9'", "does not match its checksum"),  # still text, no longer JSON
    # still valid JSON, or still a number: only the row's checksum knows
    ("history", "REPLACE(history, '0.', '0.9')", "a trial row (task='toy-task', backend='toy', strategy='random', "
                                                 "seed=0, number=0) does not match its checksum"),
    ("value", "value / 2", "does not match its checksum"),
])
def test_a_value_damaged_inside_the_store_is_named_with_what_to_do(host, write_suite, tmp_path, column, value, says):
    """Bytes overwritten inside one value leave SQLite's structure whole, so its integrity check
    passes; reading the value is where the damage shows, and it is said, not raised."""
    suite = write_suite(max_trials=2)
    run(suite, host, tmp_path)
    path = tmp_path / "toy" / "bench.sqlite"
    db = sqlite3.connect(path)
    db.execute(f"UPDATE trials SET {column} = {value} WHERE number = 0")
    db.commit()
    db.close()
    before = path.read_bytes()
    with pytest.raises(ResultsError) as info:
        run(suite, host, tmp_path)
    assert str(info.value).startswith(f"{path} is damaged: ") and says in str(info.value)
    assert "Restore it from a backup, or rerun with --fresh" in str(info.value)
    assert path.read_bytes() == before
    for command in ("report", "export"):  # they say the same, cleanly
        result = CliRunner().invoke(cli, [command, str(tmp_path / "toy")])
        assert result.exit_code == 2 and f"{path} is damaged: " in result.output
        assert result.exception.__class__ is SystemExit


def test_outputs_without_their_store_are_not_overwritten(host, write_suite, tmp_path):
    suite = write_suite(max_trials=2)
    run(suite, host, tmp_path)
    directory = tmp_path / "toy"
    (directory / "bench.sqlite").unlink()
    trials = (directory / "trials.csv").read_bytes()
    with pytest.raises(StoreError, match=r"has trials.csv, leaderboard.csv, leaderboard.md but no bench.sqlite, the "
                                           r"store they were written from: it was deleted or moved"):
        run(suite, host, tmp_path)
    assert (directory / "trials.csv").read_bytes() == trials
    assert not (directory / "bench.sqlite").exists()
    run(suite, host, tmp_path, fresh=True)  # --fresh starts over, as the message says


def test_a_store_that_cannot_be_written_says_so():
    from automl_bench._results.integrity import damaged

    error = damaged(Path("r/bench.sqlite"), sqlite3.OperationalError("attempt to write a readonly database"))
    assert str(error) == ("r/bench.sqlite cannot be written (attempt to write a readonly database); nothing in it was "
                          "changed. Make it and its folder writable, or rerun with --out to write elsewhere")


def test_a_store_that_lost_its_wal_after_a_kill_is_said_and_accept_loss_runs_those_trials_again(
        host, write_suite, tmp_path):
    """A run killed with trials in bench.sqlite-wal, whose -wal is then deleted: SQLite opens what
    is left without a word; the list of what the run recorded, kept beside the store until a run
    closes it, says what went."""
    from devtools.fuzzing import killed_copy

    suite = write_suite(max_trials=4)
    full = run(suite, host, tmp_path / "full").trials
    directory = killed_copy(tmp_path / "full" / "toy", tmp_path / "killed" / "toy", keep=2)
    (directory / "bench.sqlite-wal").unlink()
    before = (directory / "bench.sqlite").read_bytes()
    with pytest.raises(StoreError, match=r"the run that last wrote it was killed, and 2 trials and 1 test scores it "
                                         r"recorded are missing from it \(toy-task/toy/random/seed=0 trial 2; "
                                         r"toy-task/toy/random/seed=0 trial 3\): its bench.sqlite-wal was deleted, "
                                         r"damaged or replaced\. Nothing was changed\..*--accept-loss"):
        run(suite, host, tmp_path / "killed")
    assert (directory / "bench.sqlite").read_bytes() == before
    result = CliRunner().invoke(cli, ["report", str(directory)])  # no report of what is left, either
    assert result.exit_code == 2 and "are missing from it" in result.output
    again = run(suite, host, tmp_path / "killed", accept_loss=True).trials
    columns = ["trial", "params", "status", "value"]
    assert again[columns].equals(full[columns])  # the lost trials ran again, the same
    assert not (directory / ".bench.recorded").exists()  # the run that closed the store took the list away
    run(suite, host, tmp_path / "killed")


def test_a_refused_store_is_left_as_it_was_even_when_its_main_file_held_only_a_header(tmp_path):
    """A first run killed before SQLite's first checkpoint leaves only the header in the store's
    main file and everything else in its -wal. With that -wal deleted, the refusal that says
    "Nothing was changed" writes nothing: it once created the empty tables there first."""
    import shutil

    from automl_bench._results.schema import RECORDED
    from automl_bench._results.store import Store

    writer = sqlite3.connect(tmp_path / "bench.sqlite")
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("CREATE TABLE trials (task TEXT)")
    writer.commit()
    killed = tmp_path / "killed"
    killed.mkdir()
    shutil.copy2(tmp_path / "bench.sqlite", killed / "bench.sqlite")  # the -wal is not copied: it was deleted
    writer.close()
    (killed / RECORDED).write_text("trial\tt\ttoy\trandom\t0\t0\n")
    before = {p.name: p.read_bytes() for p in killed.iterdir()}
    with pytest.raises(StoreError, match="1 trials and 0 test scores it recorded are missing from it.*Nothing was "
                                         "changed"):
        Store(killed / "bench.sqlite")
    assert {p.name: p.read_bytes() for p in killed.iterdir() if p.name in before} == before
    assert not (killed / "bench.sqlite-wal").exists() or (killed / "bench.sqlite-wal").stat().st_size == 0


def test_older_trials_that_a_replaced_wal_took_are_said_too(host, write_suite, tmp_path):
    """The list beside the store starts with what the store held when the killed run began: a
    -wal of another moment can overwrite pages that hold trials of an earlier run, not only the
    killed run's (the store fuzzer's swap-wal found this)."""
    from devtools.fuzzing import killed_copy

    suite = write_suite(max_trials=4)
    run(suite, host, tmp_path / "full")
    directory = killed_copy(tmp_path / "full" / "toy", tmp_path / "killed" / "toy", keep=2)
    listed = (directory / ".bench.recorded").read_text().splitlines()
    assert listed[:2] == ["trial\ttoy-task\ttoy\trandom\t0\t0", "trial\ttoy-task\ttoy\trandom\t0\t1"]
    db = sqlite3.connect(directory / "bench.sqlite")  # an older trial gone, the killed run's all there
    db.execute("DELETE FROM trials WHERE number = 0")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match=r"1 trials and 0 test scores it recorded are missing from it "
                                         r"\(toy-task/toy/random/seed=0 trial 0\)"):
        run(suite, host, tmp_path / "killed")


def test_a_wal_of_another_moment_is_refused_before_sqlite_reads_through_it(host, write_suite, tmp_path):
    """The -shm indexes the -wal it was written with; a -wal of another moment put beside it is
    read through the wrong index, which can show every trial while open and lose some when the
    -wal is copied in (the store fuzzer's swap-wal). Its salts tell the two apart."""
    import shutil

    from automl_bench._results.integrity import wal_of_another_moment
    from devtools.fuzzing import killed_copy

    suite = write_suite(max_trials=4)
    run(suite, host, tmp_path / "full")
    directory = killed_copy(tmp_path / "full" / "toy", tmp_path / "killed" / "toy", keep=1)
    other = killed_copy(tmp_path / "full" / "toy", tmp_path / "other" / "toy", keep=3)
    shutil.copy2(other / "bench.sqlite-wal", directory / "bench.sqlite-wal")
    before = {p.name: p.read_bytes() for p in directory.iterdir()}
    with pytest.raises(StoreError, match=r"its bench.sqlite-wal is not the one its bench.sqlite-shm indexes \(a -wal "
                                         r"of another moment was put beside it\).*Nothing was changed"):
        run(suite, host, tmp_path / "killed")
    result = CliRunner().invoke(cli, ["export", str(directory), "-o", str(tmp_path / "export.json")])
    assert result.exit_code == 2 and "is not the one its bench.sqlite-shm indexes" in result.output
    assert {p.name: p.read_bytes() for p in directory.iterdir()} == before
    assert not wal_of_another_moment(other / "bench.sqlite")  # an index beside the -wal it indexes


def test_a_store_older_than_its_trials_csv_is_refused_and_a_newer_one_rewrites_it(host, write_suite, tmp_path, capsys):
    suite = write_suite(max_trials=4)
    full = run(suite, host, tmp_path).trials
    path = tmp_path / "toy" / "bench.sqlite"
    csv = tmp_path / "toy" / "trials.csv"
    db = sqlite3.connect(path)
    db.execute("DELETE FROM trials WHERE number >= 2")  # an older copy of the store, put back
    db.commit()
    db.close()
    listed = csv.read_bytes()
    with pytest.raises(StoreError, match=r"bench.sqlite is older than trials.csv beside it: 2 trials that the file "
                                         r"lists are not in the store \(toy-task/toy/random/seed=0 trial 2; "
                                         r"toy-task/toy/random/seed=0 trial 3\).*--accept-loss"):
        run(suite, host, tmp_path)
    assert csv.read_bytes() == listed
    again = run(suite, host, tmp_path, accept_loss=True).trials
    assert again["value"].tolist() == full["value"].tolist()
    lines = csv.read_text().splitlines()
    csv.write_text("\n".join(lines[:-1]) + "\n")  # the file one trial behind its store
    capsys.readouterr()
    run(suite, host, tmp_path)
    assert ("note: trials.csv is older than bench.sqlite: 1 trials were recorded after it was written"
            in capsys.readouterr().err)
    assert len(csv.read_text().splitlines()) == len(lines)  # rewritten whole
