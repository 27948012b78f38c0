"""Out-of-fold splits for learning the combination: stratified by label, identical texts kept together.

A text that appears twice (a duplicate article, or one body paired with several stance targets) is one group,
so a member never predicts a held-out row whose text it was fitted on; the out-of-fold probabilities then
look like predictions on unseen data, which is what the combination must be learned on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from toolkit.data.folds import subset as subset  # the one row-subset helper (cross-validation uses it too)
from toolkit.data.types import Examples
from toolkit.errors import DataError

if TYPE_CHECKING:
    import numpy as np


def text_groups(texts: Sequence[str]) -> list[int]:
    """One group number per row: rows with the same text share it."""
    numbers: dict[str, int] = {}
    return [numbers.setdefault(text, len(numbers)) for text in texts]


def held_out_folds(examples: Examples, folds: int, seed: int) -> list[np.ndarray]:
    """Row indices held out in each fold (every row in exactly one), stratified by label over text groups.
    Fewer folds than asked when there are fewer distinct texts (or rows of the commonest label); under 2 is a
    DataError."""
    import warnings

    import numpy as np
    from sklearn.model_selection import StratifiedGroupKFold

    groups = text_groups(examples.texts)
    largest = max(Counter(examples.labels).values(), default=0)  # scikit-learn needs a label this frequent
    splits = min(folds, len(set(groups)), largest)
    if splits < 2:
        raise DataError(f"out-of-fold ensemble fitting needs at least 2 distinct training texts, not {splits}")
    splitter = StratifiedGroupKFold(n_splits=splits, shuffle=True, random_state=seed)
    with warnings.catch_warnings():  # "the least populated class has fewer members than n_splits": expected
        warnings.simplefilter("ignore", UserWarning)
        held = [np.sort(rows) for _, rows in splitter.split(np.zeros(len(examples)), examples.labels, groups)]
    return [rows for rows in held if len(rows)]


def fit_part(examples: Examples, held: np.ndarray) -> Examples:
    """The rows a fold's members are fitted on (all but `held`); refused when one label is left to learn."""
    import numpy as np

    keep = np.setdiff1d(np.arange(len(examples)), held)
    part = subset(examples, keep)
    if len(set(part.labels)) < 2:
        raise DataError(
            "an out-of-fold part holds a single label, so no member can be fitted on it: add rows or set "
            "backend.params.folds: 0 (learn the combination on the validation split)"
        )
    return part


def holdout_split(examples: Examples, share: float, seed: int) -> tuple[Examples, Examples]:
    """(rows the members are fitted on, about `share` of the rows held out to learn the combination on): one
    fold of `held_out_folds` with round(1 / share) folds, so it is stratified and keeps identical texts together."""
    held = held_out_folds(examples, max(2, round(1 / share)), seed)[0]
    return fit_part(examples, held), subset(examples, held)
