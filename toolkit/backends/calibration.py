"""Temperature scaling: one scalar per model that turns its scores into calibrated probabilities.

Shared by the tfidf backend (an SVM's margins become probabilities) and the ensemble (each member's
probabilities are calibrated before they are combined). Dividing scores by a temperature never changes
which label wins, only how sure the model says it is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

TEMPERATURE_GRID = (0.05, 20.0, 41)
"""Geometric grid (low, high, points) searched for the temperature: wide enough for margins and log-probabilities."""
PROBABILITY_FLOOR = 1e-12
"""Probabilities are clipped to this before a log: a model's 0 would make the log-loss infinite."""


def softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise softmax, shifted by the row maximum so large scores cannot overflow."""
    import numpy as np

    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    probabilities: np.ndarray = shifted / shifted.sum(axis=1, keepdims=True)
    return probabilities


def log_probabilities(probabilities: np.ndarray) -> np.ndarray:
    """log of probabilities floored at PROBABILITY_FLOOR: scores whose softmax gives the probabilities back."""
    import numpy as np

    return np.log(np.clip(probabilities, PROBABILITY_FLOOR, None))


def log_loss(probabilities: np.ndarray, gold: np.ndarray) -> float:
    """Mean negative log-probability of the gold column (`gold`: one column index per row)."""
    import numpy as np

    picked = probabilities[np.arange(len(gold)), gold]
    return float(-np.log(np.clip(picked, PROBABILITY_FLOOR, None)).mean())


def best_temperature(scores: np.ndarray, gold: np.ndarray, head: Callable[[np.ndarray], np.ndarray] = softmax) -> float:
    """The temperature on TEMPERATURE_GRID that minimises the log-loss of `head(scores / temperature)` against
    `gold` (column indices); 1.0 without rows. A grid, not an optimiser: 41 evaluations, always the same answer."""
    import numpy as np

    if not len(gold):
        return 1.0
    low, high, points = TEMPERATURE_GRID
    return float(min(np.geomspace(low, high, int(points)), key=lambda t: log_loss(head(scores / t), gold)))
