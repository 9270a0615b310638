"""`bench tabulate`: a run that trained a fixed set of configurations on every seed, as a table
(`automl_bench.tables`).

A run can be tabulated when one task on one backend was searched by one strategy over a space
without conditional parameters, and every configuration it trained has a trial on every seed. Two
kinds of run are such designs:

- a **grid**: `grid` search whose budget covers the grid (every parameter takes finitely many
  values); every point of the grid must be there on every seed;
- a **sample**: any other strategy that proposes the same configurations on every seed, such as
  `random` with ``design_seed`` (as LCBench sampled its configurations); every configuration
  trained on one seed must be there on every seed.

The build suites in suites/tables/ are such runs (``test_every_trial = true``). A results directory
holds one epoch cap by construction (`bench run` refuses to mix them), so a table's epochs are
comparable.
"""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automl_bench.tables import PARAM, Table, TableError

if TYPE_CHECKING:
    from automl_bench._manager import Host

#: Missing configurations a refusal lists before "and N more".
SHOWN = 10


def tabulate(host: "Host", directory: Path, *, task: str | None = None, backend: str | None = None,
             strategy: str | None = None, allow_missing: bool = False) -> Table:
    """The table of ``directory``'s run (of ``task`` on ``backend`` by ``strategy``, where it ran several)."""
    description, trials, runs, max_epochs = _read(directory)
    task = _one(directory, "task", task, {t["task"] for t in trials})
    backend = _one(directory, "backend", backend, {t["backend"] for t in trials if t["task"] == task})
    strategy = _one(directory, "strategy", strategy,
                    {t["strategy"] for t in trials if t["task"] == task and t["backend"] == backend})
    trials = [t for t in trials if (t["task"], t["backend"], t["strategy"]) == (task, backend, strategy)]
    space = _space(directory, description, task)
    names = [p["name"] for p in space]
    configs = [_params(t, names) for t in trials]  # each trial's configuration, read once
    seeds = sorted({t["seed"] for t in trials})
    if strategy == "grid":
        points = description.get("grid_points") or host.strategies()["grid"].options.get("points", 3)
        values = {p["name"]: _values(p, points) for p in space}
        design = [dict(zip(names, combo)) for combo in itertools.product(*values.values())]
        kind = "the grid"
    else:
        design = list({_key(c, names): c for c in configs}.values())
        values = {n: _sorted({json.dumps(c.get(n)) for c in design}) for n in names}
        kind = "the sampled design"
    missing = _missing(trials, configs, design, seeds, names)
    if missing and not allow_missing:
        _refuse(directory, missing, design, seeds, f"{task}/{backend}/{strategy}", kind)
    frame = _frame(directory, trials, configs)
    env = runs.get(trials[0]["run_id"], {})
    dataset = json.loads(trials[0]["dataset"])
    provenance = {
        "task": task, "model": description.get("tasks", {}).get(task, {}).get("model", ""),
        "dataset": {"name": dataset.get("name", ""), "sha256": dataset.get("sha256", ""),
                    "sizes": dataset.get("sizes", [])},
        "backend": backend, "strategy": strategy, "design": "grid" if strategy == "grid" else "sample",
        "configurations": len(design), "objective": f"val_{description.get('metric', 'accuracy')}",
        "space": [{"name": n, "type": p["type"], "values": values[n], "log": bool(p.get("log", False)),
                   **({"low": p["low"], "high": p["high"]} if "low" in p else {})}
                  for n, p in zip(names, space)],
        "seeds": seeds, "max_epochs": json.loads(max_epochs) if max_epochs else None,
        "test_every_trial": bool(description.get("test_every_trial")),
        "suite": {"name": description.get("name", ""), "sha256": env.get("suite_sha256", "")},
        "environment": {k: env.get(k) for k in ("python", "platform", "cpu", "cpu_count", "git_commit", "packages")},
        "backend_environment": env.get("backends", {}).get(backend, {}),
        "calibration": env.get("calibration", {}).get(backend, {}),
        "missing": missing, "trials": len(trials),
        "source": {"name": "automl-bench", "version": _version(), "results": str(Path(directory).resolve())},
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    return Table(frame, provenance)


def _read(directory: Path) -> tuple[dict, list[dict], dict, Any]:
    """The run's description, trials, environments by run id, and epoch cap, from its store."""
    from automl_bench._results.collect import open_store, recorded_description

    store = open_store(directory, checked=True)
    try:
        description = recorded_description(store)
        trials = store.rows("trials")
        runs = {r["run_id"]: json.loads(r["environment"]) for r in store.rows("runs")}
        max_epochs = store.meta("max_epochs")
    finally:
        store.close()
    if not trials:
        raise TableError(f"{directory} holds no trials to tabulate")
    return description, trials, runs, max_epochs


def _space(directory: Path, description: dict, task: str) -> list[dict[str, Any]]:
    space = (description.get("spaces") or {}).get(task)
    if space is None:
        raise TableError(f"{directory} was written before runs recorded their search space: run its suite again "
                         "(with --fresh) to tabulate it")
    conditional = [p["name"] for p in space if "when" in p]
    if conditional:
        raise TableError(f"{directory}: task {task!r} has conditional parameters ({', '.join(conditional)}); "
                         "tables hold configurations of unconditional parameters")
    return space


def _missing(trials: list[dict], configs: list[dict], design: list[dict], seeds: list[int],
             names: list[str]) -> list[dict]:
    """The (seed, configuration) points of the design that no trial trained."""
    seen = {(t["seed"], _key(c, names)) for t, c in zip(trials, configs)}
    return [{"seed": s, **config} for s in seeds for config in design if (s, _key(config, names)) not in seen]


def _refuse(directory: Path, missing: list[dict], design: list[dict], seeds: list[int], cell: str,
            kind: str) -> None:
    shown = "\n  ".join(json.dumps(m) for m in missing[:SHOWN])
    more = f"\n  and {len(missing) - SHOWN} more" if len(missing) > SHOWN else ""
    fix = ("Run the suite with a budget that covers the grid (max_trials >= the grid's size)" if kind == "the grid"
           else "Train the same configurations on every seed (random search with design_seed set, and the same "
                "max_trials on every seed; resume a run that stopped)")
    raise TableError(
        f"{directory}: {len(missing)} of {len(design) * len(seeds)} points of {kind} ({len(design)} configurations "
        f"x seeds {seeds}) have no trial of {cell}:\n  {shown}{more}\n"
        f"{fix}, or pass --allow-missing to write the table with these holes (its metadata lists them)")


def _frame(directory: Path, trials: list[dict], configs: list[dict]) -> Any:
    """One row per trial and epoch, sorted by configuration, seed and epoch."""
    import pandas as pd

    names = list(configs[0]) if configs else []
    rows = []
    for t, config in zip(trials, configs):
        history = json.loads(t["history"])
        if t["status"] == "ok" and not history:
            raise TableError(f"{directory}: trial {t['number']} of seed {t['seed']} recorded no epochs; "
                             "tables are made of per-epoch curves")
        metrics = json.loads(t["metrics"])
        base = {**{PARAM + n: v for n, v in config.items()}, "seed": t["seed"], "trial_seed": t["trial_seed"],
                "status": t["status"], **{k: v for k, v in metrics.items() if k.startswith("test_")},
                **{f"final_{k}": v for k, v in metrics.items() if k.startswith("val_")},
                "eval_seconds": t["eval_seconds"]}
        rows += [{**base, **epoch} for epoch in history or [{"epoch": 0}]]
    frame = pd.DataFrame(rows)
    frame = frame.sort_values([*(PARAM + n for n in names), "seed", "epoch"], ignore_index=True, kind="stable")
    if "seconds" not in frame.columns:
        raise TableError(f"{directory} was written before runs recorded each epoch's seconds: run its suite again "
                         "(with --fresh) to tabulate it")
    return frame


def _version() -> str:
    from automl_bench._version import __version__

    return __version__


def _one(directory: Path, kind: str, chosen: str | None, found: set[str]) -> str:
    if chosen is not None:
        if chosen not in found:
            raise TableError(f"{directory} has no trials of {kind} {chosen!r}; it has: {', '.join(sorted(found))}")
        return chosen
    if len(found) != 1:
        plural = {"strategy": "strategies"}.get(kind, f"{kind}s")
        raise TableError(f"{directory} holds several {plural} ({', '.join(sorted(found))}): a table is one task on "
                         f"one backend by one strategy; choose with --{kind}")
    return next(iter(found))


def _values(param: dict[str, Any], points: int) -> list[Any]:
    """The finite values a parameter takes in the grid (`automl_bench.space`'s own discretisation)."""
    from automl_bench.space import FloatParam, IntParam

    if param["type"] in ("fixed", "categorical"):
        return list(param["values"])
    cls = IntParam if param["type"] == "int" else FloatParam
    built = cls(param["name"], param["low"], param["high"], log=param["log"],
                **{k: param[k] for k in ("step", "grid", "points") if param.get(k) is not None})
    return list(built.grid_values(points))


def _sorted(encoded: set[str]) -> list[Any]:
    """The distinct values of a sampled parameter (JSON-encoded), numbers in order."""
    values = [json.loads(v) for v in encoded]
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return sorted(values)
    return sorted(values, key=repr)


def _params(trial: dict, names: list[str]) -> dict[str, Any]:
    params = json.loads(trial["params"])
    return {n: params.get(n) for n in names}


def _key(config: dict[str, Any], names: list[str]) -> tuple:
    return tuple(json.dumps(config.get(n), sort_keys=True) for n in names)
