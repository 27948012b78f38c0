"""The progress display of long jobs (train, tune, experiment run): what they report, shown on the terminal.

The jobs call a progress callback with one line per step, and `report_step` (toolkit.data.types) with counts:
epochs and batches of a transformer, trials of a study. On a terminal the display is a spinner naming the
current step above one bar per counted unit (done/total, elapsed, ETA), each finished step logged above it
with its time; in a pipe or a file only the logged lines appear (no bars, no control characters). rich.progress
is imported when a job starts, not when the CLI does, so `toolkit --help` stays fast.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from rich.console import Console


@dataclass
class Row:
    """One counted unit: its bar's task id, the count last reported, and whether an outer unit moved since."""

    task: Any
    done: int = 0
    total: int | None = None
    stale: bool = False


class JobProgress:
    """The callback handed to a job: `progress(line)` logs a step, `progress.step(unit, done, total)` moves the
    unit's bar. Units nest in the order they first report (epoch, then batch): an outer bar also advances by
    the share its inner unit has done, so an epoch's ETA moves with every batch."""

    def __init__(self, console: Console, live: bool) -> None:
        self.console, self.live, self.rows = console, live, {}
        self.bars: Any = None
        self.spinner: Any = None
        if live:
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
            from rich.spinner import Spinner

            self.spinner = Spinner("dots", text="starting")
            self.bars = Progress(
                TextColumn("  {task.description:>6}"),
                BarColumn(bar_width=30),
                TextColumn("{task.fields[done]}/{task.fields[total_shown]}"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=console,
            )

    def __call__(self, message: str) -> None:
        self.console.log(f"[dim]{message}[/dim]")
        if self.spinner is not None:
            self.spinner.update(text=message)

    def step(self, unit: str, done: int, total: int | None) -> None:
        """`done` of `total` `unit`s; a count that goes back (the next epoch's batches) starts the bar again."""
        if self.bars is None:
            return
        row = self.rows.get(unit)
        if row is None:
            row = self.rows[unit] = Row(self.bars.add_task(unit, total=total, done=done, total_shown="?"))
        elif done < row.done:
            self.bars.reset(row.task, total=total)
        row.done, row.total, row.stale = done, total, False
        names = list(self.rows)
        for inner in names[names.index(unit) + 1 :]:
            self.rows[inner].stale = True  # an outer unit moved: the inner count belongs to its last pass
        self.advance()

    def advance(self) -> None:
        """Each bar at its count plus the share of its inner unit's current pass (innermost first)."""
        share = 0.0
        for unit in reversed(list(self.rows)):
            row = self.rows[unit]
            completed = row.done + (0.0 if row.total is not None and row.done >= row.total else share)
            shown = "?" if row.total is None else row.total
            self.bars.update(row.task, total=row.total, completed=completed, done=row.done, total_shown=shown)
            share = 0.0 if row.stale or not row.total else min(row.done / row.total, 1.0)

    def __rich__(self) -> Any:
        from rich.console import Group

        return Group(self.spinner, self.bars) if self.rows else self.spinner


@contextmanager
def job_progress(quiet: bool, console: Console) -> Iterator[JobProgress | None]:
    """The display for one job: None with --quiet; live bars only when `console` is a terminal."""
    if quiet:
        yield None
        return
    progress = JobProgress(console, live=console.is_terminal)
    if not progress.live:
        yield progress
        return
    from rich.live import Live

    with Live(progress, console=console, transient=True, refresh_per_second=8):
        yield progress
