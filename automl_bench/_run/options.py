"""What a run is asked to do beyond its suite: `bench run`'s options as the driver takes them,
declared once (the Python API's `automl_bench.runs.RunSettings` adds what only it and the
command line decide: the report, the progress display, the exit status, extra plugins)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence


@dataclass(frozen=True)
class RunOptions:
    #: Results go to ``out/<suite name>/`` (``--out``).
    out: Path = Path("results")
    #: Trials run at once (default: the suite's).
    workers: int | None = None
    #: What runs the trials: ``local``, ``ray``, or a plugin's (default: the suite's [execution] executor).
    executor: str | None = None
    #: Cap trials per cell, and epochs per trial (smoke runs).
    max_trials: int | None = None
    max_epochs: int | None = None
    #: Seeds replacing the suite's.
    seeds: Sequence[int] | None = None
    #: Discard earlier results of this suite and start over.
    fresh: bool = False
    #: Run the cells that can run when preflight finds some that cannot (exit status 2 still).
    keep_going: bool = False
    #: Run the recorded failed and timed-out trials again; their rows move to the store's history.
    retry_failed: bool = False
    #: Go on with a store that lost trials it held (a deleted -wal, an older copy): they run again.
    accept_loss: bool = False
