"""Live progress with rich: trials done / total per cell, best so far, elapsed and remaining.

A suite of up to `MAX_ROWS` cells shows every cell from start to end. A larger one (a study of
a thousand cells) shows the total, how many cells are over, and only the cells under way, at
most `MAX_ROWS` of them: drawing a thousand rows ten times a second would cost more than the
replayed trials themselves. Every update costs the same whatever the number of cells.
"""

from __future__ import annotations

from typing import Any, Sequence

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from automl_bench._api.records import CellKey

#: The most cell rows shown at once.
MAX_ROWS = 20


class RichProgress:
    def __init__(self, console: Console | None = None):
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("best {task.fields[best]}"), TimeElapsedColumn(), TimeRemainingColumn(),
            console=console or Console(stderr=True),
        )
        self.rows: dict[CellKey, Any] = {}  # the cells shown, and their rows
        self.counts: dict[CellKey, tuple[int, int]] = {}  # every cell's trials done and planned
        self.over: set[CellKey] = set()
        self.done = self.planned = 0  # over every cell
        self.every = True  # every cell has its row
        self.total: Any = None

    def start(self, cells: Sequence[tuple[CellKey, int]]) -> None:
        self.counts = {key: (0, n) for key, n in cells}
        self.done, self.planned = 0, sum(n for _, n in cells)
        self.every = len(cells) <= MAX_ROWS
        self.total = self.progress.add_task(self._title(), total=self.planned, best="")
        if self.every:
            for key, n in cells:
                self.rows[key] = self.progress.add_task(str(key), total=n, best="-")
        self.progress.start()

    def trial_done(self, cell: CellKey, done: int, total: int, best: float | None) -> None:
        was_done, was_planned = self.counts.get(cell, (0, 0))
        self.counts[cell] = (done, total)
        self.done += done - was_done
        self.planned += total - was_planned
        over = done >= total
        if over:
            self.over.add(cell)
        row = self.rows.get(cell)
        if row is None and not self.every and 0 < done < total and len(self.rows) < MAX_ROWS:  # under way
            row = self.rows[cell] = self.progress.add_task(str(cell), total=total, best="-")
        if row is not None:
            if over and not self.every:  # a large suite shows only the cells under way
                self.progress.remove_task(self.rows.pop(cell))
            else:
                self.progress.update(row, completed=done, total=total, best="-" if best is None else f"{best:.4f}")
        self.progress.update(self.total, description=self._title(), completed=self.done, total=self.planned)

    def _title(self) -> str:
        if self.every:
            return "[bold]all cells"
        return f"[bold]all cells[/bold] ({len(self.over)} of {len(self.counts)} over)"

    def stop(self) -> None:
        self.progress.stop()
