"""A run's results as tables: every trial with its environment, and the leaderboard."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from automl_bench.leaderboard import build_leaderboard

if TYPE_CHECKING:
    import pandas as pd

    from automl_bench.manager import Host
    from automl_bench.store import Store
    from automl_bench.suite import Suite


@dataclass(frozen=True, eq=False)
class RunResults:
    """What reporters receive: the suite's name, where it is written, and its tables."""

    suite: str
    directory: Path
    metric: str
    trials: "pd.DataFrame"
    finals: "pd.DataFrame"
    leaderboard: "pd.DataFrame"
    #: Tasks made from a ``shots`` or ``modes`` axis: name -> {"base": task, "shots": k, "mode": m}.
    variants: dict[str, dict[str, Any]] = field(default_factory=dict)

    def markdown(self) -> str:
        """The leaderboard as markdown, then the transfer table when tasks have a modes axis."""
        from automl_bench.leaderboard import mode_table, to_markdown

        text = to_markdown(self.leaderboard, self.metric)
        modes = mode_table(self.leaderboard, self.variants, self.metric)
        return text + (f"\nTransfer: test {self.metric} of each cell's best configuration, by mode\n\n{modes}"
                       if modes else "")


def collect(store: "Store", suite: "Suite", directory: Path) -> RunResults:
    import pandas as pd

    runs = {r["run_id"]: json.loads(r["environment"]) for r in store.rows("runs")}
    trials = [_trial_row(suite.name, r, runs.get(r["run_id"], {})) for r in store.rows("trials")]
    finals = [
        {"task": r["task"], "backend": r["backend"], "strategy": r["strategy"], "seed": r["seed"],
         "trial": r["number"], "status": r["status"], "error": r["error"], "params": r["params"],
         **json.loads(r["metrics"])}
        for r in store.rows("finals")
    ]
    trials_df = pd.DataFrame(trials)
    if not trials_df.empty:
        trials_df = trials_df.sort_values(["task", "backend", "strategy", "seed", "trial"], ignore_index=True)
    finals_df = pd.DataFrame(finals)
    metrics = {t.definition.metric for t in suite.tasks}
    metric = metrics.pop() if len(metrics) == 1 else "score"
    variants = {t.name: {"base": t.definition.name, **dict(t.variant)} for t in suite.tasks if t.variant}
    return RunResults(suite.name, directory, metric, trials_df, finals_df,
                      build_leaderboard(trials_df, finals_df, metric), variants)


def _trial_row(suite: str, r: dict[str, Any], env: dict[str, Any]) -> dict[str, Any]:
    backend_env = env.get("backends", {}).get(r["backend"], {})
    packages = {**env.get("packages", {}), **{k: v for k, v in backend_env.items() if k != "device"}}
    row = {
        "suite": suite, "task": r["task"], "backend": r["backend"], "strategy": r["strategy"],
        "seed": r["seed"], "trial": r["number"], "trial_seed": r["trial_seed"], "params": r["params"],
        "status": r["status"], "value": r["value"],
    }
    row.update(json.loads(r["metrics"]))
    data = json.loads(r["dataset"])
    row.update({
        "dataset": data.get("name", ""), "dataset_sha256": data.get("sha256", ""),
        "dataset_sizes": "/".join(map(str, data.get("sizes", []))),  # train/val/test
        # transfer tasks: the cached source model the trial started from, and its source data
        "pretrained": data.get("pretrained", {}).get("key", ""),
        "source_dataset_sha256": data.get("pretrained", {}).get("sha256", ""),
        "epochs": r["epochs"], "train_seconds": round(r["train_seconds"], 4),
        "eval_seconds": round(r["eval_seconds"], 4), "wall_seconds": round(r["wall_seconds"], 4),
        "error": r["error"],
        "suite_sha256": env.get("suite_sha256", ""), "git_commit": env.get("git_commit", ""),
        "python": env.get("python", ""), "platform": env.get("platform", ""),
        "cpu": f"{env.get('cpu', '')} x{env.get('cpu_count', '')}",
        "device": backend_env.get("device", ""),
        "packages": json.dumps(packages, sort_keys=True), "run_id": r["run_id"],
    })
    return row


def write_reports(host: "Host", results: RunResults, names: Sequence[str] | None) -> list[Path]:
    """Run the suite's reporters (all registered ones when the suite names none)."""
    reporters = host.reporters()
    chosen = list(reporters) if names is None else list(names)
    results.directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name in chosen:
        written += list(reporters[name].factory().write(results, results.directory))
    return written
