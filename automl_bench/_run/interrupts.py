"""Ctrl-C, SIGTERM and SIGHUP during `bench run` (or `automl_bench.run` in a terminal's process).

The handler raises `KeyboardInterrupt` at once, as Python's own does, and also records that an
interrupt was asked for. Raised at an arbitrary point, the interrupt can land inside a library
that converts it (pydantic-core building a validator turns it into a `SchemaError`) or swallows
it (a plugin's registration, whose errors are warnings): the record lets the command line treat
whatever ends the run after an interrupt as that interrupt, and lets the driver's loop stop at
its next turn when nothing was raised at all. The signal is process-wide, and so is the record.
"""

from __future__ import annotations

import signal
from typing import Any

SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))
_requested = False


def install() -> None:
    """Handle the signals from now on; forget an interrupt of an earlier run in this process."""
    global _requested
    _requested = False
    for signum in SIGNALS:
        signal.signal(signum, _interrupt)


def _interrupt(signum: int, frame: Any) -> None:
    """Stop the run, and ignore any further signal from now on, so that a second one cannot break
    into the shutdown (workers stopped, the store closed) before it ends."""
    global _requested
    _requested = True
    ignore_further()
    raise KeyboardInterrupt


def ignore_further() -> None:
    """Once interrupted, the rest of the shutdown (well under a second) is not interrupted again:
    a second Ctrl-C would otherwise end the process by the signal instead of with status 130."""
    for signum in SIGNALS:
        signal.signal(signum, signal.SIG_IGN)


def requested() -> bool:
    """Whether an interrupt was asked for since `install`."""
    return _requested


def check() -> None:
    """Raise `KeyboardInterrupt` if an interrupt was asked for and something swallowed it."""
    if _requested:
        raise KeyboardInterrupt
