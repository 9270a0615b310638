"""`bench compare`: is the current side worse than the baseline by more than a tolerance?

Each side is a `Baseline` (an exported file or a results directory). Cells are matched by task,
backend and strategy; within a cell, seeds are matched where both sides have them (paired),
otherwise the two sides' seeds are compared as independent samples (Welch). For every metric:

- scores (``best_val``, ``test``): the change is current - baseline, in absolute points;
- times (``epoch_seconds``, ``wall_seconds``): the change is the ratio current / baseline
  (a geometric mean, so the test runs on log times); when the two sides ran on different
  machines it is the *calibrated* ratio, each side's times divided by its backend's
  calibration figure (`Backend.calibration_workload`);
- costs (``latency_ms``, ``params``: judged only when gated): a ratio as times are; latency,
  a time, is calibrated across machines as wall seconds are, parameters never are;
- ``trials_to_best``: shown, never judged (it moves in whole trials).

The question is the one CI needs: "is it worse by more than the margin?" A metric *regressed*
when a one-sided t-test rejects "worse by at most the margin" (``max_score_drop`` for scores,
``max_slowdown`` for times) at ``alpha`` after Holm's correction over every gated test of the
comparison; *improved* the same the other way; *unchanged* when both one-sided tests of
"within the margin" reject (TOST); *inconclusive* otherwise, or with fewer than `MIN_SEEDS`
seeds. scipy gives the t distribution, statsmodels the Holm correction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Literal

from automl_bench._regression.baseline import Baseline, SeedRow
from automl_bench._suite import DEFAULT_GATE, Regression
from automl_bench.errors import CompareError

#: Fewer seeds than this (pairs, or per side unpaired) and no verdict is given: it says so.
MIN_SEEDS = 3
Verdict = Literal["regressed", "improved", "unchanged", "inconclusive", "info"]
TimeBasis = Literal["auto", "raw", "calibrated"]


@dataclass(frozen=True)
class Metric:
    name: str
    label: str  # for people; "{metric}" becomes the suite's metric
    kind: Literal["score", "time", "size", "count"]
    unit: str


METRICS = {
    "best_val": Metric("best_val", "best val {metric}", "score", "{metric}"),
    "test": Metric("test", "test {metric} of best", "score", "{metric}"),
    "epoch_seconds": Metric("epoch_seconds", "seconds per epoch", "time", "s"),
    "wall_seconds": Metric("wall_seconds", "wall seconds", "time", "s"),
    "latency_ms": Metric("latency_ms", "ms to predict one example", "time", "ms"),
    "params": Metric("params", "parameters", "size", ""),
    "trials_to_best": Metric("trials_to_best", "trials to best", "count", "trials"),
}


@dataclass(frozen=True)
class Settings:
    alpha: float = 0.05
    max_score_drop: float = 0.01
    max_slowdown: float = 1.10
    gate: tuple[str, ...] = DEFAULT_GATE
    time_basis: TimeBasis = "auto"
    allow_suite_change: bool = False
    #: which seconds per epoch are judged: the wall clock's, or the worker's CPU seconds (every
    #: thread), which a busy machine moves less (docs/explanation/timing.md)
    clock: Literal["wall", "cpu"] = "wall"

    @classmethod
    def resolve(cls, current: Baseline, **given: Any) -> "Settings":
        """The command line's values, else the current side's `[regression]` table, else the defaults."""
        table = Regression.model_validate(current.regression or {}).model_dump()
        table["clock"] = table.pop("time")  # the suite's `time`, the command line's --time
        chosen = {k: (given[k] if given.get(k) is not None else table[k]) for k in table}
        chosen["gate"] = tuple(chosen["gate"])
        extra = {k: v for k, v in given.items() if k not in table and v is not None}
        return cls(**chosen, **extra)


@dataclass(frozen=True)
class Row:
    """One cell and metric."""

    task: str
    backend: str
    strategy: str
    metric: str
    gated: bool
    baseline: float | None  # mean over the seeds (geometric for times)
    current: float | None
    n_baseline: int = 0
    n_current: int = 0
    paired: bool = False
    pairs: int = 0  # seeds both sides have, when paired
    #: scores: current - baseline; times: current / baseline (calibrated where `basis` says so)
    change: float | None = None
    ci_low: float | None = None  # 95% two-sided interval of the change
    ci_high: float | None = None
    #: one-sided p-value of "worse by more than the margin" (before Holm), and after Holm
    p: float | None = None
    p_holm: float | None = None
    p_improved: float | None = None
    p_unchanged: float | None = None
    verdict: Verdict = "inconclusive"
    note: str = ""
    basis: Literal["raw", "calibrated", ""] = ""
    raw_ratio: float | None = None  # times: the raw ratio beside a calibrated one

    @property
    def cell(self) -> str:
        return f"{self.task}/{self.backend}/{self.strategy}"

    @property
    def relative(self) -> float | None:
        if self.change is None:
            return None
        if METRICS[self.metric].kind in ("time", "size"):
            return self.change - 1
        return self.change / abs(self.baseline) if self.baseline else None


@dataclass
class Comparison:
    baseline: Baseline
    current: Baseline
    settings: Settings
    rows: list[Row]
    only_baseline: list[str] = field(default_factory=list)  # cells one side lacks
    only_current: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: what differs between the two sides' environments, per backend ("" key: the machine)
    differences: dict[str, list[str]] = field(default_factory=dict)

    @property
    def regressions(self) -> list[Row]:
        return [r for r in self.rows if r.gated and r.verdict == "regressed"]

    def exit_status(self, fail_on: Literal["regression", "never"] = "regression") -> int:
        """0: no regression; 1: a gated metric regressed (unless ``fail_on`` is ``never``)."""
        return 1 if self.regressions and fail_on == "regression" else 0

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.rows:
            if r.gated:
                out[r.verdict] = out.get(r.verdict, 0) + 1
        return out


def compare(baseline: Baseline, current: Baseline, settings: Settings) -> Comparison:
    """Match the two sides' cells and judge every metric; raises `CompareError` when they cannot
    be compared (another suite version or epoch cap, other trial budgets, no common cell)."""
    warnings = _check_compatible(baseline, current, settings)
    base_cells, cur_cells = _by_cell(baseline.rows), _by_cell(current.rows)
    common = [c for c in base_cells if c in cur_cells]
    if not common:
        raise CompareError(
            f"no cell is on both sides: {baseline.source} has {_names(base_cells)}, {current.source} has "
            f"{_names(cur_cells)}; compare results of the same suite")
    _check_budgets(base_cells, cur_cells, common, settings, warnings)
    differences = environment_differences(baseline, current)
    rows: list[Row] = []
    for cell in common:
        basis, note = _time_basis(cell[1], baseline, current, differences, settings.time_basis, settings.clock)
        for metric in METRICS.values():
            rows.append(_judge(cell, metric, base_cells[cell], cur_cells[cell], settings, baseline, current,
                               basis, note))
    rows = _holm(rows, settings.alpha)
    return Comparison(baseline, current, settings, rows,
                      only_baseline=["/".join(c) for c in base_cells if c not in cur_cells],
                      only_current=["/".join(c) for c in cur_cells if c not in base_cells],
                      warnings=warnings, differences=differences)


# --------------------------------------------------------------------------- compatibility


def _check_compatible(baseline: Baseline, current: Baseline, settings: Settings) -> list[str]:
    problems = []
    b, c = baseline.suite, current.suite
    if b.name != c.name:
        problems.append(f"suite {b.name!r} against suite {c.name!r}")
    elif b.sha256 != c.sha256:
        problems.append(f"suite {b.name!r} changed between the two (sha256 {b.sha256[:12]} -> {c.sha256[:12]}; "
                        "the [regression] table, comments and layout do not count)")
    if b.max_epochs != c.max_epochs:
        problems.append(f"epochs capped at {b.max_epochs} against {c.max_epochs} (--max-epochs)")
    if b.metric != c.metric:
        problems.append(f"metric {b.metric!r} against {c.metric!r}")
    if problems and not settings.allow_suite_change:
        raise CompareError(f"{baseline.source} and {current.source} are not results of the same suite: "
                           + "; ".join(problems) + ". Rerun both with the same suite and options, or pass "
                           "--allow-suite-change to compare them anyway")
    return [f"compared although {p} (--allow-suite-change)" for p in problems]


def _check_budgets(base: dict, cur: dict, common: list, settings: Settings, warnings: list[str]) -> None:
    """A best score found in more trials is not the same measure: refuse cells whose trial
    counts differ (a --max-trials cap, an unfinished run) unless told to go on."""
    odd = []
    for cell in common:
        b = {r.seed: r.trials for r in base[cell]}
        c = {r.seed: r.trials for r in cur[cell]}
        differ = sorted(s for s in b.keys() & c.keys() if b[s] != c[s])
        if differ:
            s = differ[0]
            odd.append(f"{'/'.join(cell)} seed {s}: {b[s]} trials against {c[s]}")
    if not odd:
        return
    listed = "; ".join(odd[:3]) + (f"; and {len(odd) - 3} more" if len(odd) > 3 else "")
    if not settings.allow_suite_change:
        raise CompareError(f"the two sides ran different numbers of trials ({listed}): a --max-trials cap or an "
                           "unfinished run. Finish or rerun both with the same budget, or pass --allow-suite-change")
    warnings.append(f"compared although the trial budgets differ ({listed})")


def environment_differences(baseline: Baseline, current: Baseline) -> dict[str, list[str]]:
    """What differs between the sides' machines ("" key) and each backend's device."""
    b, c = baseline.environment, current.environment
    machine = []
    if b.get("machine") and c.get("machine") and b["machine"] != c["machine"]:
        machine.append("another machine")
    for key in ("cpu", "cpu_count"):
        if b.get(key) != c.get(key):
            machine.append(f"{key} {b.get(key)!r} -> {c.get(key)!r}")
    out = {"": machine}
    for backend in set(b.get("devices", {})) | set(c.get("devices", {})):
        db, dc = b.get("devices", {}).get(backend), c.get("devices", {}).get(backend)
        out[backend] = [f"device {db!r} -> {dc!r}"] if db != dc else []
    return out


def _time_basis(backend: str, baseline: Baseline, current: Baseline, differences: dict[str, list[str]],
                wanted: TimeBasis, clock: str = "wall") -> tuple[Literal["raw", "calibrated", ""], str]:
    """How a backend's times are compared, and a note when they cannot be judged. Calibrated
    times need the wall-clock figure (wall seconds) and, with ``clock="cpu"``, the CPU one too."""
    differ = differences[""] + differences.get(backend, [])
    clocks = ["wall", "cpu"] if clock == "cpu" else ["wall"]

    def lacking(side: Baseline) -> bool:
        return any(backend not in side.calibration_by(c) for c in clocks)

    if wanted == "raw" or (wanted == "auto" and not differ):
        return "raw", ""
    if not lacking(baseline) and not lacking(current):
        return "calibrated", ""
    missing = " and ".join(s for s, side in (("the baseline", baseline), ("the current side", current))
                           if lacking(side))
    why = f"{'; '.join(differ)}" if differ else "calibrated times asked for"
    figure = "CPU-time calibration figure" if clock == "cpu" else "calibration figure"
    return "", (f"times not judged: {why}, and {missing} has no {figure} for backend {backend!r} "
                "(a run records one when it starts; --time-basis raw compares raw times anyway)")


# --------------------------------------------------------------------------- statistics


def _judge(cell: tuple[str, str, str], metric: Metric, base_rows: list[SeedRow], cur_rows: list[SeedRow],
           settings: Settings, baseline: Baseline, current: Baseline, basis: str, time_note: str) -> Row:
    name = metric.name
    b = {r.seed: r.measured(name, settings.clock) for r in base_rows}
    c = {r.seed: r.measured(name, settings.clock) for r in cur_rows}
    if metric.kind in ("time", "size"):  # a zero time (a trial faster than the clock's rounding) has no ratio
        b = {s: v for s, v in b.items() if v is not None and v > 0}
        c = {s: v for s, v in c.items() if v is not None and v > 0}
    b_vals = [v for v in b.values() if v is not None]
    c_vals = [v for v in c.values() if v is not None]
    gated = name in settings.gate
    average = _geometric_mean if metric.kind in ("time", "size") else _mean  # times: the ratio is of geometric means
    row = Row(*cell, metric=name, gated=gated, baseline=average(b_vals), current=average(c_vals),
              n_baseline=len(b_vals), n_current=len(c_vals))
    if metric.kind == "score":
        lost = sorted(s for s in b if b[s] is not None and s in c and c[s] is None)
        if lost:
            return replace(row, verdict="regressed", note=f"no trial completed on seed{'s' if len(lost) > 1 else ''} "
                           f"{', '.join(map(str, lost))}, which the baseline completed")
    common = sorted(s for s in b.keys() & c.keys() if b[s] is not None and c[s] is not None)
    paired = len(common) >= MIN_SEEDS
    log = metric.kind in ("time", "size")
    if paired:
        x, y = [c[s] for s in common], [b[s] for s in common]
    else:
        x, y = c_vals, b_vals
    if log:
        x, y = [math.log(v) for v in x], [math.log(v) for v in y]
    estimate = _estimate(x, y, paired)
    if estimate is None:
        n = f"{len(common)} common seeds" if common else f"{len(c_vals)} and {len(b_vals)} seeds"
        return replace(row, paired=paired, verdict="inconclusive" if metric.kind != "count" else "info",
                       note=f"needs ≥ {MIN_SEEDS} seeds on each side to judge ({n})")
    effect, se, df = estimate
    row = replace(row, paired=paired, pairs=len(common) if paired else 0)
    if metric.kind in ("time", "size"):
        if metric.kind == "size":
            basis = "raw"  # the same on every machine: judged as it is, never calibrated
        raw = effect
        if basis == "calibrated":  # each time by the calibration workload's time on its own clock
            backend, clock = cell[1], (settings.clock if name == "epoch_seconds" else "wall")
            effect -= math.log(current.calibration_by(clock)[backend] / baseline.calibration_by(clock)[backend])
        row = replace(row, basis=basis or "raw", raw_ratio=math.exp(raw))
        if not basis:
            low, high = _interval(effect, se, df)
            return replace(row, change=math.exp(effect), ci_low=math.exp(low), ci_high=math.exp(high),
                           verdict="inconclusive", note=time_note)
        margin = math.log(settings.max_slowdown)
        low, high = _interval(effect, se, df)
        p_worse, p_better, p_same = _margin_tests(effect, se, df, margin, worse_is_higher=True)
        return replace(row, change=math.exp(effect), ci_low=math.exp(low), ci_high=math.exp(high),
                       p=p_worse, p_improved=p_better, p_unchanged=p_same)
    low, high = _interval(effect, se, df)
    if metric.kind == "count":
        return replace(row, change=effect, ci_low=low, ci_high=high, verdict="info")
    p_worse, p_better, p_same = _margin_tests(effect, se, df, settings.max_score_drop, worse_is_higher=False)
    return replace(row, change=effect, ci_low=low, ci_high=high, p=p_worse, p_improved=p_better, p_unchanged=p_same)


def _estimate(x: list[float], y: list[float], paired: bool) -> tuple[float, float, float] | None:
    """The mean change x - y, its standard error and degrees of freedom: paired (by position) or
    Welch's; None below `MIN_SEEDS` values a side."""
    import numpy as np

    if paired:
        d = np.asarray(x) - np.asarray(y)
        if len(d) < MIN_SEEDS:
            return None
        return float(d.mean()), float(d.std(ddof=1) / math.sqrt(len(d))), float(len(d) - 1)
    if len(x) < MIN_SEEDS or len(y) < MIN_SEEDS:
        return None
    vx, vy = np.var(x, ddof=1) / len(x), np.var(y, ddof=1) / len(y)
    se = math.sqrt(vx + vy)
    df = (vx + vy) ** 2 / (vx ** 2 / (len(x) - 1) + vy ** 2 / (len(y) - 1)) if se > 0 else float(len(x) + len(y) - 2)
    return float(np.mean(x) - np.mean(y)), float(se), float(df)


def _interval(effect: float, se: float, df: float, confidence: float = 0.95) -> tuple[float, float]:
    from scipy.stats import t

    half = float(t.ppf(0.5 + confidence / 2, df)) * se if se > 0 else 0.0
    return effect - half, effect + half


def _margin_tests(effect: float, se: float, df: float, margin: float, *, worse_is_higher: bool
                  ) -> tuple[float, float, float]:
    """One-sided p-values of "worse by more than ``margin``", "better by more than ``margin``"
    and (TOST) "within ``margin`` either way". With no spread at all (every seed changed by
    exactly the same amount, as identical reruns do) the answers are certain: 0 or 1."""
    from scipy.stats import t

    sign = 1.0 if worse_is_higher else -1.0
    worse = sign * effect  # > 0: worse

    def p_above(value: float) -> float:  # P-value of H0: worse <= value against H1: worse > value
        if se == 0:
            return 0.0 if worse > value else 1.0
        return float(t.sf((worse - value) / se, df))

    def p_below(value: float) -> float:  # H0: worse >= value against H1: worse < value
        if se == 0:
            return 0.0 if worse < value else 1.0
        return float(t.cdf((worse - value) / se, df))

    return p_above(margin), p_below(-margin), max(p_above(-margin), p_below(margin))


def _holm(rows: list[Row], alpha: float) -> list[Row]:
    """Holm's correction over the gated tests (regression and improvement separately), then
    each row's verdict."""
    from statsmodels.stats.multitest import multipletests

    tested = [i for i, r in enumerate(rows) if r.gated and r.p is not None]
    holm: dict[int, tuple[float, float]] = {}
    if tested:
        worse = multipletests([rows[i].p for i in tested], method="holm")[1]
        better = multipletests([rows[i].p_improved for i in tested], method="holm")[1]
        holm = {i: (float(w), float(b)) for i, w, b in zip(tested, worse, better)}
    out = []
    for i, row in enumerate(rows):
        if row.p is None:
            out.append(row)
            continue
        p_worse, p_better = holm.get(i, (row.p, row.p_improved))
        if p_worse < alpha:
            verdict = "regressed"
        elif p_better < alpha:
            verdict = "improved"
        elif row.p_unchanged is not None and row.p_unchanged < alpha:
            verdict = "unchanged"
        else:
            verdict = "inconclusive"
        out.append(replace(row, p_holm=p_worse if row.gated else None, verdict=verdict))
    return out


def noise(comparison: Comparison) -> list[dict[str, Any]]:
    """Read a comparison of the same code run twice (A/A) as the noise of each metric: per metric,
    the largest change over cells and the largest one-sided 95% bound of a change, which is the
    smallest tolerance with which these two runs would not be called a regression."""
    out = []
    for name, metric in METRICS.items():
        rows = [r for r in comparison.rows if r.metric == name and r.change is not None]
        if not rows or metric.kind == "count":
            continue
        if metric.kind in ("time", "size"):
            changes = [abs(math.log(r.change)) for r in rows]
            bounds = [max(abs(math.log(r.ci_low)), abs(math.log(r.ci_high))) for r in rows]
            # the 95% two-sided interval's ends are one-sided 97.5% bounds: near enough, and on the safe side
            out.append({"metric": name, "cells": len(rows), "largest_change": math.exp(max(changes)),
                        "suggested": math.exp(max(bounds)), "setting": "max_slowdown"})
        else:
            changes = [abs(r.change) for r in rows]
            bounds = [max(abs(r.ci_low), abs(r.ci_high)) for r in rows]
            out.append({"metric": name, "cells": len(rows), "largest_change": max(changes),
                        "suggested": max(bounds), "setting": "max_score_drop"})
    return out


# --------------------------------------------------------------------------- helpers


def _by_cell(rows: Iterable[SeedRow]) -> dict[tuple[str, str, str], list[SeedRow]]:
    out: dict[tuple[str, str, str], list[SeedRow]] = {}
    for r in rows:
        out.setdefault(r.cell, []).append(r)
    return out


def _names(cells: dict) -> str:
    names = ["/".join(c) for c in cells]
    return (", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")) or "no cells"


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _geometric_mean(values: list[float]) -> float | None:
    return math.exp(sum(map(math.log, values)) / len(values)) if values else None
