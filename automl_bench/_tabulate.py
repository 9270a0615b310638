"""`bench tabulate`: a run that enumerated a finite search space, as a table (`automl_bench.tables`).

A run can be tabulated when one task on one backend was searched by one strategy over a space
whose every parameter takes finitely many values (fixed, categorical, or a range with the grid's
points), with no conditional parameters, and every configuration of that grid has a trial on
every seed: the build suites in suites/tables/ are such runs (grid search with a budget that
covers the grid, ``test_every_trial = true``). A results directory holds one epoch cap by
construction (`bench run` refuses to mix them), so a table's epochs are comparable.
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
    from automl_bench._results import open_store, recorded_description
    from automl_bench._version import __version__

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
    task = _one(directory, "task", task, {t["task"] for t in trials})
    backend = _one(directory, "backend", backend, {t["backend"] for t in trials if t["task"] == task})
    strategy = _one(directory, "strategy", strategy,
                    {t["strategy"] for t in trials if t["task"] == task and t["backend"] == backend})
    trials = [t for t in trials if (t["task"], t["backend"], t["strategy"]) == (task, backend, strategy)]
    space = (description.get("spaces") or {}).get(task)
    if space is None:
        raise TableError(f"{directory} was written before runs recorded their search space: run its suite again "
                         "(with --fresh) to tabulate it")
    conditional = [p["name"] for p in space if "when" in p]
    if conditional:
        raise TableError(f"{directory}: task {task!r} has conditional parameters ({', '.join(conditional)}); "
                         "tables hold full grids of unconditional parameters")
    points = description.get("grid_points") or host.strategies()["grid"].options.get("points", 3)
    values = {p["name"]: _values(p, points) for p in space}
    names = list(values)
    seeds = sorted({t["seed"] for t in trials})
    grid = [dict(zip(names, combo)) for combo in itertools.product(*values.values())]
    seen = {(t["seed"], _key(json.loads(t["params"]), names)) for t in trials}
    missing = [{"seed": s, **config} for s in seeds for config in grid if (s, _key(config, names)) not in seen]
    if missing and not allow_missing:
        shown = "\n  ".join(json.dumps(m) for m in missing[:SHOWN])
        more = f"\n  and {len(missing) - SHOWN} more" if len(missing) > SHOWN else ""
        raise TableError(
            f"{directory}: {len(missing)} of {len(grid) * len(seeds)} points of the grid ({len(grid)} configurations "
            f"x seeds {seeds}) have no trial of {task}/{backend}/{strategy}:\n  {shown}{more}\n"
            "Run the suite with a budget that covers the grid (max_trials >= the grid's size), or pass "
            "--allow-missing to write the table with these holes (its metadata lists them)")
    rows = []
    for t in trials:
        params = json.loads(t["params"])
        history = json.loads(t["history"])
        if t["status"] == "ok" and not history:
            raise TableError(f"{directory}: trial {t['number']} of seed {t['seed']} recorded no epochs; "
                             "tables are made of per-epoch curves")
        metrics = json.loads(t["metrics"])
        base = {**{PARAM + n: params.get(n) for n in names}, "seed": t["seed"], "trial_seed": t["trial_seed"],
                "status": t["status"], **{k: v for k, v in metrics.items() if k.startswith("test_")},
                **{f"final_{k}": v for k, v in metrics.items() if k.startswith("val_")},
                "eval_seconds": t["eval_seconds"]}
        for epoch in history or [{"epoch": 0}]:
            rows.append({**base, **epoch})
    import pandas as pd

    frame = pd.DataFrame(rows)
    frame = frame.sort_values([*(PARAM + n for n in names), "seed", "epoch"], ignore_index=True, kind="stable")
    if "seconds" not in frame.columns:
        raise TableError(f"{directory} was written before runs recorded each epoch's seconds: run its suite again "
                         "(with --fresh) to tabulate it")
    first = trials[0]
    env = runs.get(first["run_id"], {})
    dataset = json.loads(first["dataset"])
    provenance = {
        "task": task, "model": description.get("tasks", {}).get(task, {}).get("model", ""),
        "dataset": {"name": dataset.get("name", ""), "sha256": dataset.get("sha256", ""),
                    "sizes": dataset.get("sizes", [])},
        "backend": backend, "strategy": strategy, "objective": f"val_{description.get('metric', 'accuracy')}",
        "space": [{"name": n, "type": p["type"], "values": values[n], "log": bool(p.get("log", False))}
                  for n, p in zip(names, space)],
        "seeds": seeds, "max_epochs": json.loads(max_epochs) if max_epochs else None,
        "test_every_trial": bool(description.get("test_every_trial")),
        "suite": {"name": description.get("name", ""), "sha256": env.get("suite_sha256", "")},
        "environment": {k: env.get(k) for k in ("python", "platform", "cpu", "cpu_count", "git_commit", "packages")},
        "backend_environment": env.get("backends", {}).get(backend, {}),
        "calibration": env.get("calibration", {}).get(backend, {}),
        "missing": missing, "trials": len(trials),
        "source": {"name": "automl-bench", "version": __version__, "results": str(Path(directory).resolve())},
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    return Table(frame, provenance)


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


def _key(config: dict[str, Any], names: list[str]) -> tuple:
    return tuple(json.dumps(config.get(n), sort_keys=True) for n in names)
