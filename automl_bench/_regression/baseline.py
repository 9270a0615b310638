"""A run's measurements per cell and seed, small enough to commit: what `bench export` writes and
`bench compare` reads, from an exported file or straight from a results directory.

The file is JSON (docs/how-to/regression.md, "The baseline file"): the suite's identity, the environment
of the run, each backend's calibration figure, and one row per task x backend x strategy x seed.
Reading one validates it (pydantic); anything wrong is a `CompareError` naming the file and key.
"""

from __future__ import annotations

import json
import statistics as stats
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from automl_bench.errors import CompareError, ResultsError, StoreError

FORMAT = "automl-bench-baseline"
VERSION = 1
#: Per cell and seed: the measures `bench compare` compares (docs/how-to/regression.md, "Metrics").
MEASURES = ("best_val", "test", "trials_to_best", "epoch_seconds", "wall_seconds", "latency_ms", "params")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SeedRow(_Model):
    task: str
    backend: str
    strategy: str
    seed: int
    #: best validation score of the search; None when no trial completed
    best_val: float | None
    #: test score of the best configuration, retrained; None when it was not evaluated
    test: float | None
    #: 1-based trial that first reached the best score
    trials_to_best: float | None
    #: compute seconds (train + evaluation) per epoch: the median over the cell's completed and
    #: pruned trials (a median, so that one trial slowed by something else on the machine does
    #: not move it)
    epoch_seconds: float | None
    #: wall seconds its trials held a worker (start-up and data loading included)
    wall_seconds: float | None
    trials: int
    failed: int
    #: the worker process's CPU seconds (every thread) per epoch of training and validation: the
    #: median over the cell's completed and pruned trials; None in exports made before it was recorded
    epoch_cpu_seconds: float | None = None
    #: milliseconds to predict one example (``latency_ms_1``): the median over the cell's completed
    #: trials; None where it was not measured
    latency_ms: float | None = None
    #: every weight a model holds (``params_total``): the median over the cell's completed trials
    params: float | None = None

    @property
    def cell(self) -> tuple[str, str, str]:
        return self.task, self.backend, self.strategy

    def measured(self, metric: str, clock: str = "wall") -> float | None:
        """The row's ``metric``; by ``clock="cpu"``, seconds per epoch are the CPU seconds."""
        return getattr(self, "epoch_cpu_seconds" if metric == "epoch_seconds" and clock == "cpu" else metric)


class SuiteInfo(_Model):
    name: str
    sha256: str
    metric: str
    max_epochs: int | None = None
    #: the results directory's name (`<suite>`, `<suite>+epochs<N>`, ...)
    results: str = ""


class Baseline(_Model):
    format: Literal["automl-bench-baseline"] = FORMAT
    version: Literal[1] = VERSION
    created: str
    automl_bench: str
    suite: SuiteInfo
    #: the suite's `[regression]` settings (`bench compare` uses the current side's)
    regression: dict[str, Any] = Field(default_factory=dict)
    #: the newest run's environment: python, platform, machine, cpu, cpu_count, memory_gb,
    #: packages, git_commit, and each backend's device
    environment: dict[str, Any] = Field(default_factory=dict)
    #: the machines (`environment.machine_id`) of every run that wrote these results
    machines: list[str] = Field(default_factory=list)
    #: backend -> seconds of its calibration workload (median over runs that timed one)
    calibration: dict[str, float] = Field(default_factory=dict)
    #: backend -> the calibration workload's CPU seconds, which calibrate CPU seconds per epoch
    #: (`bench compare --time cpu`); absent from exports made before it was recorded
    calibration_cpu: dict[str, float] = Field(default_factory=dict)
    rows: list[SeedRow]
    #: where it was read from (not written)
    source: str = Field("", exclude=True)

    def calibration_by(self, clock: str) -> dict[str, float]:
        """The calibration figures that calibrate seconds per epoch on ``clock`` ("wall" or "cpu")."""
        return self.calibration_cpu if clock == "cpu" else self.calibration

    def to_json(self) -> str:
        """The file's text: one row per line, so that a committed baseline diffs line by line."""
        head = self.model_dump(exclude={"rows"}, mode="json")
        rows = ",\n".join("    " + json.dumps(r.model_dump(mode="json")) for r in self.rows)
        text = json.dumps(head, indent=2)
        return text[:-2] + ',\n  "rows": [\n' + rows + "\n  ]\n}\n"


def from_results(directory: Path) -> Baseline:
    """The baseline of a results directory, read from its store (nothing is trained)."""
    from automl_bench._results.collect import collect, open_store, recorded_description
    from automl_bench._version import __version__
    from automl_bench.statistics import cell_scores

    try:
        store = open_store(directory, checked=True)
    except StoreError:  # exit status 2 as it is, with its own advice
        raise
    except ResultsError as exc:
        raise CompareError(str(exc)) from None
    try:  # one opening of the store (and one integrity check) for the results and the run records
        description = recorded_description(store)
        results = collect(store, Path(directory), description)
        runs = [json.loads(r["environment"]) for r in store.rows("runs")]
        sha = store.meta("suite_sha256") or ""
        epochs = store.meta("max_epochs")
    finally:
        store.close()
    scores = cell_scores(results)
    per_epoch = _epoch_seconds(results.trials)
    cpu_per_epoch = _epoch_cpu_seconds(results)
    costs = _costs(results.trials)
    rows = [SeedRow(task=r.task, backend=r.backend, strategy=r.strategy, seed=int(r.seed),
                    best_val=_number(r.best), test=_number(r.test), trials_to_best=_number(r.trials_to_best),
                    epoch_seconds=_number(per_epoch.get((r.task, r.backend, r.strategy, r.seed))),
                    wall_seconds=_number(r.wall_seconds), trials=int(r.trials), failed=int(r.failed),
                    epoch_cpu_seconds=_number(cpu_per_epoch.get((r.task, r.backend, r.strategy, r.seed))),
                    **{name: _number(costs.get(column, {}).get((r.task, r.backend, r.strategy, r.seed)))
                       for name, column in COSTS.items()})
            for r in scores.itertuples()]
    trained = [r for r in runs if r.get("backends")]  # a resumed run with nothing left started no worker
    newest = (trained or runs or [{}])[-1]
    environment = {k: newest.get(k) for k in ("git_commit", "python", "platform", "machine", "cpu", "cpu_count",
                                              "memory_gb", "packages") if k in newest}
    environment["devices"] = {b: e.get("device", "") for b, e in newest.get("backends", {}).items()}
    calibration: dict[str, list[float]] = {}
    calibration_cpu: dict[str, list[float]] = {}
    for run in runs:
        for backend, figure in run.get("calibration", {}).items():
            if "seconds" in figure:
                calibration.setdefault(backend, []).append(figure["seconds"])
            if "cpu_seconds" in figure:
                calibration_cpu.setdefault(backend, []).append(figure["cpu_seconds"])
    return Baseline(
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"), automl_bench=__version__,
        suite=SuiteInfo(name=results.suite, sha256=sha, metric=results.metric,
                        max_epochs=json.loads(epochs) if epochs else None, results=Path(directory).resolve().name),
        regression=description.get("regression", {}), environment=environment,
        machines=sorted({r["machine"] for r in runs if r.get("machine")}),
        calibration={b: stats.median(v) for b, v in calibration.items()},
        calibration_cpu={b: stats.median(v) for b, v in calibration_cpu.items()}, rows=rows, source=str(directory))


def _timed(trials: Any) -> Any:
    """The trials whose epochs are timed: completed and pruned ones that trained an epoch."""
    return trials[trials["status"].isin(["ok", "pruned"]) & (trials["epochs"] > 0)]


def _epoch_seconds(trials: Any) -> dict[tuple, float]:
    """Per cell and seed, the median over completed and pruned trials of compute seconds per epoch."""
    if trials.empty:
        return {}
    t = _timed(trials)
    per_trial = (t["train_seconds"] + t["eval_seconds"]) / t["epochs"]
    return per_trial.groupby([t["task"], t["backend"], t["strategy"], t["seed"]]).median().to_dict()


#: The cost measures of a row, and the trials.csv column each is the median of.
COSTS = {"latency_ms": "latency_ms_1", "params": "params_total"}


def _costs(trials: Any) -> dict[str, dict[tuple, float]]:
    """Per cost column, per cell and seed: the median over completed trials that measured it."""
    if trials.empty:
        return {}
    done = trials[trials["status"] == "ok"]
    keys = [done["task"], done["backend"], done["strategy"], done["seed"]]
    return {column: done[column].groupby(keys).median().dropna().to_dict()
            for column in COSTS.values() if column in done.columns}


def _epoch_cpu_seconds(results: Any) -> dict[tuple, float]:
    """Per cell and seed, the median over completed and pruned trials of their epochs' mean CPU
    seconds (epochs recorded before CPU seconds were have none; replayed ones have their table's, if any)."""
    if results.trials.empty:
        return {}
    done = _timed(results.trials)
    if done.empty:
        return {}
    epochs = results.epochs_of(done)
    if epochs.empty or "cpu_seconds" not in epochs.columns:
        return {}
    keys = ["task", "backend", "strategy", "seed"]
    per_trial = epochs.dropna(subset=["cpu_seconds"]).groupby([*keys, "trial"])["cpu_seconds"].mean()
    return per_trial.groupby(level=keys).median().to_dict()


def read(path: Path) -> Baseline:
    """A baseline from an exported file or a results directory."""
    path = Path(path)
    if path.is_dir():
        return from_results(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CompareError(f"{path}: no such file or directory; give a results directory (results/<suite>/) or a "
                           "file written by `bench export`") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CompareError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CompareError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg}); a baseline is written by "
                           "`bench export RESULTS_DIR -o FILE`") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CompareError(f"{path}: not an automl-bench baseline (no \"format\": \"{FORMAT}\"); a baseline is "
                           "written by `bench export RESULTS_DIR -o FILE`")
    if data.get("version") != VERSION:
        raise CompareError(f"{path}: baseline format version {data.get('version')!r}; this automl-bench reads "
                           f"version {VERSION}: export it again with this version")
    try:
        return Baseline.model_validate({**data, "source": str(path)})
    except ValidationError as exc:
        problems = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5]]
        more = f" (and {exc.error_count() - 5} more)" if exc.error_count() > 5 else ""
        raise CompareError(f"{path}: corrupt baseline: " + "; ".join(problems) + more) from None


def write(baseline: Baseline, path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(baseline.to_json(), encoding="utf-8")


def _number(value: Any) -> float | None:
    """A float, or None for a missing or NaN value (JSON has no NaN)."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return None if value != value else value
