"""The results store: damage found and named with what to do (a file cut short or overwritten, a
value changed inside, a lost or swapped ``-wal``, outputs without their store), and nothing
changed in a store that is refused."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from automl_bench._cli import cli
from automl_bench._run.driver import RunOptions, run_suite
from automl_bench._suite import load_suite
from automl_bench.errors import ResultsError, StoreError


def run(path, host, out, **options):
    return run_suite(load_suite(path, host), host, RunOptions(out=out, **options))



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
