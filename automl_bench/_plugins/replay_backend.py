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

import math
from typing import Any, Callable, Mapping

from automl_bench import Backend, BackendSpec, EpochReport, hookimpl
from automl_bench.tables import PARAM

#: Columns of a table that are not epoch metrics.
_META = ("seed", "trial_seed", "epoch", "status", "eval_seconds")


class ReplayBackend(Backend):
    def environment(self) -> Mapping[str, str]:
        return {"device": "replay (no training)"}

    def fit(self, **kwargs: Any) -> Any:
        raise ValueError("the replay backend trains nothing: it replays the tasks that name a table")

    def evaluate(self, model: Any, x: Any, y: Any) -> Mapping[str, float]:
        raise ValueError("the replay backend evaluates nothing: it replays the tasks that name a table")

    def replay(self, table: Any, params: Mapping[str, Any], seed: int, report: Callable[[EpochReport], None],
               *, max_epochs: int | None = None, evaluate_test: bool = False,
               suite_seed: int | None = None) -> Mapping[str, float]:
        frame = table.frame
        mask = None
        for name in table.params:
            if name not in params:
                raise ValueError(f"the trial sets no {name!r}, a parameter of the table")
            column = frame[PARAM + name]
            hit = column.isna() if params[name] is None else column == params[name]
            mask = hit if mask is None else mask & hit
        rows = frame[mask]
        if rows.empty:
            shown = ", ".join(f"{n}={params.get(n)!r}" for n in table.params)
            raise ValueError(f"the table has no trial of the configuration {shown}")
        seeds = sorted(rows["seed"].unique().tolist())
        chosen = suite_seed if suite_seed in seeds else seeds[seed % len(seeds)]
        rows = rows[rows["seed"] == chosen].sort_values("epoch")
        metrics = [c for c in rows.columns if not c.startswith((PARAM, "test_", "final_")) and c not in _META]
        replayed = rows[rows["epoch"] >= 1]
        if max_epochs is not None:
            replayed = replayed[replayed["epoch"] <= max_epochs]
        last: dict[str, float] = {}
        for _, row in replayed.iterrows():
            last = {m: float(row[m]) for m in metrics if not _missing(row[m])}
            report(EpochReport(int(row["epoch"]), last))
        status = rows["status"].iloc[0]
        if status != "ok":
            raise RuntimeError(f"replayed: the table records this configuration as {status} on seed {chosen}")
        first = rows.iloc[0]
        capped = len(replayed) < int((rows["epoch"] >= 1).sum())
        if capped:  # cut short by max_epochs: it ends with its last epoch's scores
            final = {k: v for k, v in last.items() if k.startswith("val_")}
        else:
            final = {c[len("final_"):]: float(first[c]) for c in rows.columns
                     if c.startswith("final_val_") and not _missing(first[c])}
            final = final or {k: v for k, v in last.items() if k.startswith("val_")}
        if evaluate_test:
            tests = {c: float(first[c]) for c in rows.columns if c.startswith("test_") and not _missing(first[c])}
            if not tests or capped:
                raise ValueError("the table has no test score for this trial (" + (
                    "it was cut short by max_epochs)" if capped else
                    "built without test_every_trial = true): replay cannot score it on the test split"))
            final.update(tests)
        eval_seconds = first.get("eval_seconds")
        final["eval_seconds"] = 0.0 if _missing(eval_seconds) else float(eval_seconds)
        return final


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


@hookimpl
def bench_backends(register):
    register(BackendSpec("replay", "replays tables of recorded training runs (bench tabulate): no framework",
                         ReplayBackend, families=("mlp", "cnn", "rnn"), replays=True))
