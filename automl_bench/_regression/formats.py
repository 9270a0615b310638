"""A `Comparison` written for the places CI shows it: markdown (a pull-request comment or
``$GITHUB_STEP_SUMMARY``), github-action-benchmark's custom JSON, and JUnit XML (GitLab,
Jenkins and most CI systems list its test cases without a plugin)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from automl_bench._regression.compare import METRICS, Comparison, Row, noise

VERDICT_WORD = {"regressed": "**regressed**", "improved": "improved", "unchanged": "unchanged",
                "inconclusive": "inconclusive", "info": "—"}


def label_of(name: str, metric: str) -> str:
    """A metric's name for people: "best val accuracy", "seconds per epoch"."""
    return METRICS[name].label.format(metric=metric)


def _value(row: Row, value: float | None) -> str:
    if value is None:
        return "n/a"
    metric = METRICS[row.metric]
    if metric.kind in ("time", "size"):
        return f"{value:.4g} {metric.unit}".rstrip()
    return f"{value:.1f}" if metric.kind == "count" else f"{value:.4f}"


def _change(row: Row) -> str:
    if row.change is None:
        return "n/a"
    if METRICS[row.metric].kind in ("time", "size"):
        return f"×{row.change:.3f}"
    return f"{row.change:+.4f}" if METRICS[row.metric].kind == "score" else f"{row.change:+.1f}"


def _relative(row: Row) -> str:
    return "" if row.relative is None else f"{row.relative:+.1%}"


def _interval(row: Row) -> str:
    if row.ci_low is None or row.ci_high is None:
        return ""
    if METRICS[row.metric].kind in ("time", "size"):
        return f"[×{row.ci_low:.3f}, ×{row.ci_high:.3f}]"
    digits = 1 if METRICS[row.metric].kind == "count" else 4
    return f"[{row.ci_low:+.{digits}f}, {row.ci_high:+.{digits}f}]"


def _p(row: Row) -> str:
    p = row.p_holm if row.p_holm is not None else row.p
    return "" if p is None else (f"{p:.3f}" if p >= 0.001 else "< 0.001")


def _seeds(row: Row) -> str:
    if row.paired:
        return f"{row.pairs} paired"
    return f"{row.n_baseline} vs {row.n_current}"


def _note(row: Row) -> str:
    notes = []
    if row.basis == "calibrated" and row.raw_ratio is not None:
        notes.append(f"calibrated; raw ×{row.raw_ratio:.3f}")
    if not row.gated and row.verdict != "info":
        notes.append("not gated" + (", p not Holm-adjusted" if row.p is not None else ""))
    if row.note:
        notes.append(row.note)
    return "; ".join(notes)


def markdown(comparison: Comparison, *, aa: bool = False) -> str:
    """The comparison as markdown: the verdict, the regressions, then every comparison folded."""
    import pandas as pd

    c, s = comparison, comparison.settings
    metric = c.current.suite.metric
    regressions = c.regressions
    gated = [r for r in c.rows if r.gated]
    head = (f"## automl-bench compare: {len(regressions)} regression{'s' if len(regressions) != 1 else ''}"
            if regressions else "## automl-bench compare: no regression")
    counts = c.counts()
    lines = [head, "",
             f"Suite `{c.current.suite.name}` (sha256 `{c.current.suite.sha256[:12]}`): baseline "
             f"{_side(c.baseline)} against current {_side(c.current)}.", "",
             f"**{len(gated)} gated comparisons:** " + ", ".join(f"{counts[v]} {v}" for v in
                                                               ("regressed", "improved", "unchanged", "inconclusive")
                                                               if counts.get(v)) + ".",
             "",
             f"A metric regresses when it is worse than the baseline by more than the tolerance "
             f"(scores: {s.max_score_drop:g} absolute; times: ×{s.max_slowdown:g}) by a one-sided t-test at "
             f"α = {s.alpha:g}, Holm-corrected over the {len(gated)} gated tests; gated: "
             f"{', '.join(label_of(m, metric) for m in s.gate)}. {_time_line(c)}", ""]
    if regressions:
        lines += ["### Regressions", "", _table(regressions, metric, verdict=False), ""]
    lines += [f"<details><summary>Every comparison ({len(c.rows)})</summary>", "",
              _table(c.rows, metric, verdict=True), "", "</details>", ""]
    if c.only_baseline or c.only_current:
        lines += ["### Cells on one side only", ""]
        lines += [f"- only in the baseline: {cell}" for cell in c.only_baseline]
        lines += [f"- only in the current results: {cell}" for cell in c.only_current]
        lines.append("")
    if c.warnings:
        lines += ["### Warnings", ""] + [f"- {w}" for w in c.warnings] + [""]
    if aa:
        table = pd.DataFrame([{
            "metric": label_of(n["metric"], metric), "cells": n["cells"],
            "largest change": _fmt_noise(n, "largest_change"), "suggested tolerance": _fmt_noise(n, "suggested"),
            "setting": n["setting"]} for n in noise(c)])
        lines += ["### Noise (A/A: the same code run twice)", "",
                  "The largest change seen between these two runs, and the smallest tolerance with which no "
                  "cell's 95% interval would reach it: set the `[regression]` tolerances at or above it.", "",
                  table.to_markdown(index=False, disable_numparse=True) if len(table) else "_nothing to measure_", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _fmt_noise(n: dict[str, Any], key: str) -> str:
    return f"×{n[key]:.3f}" if n["setting"] == "max_slowdown" else f"{n[key]:.4f}"


def _side(side: Any) -> str:
    env = side.environment
    commit = env.get("git_commit") or ""
    commit = commit[:12] + ("-dirty" if commit.endswith("-dirty") else "")
    where = f"{env.get('cpu', '?')} x{env.get('cpu_count', '?')}"
    return f"`{side.source}` ({'commit ' + commit + ', ' if commit else ''}{where})"


def _time_line(c: Comparison) -> str:
    bases = {r.basis for r in c.rows if METRICS[r.metric].kind == "time" and r.change is not None}
    differ = c.differences.get("", [])
    if not differ and bases <= {"raw"}:
        return "Times: raw (both sides ran on one machine)."
    if "calibrated" in bases:
        return (f"Times: calibrated ({'; '.join(differ) or 'asked for'}): each side's times divided by its "
                "backend's calibration workload time.")
    return f"Times: {', '.join(sorted(b or 'not judged' for b in bases)) or 'none'}."


def _table(rows: list[Row], metric: str, *, verdict: bool) -> str:
    import pandas as pd

    table = pd.DataFrame([{
        "cell": r.cell, "metric": label_of(r.metric, metric), "baseline": _value(r, r.baseline), "current": _value(r, r.current),
        "change": _change(r), "relative": _relative(r), "95% CI": _interval(r), "p (Holm)": _p(r), "seeds": _seeds(r),
        **({"verdict": VERDICT_WORD[r.verdict]} if verdict else {}), "note": _note(r)} for r in rows])
    return table.to_markdown(index=False, disable_numparse=True)


def benchmark_json(comparison: Comparison, kind: Literal["scores", "times"]) -> str:
    """github-action-benchmark's custom format (a list of ``{name, unit, value, range, extra}``):
    ``scores`` for its ``customBiggerIsBetter`` tool, ``times`` for ``customSmallerIsBetter``.
    Values are the current side's means over seeds; ``range`` is their spread."""
    metric = comparison.current.suite.metric
    kinds = {"scores": ("score",), "times": ("time", "size")}[kind]
    out = []
    for r in comparison.rows:
        m = METRICS[r.metric]
        if m.kind not in kinds or r.current is None:
            continue
        values = [getattr(s, r.metric) for s in comparison.current.rows
                  if s.cell == (r.task, r.backend, r.strategy) and getattr(s, r.metric) is not None]
        spread = (max(values) - min(values)) / 2 if len(values) > 1 else 0.0
        out.append({"name": f"{r.cell}: {label_of(r.metric, metric)}", "unit": m.unit.format(metric=metric),
                    "value": r.current, "range": f"± {spread:.4g}",
                    "extra": f"{len(values)} seeds; baseline {_value(r, r.baseline)}; change {_change(r)} "
                             f"({_relative(r) or 'n/a'}); verdict {r.verdict}"})
    return json.dumps(out, indent=2) + "\n"


def junit(comparison: Comparison) -> str:
    """JUnit XML: one test case per cell and metric; a regression is a failure, a metric that
    could not be judged is skipped, a cell on one side only is skipped with the reason."""
    from junitparser import Failure, JUnitXml, Skipped, TestCase, TestSuite

    metric = comparison.current.suite.metric
    suite = TestSuite(f"bench compare {comparison.current.suite.name}")
    for r in comparison.rows:
        if r.verdict == "info":
            continue
        case = TestCase(label_of(r.metric, metric), classname=r.cell.replace("/", "."))
        summary = (f"baseline {_value(r, r.baseline)}, current {_value(r, r.current)}, change {_change(r)} "
                   f"({_relative(r) or 'n/a'}) {_interval(r)}, p (Holm) {_p(r) or 'n/a'}, seeds {_seeds(r)}; "
                   f"{_note(r)}").rstrip("; ")
        if r.gated and r.verdict == "regressed":
            case.result = [Failure(summary, type_="regression")]
        elif r.verdict == "inconclusive" or not r.gated:
            case.result = [Skipped(f"{'not gated' if not r.gated else 'inconclusive'}: {summary}")]
        case.system_out = f"{r.verdict}: {summary}"
        suite.add_testcase(case)
    for cell, side in [(c, "the baseline") for c in comparison.only_baseline] + \
                      [(c, "the current results") for c in comparison.only_current]:
        case = TestCase("present on both sides", classname=cell.replace("/", "."))
        case.result = [Skipped(f"only in {side}: not compared")]
        suite.add_testcase(case)
    xml = JUnitXml()
    xml.add_testsuite(suite)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + xml.tostring().decode("utf-8") + "\n"


COLOURS = {"regressed": "#c0392b", "improved": "#1e8449", "unchanged": "#7f8c8d", "inconclusive": "#d68910"}


def plot(comparison: Comparison, path: Any) -> Any:
    """A forest plot: one row per cell and judged metric, its change with the 95% interval,
    coloured by verdict, beside the tolerance; scores on the left (points), times on the right
    (ratio). Saved as PNG at ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FuncFormatter

    s, metric = comparison.settings, comparison.current.suite.metric
    panels = [(kind, [r for r in comparison.rows if METRICS[r.metric].kind in kinds and r.change is not None
                      and r.verdict != "info"]) for kind, kinds in (("score", ("score",)), ("time", ("time", "size")))]
    panels = [(kind, rows) for kind, rows in panels if rows]
    height = max(2.5, 0.38 * max((len(rows) for _, rows in panels), default=1) + 1.4)
    fig, axes = plt.subplots(1, max(len(panels), 1), figsize=(6.2 * max(len(panels), 1), height), squeeze=False)
    for ax, (kind, rows) in zip(axes[0], panels):
        y = list(range(len(rows)))[::-1]
        for yi, r in zip(y, rows):
            low = r.ci_low if r.ci_low is not None else r.change
            high = r.ci_high if r.ci_high is not None else r.change
            colour = COLOURS[r.verdict]
            ax.plot([low, high], [yi, yi], color=colour, lw=2, alpha=1.0 if r.gated else 0.45)
            ax.plot([r.change], [yi], "o", color=colour, ms=6, alpha=1.0 if r.gated else 0.45)
        ax.set_yticks(y, [f"{r.cell}  {label_of(r.metric, metric)}" + ("" if r.gated else " (not gated)")
                          for r in rows], fontsize=8)
        if kind == "time":
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"×{v:.3g}"))
            ax.axvline(1.0, color="black", lw=0.8)
            ax.axvline(s.max_slowdown, color=COLOURS["regressed"], ls="--", lw=1)
            ax.set_xlabel(f"time ratio, current / baseline (tolerance ×{s.max_slowdown:g})")
        else:
            ax.axvline(0.0, color="black", lw=0.8)
            ax.axvline(-s.max_score_drop, color=COLOURS["regressed"], ls="--", lw=1)
            ax.set_xlabel(f"change of the score, current − baseline (tolerance −{s.max_score_drop:g})")
        ax.grid(axis="x", alpha=0.3)
    legend = [Line2D([0], [0], color=c, marker="o", lw=2, label=v) for v, c in COLOURS.items()]
    fig.legend(handles=legend, loc="upper center", ncol=4, frameon=False, fontsize=8)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write(comparison: Comparison, text: str, *, markdown_path: Path | None = None, junit_path: Path | None = None,
          scores_path: Path | None = None, times_path: Path | None = None, plot_path: Path | None = None) -> None:
    """Write each form of ``comparison`` that is given a path (``text``: its markdown), folders made."""
    for path, content in ((markdown_path, lambda: text), (junit_path, lambda: junit(comparison)),
                          (scores_path, lambda: benchmark_json(comparison, "scores")),
                          (times_path, lambda: benchmark_json(comparison, "times"))):
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content(), encoding="utf-8")
    if plot_path is not None:
        plot_path.parent.mkdir(parents=True, exist_ok=True)
        plot(comparison, plot_path)
