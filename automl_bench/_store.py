"""The results store: one SQLite file per suite, one transaction per finished trial.

Each trial is committed (``synchronous=FULL``) the moment it ends, so a run killed at any
point loses only the trials in flight. ``UNIQUE`` keys make recording a trial twice
impossible; a rerun reads what is here and asks only for what is missing.
"""

from __future__ import annotations

import functools
import json
import sqlite3
import time
from pathlib import Path
from typing import Any, Callable, Mapping, TypeVar

from automl_bench._records import CellKey, FinishedTrial, TrialOutcome
from automl_bench.errors import ResultsError

T = TypeVar("T")

#: The store's file name in a results directory.
DB_NAME = "bench.sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id INTEGER PRIMARY KEY AUTOINCREMENT,
    started REAL NOT NULL,
    environment TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS trials (
    task TEXT NOT NULL, backend TEXT NOT NULL, strategy TEXT NOT NULL, seed INTEGER NOT NULL,
    number INTEGER NOT NULL,
    run_id INTEGER NOT NULL REFERENCES runs(run_id),
    trial_seed INTEGER NOT NULL,
    params TEXT NOT NULL, status TEXT NOT NULL, value REAL, metrics TEXT NOT NULL,
    epochs INTEGER NOT NULL, train_seconds REAL NOT NULL, eval_seconds REAL NOT NULL,
    wall_seconds REAL NOT NULL, error TEXT NOT NULL, history TEXT NOT NULL, finished REAL NOT NULL,
    dataset TEXT NOT NULL DEFAULT '{}',
    placement TEXT NOT NULL DEFAULT '{}',
    UNIQUE (task, backend, strategy, seed, number)
);
CREATE TABLE IF NOT EXISTS finals (
    task TEXT NOT NULL, backend TEXT NOT NULL, strategy TEXT NOT NULL, seed INTEGER NOT NULL,
    number INTEGER NOT NULL,
    run_id INTEGER NOT NULL REFERENCES runs(run_id),
    params TEXT NOT NULL, status TEXT NOT NULL, metrics TEXT NOT NULL, error TEXT NOT NULL,
    finished REAL NOT NULL,
    model TEXT NOT NULL DEFAULT '',
    UNIQUE (task, backend, strategy, seed)
);
"""
#: Rows that ``--retry-failed`` replaced, kept with the time they were superseded.
HISTORY = """
CREATE TABLE IF NOT EXISTS superseded_trials AS SELECT *, 0.0 AS superseded FROM trials WHERE 0;
CREATE TABLE IF NOT EXISTS superseded_finals AS SELECT *, 0.0 AS superseded FROM finals WHERE 0;
"""


TRIAL_COLUMNS = ("task", "backend", "strategy", "seed", "number", "run_id", "trial_seed", "params", "status", "value",
                 "metrics", "epochs", "train_seconds", "eval_seconds", "wall_seconds", "error", "history", "finished",
                 "dataset", "placement")


#: Columns that hold JSON.
JSON_COLUMNS = ("params", "metrics", "history", "dataset", "placement")
FINAL_COLUMNS = ("task", "backend", "strategy", "seed", "number", "run_id", "params", "status", "metrics", "error",
                 "finished", "model")


def _guarded(method: Callable[..., T]) -> Callable[..., T]:
    """A store method whose SQLite failures, undecodable values and unreadable JSON become a
    `ResultsError` naming the file and what to do, never a traceback, and never a silent loss."""

    @functools.wraps(method)
    def guarded(self: "Store", *args: Any, **kwargs: Any) -> T:
        try:
            return method(self, *args, **kwargs)
        except (sqlite3.Error, UnicodeDecodeError, json.JSONDecodeError) as exc:  # a bug elsewhere stays a bug
            raise damaged(self.path, exc) from None

    return guarded


def damaged(path: Path, exc: BaseException) -> ResultsError:
    """The error for a store that cannot be read or written as it is."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if "readonly" in text or "read-only" in text:
        return ResultsError(f"{path} cannot be written ({text}); nothing in it was changed. Make it and its folder "
                            "writable, or rerun with --out to write elsewhere")
    return ResultsError(
        f"{path} is damaged: {text}; nothing in it was changed. Restore it from a backup, or rerun with --fresh to "
        "discard it and start over, or with --out to write elsewhere; `sqlite3 FILE .dump` shows what can still be "
        "read")


class Store:
    def __init__(self, path: Path):
        self.path = path
        try:
            self.db = sqlite3.connect(path, isolation_level=None)  # explicit transactions below
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            problems = [row[0] for row in self.db.execute("PRAGMA quick_check")]
            if problems != ["ok"]:
                raise sqlite3.DatabaseError("; ".join(problems[:3]))
            self.db.executescript(SCHEMA)
            columns = {row[1] for row in self.db.execute("PRAGMA table_info(trials)")}
            if "dataset" not in columns:  # a store written before trials recorded their data
                self.db.execute("ALTER TABLE trials ADD COLUMN dataset TEXT NOT NULL DEFAULT '{}'")
            if "placement" not in columns:  # ... or where they ran
                self.db.execute("ALTER TABLE trials ADD COLUMN placement TEXT NOT NULL DEFAULT '{}'")
            self.db.executescript(HISTORY)
            history = {row[1] for row in self.db.execute("PRAGMA table_info(superseded_trials)")}
            if "placement" not in history:
                self.db.execute("ALTER TABLE superseded_trials ADD COLUMN placement TEXT NOT NULL DEFAULT '{}'")
            for table in ("finals", "superseded_finals"):  # a store written before finals saved their model
                if "model" not in {row[1] for row in self.db.execute(f"PRAGMA table_info({table})")}:
                    self.db.execute(f"ALTER TABLE {table} ADD COLUMN model TEXT NOT NULL DEFAULT ''")
        except sqlite3.DatabaseError as exc:
            raise ResultsError(
                f"{path} is not a usable results store ({exc}); nothing in it was changed. Restore it from a "
                "backup, or rerun with --fresh to discard it and start over, or with --out to write elsewhere"
            ) from None

    def close(self) -> None:
        self.db.close()

    @_guarded
    def verify(self) -> None:
        """Read every stored value once, as resuming and reporting will: bytes overwritten inside a
        value leave SQLite's structure whole (its integrity check passes), and show only here. A run
        calls this before it writes anything, so a damaged store is said and left as it was."""
        for table, columns in (("trials", TRIAL_COLUMNS), ("finals", FINAL_COLUMNS)):
            parsed = [i for i, c in enumerate(columns) if c in JSON_COLUMNS]
            for row in self.db.execute(f"SELECT {', '.join(columns)} FROM {table}"):  # text decodes as it is read
                for i in parsed:
                    json.loads(row[i])
        for (environment,) in self.db.execute("SELECT environment FROM runs"):
            json.loads(environment)

    # -- meta and runs ----------------------------------------------------------------

    @_guarded
    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    @_guarded
    def set_meta(self, key: str, value: str) -> None:
        with self.transaction():
            self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    @_guarded
    def start_run(self, environment: Mapping[str, Any]) -> int:
        with self.transaction():
            cur = self.db.execute(
                "INSERT INTO runs (started, environment) VALUES (?, ?)", (time.time(), json.dumps(environment))
            )
        return int(cur.lastrowid)

    @_guarded
    def update_run_environment(self, run_id: int, environment: Mapping[str, Any]) -> None:
        with self.transaction():
            self.db.execute("UPDATE runs SET environment = ? WHERE run_id = ?", (json.dumps(environment), run_id))

    # -- trials -----------------------------------------------------------------------

    @_guarded
    def record_trial(self, cell: CellKey, number: int, run_id: int, trial_seed: int,
                     params: Mapping[str, Any], outcome: TrialOutcome, value: float | None,
                     wall_seconds: float, placement: Mapping[str, Any] | None = None) -> None:
        """Record a finished trial; ``placement`` says where it ran (`Finished.placement`, retries)."""
        history = [{"epoch": r.epoch, **r.metrics} for r in outcome.history]
        with self.transaction():
            self.db.execute(
                f"INSERT INTO trials ({', '.join(TRIAL_COLUMNS)}) VALUES ({', '.join('?' * len(TRIAL_COLUMNS))})",
                (cell.task, cell.backend, cell.strategy, cell.seed, number, run_id, trial_seed,
                 json.dumps(dict(params)), outcome.status, value, _dumps(outcome.metrics),
                 outcome.epochs, outcome.train_seconds, outcome.eval_seconds, wall_seconds, outcome.error,
                 _dumps(history), time.time(), json.dumps(dict(outcome.dataset)), json.dumps(dict(placement or {}))),
            )

    @_guarded
    def finished_trials(self, cell: CellKey) -> list[FinishedTrial]:
        rows = self.db.execute(
            "SELECT number, params, status, value FROM trials"
            " WHERE task=? AND backend=? AND strategy=? AND seed=? ORDER BY number",
            (cell.task, cell.backend, cell.strategy, cell.seed),
        ).fetchall()
        return [FinishedTrial(n, json.loads(p), s, v) for n, p, s, v in rows]

    @_guarded
    def histories(self, cell: CellKey, metric: str) -> dict[int, list[float]]:
        """Per-epoch values of ``metric`` for each recorded trial of a cell, by trial number."""
        rows = self.db.execute(
            "SELECT number, history FROM trials WHERE task=? AND backend=? AND strategy=? AND seed=?",
            (cell.task, cell.backend, cell.strategy, cell.seed),
        ).fetchall()
        return {n: [e[metric] for e in json.loads(h) if metric in e] for n, h in rows}

    @_guarded
    def record_final(self, cell: CellKey, number: int, run_id: int, params: Mapping[str, Any],
                     outcome: TrialOutcome, model: str = "") -> None:
        """Record the test evaluation of a cell's best trial, replacing one of an earlier best;
        ``model`` is the file its model was saved to (relative to the results directory), or ""."""
        with self.transaction():
            self.db.execute(
                f"INSERT OR REPLACE INTO finals ({', '.join(FINAL_COLUMNS)}) VALUES ({', '.join('?' * len(FINAL_COLUMNS))})",  # noqa: S608
                (cell.task, cell.backend, cell.strategy, cell.seed, number, run_id, json.dumps(dict(params)),
                 outcome.status, _dumps(outcome.metrics), outcome.error, time.time(), model),
            )

    @_guarded
    def final_number(self, cell: CellKey) -> int | None:
        """The trial whose configuration was scored on the test split, if any."""
        row = self.db.execute(
            "SELECT number FROM finals WHERE task=? AND backend=? AND strategy=? AND seed=?",
            (cell.task, cell.backend, cell.strategy, cell.seed),
        ).fetchone()
        return None if row is None else int(row[0])

    @_guarded
    def supersede_failed(self) -> int:
        """Move every failed and timed-out trial to ``superseded_trials`` so that the next run runs
        it again, with the test evaluations of the cells they belong to (whose best may change)
        and failed test evaluations; returns how many trials. One transaction: all or nothing."""
        now = time.time()
        failed = "status IN ('failed', 'timeout')"
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

    @_guarded
    def rows(self, table: str, *, without: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        """Every row of ``table`` as a dict, leaving out the columns named in ``without``."""
        if table not in ("trials", "finals", "runs", "superseded_trials", "superseded_finals"):
            raise ValueError(table)
        names = [row[1] for row in self.db.execute(f"PRAGMA table_info({table})") if row[1] not in without]
        cur = self.db.execute(f"SELECT {', '.join(names)} FROM {table}")  # noqa: S608 - names from the schema
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]

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
