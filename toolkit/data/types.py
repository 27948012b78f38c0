"""The shapes every layer shares: labeled examples and the progress callback.

They sit in a neutral module, below data preparation, the backends, training and evaluation, so each of
those imports them without importing the others.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

Progress = Callable[[str], None]
"""Where a long step reports what it is doing (one short line); the caller decides how to show it."""


@dataclass(frozen=True)
class Examples:
    """Rows of one split: texts, labels and, for stance, the target each text is judged against."""

    texts: list[str]
    labels: list[str]
    targets: list[str] | None = None
    ids: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)
