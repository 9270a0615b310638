"""Built-in reporters: CSV tables and a markdown leaderboard."""

from __future__ import annotations

from pathlib import Path

from automl_bench import Reporter, ReporterSpec, hookimpl
from automl_bench.leaderboard import markdown


class CsvReporter(Reporter):
    """``trials.csv`` (one row per trial, with its environment) and ``leaderboard.csv``."""

    def write(self, results, out_dir: Path):
        trials, board = out_dir / "trials.csv", out_dir / "leaderboard.csv"
        results.trials.to_csv(trials, index=False)
        results.leaderboard.to_csv(board, index=False)
        return [trials, board]


class MarkdownReporter(Reporter):
    """``leaderboard.md``: the leaderboard as a markdown table, scores as mean ± std over seeds."""

    def write(self, results, out_dir: Path):
        path = out_dir / "leaderboard.md"
        path.write_text(f"# {results.suite}\n\n" + markdown(results), encoding="utf-8")
        return [path]


@hookimpl
def bench_reporters(register):
    register(ReporterSpec("csv", "trials.csv and leaderboard.csv", CsvReporter))
    register(ReporterSpec("markdown", "leaderboard.md", MarkdownReporter))
