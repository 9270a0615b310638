"""The report's view of what models cost: for a multi-objective suite, each entry's Pareto
fronts, attainment surfaces and hypervolume with tests (`automl_bench.pareto`); for any suite,
accuracy against training seconds and inference latency of each search's best configuration."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from automl_bench import ReportSection, RunResults
from automl_bench.pareto import describe

from .figures import _labels, _plt, _safe, _save


def pareto_section(results: RunResults, out: Path, palette: dict[str, Any]) -> ReportSection | None:
    """A multi-objective suite's fronts, hypervolumes and paired tests on them."""
    from automl_bench.pareto import PERCENTILES, REFERENCE, completed, hypervolumes
    from automl_bench.statistics import MIN_SEEDS, NEEDS, pairwise_wilcoxon

    objectives = dict(results.objectives)
    trials = results.trials
    if not objectives or trials.empty:
        return None
    volumes = hypervolumes(trials, objectives)  # per search: the leaderboard holds only their summary
    fronts = volumes.groupby(["task", "backend", "strategy"])["front"].mean()
    several = trials["backend"].nunique() > 1
    rows = []
    for r in results.leaderboard.to_dict("records"):  # sorted by hypervolume within each task
        mean, std, low, high = (r[c] for c in ("hypervolume", "hypervolume_std", "hypervolume_ci_low",
                                               "hypervolume_ci_high"))
        rows.append({"task": r["task"], "backend": r["backend"], "strategy": r["strategy"], "seeds": r["seeds"],
                     "hypervolume (mean ± std)": f"{mean:.4f}" if std != std else f"{mean:.4f} ± {std:.4f}",
                     "95% CI": NEEDS if low != low else f"[{low:.4f}, {high:.4f}]",
                     "front size (mean)": f"{fronts[(r['task'], r['backend'], r['strategy'])]:.1f}"})
    notes = []
    for (task, backend, strategy), group in volumes[volumes["front"] == 0].groupby(["task", "backend", "strategy"]):
        empty = sorted(group["seed"])
        notes.append(f"- {task} / {backend} / {strategy}: on seed{'s' if len(empty) > 1 else ''} "
                     f"{', '.join(map(str, empty))} no trial completed with every objective, so the search "
                     "dominates nothing: its hypervolume there is 0 because it found nothing, not because "
                     "the reference point is out of reach.")
    table = pd.DataFrame(rows)
    listed = ", ".join(f"`{n}` ({d}: {describe(n)})" for n, d in objectives.items())
    parts = [
        f"Objectives: {listed}.",
        f"Each objective is turned to be minimised and scaled, per task, to [0, 1] between the best and the worst "
        f"value any completed trial of the task reached. A search's **hypervolume** is the volume of that space it "
        f"dominates up to the reference point **{REFERENCE} in every scaled objective** (10% beyond the worst value "
        f"seen; the whole box would be {REFERENCE ** len(objectives):.3f}); higher is better. Intervals are 95% "
        "percentile-bootstrap intervals of the mean over seeds.",
        table.to_markdown(index=False, disable_numparse=True),
    ]
    if notes:
        parts.append("\n".join(notes))
    tests = []
    scores = volumes.rename(columns={"hypervolume": "best"})
    for task in sorted(scores["task"].unique()):
        found = pairwise_wilcoxon(scores, task)
        tests += found.to_dict("records")
    if tests:
        frame = pd.DataFrame(tests)
        frame["p (Holm)"] = ["-" if p != p else f"{p:.3g}" for p in frame["p_holm"]]
        frame["mean difference"] = [f"{d:+.4f}" for d in frame["mean_difference"]]
        parts.append(f"Paired tests on hypervolume (Wilcoxon signed-rank by seed, Holm-corrected within each task; "
                     f"not run below {MIN_SEEDS} common seeds; with n seeds no p-value is below 2 / 2ⁿ, so six are "
                     "the fewest that can show a difference at 0.05):\n\n"
                     + frame[["task", "a", "b", "n", "mean difference", "p (Holm)", "significant"]]
                     .to_markdown(index=False, disable_numparse=True))
    done = completed(trials, objectives)
    for task in sorted(done["task"].unique()):
        path = pareto_figure(done[done["task"] == task], objectives, palette, several, out / f"pareto-{_safe(task)}.png",
                             PERCENTILES)
        parts.append(f"![Pareto fronts on {task}]({path.name})")
    parts.append(f"Each panel: the first objective against another, every completed trial a faint dot in its entry's "
                 f"colour; the solid line is the entry's **median attainment surface** over seeds (what half its "
                 f"searches reached or beat), the dashed lines the {PERCENTILES[0]}% and {PERCENTILES[-1]}% surfaces. "
                 "With more than two objectives each panel is a projection: a trial dominated there may be on the "
                 "front in full.")
    return ReportSection("Pareto fronts", "\n\n".join(parts))


def pareto_figure(trials: pd.DataFrame, objectives: Mapping[str, str], palette: dict[str, Any], several: bool,
                  path: Path, percentiles: tuple[int, ...]) -> Path:
    """One panel per objective after the first: the first against it, per entry the trials and
    its attainment surfaces across seeds."""
    from automl_bench.pareto import attainment, minimised

    plt = _plt()
    names = list(objectives)
    first, others = names[0], names[1:]
    fig, axes = plt.subplots(1, len(others), figsize=(5.6 * len(others), 4.4), squeeze=False)
    labels = _labels(trials, several)
    for ax, other in zip(axes[0], others):
        pair = [other, first]
        directions = [objectives[other], objectives[first]]
        sign = np.array([-1.0 if d == "maximize" else 1.0 for d in directions])
        for label, group in trials.groupby(labels, sort=True):
            colour = palette.get(label)
            ax.scatter(group[other], group[first], s=9, color=colour, alpha=0.25, linewidths=0)
            surfaces = attainment(minimised(group[pair].to_numpy(), directions), group["seed"], percentiles)
            for p, surface in surfaces.items():
                if len(surface) == 0:
                    continue
                points = surface * sign  # back to the objectives' own units
                x = np.append(points[:, 0], ax.get_xlim()[1] if sign[0] > 0 else ax.get_xlim()[0])
                y = np.append(points[:, 1], points[-1, 1])
                median = p == 50
                ax.plot(x, y, drawstyle="steps-post", color=colour, lw=2 if median else 1,
                        ls="-" if median else "--", label=label if median else None)
        values = trials[other].to_numpy(dtype=float)
        if len(values) and values.min() > 0 and values.max() / values.min() > 20:
            ax.set_xscale("log")
        ax.set_xlabel(f"{other} ({objectives[other]})")
        ax.set_ylabel(f"{first} ({objectives[first]})")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8, loc="best")
    task = trials["task"].iloc[0] if len(trials) else ""
    fig.suptitle(f"{task}: median attainment surfaces over seeds ({percentiles[0]}–{percentiles[-1]}% dashed)")
    return _save(fig, path)


def cost_section(results: RunResults, out: Path, palette: dict[str, Any]) -> ReportSection | None:
    """A single-objective suite: each search's best configuration, its score against its
    training seconds and its inference latency."""
    trials = results.trials
    if results.objectives or trials.empty:
        return None
    metric = f"val_{results.metric}"
    done = trials[(trials["status"] == "ok") & trials["value"].notna()]
    if done.empty or metric not in done.columns:
        return None
    best = done.loc[done.groupby(["task", "backend", "strategy", "seed"])["value"].idxmax()]
    axes = [c for c in ("train_seconds", "latency_ms_1") if c in best.columns and best[c].notna().any()]
    if not axes:
        return None
    several = trials["backend"].nunique() > 1
    plt = _plt()
    parts = []
    for task, group in best.groupby("task"):
        fig, panels = plt.subplots(1, len(axes), figsize=(5.2 * len(axes), 4), squeeze=False)
        labels = _labels(group, several)
        for ax, column in zip(panels[0], axes):
            for label, entry in group.groupby(labels, sort=True):
                ax.scatter(entry[column], entry[metric], color=palette.get(label), label=label, s=28)
            ax.set_xlabel({"train_seconds": "training seconds", "latency_ms_1": "ms to predict one example"}[column])
            ax.set_ylabel(f"best {metric}")
            ax.grid(alpha=0.3)
        panels[0][0].legend(fontsize=8)
        fig.suptitle(f"{task}: each search's best configuration (one dot a seed)")
        parts.append(f"![Score against cost on {task}]({_save(fig, out / f'cost-{_safe(task)}.png').name})")
    return ReportSection("Score and cost", "The best configuration each search found: its validation score against "
                         "its training seconds and its inference latency (batch size 1, median of timed calls; "
                         "docs/explanation/cost.md). A suite with `objectives` searches these trade-offs "
                         "directly.\n\n" + "\n\n".join(parts))
