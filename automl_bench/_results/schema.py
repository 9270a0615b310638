"""What the results store holds: its file, its tables and columns, and which of them its
checksums cover (`automl_bench._results.store` writes them, `integrity` checks them).
"""

from __future__ import annotations

#: The store's file name in a results directory.
DB_NAME = "bench.sqlite"
#: The lock a `bench run` holds on its results directory while it writes there.
RUN_LOCK = ".bench.lock"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL, checksum TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS runs (
    run_id INTEGER PRIMARY KEY AUTOINCREMENT,
    started REAL NOT NULL,
    environment TEXT NOT NULL,
    checksum TEXT NOT NULL DEFAULT ''
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
    checksum TEXT NOT NULL DEFAULT '',
    cost TEXT NOT NULL DEFAULT '{}',
    budget INTEGER,
    UNIQUE (task, backend, strategy, seed, number)
);
CREATE TABLE IF NOT EXISTS finals (
    task TEXT NOT NULL, backend TEXT NOT NULL, strategy TEXT NOT NULL, seed INTEGER NOT NULL,
    number INTEGER NOT NULL,
    run_id INTEGER NOT NULL REFERENCES runs(run_id),
    params TEXT NOT NULL, status TEXT NOT NULL, metrics TEXT NOT NULL, error TEXT NOT NULL,
    finished REAL NOT NULL,
    model TEXT NOT NULL DEFAULT '',
    checksum TEXT NOT NULL DEFAULT '',
    UNIQUE (task, backend, strategy, seed)
);
"""
#: Rows that ``--retry-failed`` replaced, kept with the time they were superseded.
HISTORY = """
CREATE TABLE IF NOT EXISTS superseded_trials AS SELECT *, 0.0 AS superseded FROM trials WHERE 0;
CREATE TABLE IF NOT EXISTS superseded_finals AS SELECT *, 0.0 AS superseded FROM finals WHERE 0;
"""


#: A trial's values, in the order its checksum covers them (a store is written and read by name).
TRIAL_COLUMNS = ("task", "backend", "strategy", "seed", "number", "run_id", "trial_seed", "params", "status", "value",
                 "metrics", "epochs", "train_seconds", "eval_seconds", "wall_seconds", "error", "history", "finished",
                 "dataset", "placement", "cost", "budget")
#: A final's values, likewise.
FINAL_COLUMNS = ("task", "backend", "strategy", "seed", "number", "run_id", "params", "status", "metrics", "error",
                 "finished", "model")
#: Each trial value's type in the schema (Text, Integer, Real): what SQLite hands it back as.
TRIAL_KINDS = "TTTIIIITTRTIRRRTTRTTTI"
#: Every table's values that its rows' checksums cover, in that order.
CHECKED = {"meta": ("key", "value"), "runs": ("run_id", "started", "environment"), "trials": TRIAL_COLUMNS,
           "finals": FINAL_COLUMNS}
#: Columns that hold JSON.
JSON_COLUMNS = ("params", "metrics", "history", "dataset", "placement", "environment", "cost")
#: Columns added after rows carried checksums, in order, with their defaults: a row whose last
#: values are these defaults is checksummed without them, so that the rows a store held before
#: keep their checksums.
LATER = {"trials": (("cost", "{}"), ("budget", None))}
#: Columns a store holds for its own checks, not results: left out of what it hands on.
INTERNAL_COLUMNS = ("checksum",)
#: Beside the store while a run writes to it: a line per trial and final it held when the run
#: began, then one per trial and final as each is committed. After a killed run it says what the
#: store must hold, whatever became of its ``-wal``.
RECORDED = ".bench.recorded"
