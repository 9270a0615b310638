"""The report of a run: every registered section, written once as ``report.md`` and, rendered
from the same markdown, as ``index.html``, with the pictures the sections drew beside them.

Sections come from the ``bench_report_sections`` hook (the built-in ones too). A section that
raises is replaced by a line saying so, so one broken plugin never costs the rest of a report.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automl_bench._api.records import ReportSection, RunResults

if TYPE_CHECKING:
    from automl_bench._manager import Host

REPORT_DIR = "report"

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }}
th, td {{ border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; }}
th {{ background: #f3f3f3; }}
img {{ max-width: 100%; border: 1px solid #eee; margin: 0.5em 0; }}
code {{ background: #f5f5f5; padding: 0 0.2em; }}
h2 {{ border-bottom: 1px solid #ddd; padding-bottom: 0.2em; margin-top: 2em; }}
</style>
</head>
<body>
{body}
</body>
</html>
"""


def write_report(host: "Host", results: RunResults, directory: Path | None = None) -> list[Path]:
    """Write ``report.md``, ``index.html`` and the pictures into ``directory`` (default
    ``<results>/report/``); returns the two documents' paths."""
    from automl_bench._results.collect import writing

    out = Path(directory) if directory is not None else Path(results.directory) / REPORT_DIR
    with writing(out):
        out.mkdir(parents=True, exist_ok=True)
        text = markdown(host, results, out)
        md_path, html_path = out / "report.md", out / "index.html"
        md_path.write_text(text, encoding="utf-8")
        html_path.write_text(PAGE.format(title=html.escape(f"automl-bench: {results.suite}"), body=to_html(text)),
                             encoding="utf-8")
    return [md_path, html_path]


def markdown(host: "Host", results: RunResults, out: Path) -> str:
    parts = [f"# {results.suite}: automl-bench report", "", _summary(results)]
    specs = sorted(host.report_sections().values(), key=lambda s: (s.order, s.name))
    for spec in specs:
        try:
            section = spec.build(results, out)
        except Exception as exc:  # noqa: BLE001 - one broken section must not cost the whole report
            section = ReportSection(spec.name, f"*This section could not be written: {type(exc).__name__}: {exc}*")
        if section is not None:
            parts += ["", f"## {section.title}", "", section.markdown.strip()]
    return "\n".join(parts) + "\n"


def to_html(text: str) -> str:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).enable("table").render(text)


def _summary(results: RunResults) -> str:
    trials = results.trials
    if trials.empty:
        return f"No trials recorded in `{results.directory}`."
    counts = trials["status"].value_counts().to_dict()
    statuses = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    first = trials.iloc[0]
    env: dict[str, Any] = {k: first.get(k, "") for k in ("python", "platform", "cpu", "git_commit", "suite_sha256")}
    lines = [
        f"{len(trials)} trials ({statuses}) in `{results.directory}`: "
        f"{_count(trials['task'].nunique(), 'task')}, {_count(trials['backend'].nunique(), 'backend')}, "
        f"{_count(trials['strategy'].nunique(), 'strategy', 'strategies')}, "
        f"seeds {', '.join(map(str, sorted(trials['seed'].unique())))}.",
        "",
        f"Environment of the first trial: Python {env['python']}, {env['platform']}, CPU {env['cpu']}, "
        f"git commit `{str(env['git_commit'])[:12] or 'unknown'}`, suite sha256 `{str(env['suite_sha256'])[:12]}`. "
        "Every row of `trials.csv` carries its own.",
    ]
    if results.not_run:
        lines += ["", f"**{len(results.not_run)} cells did not run** (nothing was recorded for them): "
                  + "; ".join(f"{cell}: {why}" for cell, why in list(results.not_run.items())[:5])]
    return "\n".join(lines)


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"
