"""`bench history --site DIR`: the history as a static site that GitHub Pages, any file server or
a browser opening ``file://`` shows, with no server and no network.

- ``index.html``: one small chart per cell and metric (the last `INDEX_POINTS` commits of each),
  steps marked (red when beyond the tolerance), a point's commit on hover, a click on a point
  opens its commit (with ``commit_url``), zoom and pan along the commits; and a list of the cells,
  each linked to its page.
- ``cells/<task>--<backend>--<strategy>.html``: the cell's four metrics over every commit, and its
  steps with the commits to bisect.

Charts are Vega-Lite, written by Altair. Vega's JavaScript (from ``vl-convert-python``) is written
once, as ``vega-embed.js`` beside the index, and each page loads it with a plain ``<script src>``,
which browsers allow from ``file://`` as they do not allow ``fetch``: the pages work offline, and a
site of 50 cells does not carry 50 copies of it. Each chart's data is inlined in its page.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from automl_bench._regression.history import History, Series

#: Commits per chart on the index page (the cell pages show all): keeps the index small.
INDEX_POINTS = 100
SCRIPT = "vega-embed.js"
DATA = "rows"
PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<script src="{script}"></script>
<style>body{{font-family:system-ui,sans-serif;margin:1.5em;max-width:1200px}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:2px 6px;text-align:left}}
.beyond{{color:#b00}}</style></head>
<body>
{body}
</body></html>
"""


def cell_file(series: "Series") -> str:
    name = f"{series.task}--{series.backend}--{series.strategy}"
    return "cells/" + re.sub(r"[^A-Za-z0-9_.=-]+", "_", name) + ".html"


def _rows(found: "Sequence[Series]", max_score_drop: float, max_slowdown: float, commit_url: str | None,
          last: int | None) -> list[dict]:
    """A chart's data: a row per point (kind "point") and per step (kind "step"). The index's rows
    (``last`` set) leave out what only the cell pages show (machine, seeds, repeats)."""
    rows = []
    for s in found:
        offset = max(0, len(s.points) - last) if last else 0
        for i, p in enumerate(s.points[offset:], start=offset):
            row = {"cell": s.cell, "metric": s.metric, "kind": "point", "commit_index": i + 1,
                   "value": float(f"{p.value:.6g}"), "commit": p.commit[:12], "created": p.created[:19]}
            if commit_url and p.commit:
                row["url"] = commit_url.format(commit=p.commit)
            if not last:
                row.update(machine=p.machine, seeds=p.seeds, repeats=p.repeats)
            rows.append(row)
        for step in s.steps:
            if step.index >= offset:
                beyond = step.beyond(max_score_drop, max_slowdown)
                rows.append({"cell": s.cell, "metric": s.metric, "kind": "step", "commit_index": step.index + 0.5,
                             "step": "beyond tolerance" if beyond else "within tolerance",
                             "change": round(step.change, 4)})
    return rows


def _chart(*, width: int, height: int, facet_rows: bool, detail: bool) -> dict:
    """The Vega-Lite spec of a page's charts, its data named ``DATA`` and left out: a spec is made
    once and given each page's rows (`_embed`), since Altair takes a second to build and check one."""
    import altair as alt

    base = alt.Chart(alt.NamedData(name=DATA))
    x = alt.X("commit_index:Q", title="commit", axis=alt.Axis(tickMinStep=1))
    tooltip = ["cell:N", "metric:N", "commit:N", "created:N", "value:Q"]
    points = base.transform_filter(alt.datum.kind == "point").mark_line(point=True, strokeWidth=1).encode(
        x=x, y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False)),
        href="url:N",
        tooltip=[*tooltip, "machine:N", "seeds:Q", "repeats:Q"] if detail else tooltip,
    ).interactive(bind_y=False)
    steps = base.transform_filter(alt.datum.kind == "step").mark_rule(strokeDash=[4, 3]).encode(
        x=x, color=alt.Color("step:N", scale=alt.Scale(domain=["beyond tolerance", "within tolerance"],
                                                        range=["#c00", "#999"]), title="step"),
        tooltip=["step:N", "change:Q"])
    layered = alt.layer(points, steps).properties(width=width, height=height)
    facet = {"row": alt.Row("cell:N", title=None, header=alt.Header(labelAngle=0, labelAlign="left")),
             "column": alt.Column("metric:N", title=None)} if facet_rows else {
        "column": alt.Column("metric:N", title=None)}
    return layered.facet(**facet).resolve_scale(y="independent").to_dict()


def write_site(directory: Path, histories: "Sequence[History]", found_per_history: "Sequence[Sequence[Series]]",
               tolerances: "Sequence[tuple[float, float]]", commit_url: str | None = None,
               repository: Path | None = None) -> list[Path]:
    """Write the site into ``directory``; returns the pages written. ``tolerances``: each
    history's (max_score_drop, max_slowdown), from its own suite's settings."""
    import vl_convert

    from automl_bench._regression.history import change_text, commits_between

    directory.mkdir(parents=True, exist_ok=True)
    (directory / "cells").mkdir(exist_ok=True)
    (directory / SCRIPT).write_text(vl_convert.javascript_bundle(), encoding="utf-8")
    written = []
    sections = []
    index_chart = _chart(width=190, height=70, facet_rows=True, detail=False)
    cell_chart = _chart(width=220, height=180, facet_rows=False, detail=True)
    for history, found, (max_score_drop, max_slowdown) in zip(histories, found_per_history, tolerances):
        if not found:
            continue
        cells = sorted({s.cell: s for s in found}.values(), key=lambda s: s.cell)
        recent = _rows(found, max_score_drop, max_slowdown, commit_url, INDEX_POINTS)
        links = "".join(f'<li><a href="{html.escape(cell_file(s))}">{html.escape(s.cell)}</a></li>' for s in cells)
        sections.append(
            f"<h2>{html.escape(history.suite)}</h2><p>{len(history.exports)} exports, "
            f"{html.escape(history.exports[0].created)} to {html.escape(history.exports[-1].created)}. Each chart "
            f"shows the last {INDEX_POINTS} commits; a dashed line is a step (red: beyond the tolerance, a score by "
            f"more than {max_score_drop:g}, a time by more than x{max_slowdown:g}). Hover a point for its commit"
            + (", click it to open the commit" if commit_url else "") + "; drag or scroll to pan and zoom.</p>"
            f"<ul>{links}</ul>{_embed(index_chart, recent, f'suite{len(sections)}')}")
        for s0 in cells:
            mine = [s for s in found if s.cell == s0.cell]
            points = _rows(mine, max_score_drop, max_slowdown, commit_url, None)
            rows = []
            for s in mine:
                for step in s.steps:
                    before, after = s.points[step.index - 1], s.points[step.index]
                    commits = commits_between(before.commit, after.commit, repository) or []
                    beyond = step.beyond(max_score_drop, max_slowdown)
                    rows.append(f"<tr class=\"{'beyond' if beyond else ''}\"><td>{s.metric}</td>"
                                f"<td>{html.escape(change_text(step))}</td><td>{before.commit[:12]}</td>"
                                f"<td>{after.commit[:12]}</td><td>{html.escape(', '.join(commits)) or '-'}</td></tr>")
            table = ("<table><tr><th>metric</th><th>step</th><th>last commit before</th><th>first after</th>"
                     "<th>commits to bisect</th></tr>" + "".join(rows) + "</table>") if rows else "<p>No steps.</p>"
            page = directory / cell_file(s0)
            page.write_text(PAGE.format(title=html.escape(s0.cell), script=f"../{SCRIPT}", body=(
                f'<p><a href="../index.html">all cells</a></p><h1>{html.escape(s0.cell)}</h1>'
                f"{_embed(cell_chart, points, 'cell')}<h2>Steps</h2>{table}")), encoding="utf-8")
            written.append(page)
    index = directory / "index.html"
    index.write_text(PAGE.format(title="automl-bench history", script=SCRIPT, body="<h1>automl-bench history</h1>"
                                 + "".join(sections)), encoding="utf-8")
    return [index, *written]


def _embed(spec: dict, rows: list[dict], name: str) -> str:
    """The chart as a <div> and the script that draws it with the page's vega-embed.js. The spec is
    compact JSON, with "</" escaped so that no string in the data can close the script."""
    text = json.dumps({**spec, "datasets": {DATA: rows}}, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
    return (f'<div id="vis-{name}"></div><script>vegaEmbed("#vis-{name}", {text}, '
            '{"mode": "vega-lite"}).catch(console.error);</script>')
