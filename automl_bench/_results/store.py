"""The results store: one SQLite file per suite, one transaction per finished trial.

A trained trial is committed (``synchronous=FULL``) the moment it ends, so a run killed at any
point loses only the trials in flight. Replayed trials, which take microseconds, are committed
in groups (``grouped=True``): a group is committed once it holds `GROUP_TRIALS` trials, once it
is `GROUP_SECONDS` old at the next write, before any write that is not grouped, before the run
waits on its workers (`flush`), and when the store closes. A SIGKILL loses at most the one group
being written, which the next run replays again. ``UNIQUE`` keys make recording a trial twice
impossible; a rerun reads what is here and asks only for what is missing.

Damage is found, not guessed at, when a store is opened and verified: SQLite's own check finds a
broken structure; each trial and final row carries a checksum of its values, which finds bytes
overwritten inside a value (SQLite cannot see those); and a run that writes keeps a list beside the
store until it closes it, of what the store held when the run began and of what it committed
since, so that a ``-wal`` file deleted, cut short or replaced after a killed run (taking trials
with it, this run's or older ones) is said, not silently forgotten.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any, Mapping

from automl_bench._api.records import CellKey, FinishedTrial, TrialOutcome
from automl_bench._results import integrity
from automl_bench._results.integrity import damaged, guarded, refuse_wal_of_another_moment, row_checksum
from automl_bench._results.schema import (
    CHECKED,
    FINAL_COLUMNS,
    HISTORY,
    INTERNAL_COLUMNS,
    RECORDED,
    SCHEMA,
    TRIAL_COLUMNS,
    TRIAL_KINDS,
)
from automl_bench.errors import StoreError

#: A group of replayed trials is committed once it holds this many...
GROUP_TRIALS = 500
#: ...or once it is this many seconds old when the next one is written.
GROUP_SECONDS = 0.1


class Store:
    """One results store. ``accept_loss`` opens one that lost trials it held (its ``-wal`` was
    deleted after a killed run) instead of refusing it: those trials then run again."""

    def __init__(self, path: Path, *, accept_loss: bool = False, alone: bool = False):
        """``alone``: no run writes to the store meanwhile (the caller holds the run's lock), so
        its -wal and -shm can be checked against each other (`wal_of_another_moment`)."""
        self.path = path
        self.recorded = Path(path).with_name(RECORDED)
        self._recorded_fd: int | None = None  # open from start_run to close
        self._pending: list[tuple[Any, ...]] = []  # keys written in the open group, for RECORDED once committed
        self._group_since: float | None = None  # when the open group began (None: no group open)
        self._curves: dict[tuple[Any, ...], str] = {}  # curves written by this store, by value (`_history_json`)
        if alone:
            refuse_wal_of_another_moment(path)
        try:
            self.db = sqlite3.connect(path, isolation_level=None)  # explicit transactions below
            self.db.create_function("bench_checksum", -1, row_checksum, deterministic=True)
            problems = [row[0] for row in self.db.execute("PRAGMA quick_check")]
            if problems != ["ok"]:
                raise sqlite3.DatabaseError("; ".join(problems[:3]))
            # before anything is written: a refused store stays as it was
            lost = integrity.lost(self.db, self.recorded, self.path.name)
            if lost and not accept_loss:
                wal = f"{Path(path).name}-wal"
                raise StoreError(
                    f"{path}: the run that last wrote it was killed, and {lost}. Nothing was changed. Put {wal} "
                    f"back beside it if you have it (from the same moment, before anything opens the store); or "
                    "rerun `bench run` with --accept-loss to keep what is here and run the lost trials again, or with "
                    "--fresh to start over")
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.executescript(SCHEMA)
            self._migrate()
            self.db.executescript(HISTORY)
        except (sqlite3.Error, UnicodeDecodeError, StoreError) as exc:
            if hasattr(self, "db"):
                self.db.close()
            raise (exc if isinstance(exc, StoreError) else damaged(path, exc)) from None
        #: What the store lost (only with ``accept_loss``; otherwise it was refused), or "".
        self.lost = lost

    def _migrate(self) -> None:
        """Add the columns an older store lacks (every later column has a default)."""
        added = {"meta": (("checksum", "''"),), "runs": (("checksum", "''"),),
                 "trials": (("dataset", "'{}'"), ("placement", "'{}'"), ("checksum", "''"), ("cost", "'{}'"),
                            ("budget", None)),
                 "superseded_trials": (("placement", "'{}'"), ("checksum", "''"), ("cost", "'{}'"), ("budget", None)),
                 "finals": (("model", "''"), ("checksum", "''")),
                 "superseded_finals": (("model", "''"), ("checksum", "''"))}
        for table, columns in added.items():
            have = {row[1] for row in self.db.execute(f"PRAGMA table_info({table})")}
            if not have:  # the superseded tables: created from the migrated ones below
                continue
            for name, default in columns:
                if name not in have:
                    kind = "INTEGER" if default is None else f"TEXT NOT NULL DEFAULT {default}"
                    self.db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")

    def close(self) -> None:
        """Commit an open group and close the store; a run that wrote to it deletes its `RECORDED`
        list: every trial on it is in the store's main file once the last connection closes (SQLite
        copies the -wal in)."""
        try:
            self.flush()
        finally:
            self.db.close()
        if self._recorded_fd is not None:
            os.close(self._recorded_fd)
            self._recorded_fd = None
            self.recorded.unlink(missing_ok=True)

    @property
    def pending(self) -> int:
        """How many trials and test scores an open group holds, not yet committed."""
        return len(self._pending)

    @guarded
    def flush(self) -> None:
        """Commit the open group of replayed trials, if any, and list them in `RECORDED`."""
        if self._group_since is not None:
            self._group_since = None
            self.db.execute("COMMIT")
        if self._pending and self._recorded_fd is not None:  # one unbuffered write: it survives a kill
            os.write(self._recorded_fd, integrity.recorded_lines(self._pending))
        self._pending.clear()

    def _writing(self, grouped: bool) -> "_Transaction":
        """The transaction of one write: a group's, opened here if need be, when ``grouped``."""
        if grouped and self._group_since is None and not self.db.in_transaction:
            self.db.execute("BEGIN IMMEDIATE")
            self._group_since = time.perf_counter()
        return self.transaction()

    def _written(self, grouped: bool, *key: Any) -> None:
        """A trial or test score was written: commit it now, or with its group when that is due."""
        self._pending.append(key)
        if (self._group_since is None  # not in a group: committed as the write's transaction ended
                or not grouped or len(self._pending) >= GROUP_TRIALS
                or time.perf_counter() - self._group_since >= GROUP_SECONDS):
            self.flush()

    @guarded
    def verify(self) -> None:
        """Check every stored value against its row's checksum before a run writes (`integrity.verify`)."""
        integrity.verify(self.db, self.path)

    # -- meta and runs ----------------------------------------------------------------

    @guarded
    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    @guarded
    def set_meta(self, key: str, value: str) -> None:
        self.flush()
        with self.transaction():
            self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
            self._seal("meta")

    @guarded
    def start_run(self, environment: Mapping[str, Any]) -> int:
        """Record a run that is about to write trials, and start its `RECORDED` list (kept until
        `close`): if this process is killed and the ``-wal`` then lost, the next open says so."""
        self.flush()
        with self.transaction():
            cur = self.db.execute(
                "INSERT INTO runs (started, environment) VALUES (?, ?)", (time.time(), json.dumps(environment))
            )
            self._seal("runs")
        # The list starts with every trial and test score the store already holds: a -wal replaced
        # by another moment's can take pages that hold older rows, not only this run's.
        held = sorted(integrity.stored_keys(self.db))
        try:
            self._recorded_fd = os.open(self.recorded, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o644)
            if held:
                os.write(self._recorded_fd, integrity.recorded_lines(held))
        except OSError as exc:
            raise damaged(self.path, f"{self.recorded.name}: {exc.strerror}") from None
        return int(cur.lastrowid)

    @guarded
    def update_run_environment(self, run_id: int, environment: Mapping[str, Any]) -> None:
        self.flush()
        with self.transaction():
            self.db.execute("UPDATE runs SET environment = ? WHERE run_id = ?", (json.dumps(environment), run_id))
            self._seal("runs", f"run_id = {int(run_id)}")

    # -- trials -----------------------------------------------------------------------

    @guarded
    def record_trial(self, cell: CellKey, number: int, run_id: int, trial_seed: int,
                     params: Mapping[str, Any], outcome: TrialOutcome, value: float | None,
                     wall_seconds: float, placement: Mapping[str, Any] | None = None, *,
                     grouped: bool = False, budget: int | None = None) -> None:
        """Record a finished trial; ``placement`` says where it ran (`Finished.placement`, retries);
        ``budget``, the epochs its strategy allotted it (a `Proposal`'s), if it chose them.
        ``grouped``: a replayed trial, committed with its group (see the module's docstring)."""
        values = (cell.task, cell.backend, cell.strategy, cell.seed, number, run_id, trial_seed,
                  json.dumps(dict(params)), outcome.status, value, _dumps(outcome.metrics),
                  outcome.epochs, outcome.train_seconds, outcome.eval_seconds, wall_seconds, outcome.error,
                  _history_json(outcome.history, self._curves), time.time(), json.dumps(dict(outcome.dataset)),
                  json.dumps(dict(placement or {})), _dumps(dict(outcome.cost)), budget)
        stored = integrity.as_stored(values, TRIAL_KINDS)
        with self._writing(grouped):
            if stored is None:  # values whose stored form only SQLite knows: it computes the checksum
                self.db.execute(f"INSERT INTO trials ({', '.join(TRIAL_COLUMNS)}) VALUES "
                                f"({', '.join('?' * len(TRIAL_COLUMNS))})", values)
                self._seal("trials")
            else:  # one statement
                self.db.execute(f"INSERT INTO trials ({', '.join(TRIAL_COLUMNS)}, checksum) VALUES "
                                f"({', '.join('?' * len(TRIAL_COLUMNS))}, ?)", (*values, row_checksum("trials", *stored)))
        self._written(grouped, "trial", cell.task, cell.backend, cell.strategy, cell.seed, number)

    @guarded
    def finished_trials(self, cell: CellKey, objectives: tuple[str, ...] = ()) -> list[FinishedTrial]:
        """A cell's recorded trials as its strategy sees them; with a multi-objective suite's
        ``objectives``, each completed one with its ``values``."""
        from automl_bench._model.objectives import values_from

        rows = self.db.execute(
            "SELECT number, params, status, value, metrics, cost, train_seconds, eval_seconds, budget FROM trials"
            " WHERE task=? AND backend=? AND strategy=? AND seed=? ORDER BY number",
            (cell.task, cell.backend, cell.strategy, cell.seed),
        ).fetchall()
        trials = []
        for n, p, s, v, metrics, cost, train, evaluation, budget in rows:
            values = None
            if objectives and s == "ok":
                values = values_from(json.loads(metrics), json.loads(cost), train, evaluation, objectives)
                values = None if None in values else values
            trials.append(FinishedTrial(n, json.loads(p), s, v, values, budget))
        return trials

    @guarded
    def trial_keys(self) -> list[tuple[str, str, str, int, int]]:
        """(task, backend, strategy, seed, number) of every trial recorded, superseded ones included."""
        query = "SELECT task, backend, strategy, seed, number FROM {}"
        return [*self.db.execute(query.format("trials")), *self.db.execute(query.format("superseded_trials"))]

    @guarded
    def histories(self, cell: CellKey, metric: str) -> dict[int, list[float]]:
        """Per-epoch values of ``metric`` for each recorded trial of a cell, by trial number."""
        rows = self.db.execute(
            "SELECT number, history FROM trials WHERE task=? AND backend=? AND strategy=? AND seed=?",
            (cell.task, cell.backend, cell.strategy, cell.seed),
        ).fetchall()
        return {n: [e[metric] for e in json.loads(h) if metric in e] for n, h in rows}

    @guarded
    def record_final(self, cell: CellKey, number: int, run_id: int, params: Mapping[str, Any],
                     outcome: TrialOutcome, model: str = "", *, grouped: bool = False) -> None:
        """Record the test evaluation of a cell's best trial, replacing one of an earlier best;
        ``model`` is the file its model was saved to (relative to the results directory), or "".
        ``grouped``: a replayed one, committed with its group."""
        with self._writing(grouped):
            self.db.execute(
                f"INSERT OR REPLACE INTO finals ({', '.join(FINAL_COLUMNS)}) VALUES ({', '.join('?' * len(FINAL_COLUMNS))})",  # noqa: S608
                (cell.task, cell.backend, cell.strategy, cell.seed, number, run_id, json.dumps(dict(params)),
                 outcome.status, _dumps(outcome.metrics), outcome.error, time.time(), model),
            )
            self._seal("finals")
        self._written(grouped, "final", cell.task, cell.backend, cell.strategy, cell.seed)

    @guarded
    def final_number(self, cell: CellKey) -> int | None:
        """The trial whose configuration was scored on the test split, if any."""
        row = self.db.execute(
            "SELECT number FROM finals WHERE task=? AND backend=? AND strategy=? AND seed=?",
            (cell.task, cell.backend, cell.strategy, cell.seed),
        ).fetchone()
        return None if row is None else int(row[0])

    @guarded
    def supersede_failed(self) -> int:
        """Move every failed and timed-out trial to ``superseded_trials`` so that the next run runs
        it again, with the test evaluations of the cells they belong to (whose best may change)
        and failed test evaluations; returns how many trials. One transaction: all or nothing."""
        now = time.time()
        failed = "status IN ('failed', 'timeout')"
        self.flush()
        cells = f"(task, backend, strategy, seed) IN (SELECT task, backend, strategy, seed FROM trials WHERE {failed})"
        with self.transaction():
            count = self.db.execute(f"SELECT COUNT(*) FROM trials WHERE {failed}").fetchone()[0]  # noqa: S608
            finals = f"{cells} OR status != 'ok'"  # before the trials it names are moved
            named = ", ".join(FINAL_COLUMNS)  # by name, as below
            self.db.execute(f"INSERT INTO superseded_finals ({named}, superseded) SELECT {named}, ? FROM finals "  # noqa: S608
                            f"WHERE {finals}", (now,))
            self.db.execute(f"DELETE FROM finals WHERE {finals}")  # noqa: S608
            columns = ", ".join(TRIAL_COLUMNS)  # by name: an older store has its columns in another order
            self.db.execute(f"INSERT INTO superseded_trials ({columns}, superseded) SELECT {columns}, ? FROM trials "  # noqa: S608
                            f"WHERE {failed}", (now,))
            self.db.execute(f"DELETE FROM trials WHERE {failed}")  # noqa: S608
        return int(count)

    # -- export -----------------------------------------------------------------------

    @guarded
    def rows(self, table: str, *, without: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        """Every row of ``table`` as a dict, leaving out the columns named in ``without``."""
        if table not in ("trials", "finals", "runs", "superseded_trials", "superseded_finals"):
            raise ValueError(table)
        left_out = (*without, *INTERNAL_COLUMNS)
        names = [row[1] for row in self.db.execute(f"PRAGMA table_info({table})") if row[1] not in left_out]
        cur = self.db.execute(f"SELECT {', '.join(names)} FROM {table}")  # noqa: S608 - names from the schema
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]

    def _seal(self, table: str, where: str = "rowid = last_insert_rowid()") -> None:
        """Set the checksum of the row just written, over its values as SQLite stored them."""
        self.db.execute(f"UPDATE {table} SET checksum = bench_checksum('{table}', {', '.join(CHECKED[table])}) "  # noqa: S608
                        f"WHERE {where}")

    def transaction(self) -> "_Transaction":
        """A transaction: each write method opens one; around several writes (building a store in
        bulk, as the benchmarks do) it makes them one, and theirs join it."""
        return _Transaction(self.db)


class _Transaction:
    """A transaction; inside another one it joins it (the outer one commits or rolls back)."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db
        self.outer = False

    def __enter__(self) -> None:
        self.outer = not self.db.in_transaction
        if self.outer:
            self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        if self.outer:
            self.db.execute("ROLLBACK" if exc_type else "COMMIT")


def _dumps(value: Any) -> str:
    # NaN and inf survive as JSON tokens that json.loads reads back.
    return json.dumps(value, allow_nan=True)


def _history_json(history: Any, written: dict[tuple[Any, ...], str]) -> str:
    """A trial's epochs as the store keeps them: a JSON list of ``{"epoch": n, **metrics}``.

    Replayed trials repeat the same few curves thousands of times, and writing a curve's floats
    as text is most of what recording such a trial costs; so curves already written are looked up
    by their values in ``written``, the store's own memo. Only curves of non-zero floats are:
    ``-0.0 == 0.0`` and ``1 == 1.0`` would share a key and not a text."""
    values: list[Any] = []
    for report in history:
        values.append(report.epoch)
        for name, value in report.metrics.items():
            if value.__class__ is not float or value == 0.0:
                return _dumps([{"epoch": r.epoch, **r.metrics} for r in history])
            values += (name, value)
    key = tuple(values)
    text = written.get(key)
    if text is None:
        if len(written) >= 4096:  # training never repeats a curve: the memo stays small
            written.clear()
        text = written[key] = _dumps([{"epoch": r.epoch, **r.metrics} for r in history])
    return text





def epoch_rows(path: Path, keys: Any = None) -> list[dict[str, Any]]:
    """Per-epoch rows (cell, trial, epoch, metrics) of the trials of the store at ``path`` that
    ``keys`` names as ``(task, backend, strategy, seed, number)`` tuples, or of every trial (None).
    Reads through a read-only connection: nothing is checked, migrated or written."""
    try:
        db = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True)
        try:
            query = "SELECT task, backend, strategy, seed, number, history FROM trials"
            found = db.execute(query).fetchall() if keys is None else [
                row for key in keys for row in db.execute(
                    query + " WHERE task=? AND backend=? AND strategy=? AND seed=? AND number=?", tuple(key))]
        finally:
            db.close()
        return [{"task": t, "backend": b, "strategy": s, "seed": seed, "trial": n, **epoch}
                for t, b, s, seed, n, history in found for epoch in json.loads(history)]
    except (sqlite3.Error, UnicodeDecodeError, json.JSONDecodeError, TypeError) as exc:
        raise damaged(Path(path), exc) from None
