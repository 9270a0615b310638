"""The errors a user can act on.

Every error that reaches the command line as a clean message (no traceback) is a
`BenchError`. Anything else is a bug and shows its traceback under ``bench --debug``.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["BackendUnavailableError", "BenchError", "CompareError", "DataError", "OptionError", "PluginError",
           "PreflightError", "ResultsError", "RunError", "StoreError", "SuiteError", "UnknownComponentError",
           "require"]


class BenchError(Exception):
    """Base class: the message alone tells the user what went wrong and what to do."""

    #: The exit status of `bench` when this error ends it (docs/explanation/how-a-run-works.md, "Exit status").
    exit_code = 1


class SuiteError(BenchError):
    """A suite file is malformed or invalid. Carries every problem found, not just the first; the
    message lists the first `SHOWN` of them, then how many more there are."""

    #: Problems the message lists; the rest are counted ("and 19,950 more"), and all stay in ``problems``.
    SHOWN = 50

    def __init__(self, path: str, problems: list[str]):
        self.path = path
        self.problems = list(problems)
        lines = "\n".join(f"  {p}" for p in self.problems[:self.SHOWN])
        more = len(self.problems) - self.SHOWN
        if more > 0:
            lines += f"\n  and {more:,} more (fix these and validate again)"
        noun = "problem" if len(self.problems) == 1 else "problems"
        super().__init__(f"{path}: {len(self.problems):,} {noun}:\n{lines}")


class PluginError(BenchError):
    """A plugin is missing, broken, or registers something invalid."""


class UnknownComponentError(PluginError):
    """A name that no plugin registers; the message lists the valid choices."""

    def __init__(self, kind: str, name: str, choices: list[str]):
        self.kind, self.name, self.choices = kind, name, sorted(choices)
        super().__init__(f"unknown {kind} {name!r}; choose one of: {', '.join(self.choices) or '(none registered)'}")


class BackendUnavailableError(BenchError):
    """A backend's framework is not installed here; the message names the fix."""


class DataError(BenchError):
    """A dataset cannot be loaded: missing, corrupt, or inconsistent."""


class PreflightError(BenchError):
    """Checked before the first trial: a cell, or the whole run, cannot run here (data, framework,
    GPU, results directory). Nothing was recorded for what it names."""

    exit_code = 2


class ResultsError(BenchError):
    """The results directory cannot be used (locked by another run, or from another suite)."""


class StoreError(ResultsError):
    """A results store that cannot be used as it is: damaged, unwritable, or missing trials that it
    held (a deleted ``-wal``, an older copy put back). The message names the file, what is wrong
    and what to do; nothing in the store was changed. Exit status 2, like a cell that cannot run."""

    exit_code = 2


class CompareError(BenchError):
    """`bench compare` cannot compare its inputs (missing or corrupt, another suite version, no
    common cell): exit status 2, so that CI tells it from a regression (1)."""

    exit_code = 2


class OptionError(BenchError):
    """An option of the Python API (`automl_bench.run`) that does not exist or has a bad value: the
    message names the valid options. Exit status 1, like a usage error of `bench run`."""


class RunError(BenchError):
    """A run that `bench run` would end with exit status 2: a cell could not run, every trial of a
    cell failed, or, with ``strict``, any trial failed. What did run is kept: ``results`` holds it
    and ``problems`` says what went wrong, one line each."""

    exit_code = 2

    def __init__(self, problems: list[str], results: Any = None):
        self.problems, self.results = list(problems), results
        super().__init__("; ".join(self.problems))


def require(module: str, *, needed_by: str, install: str, error: type[BenchError] = PluginError) -> Any:
    """Import an optional dependency, or raise ``error`` saying what needs it and how to install it:
    ``optuna = require("optuna", needed_by="strategy 'tpe'", install="pip install 'automl-bench[search]'")``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise error(f"{needed_by} needs {module}, which is not installed here: {install}") from exc
