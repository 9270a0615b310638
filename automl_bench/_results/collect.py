"""A run's results as tables: every trial with its environment, and the leaderboard."""

from __future__ import annotations

import contextlib
import json
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Sequence

from automl_bench._api.records import RunResults
from automl_bench._model.cost import COST_COLUMNS
from automl_bench.leaderboard import build_leaderboard

if TYPE_CHECKING:
    from automl_bench._manager import Host
    from automl_bench._results.store import Store
    from automl_bench._suite import Suite


def describe_suite(suite: "Suite") -> dict[str, Any]:
    """What a report needs to know of a suite beyond its store: kept in the store's meta table."""
    metrics = {t.definition.metric for t in suite.tasks}
    return {
        "name": suite.name,
        "metric": metrics.pop() if len(metrics) == 1 else "score",
        # a fixed ``shots`` beside a ``modes`` axis is said too, so that tables do not call it "all"
        "variants": {t.name: {"base": t.definition.name, **({"shots": t.shots} if t.shots else {}), **dict(t.variant)}
                     for t in suite.tasks if t.variant},
        "tasks": {t.name: {"model": t.definition.model, "dataset": t.definition.dataset} for t in suite.tasks},
        "regression": suite.model.regression.model_dump(),  # how `bench compare` judges these results
        # each task's search space, and the grid's points: what `bench tabulate` checks a grid against
        "spaces": {t.name: [describe_param(p) for p in t.space] for t in suite.tasks},
        "grid_points": suite.model.strategy.get("grid", {}).get("points"),
        "test_every_trial": suite.model.test_every_trial,
        # a multi-objective suite's objectives and their directions (absent: one objective)
        **({"objectives": suite.model.directions} if suite.model.directions else {}),
    }


def describe_param(param: Any) -> dict[str, Any]:
    """A search-space parameter as plain data (JSON): its type, range or values, scale, condition."""
    from automl_bench.space import CategoricalParam, FixedParam, IntParam

    if isinstance(param, FixedParam):
        out: dict[str, Any] = {"name": param.name, "type": "fixed", "values": [param.value]}
    elif isinstance(param, CategoricalParam):
        out = {"name": param.name, "type": "categorical", "values": list(param.choices)}
    else:
        out = {"name": param.name, "type": "int" if isinstance(param, IntParam) else "float",
               "low": param.low, "high": param.high, "log": param.log, "step": param.step,
               "grid": list(param.grid) if param.grid else None, "points": param.points}
    if param.when is not None:
        out["when"] = str(param.when)
    return out


def load_results(directory: Path) -> RunResults:
    """A results directory's `RunResults`, from its store alone (nothing is trained). A store that
    lost trials its ``trials.csv`` lists is refused: the reports would be rewritten without them."""
    return load_described(directory)[0]


def load_described(directory: Path) -> tuple[RunResults, dict[str, Any]]:
    """`load_results`, with the suite's description as the run recorded it (`describe_suite`:
    its search spaces too, which `RunResults` does not carry)."""
    directory = Path(directory)
    store = open_store(directory, checked=True)
    try:
        description = recorded_description(store)
        return collect(store, directory, description), description
    finally:
        store.close()


#: What a run writes from its store; found without the store, they are results whose record is gone.
OUTPUTS = ("trials.csv", "leaderboard.csv", "leaderboard.md")


def check_store_not_lost(directory: Path) -> None:
    """Refuse to go on, silently, where a store was: outputs without ``bench.sqlite`` mean it was
    deleted or moved; a run would train every trial again and overwrite them, a report would have
    nothing to read."""
    from automl_bench._results.schema import DB_NAME
    from automl_bench.errors import StoreError

    if (Path(directory) / DB_NAME).exists():
        return
    left = [name for name in OUTPUTS if (Path(directory) / name).exists()]
    if left:
        raise StoreError(
            f"{directory} has {', '.join(left)} but no {DB_NAME}, the store they were written from: it was deleted or "
            f"moved. Put it back to resume; or rerun `bench run` with --fresh to start over (replacing {left[0]}), "
            "or with --out to write elsewhere")


def check_against_outputs(store: "Store", directory: Path, *, accept_loss: bool = False) -> None:
    """Compare a store with the ``trials.csv`` last written from it. Trials the file lists and
    the store lacks mean the store is older than its outputs (an older copy put back, a lost
    ``-wal``): a `StoreError`, unless ``accept_loss`` (then a note: they run again). Trials the
    store has and the file lacks mean the file is older (the run that recorded them ended before
    writing it): a note, since the file is rewritten from the store."""
    import csv

    from automl_bench.errors import StoreError

    path = Path(directory) / "trials.csv"
    if not path.is_file():
        return
    try:
        with path.open(newline="", encoding="utf-8") as f:
            listed = {(r["task"], r["backend"], r["strategy"], r["seed"], r["trial"]) for r in csv.DictReader(f)}
    except (OSError, UnicodeDecodeError, csv.Error, KeyError, TypeError) as exc:
        note(f"{path} cannot be read ({type(exc).__name__}: {exc}); it is rewritten from {store.path.name}")
        return
    stored = {tuple(map(str, key)) for key in store.trial_keys()}
    lost = sorted(listed - stored)
    if lost:
        shown = "; ".join("/".join(key[:3]) + f"/seed={key[3]} trial {key[4]}" for key in lost[:3])
        more = f" and {len(lost) - 3} more" if len(lost) > 3 else ""
        if not accept_loss:
            raise StoreError(
                f"{store.path} is older than {path.name} beside it: {len(lost)} trials that the file lists are not "
                f"in the store ({shown}{more}); an older copy was put back, or its -wal was lost. Nothing was "
                f"changed. Put the newer store back; or rerun `bench run` with --accept-loss to run those trials "
                f"again (rewriting {path.name}), or with --fresh to start over")
        note(f"--accept-loss: {len(lost)} trials that {path} lists are not in the store; they run again")
    newer = len(stored - listed)
    if newer:
        note(f"{path.name} is older than {store.path.name}: {newer} trials were recorded after it was written "
             "(the run that recorded them ended before writing it); it is rewritten")


def note(message: str) -> None:
    """A line for the user that is not an error: standard error, so piped output stays clean."""
    import sys

    print(f"note: {message}", file=sys.stderr)


def open_store(directory: Path, *, checked: bool = False) -> "Store":
    """The store of a results directory, or a `ResultsError` saying what was given instead; an
    older schema is migrated as a run would. ``checked``: every value read once and checked
    (`Store.verify`), and the store compared with its ``trials.csv`` (`check_against_outputs`)."""
    from automl_bench._results.integrity import refuse_wal_of_another_moment
    from automl_bench._results.schema import DB_NAME, RUN_LOCK
    from automl_bench._results.store import Store
    from automl_bench.errors import ResultsError

    directory = Path(directory)
    if not directory.is_dir():
        raise ResultsError(f"{directory} is not a directory; give a results directory such as results/quickstart/")
    if not (directory / DB_NAME).is_file():
        check_store_not_lost(directory)
        inside = sorted(p.name for p in directory.iterdir() if (p / DB_NAME).is_file())
        hint = f"; these directories in it hold results: {', '.join(inside)}" if inside else ""
        raise ResultsError(f"{directory} holds no results store ({DB_NAME}): it is not the directory of a "
                           f"`bench run`{hint}")
    with _unless_a_run_writes(directory / RUN_LOCK) as alone:  # the lock held for the check only, not the store's opening
        if alone:
            refuse_wal_of_another_moment(directory / DB_NAME)
    store = Store(directory / DB_NAME)
    if checked:
        try:
            store.verify()
            check_against_outputs(store, directory)
        except BaseException:
            store.close()
            raise
    return store


@contextlib.contextmanager
def _unless_a_run_writes(path: Path) -> Iterator[bool]:
    """Holds a results directory's run lock (``path``), if no `bench run` holds it: True then
    (nothing writes to the store meanwhile), False if a run does or the lock cannot be taken."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(path))
    try:
        lock.acquire(timeout=0)
        alone = True
    except (Timeout, OSError):
        alone = False
    try:
        yield alone
    finally:
        if alone:
            lock.release()


def recorded_description(store: "Store") -> dict[str, Any]:
    """`describe_suite` as the last run recorded it, or guessed for a store older than that."""
    from automl_bench._results.integrity import damaged

    recorded = store.meta("suite")
    try:
        return json.loads(recorded) if recorded else _guess_description(store)
    except (json.JSONDecodeError, TypeError, AttributeError) as exc:
        raise damaged(store.path, exc) from None


def _guess_description(store: "Store") -> dict[str, Any]:
    """For stores written before the suite was recorded with them: its name; the metric from the
    trials' metric names; no variants and no model families (the pictures that need them say so)."""
    trials = store.rows("trials", without=("history",))  # the metric names are all it needs
    names = {k for r in trials[:100] for k in json.loads(r["metrics"]) if k.startswith("val_") and k != "val_loss"}
    return {"name": store.meta("suite_name") or "suite", "variants": {}, "tasks": {},
            "metric": names.pop().removeprefix("val_") if len(names) == 1 else "score"}


def collect(store: "Store", directory: Path, description: dict[str, Any],
            not_run: dict[str, str] | None = None) -> RunResults:
    import pandas as pd

    name, metric = description["name"], description["metric"]
    trials, finals = _decoded_rows(store, name)
    trials_df = pd.DataFrame(trials)
    if not trials_df.empty:
        trials_df = trials_df.sort_values(["task", "backend", "strategy", "seed", "trial"], ignore_index=True)
    finals_df = pd.DataFrame(finals)
    objectives = description.get("objectives", {})
    return RunResults(name, directory, metric, trials_df, finals_df,
                      build_leaderboard(trials_df, finals_df, metric, objectives), partial(read_epochs, store.path),
                      description.get("variants", {}), dict(not_run or {}), description.get("tasks", {}), objectives)


def _decoded_rows(store: "Store", name: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every trial and final row with its stored JSON decoded; a value that cannot be decoded (bytes
    overwritten inside a value: SQLite's own check cannot see it) is the store's damage, said so."""
    from automl_bench._results.integrity import damaged

    try:
        runs = {r["run_id"]: json.loads(r["environment"]) for r in store.rows("runs")}
        rows = store.rows("trials", without=("history",))  # epochs are read on demand: memory stays flat in them
        shared: dict[Any, dict[str, Any]] = {}  # the columns rows share: of their run and backend, of their data
        trials = [_trial_row(name, r, runs, shared) for r in rows]
        finals = [
            {"task": r["task"], "backend": r["backend"], "strategy": r["strategy"], "seed": r["seed"],
             "trial": r["number"], "status": r["status"], "error": r["error"], "params": r["params"],
             "model": r["model"], **json.loads(r["metrics"])}
            for r in store.rows("finals")
        ]
    except (json.JSONDecodeError, TypeError, AttributeError) as exc:
        raise damaged(store.path, exc) from None
    return trials, finals


def read_epochs(path: Path, keys: Any = None) -> Any:
    """Per-epoch rows of a store's trials (all, or those ``keys`` names), as a DataFrame, read when asked for."""
    import pandas as pd

    from automl_bench._results.store import epoch_rows

    return pd.DataFrame(epoch_rows(path, keys))


def _trial_row(suite: str, r: dict[str, Any], runs: dict[int, dict[str, Any]],
               shared: dict[Any, dict[str, Any]]) -> dict[str, Any]:
    """A stored trial as a row of ``trials.csv``; ``shared`` keeps the columns that many rows have
    alike (those of a run and backend, those of a dataset), worked out once for all of them."""
    row = {
        "suite": suite, "task": r["task"], "backend": r["backend"], "strategy": r["strategy"],
        "seed": r["seed"], "trial": r["number"], "trial_seed": r["trial_seed"], "params": r["params"],
        "status": r["status"], "value": r["value"],
    }
    row.update(json.loads(r["metrics"]))
    data = shared.get(r["dataset"])
    if data is None:
        data = shared[r["dataset"]] = _data_columns(json.loads(r["dataset"]))
    row.update(data)
    row.update({
        # the epochs a multi-fidelity strategy allotted (None: the configuration's own epochs)
        "epochs": r["epochs"], "budget": r.get("budget"), "train_seconds": round(r["train_seconds"], 4),
        "eval_seconds": round(r["eval_seconds"], 4), "wall_seconds": round(r["wall_seconds"], 4),
        "error": r["error"],
        "finished": datetime.fromtimestamp(r["finished"], timezone.utc).isoformat(timespec="milliseconds"),
    })
    cost = json.loads(r.get("cost") or "{}")  # what the model cost (automl_bench._model.cost): empty in older stores
    row.update({name: cost.get(name) for name in COST_COLUMNS})
    row["energy_source"] = row["energy_source"] or ""
    run = shared.get((r["run_id"], r["backend"]))
    if run is None:
        run = shared[(r["run_id"], r["backend"])] = _run_columns(runs.get(r["run_id"], {}), r["backend"])
    row.update(run)
    row["run_id"] = r["run_id"]
    placement = json.loads(r.get("placement") or "{}")  # where it ran: empty in stores written before
    row.update({
        "executor": placement.get("executor", ""), "node": placement.get("node", ""),
        "gpu": placement.get("gpu"), "gpu_name": placement.get("gpu_name", ""),
        "gpu_memory_mib": placement.get("gpu_memory_mib"), "retries": placement.get("retries", 0),
        # the simulated executor's clock: when the trial started and ended, in simulated seconds
        "sim_start": placement.get("sim_start"), "sim_end": placement.get("sim_end"),
    })
    return row


def _data_columns(data: dict[str, Any]) -> dict[str, Any]:
    """A trial row's columns of its data."""
    pretrained = data.get("pretrained", {})
    return {
        "dataset": data.get("name", ""), "dataset_sha256": data.get("sha256", ""),
        "dataset_sizes": "/".join(map(str, data.get("sizes", []))),  # train/val/test
        # a user's own files (automl_bench._files): their digest, count and preprocessing options
        "dataset_files_sha256": data.get("files", {}).get("sha256", ""),
        "dataset_files": data.get("files", {}).get("files"),
        "dataset_options": json.dumps(data["files"]["options"], sort_keys=True) if data.get("files") else "",
        # transfer tasks: the cached source model the trial started from, and its source data
        # (or the published weights it started from, with their file's sha256)
        "pretrained": pretrained.get("key", "") or pretrained.get("weights", ""),
        "source_dataset_sha256": pretrained.get("sha256", ""),
        "pretrained_file_sha256": pretrained.get("file_sha256", ""),
    }


def _run_columns(env: dict[str, Any], backend: str) -> dict[str, Any]:
    """A trial row's columns of the run that recorded it and of its backend there."""
    backend_env = env.get("backends", {}).get(backend, {})
    packages = {**env.get("packages", {}), **{k: v for k, v in backend_env.items() if k != "device"}}
    return {
        "suite_sha256": env.get("suite_sha256", ""), "git_commit": env.get("git_commit", ""),
        "python": env.get("python", ""), "platform": env.get("platform", ""),
        "cpu": f"{env.get('cpu', '')} x{env.get('cpu_count', '')}",
        "device": backend_env.get("device", ""),
        "packages": json.dumps(packages, sort_keys=True),
    }


def write_reports(host: "Host", results: RunResults, names: Sequence[str] | None) -> list[Path]:
    """Run the suite's reporters (when the suite names none, every reporter whose spec says ``default``)."""
    reporters = host.reporters()
    chosen = [name for name, spec in reporters.items() if spec.default] if names is None else list(names)
    written: list[Path] = []
    with writing(results.directory):
        results.directory.mkdir(parents=True, exist_ok=True)
        for name in chosen:
            written += list(reporters[name].factory().write(results, results.directory))
    return written


@contextlib.contextmanager
def writing(directory: Path) -> Iterator[None]:
    """Outputs written into a results directory: a folder or file that cannot be written (read
    only, a full disk) is a `StoreError` naming it, not a traceback. The store keeps every result."""
    from automl_bench.errors import StoreError

    try:
        yield
    except OSError as exc:
        where = exc.filename or directory
        raise StoreError(f"{where} cannot be written ({exc.strerror or exc}); the results are safe in "
                         f"{Path(directory) / 'bench.sqlite'}. Make {directory} writable (or free some disk) and "
                         "rerun `bench report` on it") from None


def exit_status(results: RunResults, *, strict: bool = False) -> tuple[int, list[str]]:
    """The exit status of `bench run` (docs/explanation/how-a-run-works.md, "Exit status") and the problems behind it.

    0: every cell ran; trials that failed because of their configuration are results. 2: a cell
    could not run, or every trial of a cell failed; with ``strict``, any failed or timed-out trial.
    """
    problems = [f"{cell}: not run: {reason}" for cell, reason in results.not_run.items()]
    trials = results.trials
    if not trials.empty:
        bad = trials["status"].isin(["failed", "timeout"])
        per_cell = bad.groupby([trials[c] for c in ("task", "backend", "strategy", "seed")]).all()
        for (task, backend, strategy, seed), all_failed in per_cell.items():
            if all_failed:
                problems.append(f"{task}/{backend}/{strategy}/seed={seed}: every trial failed")
        if strict and bad.any() and not problems:
            problems.append(f"--strict: {int(bad.sum())} of {len(trials)} trials failed or timed out")
    return (2 if problems else 0), problems


def failure_reasons(trials: Any, limit: int, directory: Path) -> list[str]:
    """The failed and timed-out trials' errors, commonest first, ``limit`` of them, the rest counted
    (what `bench run` prints at its end)."""
    failed = trials[trials["status"].isin(["failed", "timeout"])] if not trials.empty else trials
    if not len(failed):
        return []
    reasons = failed["error"].value_counts()
    lines = [f"  {n} x {error}" for error, n in reasons.head(limit).items()]
    if len(reasons) > limit:
        lines.append(f"  {int(reasons.iloc[limit:].sum())} more, for {len(reasons) - limit} other reasons: see the "
                     f"error column of {directory}/trials.csv")
    return lines
