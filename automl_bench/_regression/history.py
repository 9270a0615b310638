"""`bench history`: how each cell's measurements moved over a series of exports (`bench export`,
one per commit), where they stepped, and between which commits to bisect.

Each export is one point of each cell's series (the mean over its seeds for scores, the
geometric mean for times, as `bench compare` averages them), ordered by when the export was
made. Steps are found by penalised change-point detection (PELT, from ``ruptures``' KernelCPD
with the linear kernel, on the values or their logarithms for times: a piecewise-constant model):
a new segment costs a penalty of 4 sigma^2 log(n) (`PENALTY`), sigma the series' noise estimated
from the median absolute difference between neighbours (which a step does not move). A step is
reported with its size and the exports on either side of it; it is *beyond tolerance* when its
size exceeds the suite's `[regression]` tolerance (``max_score_drop`` for scores,
``max_slowdown`` for times), as `bench compare` judges one change.
"""

from __future__ import annotations

import math
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from automl_bench.errors import CompareError

if TYPE_CHECKING:
    from automl_bench._regression.baseline import Baseline

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
    #: seed values averaged into it, and exports of its commit (repeats)
    seeds: int
    repeats: int = 1


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


@dataclass
class History:
    """The exports of one suite and budget, oldest first, and what reading them found."""

    exports: "list[Baseline]"
    #: files that could not be read, and why (skipped; the rest is shown)
    skipped: list[str] = field(default_factory=list)
    #: said once: several suites or budgets were grouped apart, and so on
    warnings: list[str] = field(default_factory=list)

    @property
    def suite(self) -> str:
        return self.exports[-1].suite.name


def read_histories(sources: Sequence[Path]) -> list[History]:
    """The exports in ``sources`` (files, or folders of ``*.json``), grouped by suite and budget
    (its sha256 and epoch cap: results of different budgets are never one series), each group
    oldest first (by the time each export was made, then its commit). A damaged export, or one of a
    newer format, is named and skipped. Raises `CompareError` when nothing can be read."""
    from automl_bench._regression.baseline import read

    files: list[Path] = []
    for source in sources:
        if source.is_dir():
            files += sorted(source.glob("*.json"))
        elif source.exists():
            files.append(source)
        else:
            raise CompareError(f"{source}: no such file or folder of exports")
    read_ok, skipped = [], []
    for f in files:
        try:
            read_ok.append(read(f))
        except CompareError as exc:
            skipped.append(str(exc))
    if not read_ok:
        raise CompareError(f"no readable exports (*.json) in {', '.join(map(str, sources))}"
                           + (": " + "; ".join(skipped[:3]) if skipped else ""))
    groups: dict[tuple, list] = {}
    for b in read_ok:
        groups.setdefault((b.suite.name, b.suite.sha256, b.suite.max_epochs), []).append(b)
    warnings = []
    if len(groups) > 1:
        warnings.append(f"the exports are of {len(groups)} suites or budgets, shown apart: " + ", ".join(
            f"{name} (sha256 {sha[:12]}, max_epochs {epochs}, {len(g)} exports)"
            for (name, sha, epochs), g in groups.items()))
    histories = [History(sorted(g, key=lambda b: (b.created, b.environment.get("git_commit") or "")), skipped,
                         warnings) for g in groups.values()]
    return sorted(histories, key=lambda h: h.exports[-1].created)


def series(exports: "Sequence[Baseline]", clock: str = "wall") -> list[Series]:
    """Each cell's series of each metric over ``exports`` (oldest first): one point per commit,
    the exports of one commit kept as repeats of it (their values averaged as the seeds are).
    With ``clock="cpu"``, ``epoch_seconds`` is the worker's CPU seconds per epoch."""
    out: dict[tuple[str, str, str, str], Series] = {}
    values: dict[tuple, dict[str, list]] = {}
    commits: dict[str, int] = {}  # commit -> its place, in the order of its first export
    for position, export in enumerate(exports):
        commit = export.environment.get("git_commit") or f"(no commit: export {position + 1})"
        commits.setdefault(commit, len(commits))
        for row in export.rows:
            for metric, kind in METRICS.items():
                value = row.measured(metric, clock)
                if value is not None and (kind != "time" or value > 0):
                    values.setdefault((*row.cell, metric), {}).setdefault(commit, []).append((value, export))
    for key, by_commit in values.items():
        kind = METRICS[key[3]]
        points = []
        for commit in sorted(by_commit, key=commits.__getitem__):
            entries = by_commit[commit]
            numbers = [v for v, _ in entries]
            value = (math.exp(sum(map(math.log, numbers)) / len(numbers)) if kind == "time"
                     else sum(numbers) / len(numbers))
            newest = entries[-1][1]
            points.append(Point(value, newest.created, newest.environment.get("git_commit") or "",
                                newest.environment.get("machine") or "", newest.source, len(numbers),
                                repeats=len({id(e) for _, e in entries})))
        out[key] = Series(*key, points)
    found = list(out.values())
    for s in found:
        s.steps = find_steps([p.value for p in s.points], METRICS[s.metric])
    return found


#: Fewer points than this give no verdict on steps ("needs >= N exports").
MIN_POINTS = 4


def find_steps(values: Sequence[float], kind: str) -> list[Step]:
    """The steps in ``values`` (PELT with an L2 cost; see the module's docstring)."""
    import numpy as np
    import ruptures

    if len(values) < MIN_POINTS:
        return []
    signal = np.log(np.asarray(values, dtype=float)) if kind == "time" else np.asarray(values, dtype=float)
    sigma = float(np.median(np.abs(np.diff(signal)))) * MAD_TO_SIGMA
    # a flat series: any change beyond rounding (a millionth) is a step
    sigma = max(sigma, 1e-6 * max(1.0, float(np.abs(signal).max())))
    # the linear kernel's cost is the L2 cost (a segment's sum of squared deviations from its mean),
    # and KernelCPD searches it with PELT in ruptures' C code: 5 ms for 1,000 points, where the
    # same search in Python (Pelt with an L2 cost from cumulative sums) took a second
    ends = ruptures.KernelCPD(kernel="linear", min_size=1, jump=1).fit(signal).predict(
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


def commit_url(repository: Path | None = None) -> str | None:
    """A URL template for a commit (``{commit}``), from the repository's ``origin`` when it is on
    GitHub or GitLab; None otherwise."""
    try:
        done = subprocess.run(["git", "remote", "get-url", "origin"], cwd=repository, capture_output=True, text=True,
                              timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.match(r"(?:https://|git@)(github\.com|gitlab\.com)[/:](.+?)(?:\.git)?$", done.stdout.strip())
    if done.returncode != 0 or not match:
        return None
    host, path = match.groups()
    return f"https://{host}/{path}/{'-/' if host == 'gitlab.com' else ''}commit/{{commit}}"


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


def summary(history: History, found: Sequence[Series], max_score_drop: float, max_slowdown: float,
            repository: Path | None = None) -> str:
    """The history as markdown: one table of every cell and metric's latest value and its
    steps, then each step's place and the commits to bisect."""
    from tabulate import tabulate

    exports = history.exports
    first, last = exports[0], exports[-1]
    points = max((len(s.points) for s in found), default=0)
    lines = [f"## automl-bench history: {last.suite.name}", "",
             f"{len(exports)} exports of {points} commits, {first.created} ({_short(first)}) to {last.created} "
             f"({_short(last)}). Steps found by change-point detection (PELT) on one point per commit; beyond "
             f"tolerance: a score moved by more than {max_score_drop:g}, a time by more than x{max_slowdown:g}.", ""]
    rows = []
    for s in sorted(found, key=lambda s: (s.cell, s.metric)):
        first_value, latest = s.points[0].value, s.points[-1].value
        steps = "; ".join(f"{change_text(step)} at commit {step.index + 1}" + (" (beyond tolerance)" if step.beyond(
            max_score_drop, max_slowdown) else "") for step in s.steps) or (
            "none" if len(s.points) >= MIN_POINTS else f"needs ≥ {MIN_POINTS} commits")
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
        lines.append(f"- **{s.cell} {s.metric}**: {change_text(step)} ({'worse' if step.worse else 'better'}), from "
                     f"{_value(step.before, s.metric)} to {_value(step.after, s.metric)}; last export before it "
                     f"{before.created} ({before.commit[:12] or 'no commit'}), first after {after.created} "
                     f"({after.commit[:12] or 'no commit'}); {where}.")
    for skipped in history.skipped:
        lines.append(f"\nSkipped (unreadable): {skipped}")
    return "\n".join(lines) + "\n"


def _short(export: "Baseline") -> str:
    return (export.environment.get("git_commit") or "no commit")[:12]


def _value(value: float, metric: str) -> str:
    return f"{value:.3g} s" if METRICS[metric] == "time" else f"{value:.4f}"


def change_text(step: Step) -> str:
    return f"x{step.change:.3f}" if step.kind == "time" else f"{step.change:+.4f}"


@dataclass
class Judged:
    """Every suite's history judged by its own tolerances (unless the options set them): its
    series, summary text, tolerances, and the steps for the worse its newest export starts."""

    found: list[list[Series]] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    tolerances: list[tuple[float, float]] = field(default_factory=list)
    newest: list[tuple[Series, Step]] = field(default_factory=list)


def judge(histories: Sequence[History], *, max_score_drop: float | None, max_slowdown: float | None,
          clock: str | None, repository: Path | None) -> Judged:
    """Each history's series, steps and summary, by its newest export's suite's tolerances and
    clock where the options leave them unset (`bench history`)."""
    from automl_bench._regression.compare import Settings

    judged = Judged()
    for history in histories:
        settings = Settings.resolve(history.exports[-1], max_score_drop=max_score_drop, max_slowdown=max_slowdown,
                                    clock=clock)
        found = series(history.exports, clock=settings.clock)
        judged.found.append(found)
        judged.tolerances.append((settings.max_score_drop, settings.max_slowdown))
        judged.texts.append(summary(history, found, settings.max_score_drop, settings.max_slowdown, repository))
        judged.newest += newest_steps(found, settings.max_score_drop, settings.max_slowdown)
    return judged


def baseline_at(directory: Path, current: "Baseline", since: str) -> "Baseline":
    """The export of a folder of exports that ``since`` names (N exports back, or a commit, tag or
    branch), from the history of ``current``'s suite: the same version of it where the folder
    has one, else the suite by name, else the folder's last history (`bench compare
    --against-history`)."""
    histories = read_histories([directory])
    suite = (current.suite.name, current.suite.sha256)
    same = [h for h in histories if (h.suite, h.exports[-1].suite.sha256) == suite]
    same = same or [h for h in histories if h.suite == current.suite.name] or histories
    return reference(same[-1].exports, since)
