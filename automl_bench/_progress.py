"""Live progress with rich: trials done / total per cell, best so far, elapsed and remaining."""

from __future__ import annotations

from typing import Any, Sequence

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from automl_bench._records import CellKey


class RichProgress:
    def __init__(self, console: Console | None = None):
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("best {task.fields[best]}"), TimeElapsedColumn(), TimeRemainingColumn(),
            console=console or Console(stderr=True),
        )
        self.rows: dict[CellKey, Any] = {}
        self.total: Any = None

    def start(self, cells: Sequence[tuple[CellKey, int]]) -> None:
        self.total = self.progress.add_task("[bold]all cells", total=sum(n for _, n in cells), best="")
        for key, n in cells:
            self.rows[key] = self.progress.add_task(str(key), total=n, best="-")
        self.progress.start()

    def trial_done(self, cell: CellKey, done: int, total: int, best: float | None) -> None:
        row = self.rows[cell]
        self.progress.update(row, completed=done, total=total, best="-" if best is None else f"{best:.4f}")
        cells = [t for t in self.progress.tasks if t.id != self.total]
        self.progress.update(self.total, completed=sum(t.completed for t in cells),
                             total=sum(t.total or 0 for t in cells))

    def stop(self) -> None:
        self.progress.stop()
