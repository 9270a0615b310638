"""The ``replay`` backend: trials read their configuration's recorded curve from a table
(`automl_bench.tables`) instead of training, and report it epoch by epoch exactly as training
did, each epoch with its recorded seconds, so that pruners decide on the recorded curves. It
imports no framework.

Which recorded run of its configuration a trial replays: the one of its cell's seed where the
table has that seed (a replay of the very search that built the table reproduces it), else one
picked by the trial's seed (the same trial seed, the same curve; others, the other recorded
runs: real training noise across the seeds a study adds). What the trial ends
with is what the recorded trial ended with: its final validation scores, and its test score
when the run asks for one (a table built with ``test_every_trial = true`` has them). A
configuration the table records as failed fails again, saying so.
"""

from __future__ import annotations

import itertools
import math
import numbers
from typing import Any, Callable, Mapping

from automl_bench import Backend, BackendSpec, EpochReport, hookimpl
from automl_bench.tables import PARAM

#: Columns of a table that are not epoch metrics.
_META = ("seed", "trial_seed", "epoch", "status", "eval_seconds")


class ReplayBackend(Backend):
    def __init__(self) -> None:
        self._indexes: dict[int, tuple[Any, "_Index"]] = {}

    def environment(self) -> Mapping[str, str]:
        return {"device": "replay (no training)"}

    def fit(self, **kwargs: Any) -> Any:
        raise ValueError("the replay backend trains nothing: it replays the tasks that name a table")

    def evaluate(self, model: Any, x: Any, y: Any) -> Mapping[str, float]:
        raise ValueError("the replay backend evaluates nothing: it replays the tasks that name a table")

    def replay(self, table: Any, params: Mapping[str, Any], seed: int, report: Callable[[EpochReport], None],
               *, max_epochs: int | None = None, evaluate_test: bool = False,
               suite_seed: int | None = None) -> Mapping[str, float]:
        index = self._index(table)
        missing = [n for n in index.params if n not in params]
        if missing:
            raise ValueError(f"the trial sets no {missing[0]!r}, a parameter of the table")
        runs = index.runs.get(tuple(_key(params[n]) for n in index.params))
        if runs is None:
            shown = ", ".join(f"{n}={params.get(n)!r}" for n in index.params)
            raise ValueError(f"the table has no trial of the configuration {shown}")
        seeds = sorted(runs)
        chosen = suite_seed if suite_seed in runs else seeds[seed % len(seeds)]
        run = runs[chosen]
        epochs = run.epochs if max_epochs is None else run.epochs[:max_epochs]
        for number, metrics in epochs:
            report(EpochReport(number, dict(metrics)))
        if run.status != "ok":
            raise RuntimeError(f"replayed: the table records this configuration as {run.status} on seed {chosen}")
        capped = len(epochs) < len(run.epochs)
        last = epochs[-1][1] if epochs else {}
        final = {k: v for k, v in last.items() if k.startswith("val_")} if capped or not run.final else dict(run.final)
        if evaluate_test:
            if not run.test or capped:
                raise ValueError("the table has no test score for this trial (" + (
                    "it was cut short by max_epochs or by the epochs its strategy chose)" if capped else
                    "built without test_every_trial = true): replay cannot score it on the test split"))
            final.update(run.test)
        final["eval_seconds"] = run.eval_seconds
        return final

    def _index(self, table: Any) -> "_Index":
        """The table's runs by configuration and seed, built once per table (not per trial)."""
        held = self._indexes.get(id(table))
        if held is None or held[0] is not table:
            held = self._indexes[id(table)] = (table, _Index.of(table))
        return held[1]


class _Run:
    """One recorded run of one configuration on one seed."""

    __slots__ = ("epochs", "status", "final", "test", "eval_seconds")

    def __init__(self, epochs: list[tuple[int, dict[str, float]]], status: str, final: dict[str, float],
                 test: dict[str, float], eval_seconds: float) -> None:
        self.epochs = epochs  # (epoch, its metrics), from epoch 1, in order
        self.status = status
        self.final = final
        self.test = test
        self.eval_seconds = eval_seconds


class _Index:
    def __init__(self, params: list[str], runs: dict[tuple, dict[Any, _Run]]) -> None:
        self.params = params  # the table's parameters, in column order
        self.runs = runs

    @classmethod
    def of(cls, table: Any) -> "_Index":
        """One pass over the table's rows, sorted by epoch (a table has a row per epoch of each
        run): a run's first row gives its status, final and test scores."""
        frame = table.frame
        metrics = [c for c in frame.columns if not c.startswith((PARAM, "test_", "final_")) and c not in _META]
        finals = [c for c in frame.columns if c.startswith("final_val_")]
        tests = [c for c in frame.columns if c.startswith("test_")]
        columns = [PARAM + n for n in table.params]
        frame = frame.sort_values("epoch", kind="stable")

        def rows(names: list[str]) -> Any:  # each row's values of these columns, as Python values
            return zip(*(frame[c].tolist() for c in names)) if names else itertools.repeat((), len(frame))

        seconds = frame["eval_seconds"].tolist() if "eval_seconds" in frame.columns else [None] * len(frame)
        runs: dict[tuple, dict[Any, _Run]] = {}
        for config, (seed, epoch, status), values, final, test, eval_seconds in zip(
                rows(columns), rows(["seed", "epoch", "status"]), rows(metrics), rows(finals), rows(tests), seconds):
            key = tuple(_key(v) for v in config)
            run = runs.setdefault(key, {}).get(seed)
            if run is None:  # the run's first row
                run = runs[key][seed] = _Run([], str(status), _present(finals, final, len("final_")),
                                             _present(tests, test, 0),
                                             0.0 if _missing(eval_seconds) else float(eval_seconds))
            if int(epoch) >= 1:
                run.epochs.append((int(epoch), _present(metrics, values, 0)))
        return cls(list(table.params), runs)


def _present(names: list[str], values: tuple, cut: int) -> dict[str, float]:
    """The values that are there, as floats, by name (less its first ``cut`` characters)."""
    return {name[cut:]: float(v) for name, v in zip(names, values) if not _missing(v)}


def _key(value: Any) -> Any:
    """A parameter value as an index key: numbers by value (1 == 1.0), missing values alike."""
    if _missing(value):
        return None
    return float(value) if isinstance(value, numbers.Real) and not isinstance(value, bool) else value


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


@hookimpl
def bench_backends(register):
    register(BackendSpec("replay", "replays tables of recorded training runs (bench tabulate): no framework",
                         ReplayBackend, families=("mlp", "cnn", "rnn"), replays=True))
