"""Pareto fronts, hypervolume and attainment surfaces of multi-objective searches, by moocore
(the C implementations of the empirical attainment function's authors): what the leaderboard
and the report of a suite with ``objectives`` show, for a plugin's section or a user's notebook.

Every objective is first turned to be minimised (a maximised one is negated) and scaled, per
task, to [0, 1] between the best and the worst value any completed trial of the task reached,
so that objectives of different units weigh alike and every entry of a task is measured in one
space. The hypervolume of a search is the share of that space, up to the reference point
`REFERENCE` in each scaled objective (10% beyond the worst value seen), that its completed
trials dominate: 0 is nothing, and ``REFERENCE ** k`` (1.331 with three objectives) would be the
whole box up to the reference point.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = ["PERCENTILES", "REFERENCE", "Scale", "attainment", "completed", "describe", "hypervolume", "hypervolumes",
           "minimised", "nondominated"]

#: The reference point, in every scaled objective (1 = the worst value a trial of the task reached).
REFERENCE = 1.1
#: The attainment surfaces drawn: the best quarter of the seeds attained (25%), half (the median), three quarters.
PERCENTILES = (25, 50, 75)


def describe(objective: str) -> str:
    """What an objective a suite can name is, in a few words (docs/explanation/cost.md)."""
    from automl_bench._model.objectives import OBJECTIVES

    return OBJECTIVES[objective][1] if objective in OBJECTIVES else objective


def minimised(values: Any, directions: Sequence[str]) -> np.ndarray:
    """The values (one column per objective) with every maximised objective negated."""
    points = np.asarray(values, dtype=float)
    sign = np.array([-1.0 if d == "maximize" else 1.0 for d in directions])
    return points * sign


def nondominated(points: np.ndarray) -> np.ndarray:
    """Which rows of ``points`` (all minimised) no other row dominates (a boolean mask)."""
    import moocore

    if len(points) == 0:
        return np.zeros(0, dtype=bool)
    return np.asarray(moocore.is_nondominated(points, keep_weakly=False), dtype=bool)


def hypervolume(points: np.ndarray, reference: Sequence[float]) -> float:
    """The hypervolume (minimised points) dominated up to ``reference``; 0 for none."""
    import moocore

    ref = np.asarray(reference, dtype=float)
    inside = points[np.all(points < ref, axis=1)] if len(points) else points
    if len(inside) == 0:
        return 0.0
    return float(moocore.hypervolume(inside, ref=ref))  # dominated points add nothing to it


class Scale:
    """A task's objectives, minimised and scaled to [0, 1] between the best and worst values its
    completed trials reached (an objective every trial shares is scaled by 1)."""

    def __init__(self, trials: pd.DataFrame, directions: Mapping[str, str]):
        self.names, self.directions = list(directions), list(directions.values())
        points = minimised(trials[self.names].to_numpy(), self.directions)
        self.low = np.nanmin(points, axis=0) if len(points) else np.zeros(len(self.names))
        high = np.nanmax(points, axis=0) if len(points) else np.ones(len(self.names))
        self.span = np.where(high > self.low, high - self.low, 1.0)

    def __call__(self, trials: pd.DataFrame) -> np.ndarray:
        return (minimised(trials[self.names].to_numpy(), self.directions) - self.low) / self.span


def completed(trials: pd.DataFrame, directions: Mapping[str, str]) -> pd.DataFrame:
    """The trials that completed with every objective reported."""
    if trials.empty:
        return trials
    done = trials[trials["status"] == "ok"]
    return done.dropna(subset=list(directions))


def hypervolumes(trials: pd.DataFrame, directions: Mapping[str, str]) -> pd.DataFrame:
    """The hypervolume of each search (task, backend, strategy, seed) in its task's scaled space
    (`Scale`, reference point `REFERENCE`), with ``front``, the size of its Pareto front. A search
    with no completed trial is listed with hypervolume 0 and front 0: it dominates nothing."""
    keys = ["task", "backend", "strategy", "seed"]
    done = completed(trials, directions)
    rows = []
    for task, of_task in done.groupby("task"):
        points = Scale(of_task, directions)(of_task)
        reference = [REFERENCE] * len(directions)
        for key, index in of_task.groupby(keys[1:]).indices.items():
            mine = points[index]
            front = mine[nondominated(mine)]
            rows.append({"task": task, **dict(zip(keys[1:], key)), "hypervolume": hypervolume(front, reference),
                         "front": len(front)})
    found = pd.DataFrame(rows, columns=[*keys, "hypervolume", "front"])
    every = trials[keys].drop_duplicates() if not trials.empty else pd.DataFrame(columns=keys)
    out = every.merge(found, on=keys, how="left")
    out["hypervolume"] = out["hypervolume"].fillna(0.0)
    out["front"] = out["front"].fillna(0).astype(int)
    return out.sort_values(keys, ignore_index=True)


def attainment(points: np.ndarray, sets: Sequence[Any], percentiles: Sequence[int] = PERCENTILES
               ) -> dict[int, np.ndarray]:
    """Attainment surfaces of several runs' 2-D minimised points (``sets`` names each point's run):
    for each percentile, the points of the surface that that share of the runs attained (sorted by
    the first objective). The 50% one is the median attainment surface."""
    import moocore

    codes = pd.factorize(pd.Series(list(sets)))[0] + 1
    if len(points) == 0:
        return {p: np.zeros((0, 2)) for p in percentiles}
    eaf = np.asarray(moocore.eaf(np.asarray(points, dtype=float), codes, percentiles=list(percentiles)))
    out = {}
    for p in percentiles:
        level = eaf[np.isclose(eaf[:, -1], p)][:, :-1]
        out[p] = level[np.argsort(level[:, 0])]
    return out
