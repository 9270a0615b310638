"""The report's pictures, drawn with matplotlib (Agg) and saved as PNG files.

Every entry keeps one colour in every picture of a report (colours follow the sorted entry
names), so a strategy is the same colour in the anytime curves and in the learning curves.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from automl_bench import RunResults
from automl_bench.statistics import CELL, best_by_wall, best_so_far, entry_label


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def colours(labels: list[str]) -> dict[str, Any]:
    plt = _plt()
    pairs = plt.get_cmap("tab20").colors  # ten hues, dark then light: 20 colours no two alike
    palette = pairs[0::2] + pairs[1::2]
    return {label: palette[i % len(palette)] for i, label in enumerate(sorted(set(labels)))}


def _labels(frame: pd.DataFrame, several_backends: bool) -> pd.Series:
    return pd.Series([entry_label(b, s, several_backends) for b, s in zip(frame["backend"], frame["strategy"])],
                     index=frame.index)


def _safe(name: str) -> str:
    """A task's name as a file name's part."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    _plt().close(fig)
    return path


def anytime(results: RunResults, task: str, path: Path, palette: dict[str, Any]) -> Path:
    """Best-so-far validation score against trial number, against cumulative compute seconds and
    against wall seconds (the simulated executor's clock where the run had one): the median over
    seeds as a line, the interquartile range as a band, one line per entry."""
    plt = _plt()
    several = results.trials["backend"].nunique() > 1
    trials = results.trials[results.trials["task"] == task]
    curve = best_so_far(trials)
    curve["entry"] = _labels(curve, several)
    wall = best_by_wall(trials)
    wall["entry"] = _labels(wall, several)
    fig, (by_trial, by_time, by_wall) = plt.subplots(1, 3, figsize=(15, 3.6), sharey=True)
    settled = []  # each entry's median once a quarter of its trials have run
    for entry, group in curve.groupby("entry"):
        table = group.pivot_table(index="trial", columns="seed", values="best_so_far").ffill()
        x = table.index.to_numpy() + 1
        with warnings.catch_warnings():  # a trial number where no seed has a result yet
            warnings.simplefilter("ignore", RuntimeWarning)
            q = np.nanpercentile(table.to_numpy(), [25, 50, 75], axis=1)
        settled.append(q[1][min(len(x) - 1, len(x) // 4)])
        by_trial.plot(x, q[1], color=palette[entry], label=entry)
        by_trial.fill_between(x, q[0], q[2], color=palette[entry], alpha=0.2, linewidth=0)
        _by_seconds(by_time, group, "seconds_so_far", palette[entry], entry)
    for entry, group in wall.groupby("entry"):
        _by_seconds(by_wall, group, "wall_so_far", palette[entry], entry)
    top = np.nanmax(curve["best_so_far"]) if curve["best_so_far"].notna().any() else np.nan
    low = np.nanmin(settled) if np.isfinite(settled).any() else np.nan
    long_searches = curve["trial"].max() + 1 >= 10  # in a short search the first trials are the story
    if long_searches and low == low and top == top and top > low:  # zoom on where the searches are
        by_trial.set_ylim(low - 0.15 * (top - low), top + 0.05 * (top - low))
    metric = results.metric
    by_trial.set(xlabel="trial", ylabel=f"best val {metric} so far", title=f"{task}: by trial")
    by_time.set(xlabel="compute seconds (train + evaluate)", title=f"{task}: by compute time")
    clock = "simulated seconds" if len(wall) and wall["simulated"].iloc[0] else "seconds"
    by_wall.set(xlabel=f"wall {clock} since the search began", title=f"{task}: by wall time")
    by_wall.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0))  # outside: it hides no curve
    for ax in (by_trial, by_time, by_wall):
        ax.grid(alpha=0.3)
    return _save(fig, path)


def _by_seconds(ax: Any, group: Any, column: str, colour: Any, entry: str) -> None:
    """One entry's best so far against ``column`` (seconds): the median and interquartile band
    over seeds of each seed's step function, from the time every seed has a score (a median over
    the seeds scored so far would drop when a late seed starts low, which a best-so-far curve
    never does)."""
    scored = group.dropna(subset=["best_so_far"])
    if scored.empty:
        return
    start = scored.groupby("seed")[column].min().max()
    grid = np.linspace(start, group[column].max(), 200)
    seconds, best = _by_seed(group, column)
    per_seed = np.full((len(seconds), len(grid)), np.nan)
    rows = max(1, 20_000_000 // max(1, seconds.shape[1] * len(grid)))  # compared at once: memory stays bounded
    for i in range(0, len(seconds), rows):
        part = slice(i, i + rows)
        reached = (seconds[part, :, None] <= grid[None, None, :]).sum(axis=1) - 1  # a step: the best so far
        per_seed[part] = np.where(reached >= 0, np.take_along_axis(best[part], np.clip(reached, 0, None), axis=1),
                                  np.nan)
    with warnings.catch_warnings():  # before a seed's first trial ends there is no best yet
        warnings.simplefilter("ignore", RuntimeWarning)
        q = np.nanpercentile(per_seed, [25, 50, 75], axis=0) if len(per_seed) else None
    if q is not None:
        ax.plot(grid, q[1], color=colour, label=entry)
        ax.fill_between(grid, q[0], q[2], color=colour, alpha=0.2, linewidth=0)


#: Seeds of an entry drawn as one thin line each in the learning curves; more are drawn as their
#: median and quartiles per epoch, which a picture can still show.
LINES_PER_ENTRY = 30


def _by_seed(group: Any, column: str) -> tuple[Any, Any]:
    """Each seed's ``column`` and best so far as the rows of two arrays, sorted by ``column``
    within the seed and padded (+inf seconds, NaN scores) to the longest seed's length."""
    ordered = group.sort_values(["seed", column], kind="stable")
    seed = ordered["seed"].to_numpy()
    row = np.unique(seed, return_inverse=True)[1]
    position = ordered.groupby("seed", sort=False).cumcount().to_numpy()
    width = int(position.max()) + 1 if len(position) else 0
    seconds = np.full((row.max() + 1 if len(row) else 0, width), np.inf)
    best = np.full(seconds.shape, np.nan)
    seconds[row, position] = ordered[column].to_numpy(dtype=float)
    best[row, position] = ordered["best_so_far"].to_numpy(dtype=float)
    return seconds, best


def learning_curves(results: RunResults, task: str, path: Path, palette: dict[str, Any]) -> Path | None:
    """Validation score and loss per epoch of each cell's best trial: one thin line per seed, or,
    past `LINES_PER_ENTRY` seeds, each entry's median with its interquartile band."""
    trials = results.trials
    score = f"val_{results.metric}"
    ok = trials[(trials["task"] == task) & (trials["status"] == "ok") & trials["value"].notna()]
    if ok.empty:
        return None
    best = ok.loc[ok.groupby(CELL)["value"].idxmax(), CELL + ["trial"]]
    epochs = results.epochs_of(best)  # only these trials' histories are read from the store
    if epochs.empty or score not in epochs:
        return None
    curves = dict(iter(epochs.groupby(CELL + ["trial"], sort=False)))  # split once, not a filter per cell
    several = trials["backend"].nunique() > 1
    by_entry: dict[str, list[pd.DataFrame]] = {}
    for key in best.itertuples(index=False, name=None):  # sorted by cell: an entry's seeds are together
        if key in curves:
            by_entry.setdefault(entry_label(key[1], key[2], several), []).append(curves[key])
    plt = _plt()
    fig, (acc, loss) = plt.subplots(1, 2, figsize=(11.5, 3.6))
    for entry, drawn in by_entry.items():
        if len(drawn) <= LINES_PER_ENTRY:
            for i, curve in enumerate(drawn):
                acc.plot(curve["epoch"], curve[score], color=palette[entry], alpha=0.8, linewidth=1,
                         label=entry if i == 0 else None)
                if "val_loss" in curve:
                    loss.plot(curve["epoch"], curve["val_loss"], color=palette[entry], alpha=0.8, linewidth=1)
            continue
        _median_band(acc, pd.concat(drawn), score, palette[entry], f"{entry} (median, quartiles of {len(drawn)})")
        if "val_loss" in epochs:
            _median_band(loss, pd.concat(drawn), "val_loss", palette[entry], None)
    acc.set(xlabel="epoch", ylabel=score, title=f"{task}: best trial of each cell")
    loss.set(xlabel="epoch", ylabel="val_loss", title=f"{task}: validation loss")
    loss.legend(*acc.get_legend_handles_labels(), fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    for ax in (acc, loss):
        ax.grid(alpha=0.3)
    return _save(fig, path)


def _median_band(ax: Any, rows: pd.DataFrame, column: str, colour: Any, label: str | None) -> None:
    """A column's median per epoch over many curves, with its interquartile band."""
    q = rows.groupby("epoch")[column].quantile([0.25, 0.5, 0.75]).unstack()
    ax.plot(q.index, q[0.5], color=colour, linewidth=1.5, label=label)
    ax.fill_between(q.index, q[0.25], q[0.75], color=colour, alpha=0.2, linewidth=0)


def transfer(summary: pd.DataFrame, base: str, path: Path, palette: dict[str, Any]) -> Path:
    """Test score against labelled examples per class, one line per mode (and backend), bars
    from the 95% bootstrap interval over seeds (none below three seeds)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    one = summary["shots"].nunique() == 1  # a fixed number of shots: the modes side by side
    labels = []
    for k, (label, group) in enumerate(summary.groupby("label")):
        labels.append(label)
        group = group.sort_values("shots")
        err = None
        if group["ci_low"].notna().all():
            err = np.vstack([group["mean"] - group["ci_low"], group["ci_high"] - group["mean"]])
        ax.errorbar([k] if one else group["shots"], group["mean"], yerr=err, marker="o", capsize=3, label=label,
                    color=palette.get(label))
    if one:
        ax.set_xticks(range(len(labels)), labels, rotation=20, fontsize=8)
        ax.set(xlim=(-0.5, len(labels) - 0.5), xlabel=f"{summary['shots'].iloc[0]} labelled training examples per class")
    else:
        ax.set(xscale="log", xlabel="labelled training examples per class")
    ax.set(ylabel="test score of the best", title=f"{base}: transfer by mode")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def speed(table: pd.DataFrame, path: Path, palette: dict[str, Any]) -> Path:
    """Median training seconds per epoch, per backend, one group of bars per model family."""
    plt = _plt()
    families = sorted(table["family"].unique())
    backends = sorted(table["backend"].unique())
    fig, ax = plt.subplots(figsize=(max(5, 1.6 * len(families) * max(1, len(backends)) / 2), 3.6))
    width = 0.8 / max(1, len(backends))
    for i, backend in enumerate(backends):
        rows = table[table["backend"] == backend].set_index("family").reindex(families)
        ax.bar(np.arange(len(families)) + i * width, rows["seconds_per_epoch"], width, label=backend,
               color=palette.get(backend))
    ax.set_xticks(np.arange(len(families)) + width * (len(backends) - 1) / 2, families)
    ax.set(ylabel="train seconds per epoch (median)", title="Backend speed by model family")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8)
    return _save(fig, path)


def rank_table(mean_ranks: pd.DataFrame, path: Path) -> Path:
    """Average rank of each entry (rows) on each task (columns), coloured by rank (1 = best)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(max(5.5, 2.5 + 1.2 * mean_ranks.shape[1]), 1.6 + 0.4 * mean_ranks.shape[0]))
    image = ax.imshow(mean_ranks.to_numpy(dtype=float), cmap="RdYlGn_r", aspect="auto")
    ax.set_xticks(range(mean_ranks.shape[1]), mean_ranks.columns, rotation=30, ha="right")
    ax.set_yticks(range(mean_ranks.shape[0]), mean_ranks.index)
    for (i, j), value in np.ndenumerate(mean_ranks.to_numpy(dtype=float)):
        if value == value:
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=8)
    fig.colorbar(image, ax=ax, label="rank")
    ax.set_title("Average rank over seeds (1 = best)")
    return _save(fig, path)


def critical_difference(ranked: pd.DataFrame, path: Path, palette: dict[str, Any]) -> Path | None:
    """Critical-difference diagram (scikit-posthocs) over every task and seed as blocks:
    entries joined by a bar do not differ significantly (Nemenyi after Friedman, alpha 0.05)."""
    import scikit_posthocs as sp

    from automl_bench.statistics import rank_blocks

    blocks = rank_blocks(ranked)
    if blocks.shape[1] < 2 or blocks.shape[0] < 3:
        return None
    plt = _plt()
    significance = sp.posthoc_nemenyi_friedman(blocks.to_numpy())
    significance.index = significance.columns = blocks.columns
    fig, ax = plt.subplots(figsize=(7, 0.9 + 0.35 * blocks.shape[1]))
    sp.critical_difference_diagram(blocks.mean(), significance, ax=ax,
                                   color_palette={label: palette[label] for label in blocks.columns})
    ax.set_title(f"Critical difference ({blocks.shape[0]} blocks: task x seed)", fontsize=9)
    return _save(fig, path)


def performance_profiles(profiles: dict[str, pd.DataFrame], path: Path, palette: dict[str, Any],
                         several_backends: bool) -> Path:
    """Performance profiles (Dolan and Moré): for each entry, the fraction of problems solved
    within τ times the fastest entry's cost, one panel per clock, τ on a log axis from 1 to 4."""
    plt = _plt()
    fig, axes = plt.subplots(1, len(profiles), figsize=(6.5 * len(profiles), 3.8), sharey=True, squeeze=False)
    for ax, (clock, profile) in zip(axes[0], profiles.items()):
        profile = profile.assign(entry=_labels(profile, several_backends))
        for entry, group in profile.groupby("entry", sort=True):
            group = group.sort_values("tau")
            ax.step(group["tau"], group["solved"], where="post", label=entry, color=palette.get(entry), linewidth=1.6)
        ax.set_xscale("log")
        ax.set_xlim(1, 4)
        ax.set_xticks([1, 1.5, 2, 3, 4], labels=["1", "1.5", "2", "3", "4"])
        ax.minorticks_off()
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel(f"τ: within τ × the fastest entry's {clock} seconds")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("fraction of problems (task × seed) solved")
    axes[0][-1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # beside the lines, not on them
    return _save(fig, path)
