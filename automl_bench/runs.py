"""Running suites and reading their results from Python: the way in that `bench run` and a
notebook share.

    import automl_bench as ab

    results = ab.run("suites/ci.toml", max_trials=2)   # or a suite built as a dict
    results.trials          # one row per trial, one column per parameter (config/<name>)
    results.leaderboard     # the leaderboard `bench run` prints
    results.curves()        # every epoch's metrics in long form: one row per trial, epoch and metric
    results.report()        # report/index.html, as `bench report` writes it
    again = ab.load(results.directory)                 # read back, changing nothing

`run` takes the options `bench run` has, as keywords (`OPTIONS`); what ends `bench run` with an
error raises the same `BenchError`, and what it ends with exit status 2 (a cell that could not
run, a cell whose every trial failed, any failed trial with ``strict``) raises `RunError`, which
carries the results of what did run. Nothing here imports a framework or pandas until it is
called.
"""

from __future__ import annotations

import difflib
import json
import numbers
from dataclasses import dataclass, fields, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from automl_bench._run.options import RunOptions
from automl_bench.errors import OptionError, RunError, SuiteError

if TYPE_CHECKING:
    import pandas as pd

    from automl_bench._api.records import RunResults
    from automl_bench._manager import Host

__all__ = ["OPTIONS", "Results", "RunSettings", "load", "run"]

#: The identity of a trial, and of its cell: the columns `Results.curves` keeps beside each value.
TRIAL = ["task", "backend", "strategy", "seed", "trial"]


@dataclass(frozen=True)
class RunSettings(RunOptions):
    """The options of `run`, with `bench run`'s defaults: the driver's (`out`, `workers`,
    `executor`, `max_trials`, `max_epochs`, `seeds`, `fresh`, `keep_going`, `retry_failed`,
    `accept_loss`), then these."""

    #: `RunError` if any trial failed or timed out.
    strict: bool = False
    #: Write the report (statistics and pictures) at the end.
    report: bool = True
    #: Show live progress (a terminal's, or a notebook cell's where ipywidgets is installed).
    progress: bool = True
    #: Extra plugin modules by import path, as ``bench -p`` (``no:NAME`` blocks one).
    plugins: Sequence[str] = ()


#: The options `run` takes.
OPTIONS = tuple(f.name for f in fields(RunSettings))
_COUNTS = ("workers", "max_trials", "max_epochs")
_FLAGS = ("fresh", "keep_going", "retry_failed", "accept_loss", "strict", "report", "progress")


def settings_of(options: Mapping[str, Any]) -> RunSettings:
    """`RunSettings` from keyword options, or an `OptionError` naming the bad one and the valid ones."""
    for name, value in options.items():
        if name not in OPTIONS:
            close = difflib.get_close_matches(name, OPTIONS, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise OptionError(f"unknown option {name!r} of automl_bench.run; {hint}options: {', '.join(OPTIONS)}")
        _check(name, value)
    settings = RunSettings(**options)
    seeds = [int(seed) for seed in settings.seeds] if settings.seeds is not None else None
    return replace(settings, out=Path(settings.out), seeds=seeds)


def _check(name: str, value: Any) -> None:
    def bad(expected: str) -> OptionError:
        return OptionError(f"option {name}={value!r}: expected {expected}")

    if name in _COUNTS and value is not None and (type(value) is not int or value < 1):
        raise bad("a whole number >= 1, or None")
    if name in _FLAGS and not isinstance(value, bool):
        raise bad("True or False")
    if name == "seeds" and value is not None and (isinstance(value, (str, bytes)) or not all(
            isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in value)):  # numpy's too
        raise bad("a list of whole numbers, or None")
    if name == "plugins" and (isinstance(value, (str, bytes)) or not all(isinstance(p, str) for p in value)):
        raise bad("a list of module import paths")
    if name == "out" and not isinstance(value, (str, Path)):
        raise bad("a folder's path")
    if name == "executor" and value is not None and not isinstance(value, str):
        raise bad("an executor's name, or None")


def run(suite: str | Path | Mapping[str, Any], **options: Any) -> Results:
    """Run (or resume) every cell of ``suite``, a suite file's path or a suite as a dict (the
    TOML's tables as dicts, relative paths from the current folder), and return its `Results`.
    ``options`` are `bench run`'s (`RunSettings`). Raises a `BenchError` where `bench run` stops
    with an error, and `RunError` (carrying the results) where it ends with exit status 2."""
    settings = settings_of(options)
    _refuse_in_a_starting_worker()
    from automl_bench._manager import get_plugin_manager

    return execute(suite, get_plugin_manager(tuple(settings.plugins)), settings)


def _refuse_in_a_starting_worker() -> None:
    """Workers start with spawn, which imports the main script again: a script that calls `run`
    outside ``if __name__ == "__main__":`` would start a run inside each worker."""
    import multiprocessing

    if multiprocessing.current_process().name.startswith("bench-worker"):
        raise OptionError("automl_bench.run was called while a worker process started: in a script, call it under "
                          "`if __name__ == \"__main__\":` (workers start by spawn, which imports the script again; "
                          "a notebook needs nothing)")


def execute(suite: str | Path | Mapping[str, Any], host: "Host", settings: RunSettings) -> Results:
    """`run` with a plugin host already built (as `bench run` builds one, to announce what went
    wrong loading plugins)."""
    from automl_bench._results.collect import exit_status
    from automl_bench._run.driver import run_suite

    loaded = _load_suite(suite, host)
    if settings.executor is not None:
        host.executor(settings.executor)  # an unknown name lists the valid ones
    progress = None
    if settings.progress:
        from automl_bench._run.progress import RichProgress

        progress = RichProgress()
    results = Results(run_suite(loaded, host, settings, progress), host)
    if settings.report:
        results.report()
    status, problems = exit_status(results.raw, strict=settings.strict)
    if status:
        raise RunError(problems, results)
    return results


def _load_suite(suite: Any, host: "Host") -> Any:
    from automl_bench._suite import load_suite

    if isinstance(suite, (str, Path)):
        return load_suite(suite, host)
    if not isinstance(suite, Mapping):
        raise OptionError(f"suite: expected a suite file's path or a dict, not {type(suite).__name__}")
    import tomli_w

    where = Path.cwd() / f"<suite {suite.get('name', '')!s}>"
    try:
        text = tomli_w.dumps(dict(suite))
    except (TypeError, ValueError) as exc:  # None, or a value TOML has no type for
        raise SuiteError(str(where), [f"cannot be written as a suite (TOML): {exc}"]) from None
    return load_suite(where, host, text=text)


def load(directory: str | Path) -> Results:
    """The `Results` of a results directory (``results/<suite>/``), finished or interrupted, read
    from its store without changing what it holds. A folder that is not one is a `ResultsError`."""
    from automl_bench._results.collect import load_results

    return Results(load_results(Path(directory)))


class Results:
    """A run's results as pandas tables, read once from its store.

    ``trials`` has one row per trial and one column per search-space parameter
    (``config/<name>``, as Ray Tune's result grid names them; ``params_*`` are the model's
    parameter counts; empty where a conditional parameter was inactive); ``raw`` is the
    `RunResults` record reporters receive, whose ``trials`` keeps the parameters as JSON, as
    ``trials.csv`` does."""

    def __init__(self, raw: "RunResults", host: "Host | None" = None):
        self.raw = raw
        self._host = host
        #: The report's index.html, once written (by `run`, or `report`).
        self.report_path: Path | None = None

    @property
    def suite(self) -> str:
        return self.raw.suite

    @property
    def directory(self) -> Path:
        return self.raw.directory

    @cached_property
    def trials(self) -> "pd.DataFrame":
        """One row per trial: its cell, number, status, score, costs and environment, and one
        ``config/<name>`` column per parameter."""
        import pandas as pd

        frame = self.raw.trials
        if frame.empty or "params" not in frame:
            return frame.copy()
        params = pd.DataFrame([json.loads(p) if isinstance(p, str) else {} for p in frame["params"]],
                              index=frame.index).add_prefix("config/")
        at = frame.columns.get_loc("params")
        return pd.concat([frame.iloc[:, :at], params, frame.iloc[:, at + 1:]], axis=1)

    @property
    def leaderboard(self) -> "pd.DataFrame":
        """One row per task, backend and strategy, as `bench run` prints it (its columns:
        docs/how-to/results.md)."""
        return self.raw.leaderboard

    @property
    def finals(self) -> "pd.DataFrame":
        """One row per test evaluation of a cell's best configuration."""
        return self.raw.finals

    def curves(self, metrics: Sequence[str] | None = None) -> "pd.DataFrame":
        """Every epoch of every trial in long form: the trial's cell and number, ``epoch``,
        ``metric`` and ``value``; only ``metrics`` where given (e.g. ``["val_accuracy"]``)."""
        wide = self.raw.epochs
        if wide.empty:
            import pandas as pd

            return pd.DataFrame(columns=[*TRIAL, "epoch", "metric", "value"])
        measured = [c for c in wide.columns if c not in (*TRIAL, "epoch")]
        chosen = measured if metrics is None else [m for m in metrics if m in measured]
        if metrics is not None and len(chosen) < len(metrics):
            missing = [m for m in metrics if m not in measured]
            raise OptionError(f"metrics: no epoch recorded {', '.join(missing)}; recorded: {', '.join(measured)}")
        long = wide.melt(id_vars=[*TRIAL, "epoch"], value_vars=chosen, var_name="metric", value_name="value")
        return long.dropna(subset=["value"]).sort_values([*TRIAL, "epoch", "metric"], ignore_index=True)

    def report(self) -> Path:
        """Write the report (report/index.html, report.md and pictures) as `bench report` does,
        and return index.html's path."""
        from automl_bench._results.report import write_report

        if self._host is None:
            from automl_bench._manager import get_plugin_manager

            self._host = get_plugin_manager()
        self.report_path = write_report(self._host, self.raw)[1]
        return self.report_path

    @property
    def summary(self) -> str:
        """The trials by status, as `bench run` ends with: ``"40 ok, 2 failed"`` (or ``"no trials"``)."""
        counts = self.raw.trials["status"].value_counts().to_dict() if not self.raw.trials.empty else {}
        return ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "no trials"

    def __repr__(self) -> str:
        return f"<Results {self.suite!r}: {len(self.raw.trials)} trials in {self.directory}>"

    def _repr_html_(self) -> str:
        """The leaderboard, in a notebook."""
        from html import escape

        return (f"<p><b>{escape(self.suite)}</b>: {len(self.raw.trials)} trials ({escape(self.summary)}) in "
                f"<code>{escape(str(self.directory))}</code></p>" + self.leaderboard.to_html(index=False))
