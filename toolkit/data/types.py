"""The shapes every layer shares: labeled examples and the progress and per-epoch callbacks.

They sit in a neutral module, below data preparation, the backends, training and evaluation, so each of
those imports them without importing the others.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

Progress = Callable[[str], None]
"""Where a long step reports what it is doing (one short line); the caller decides how to show it."""

EpochLog = Callable[[int, dict[str, float]], None]
"""Where a training loop hands each epoch's metrics (the epoch, from 1, and name -> value); the caller decides
where they go (toolkit.train logs them to the MLflow run), so backends know nothing of tracking."""


def report_step(progress: Progress | None, unit: str, done: int, total: int | None) -> None:
    """Tell a progress display how far a counted part of a job has got (`done` of `total` epochs, batches,
    trials). Only a display that counts (one with a `step` method, like the CLI's on a terminal) shows it; a
    plain line callback ignores it, so a loop reports its counts without knowing what it was given."""
    step = getattr(progress, "step", None)
    if step is not None:
        step(unit, done, total)


@dataclass(frozen=True)
class Examples:
    """Rows of one split: texts, labels and, for stance, the target each text is judged against; `sources`
    names the source each row came from (prepared datasets that record it)."""

    texts: list[str]
    labels: list[str]
    targets: list[str] | None = None
    ids: list[str] = field(default_factory=list)
    sources: list[str] | None = None

    def __len__(self) -> int:
        return len(self.texts)
