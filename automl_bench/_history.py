"""`bench history`: how each cell's measurements moved over a series of exports (`bench export`,
one per commit), where they stepped, and between which commits to bisect.

Each export is one point of each cell's series (the mean over its seeds for scores, the
geometric mean for times, as `bench compare` averages them), ordered by when the export was
made. Steps are found by penalised change-point detection (PELT, from ``ruptures``, on the values,
or their logarithms for times, with a piecewise-constant model): a new segment costs a penalty of
4 sigma^2 log(n) (`PENALTY`), sigma the series' noise estimated from the median absolute difference between
neighbours (which a step does not move). A step is reported with its size and the exports on
either side of it; it is *beyond tolerance* when its size exceeds the suite's `[regression]`
tolerance (``max_score_drop`` for scores, ``max_slowdown`` for times), as `bench compare` judges
one change.
"""

from __future__ import annotations

import math
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from automl_bench.errors import CompareError

if TYPE_CHECKING:
    from automl_bench._baseline import Baseline

#: The metrics a history follows, with their kind (what "worse" means and how they average).
METRICS = {"best_val": "score", "test": "score", "epoch_seconds": "time", "wall_seconds": "time"}
MAD_TO_SIGMA = 1 / (0.6745 * math.sqrt(2))  # neighbours' differences have twice the variance
#: A new segment costs PENALTY sigma^2 log(n): a single export must stand about 3.5 sigma out (n = 20)
#: before it is a step of its own.
PENALTY = 4.0


@dataclass(frozen=True)
class Point:
    """One export's value of one cell and metric."""

    value: float
    created: str
    commit: str
    machine: str
    source: str
    seeds: int


@dataclass(frozen=True)
class Step:
    """A change between two segments of a series: ``index`` is the first point after it."""

    index: int
    before: float  # the mean of the segment before (for times, its geometric mean)
    after: float
    kind: str

    @property
    def change(self) -> float:
        """after - before for scores; after / before for times."""
        return self.after / self.before if self.kind == "time" else self.after - self.before

    @property
    def worse(self) -> bool:
        return self.after > self.before if self.kind == "time" else self.after < self.before

    def beyond(self, max_score_drop: float, max_slowdown: float) -> bool:
        """Whether the step exceeds the tolerance `bench compare` allows one change."""
        if self.kind == "time":
            return max(self.change, 1 / self.change) > max_slowdown
        return abs(self.change) > max_score_drop


@dataclass
class Series:
    task: str
    backend: str
    strategy: str
    metric: str
    points: list[Point]
    steps: list[Step] = field(default_factory=list)

    @property
    def cell(self) -> str:
        return f"{self.task}/{self.backend}/{self.strategy}"


def read_exports(sources: Sequence[Path]) -> "list[Baseline]":
    """The exports in ``sources`` (files, or folders of ``*.json``), oldest first (by the time each
    was made, then its commit). Every file must be an export of one suite."""
    from automl_bench._baseline import read

    files: list[Path] = []
    for source in sources:
        if source.is_dir():
            files += sorted(source.glob("*.json"))
        elif source.exists():
            files.append(source)
        else:
            raise CompareError(f"{source}: no such file or folder of exports")
    if not files:
        raise CompareError(f"no exports (*.json) in {', '.join(map(str, sources))}")
    exports = sorted((read(f) for f in files), key=lambda b: (b.created, b.environment.get("git_commit") or ""))
    suites = sorted({b.suite.name for b in exports})
    if len(suites) > 1:
        raise CompareError(f"the exports are of several suites ({', '.join(suites)}): give one suite's history")
    return exports


def series(exports: "Sequence[Baseline]") -> list[Series]:
    """Each cell's series of each metric over ``exports`` (oldest first)."""
    out: dict[tuple[str, str, str, str], Series] = {}
    for export in exports:
        cells: dict[tuple[str, str, str], list] = {}
        for row in export.rows:
            cells.setdefault(row.cell, []).append(row)
        for cell, rows in cells.items():
            for metric, kind in METRICS.items():
                values = [getattr(r, metric) for r in rows]
                values = [v for v in values if v is not None and (kind != "time" or v > 0)]
                if not values:
                    continue
                value = (math.exp(sum(map(math.log, values)) / len(values)) if kind == "time"
                         else sum(values) / len(values))
                point = Point(value, export.created, export.environment.get("git_commit") or "",
                              export.environment.get("machine") or "", export.source, len(values))
                out.setdefault((*cell, metric), Series(*cell, metric, [])).points.append(point)
    found = list(out.values())
    for s in found:
        s.steps = find_steps([p.value for p in s.points], METRICS[s.metric])
    return found


def find_steps(values: Sequence[float], kind: str) -> list[Step]:
    """The steps in ``values`` (PELT with an L2 cost; see the module's docstring)."""
    import numpy as np
    import ruptures

    if len(values) < 3:
        return []
    signal = np.log(np.asarray(values, dtype=float)) if kind == "time" else np.asarray(values, dtype=float)
    sigma = float(np.median(np.abs(np.diff(signal)))) * MAD_TO_SIGMA
    sigma = max(sigma, 1e-9 * max(1.0, float(np.abs(signal).max())))  # a flat series: any change is a step
    ends = ruptures.Pelt(model="l2", min_size=1, jump=1).fit(signal.reshape(-1, 1)).predict(
        pen=PENALTY * sigma ** 2 * math.log(len(signal)))
    starts = [0, *ends[:-1]]
    means = [float(signal[a:b].mean()) for a, b in zip(starts, ends)]
    back = (lambda v: math.exp(v)) if kind == "time" else (lambda v: v)
    return [Step(index=ends[i], before=back(means[i]), after=back(means[i + 1]), kind=kind)
            for i in range(len(ends) - 1)]


def reference(exports: "Sequence[Baseline]", since: str, repository: Path | None = None) -> "Baseline":
    """The export ``since`` names: ``N`` (a number) is the N-th before the newest; anything else is
    a commit, a tag or a branch, resolved by git where it can (else a commit's prefix), and the
    newest export of that commit is taken."""
    if since.isdigit():
        back = int(since)
        if not 0 < back < len(exports):
            raise CompareError(f"--since {since}: the history holds {len(exports)} exports, so 1 to "
                               f"{len(exports) - 1} exports back")
        return exports[-1 - back]
    commit = since
    try:
        done = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{since}^{{commit}}"], cwd=repository,
                              capture_output=True, text=True, timeout=30)
        if done.returncode == 0:
            commit = done.stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        pass
    matching = [e for e in exports if (e.environment.get("git_commit") or "").startswith(commit)]
    if not matching:
        raise CompareError(f"--since {since}: no export of commit {commit[:12]} in the history (its commits: "
                           f"{', '.join(sorted({(e.environment.get('git_commit') or '?')[:12] for e in exports}))})")
    return matching[-1]


def commits_between(older: str, newer: str, repository: Path | None = None) -> list[str] | None:
    """The commits after ``older`` up to ``newer`` (oldest first): where to bisect a step. None
    when git cannot say (no repository here, or a commit it does not have)."""
    if not older or not newer:
        return None
    try:
        done = subprocess.run(["git", "rev-list", "--reverse", "--abbrev-commit", f"{older}..{newer}"],
                              cwd=repository, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.split() if done.returncode == 0 else None


def newest_steps(found: Sequence[Series], max_score_drop: float, max_slowdown: float) -> list[tuple[Series, Step]]:
    """The steps beyond tolerance, for the worse, that the newest export starts."""
    return [(s, step) for s in found for step in s.steps
            if step.index == len(s.points) - 1 and step.worse and step.beyond(max_score_drop, max_slowdown)]


def summary(exports: "Sequence[Baseline]", found: Sequence[Series], max_score_drop: float, max_slowdown: float,
            repository: Path | None = None) -> str:
    """The history as markdown: one table of every cell and metric's latest value and its
    steps, then each step's place and the commits to bisect."""
    from tabulate import tabulate

    first, last = exports[0], exports[-1]
    lines = [f"## automl-bench history: {last.suite.name}", "",
             f"{len(exports)} exports, {first.created} ({_short(first)}) to {last.created} ({_short(last)}). "
             f"Steps found by change-point detection (PELT); beyond tolerance: a score moved by more than "
             f"{max_score_drop:g}, a time by more than x{max_slowdown:g}.", ""]
    rows = []
    for s in sorted(found, key=lambda s: (s.cell, s.metric)):
        first_value, latest = s.points[0].value, s.points[-1].value
        steps = "; ".join(f"{_change(step)} at export {step.index + 1}" + (" (beyond tolerance)" if step.beyond(
            max_score_drop, max_slowdown) else "") for step in s.steps) or "none"
        rows.append([s.cell, s.metric, len(s.points), _value(first_value, s.metric), _value(latest, s.metric), steps])
    lines.append(tabulate(rows, headers=["cell", "metric", "points", "first", "latest", "steps"], tablefmt="github"))
    detailed = [(s, step) for s in found for step in s.steps if step.beyond(max_score_drop, max_slowdown)]
    if detailed:
        lines += ["", "### Steps beyond tolerance", ""]
    for s, step in detailed:
        before, after = s.points[step.index - 1], s.points[step.index]
        commits = commits_between(before.commit, after.commit, repository)
        where = (f"{len(commits)} commit{'s' * (len(commits) != 1)} to bisect: {', '.join(commits)}" if commits
                 else f"between commits {before.commit[:12] or '?'} and {after.commit[:12] or '?'}")
        lines.append(f"- **{s.cell} {s.metric}**: {_change(step)} ({'worse' if step.worse else 'better'}), from "
                     f"{_value(step.before, s.metric)} to {_value(step.after, s.metric)}; last export before it "
                     f"{before.created} ({before.commit[:12] or 'no commit'}), first after {after.created} "
                     f"({after.commit[:12] or 'no commit'}); {where}.")
    return "\n".join(lines) + "\n"


def _short(export: "Baseline") -> str:
    return (export.environment.get("git_commit") or "no commit")[:12]


def _value(value: float, metric: str) -> str:
    return f"{value:.3g} s" if METRICS[metric] == "time" else f"{value:.4f}"


def _change(step: Step) -> str:
    return f"x{step.change:.3f}" if step.kind == "time" else f"{step.change:+.4f}"
