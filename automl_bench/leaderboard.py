"""The leaderboard: per task, one row per backend x strategy, with spread over seeds."""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

from automl_bench._api.records import ENTRY

if TYPE_CHECKING:
    import pandas as pd

    from automl_bench._api.records import RunResults

__all__ = ["COLUMNS", "HYPERVOLUME", "build_leaderboard", "markdown", "mode_table", "to_markdown"]

COLUMNS = [
    *ENTRY, "seeds", "trials", "failed", "pruned", "val_mean", "val_std", "val_ci_low", "val_ci_high",
    "test_mean", "test_std", "test_ci_low", "test_ci_high", "avg_rank",
    "trials_to_best", "epochs", "compute_seconds", "wall_seconds", "model",
]


#: The columns a multi-objective suite's leaderboard adds: the hypervolume of each search
#: (`automl_bench.pareto`), mean, sample std and 95% bootstrap interval over seeds.
HYPERVOLUME = ["hypervolume", "hypervolume_std", "hypervolume_ci_low", "hypervolume_ci_high"]


def build_leaderboard(trials: "pd.DataFrame", finals: "pd.DataFrame", metric: str,
                      objectives: "Mapping[str, str] | None" = None) -> "pd.DataFrame":
    """Per seed first (`automl_bench.statistics.per_seed`: best validation score, its test score,
    cost), then over seeds.

    - ``val_mean``/``val_std``: best validation score of the search, mean and sample std over seeds;
      ``val_ci_low``/``val_ci_high``: a 95% percentile-bootstrap interval of the mean (NaN below
      three seeds). The same for ``test_*``: the test score of each seed's best configuration.
    - ``avg_rank``: the entry's rank among its task's entries by best validation score on each
      seed (1 = best, ties share), averaged over seeds.
    - ``trials_to_best``: mean 1-based trial number at which the best score was first reached.
    - ``failed`` counts failed and timed-out trials; ``pruned`` those a pruner stopped early.
    - ``epochs``/``compute_seconds``: mean per seed of epochs and of train + evaluation time,
      summed over all its trials, pruned ones included: a pruned search is compared with a
      full one on the compute it spent.
    - ``wall_seconds``: mean per seed of the wall time its trials held a worker (from handing
      the trial over to its result: worker start-up and data loading included).
    - ``model``: the saved final model of the seed with the best validation score (relative to
      the results directory; each seed's own is in ``finals``); "" where the backend saves none.
    - With a multi-objective suite's ``objectives`` (name -> direction): `HYPERVOLUME`, and the
      entries of each task are sorted by hypervolume instead of best validation score.
    """
    import pandas as pd

    from automl_bench.statistics import bootstrap_ci, per_seed, ranks

    if trials.empty:
        return pd.DataFrame(columns=COLUMNS)
    seeds = per_seed(trials, finals, metric)
    mean_rank = ranks(seeds).groupby(ENTRY)["rank"].mean()
    rows = []
    for key, group in seeds.groupby(ENTRY, sort=False):
        val, test = bootstrap_ci(group["best"]), bootstrap_ci(group["test"])
        rows.append({
            **dict(zip(ENTRY, key)), "seeds": group["seed"].nunique(), "trials": int(group["trials"].sum()),
            "failed": int(group["failed"].sum()), "pruned": int(group["pruned"].sum()),
            "val_mean": group["best"].mean(), "val_std": group["best"].std(),
            "val_ci_low": val[0] if val else float("nan"), "val_ci_high": val[1] if val else float("nan"),
            "test_mean": group["test"].mean(), "test_std": group["test"].std(),
            "test_ci_low": test[0] if test else float("nan"), "test_ci_high": test[1] if test else float("nan"),
            "avg_rank": mean_rank[key], "trials_to_best": group["trials_to_best"].mean(),
            "epochs": group["epochs"].mean(), "compute_seconds": group["compute_seconds"].mean(),
            "wall_seconds": group["wall_seconds"].mean(),
            "model": _best_model(group),
        })
    board = pd.DataFrame(rows)
    if not objectives:
        return board.sort_values(["task", "val_mean"], ascending=[True, False], ignore_index=True)[COLUMNS]
    from automl_bench.pareto import hypervolumes

    volumes = hypervolumes(trials, objectives)
    summary = []
    for key, group in volumes.groupby(ENTRY, sort=False):
        ci = bootstrap_ci(group["hypervolume"])
        summary.append({**dict(zip(ENTRY, key)), "hypervolume": group["hypervolume"].mean(),
                        "hypervolume_std": group["hypervolume"].std(),
                        "hypervolume_ci_low": ci[0] if ci else float("nan"),
                        "hypervolume_ci_high": ci[1] if ci else float("nan")})
    board = board.merge(pd.DataFrame(summary, columns=[*ENTRY, *HYPERVOLUME]), on=ENTRY, how="left")
    return board.sort_values(["task", "hypervolume"], ascending=[True, False], ignore_index=True)[COLUMNS + HYPERVOLUME]


def _best_model(group: "pd.DataFrame") -> str:
    saved = group[(group["model"] != "") & group["best"].notna()]
    return "" if saved.empty else str(saved.loc[saved["best"].idxmax(), "model"])


def to_markdown(board: "pd.DataFrame", metric: str = "accuracy") -> str:
    """A readable table: scores as mean ± std over seeds, the 95% interval of the best val mean,
    the average rank."""
    import pandas as pd

    if board.empty:
        return "_no trials recorded_\n"

    def pm(mean: float, std: float) -> str:
        if pd.isna(mean):
            return "n/a"
        return f"{mean:.4f}" if pd.isna(std) else f"{mean:.4f} ± {std:.4f}"

    table = pd.DataFrame({
        "task": board["task"], "backend": board["backend"], "strategy": board["strategy"],
        f"best val {metric}": [pm(m, s) for m, s in zip(board["val_mean"], board["val_std"])],
        "95% CI": [("needs ≥ 3 seeds" if pd.isna(lo) else f"[{lo:.4f}, {hi:.4f}]")
                   for lo, hi in zip(board["val_ci_low"], board["val_ci_high"])],
        f"test {metric} of best": [pm(m, s) for m, s in zip(board["test_mean"], board["test_std"])],
        "avg rank": [f"{v:.2f}" for v in board["avg_rank"]],
        "trials to best": [("n/a" if pd.isna(v) else f"{v:.1f}") for v in board["trials_to_best"]],
        "trials (failed, pruned)": [f"{t} ({f}, {p})" for t, f, p in zip(board["trials"], board["failed"],
                                                                           board["pruned"])],
        "epochs/seed": [f"{v:.0f}" for v in board["epochs"]],
        "train+eval s/seed": [f"{v:.1f}" for v in board["compute_seconds"]],
        "wall s/seed": [f"{v:.1f}" for v in board["wall_seconds"]],
        "seeds": board["seeds"],
    })
    if "hypervolume" in board.columns:
        table.insert(3, "hypervolume", [pm(m, s) for m, s in zip(board["hypervolume"], board["hypervolume_std"])])
    return table.to_markdown(index=False, disable_numparse=True) + "\n"


def markdown(results: "RunResults") -> str:
    """A run's leaderboard as markdown, then the transfer table when tasks have a modes axis."""
    text = to_markdown(results.leaderboard, results.metric)
    modes = mode_table(results.leaderboard, results.variants, results.metric)
    return text + (f"\nTransfer: test {results.metric} of each cell's best configuration, by mode\n\n{modes}"
                   if modes else "")


def mode_table(board: "pd.DataFrame", variants: dict[str, dict], metric: str = "accuracy") -> str:
    """Transfer tasks at a glance: one row per task, backend, strategy and shots; one column per
    mode; each cell the test score of the best configuration, mean ± std over seeds (best in bold).
    Empty when no task has a ``modes`` axis."""
    import pandas as pd

    rows: dict[tuple, dict[str, str]] = {}
    best: dict[tuple, float] = {}
    modes: list[str] = []
    for r in board.to_dict("records"):
        v = variants.get(r["task"], {})
        if "mode" not in v:
            continue
        key = (v["base"], r["backend"], r["strategy"], v.get("shots", "all"))
        modes += [v["mode"]] if v["mode"] not in modes else []
        mean, std = r["test_mean"], r["test_std"]
        rows.setdefault(key, {})[v["mode"]] = "n/a" if pd.isna(mean) else (
            f"{mean:.4f}" if pd.isna(std) else f"{mean:.4f} ± {std:.4f}")
        if not pd.isna(mean) and mean > best.get(key, -1.0):
            best[key] = mean
    if not rows:
        return ""
    from automl_bench._model.config import MODES

    modes.sort(key=lambda m: MODES.index(m) if m in MODES else len(MODES))
    table = []
    for key, cells in sorted(rows.items(), key=lambda kv: (*kv[0][:3], str(kv[0][3]).zfill(9))):
        marked = {m: f"**{c}**" if c.startswith(f"{best.get(key, -1):.4f}") else c for m, c in cells.items()}
        table.append({"task": key[0], "backend": key[1], "strategy": key[2], "shots per class": str(key[3]),
                      **{f"{m}: test {metric}": marked.get(m, "") for m in modes}})
    return pd.DataFrame(table).to_markdown(index=False, disable_numparse=True) + "\n"
