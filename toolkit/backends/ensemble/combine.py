"""How members' probabilities become one answer: calibrate each member, then average or stack.

Everything here is plain NumPy on (rows, labels) arrays, learned on held-out predictions (out-of-fold or the
validation split) and stored as a few numbers (temperatures, weights) or two arrays (the stacker's linear head).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from toolkit.backends.calibration import PROBABILITY_FLOOR, best_temperature, log_probabilities, softmax
from toolkit.errors import DataError

if TYPE_CHECKING:
    import numpy as np

    from toolkit.backends.ensemble.params import EnsembleParams

EM_ITERATIONS = 1000
# log-probability shifts tried per class, smallest first (a tie keeps the smaller shift)
OFFSET_GRID = tuple(sorted((round(step * 0.1, 1) for step in range(-20, 21)), key=abs))
OFFSET_ROUNDS = 4


def align(probabilities: np.ndarray, source: Sequence[str], labels: Sequence[str]) -> np.ndarray:
    """A member's probability columns (in its `source` label order) reordered into `labels` order; a label the
    member lacks (a fold model that never saw it) gets probability 0."""
    import numpy as np

    out = np.zeros((len(probabilities), len(labels)), dtype=np.float64)
    where = {label: i for i, label in enumerate(labels)}
    for column, label in enumerate(source):
        if label in where:
            out[:, where[label]] = probabilities[:, column]
    return out


def gold_columns(row_labels: Sequence[str], labels: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(rows whose label is one of `labels`, that label's column): held-out rows to learn the combination on."""
    import numpy as np

    where = {label: i for i, label in enumerate(labels)}
    rows = [(r, where[label]) for r, label in enumerate(row_labels) if label in where]
    return np.array([r for r, _ in rows], dtype=np.int64), np.array([g for _, g in rows], dtype=np.int64)


def calibrate(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(log p / T): the same ranking, sharper (T < 1) or softer (T > 1)."""
    return softmax(log_probabilities(probabilities) / temperature)


@dataclass
class Combination:
    """What was learned: a temperature per member, then weights (weighted_average) or a linear head (stacker)."""

    combiner: str
    temperatures: list[float]
    weights: list[float] | None = None
    coef: np.ndarray | None = None
    intercept: np.ndarray | None = None
    offsets: list[float] | None = None  # per label, added to the combined log-probabilities (decision_metric)

    def describe(self, names: Sequence[str]) -> str:
        """One line for the progress display: `weights tfidf 0.62, transformer 0.38; temperatures 0.9, 1.4`."""
        temperatures = ", ".join(f"{t:.3g}" for t in self.temperatures)
        shifted = f"; class offsets {', '.join(f'{o:+.1f}' for o in self.offsets)}" if self.offsets else ""
        if self.weights is None:
            return f"a stacker over {len(names)} members; temperatures {temperatures}{shifted}"
        weights = ", ".join(f"{name} {w:.2f}" for name, w in zip(names, self.weights, strict=True))
        return f"weights {weights}; temperatures {temperatures}{shifted}"

    def apply(self, members: Sequence[np.ndarray]) -> np.ndarray:
        """One (rows, labels) probability array from the members' aligned probabilities."""
        combined = self.combine(members)
        return shift(combined, self.offsets) if self.offsets else combined

    def combine(self, members: Sequence[np.ndarray]) -> np.ndarray:
        """The calibrated members averaged or stacked, before any class offsets."""
        calibrated = [calibrate(p, t) for p, t in zip(members, self.temperatures, strict=True)]
        if self.combiner == "stacker":
            return stack(calibrated, self.coef, self.intercept)
        weights = self.weights or [1.0 / len(calibrated)] * len(calibrated)
        combined: np.ndarray = sum(w * p for w, p in zip(weights, calibrated, strict=True))  # type: ignore[assignment]
        return combined


def shift(probabilities: np.ndarray, offsets: Sequence[float]) -> np.ndarray:
    """softmax(log p + offsets): still probabilities, whose argmax is the decision the offsets were chosen for."""
    import numpy as np

    return softmax(log_probabilities(probabilities) + np.asarray(offsets, dtype=np.float64))


def check_decision_metric(metric: str, labels: Sequence[str]) -> None:
    """A ConfigError, before any member is fitted, when the labels cannot give `metric` (f_avg without favor and
    against, fnc_score without unrelated)."""
    from toolkit.errors import ConfigError
    from toolkit.metrics import confusion_score

    try:
        confusion_score([[0] * len(labels)] * len(labels), labels, metric)
    except ValueError as exc:
        raise ConfigError(f"backend.params.decision_metric {metric}: {exc} (the labels: {list(labels)})") from exc


def fit_offsets(probabilities: np.ndarray, gold: np.ndarray, labels: Sequence[str], metric: str) -> list[float]:
    """Per-label log-probability offsets (the first label's fixed at 0) that maximise `metric` on held-out
    probabilities: coordinate ascent over OFFSET_GRID, a tie kept at the smaller shift. The argmax of calibrated
    probabilities maximises accuracy; a metric that weighs a rare class as much as a common one (macro-F1,
    F_avg) is maximised by predicting that class more often, by an amount only held-out rows can tell."""
    import numpy as np

    from toolkit.metrics import confusion_counts, confusion_score

    scores = log_probabilities(probabilities)

    def score(offsets: np.ndarray) -> float:
        predicted = (scores + offsets).argmax(axis=1)
        return confusion_score(confusion_counts(gold, predicted, len(labels)), labels, metric)

    offsets = np.zeros(len(labels))
    best = score(offsets)
    for _ in range(OFFSET_ROUNDS):
        moved = False
        for column in range(1, len(labels)):
            for value in OFFSET_GRID:
                trial = offsets.copy()
                trial[column] = value
                candidate = score(trial)
                if candidate > best + 1e-12:
                    best, offsets, moved = candidate, trial, True
        if not moved:
            break
    return [float(offset) for offset in offsets]


def stack(calibrated: Sequence[np.ndarray], coef: np.ndarray | None, intercept: np.ndarray | None) -> np.ndarray:
    """The stacker's probabilities: softmax of a linear head over the members' concatenated log-probabilities."""
    import numpy as np

    if coef is None or intercept is None:
        raise ValueError("a stacker combination needs its coef and intercept")
    features = np.hstack([log_probabilities(p) for p in calibrated])
    return softmax(features @ coef.T + intercept)


def learn(members: Sequence[np.ndarray], gold: np.ndarray, params: EnsembleParams, seed: int) -> Combination:
    """The combination learned on held-out probabilities `members` (aligned, one array per member) whose true
    columns are `gold`."""
    if params.calibration == "temperature":
        temperatures = [best_temperature(log_probabilities(p), gold) for p in members]
    else:
        temperatures = [1.0] * len(members)
    calibrated = [calibrate(p, t) for p, t in zip(members, temperatures, strict=True)]
    if params.combiner == "stacker":
        coef, intercept = fit_stacker(calibrated, gold, params.stacker_C, seed)
        return Combination("stacker", temperatures, coef=coef, intercept=intercept)
    weights = params.fixed_weights or fit_weights(calibrated, gold)
    return Combination("weighted_average", temperatures, weights=weights)


def fit_weights(calibrated: Sequence[np.ndarray], gold: np.ndarray) -> list[float]:
    """Weights on the simplex that minimise the held-out log-loss of the weighted mean: the EM update for mixture
    weights (each step cannot increase the loss, which is convex in the weights), from uniform, deterministic."""
    import numpy as np

    rows = np.arange(len(gold))
    picked = np.clip(np.column_stack([p[rows, gold] for p in calibrated]), PROBABILITY_FLOOR, None)
    weights = np.full(len(calibrated), 1.0 / len(calibrated))
    for _ in range(EM_ITERATIONS if len(gold) else 0):
        updated = (picked * weights / (picked @ weights)[:, None]).mean(axis=0)
        converged = np.abs(updated - weights).max() < 1e-9
        weights = updated
        if converged:
            break
    return [float(w) for w in weights / weights.sum()]


def fit_stacker(
    calibrated: Sequence[np.ndarray], gold: np.ndarray, C: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """A multinomial logistic regression on the concatenated log-probabilities, as a (labels, features) coef and
    a (labels,) intercept (a binary head is widened to two rows, so prediction is always one softmax)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    n_labels = calibrated[0].shape[1]
    missing = sorted(set(range(n_labels)) - {int(g) for g in gold})
    if missing:
        raise DataError(
            f"the stacker cannot learn labels absent from the rows it is fitted on (columns {missing}): use "
            "combiner weighted_average, or folds >= 2 so it learns on out-of-fold training predictions"
        )
    features = np.hstack([log_probabilities(p) for p in calibrated])
    model = LogisticRegression(C=C, max_iter=2000, random_state=seed).fit(features, gold)
    coef, intercept = np.asarray(model.coef_, dtype=np.float64), np.asarray(model.intercept_, dtype=np.float64)
    if coef.shape[0] == 1:  # sigmoid(s) == softmax([0, s])
        coef, intercept = np.vstack([np.zeros_like(coef), coef]), np.concatenate([[0.0], intercept])
    return coef, intercept
