"""Cross-validation folds over labeled examples: grouped, stratified, deterministic by seed.

Rows that share a text (a duplicate article, one body paired with several targets) form one group, and with
`group_by=("text", "target")` rows that share a target too (FNC-1: a headline paired with several bodies);
a group is a connected component of those links, so no text (or target) ever sits on both sides of a fold.
Within that, folds are stratified by label, and for stance rows by target and label, so each fold's mix
resembles the whole. The same rows and seed always give the same folds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from toolkit.data.targets import normalize_target
from toolkit.data.types import Examples
from toolkit.errors import DataError

if TYPE_CHECKING:
    import numpy as np

GROUP_KEYS = ("text", "target")


def row_groups(examples: Examples, group_by: Sequence[str] = ("text",)) -> list[int]:
    """One group number per row (numbered in order of first appearance): rows linked by an identical text,
    or by the same target (case-folded) when `group_by` names it, share a number, transitively."""
    unknown = set(group_by) - set(GROUP_KEYS)
    if unknown or "text" not in group_by:
        raise DataError(f"group_by must be ['text'] or ['text', 'target'], not {list(group_by)}")
    parent: dict[tuple[str, str], tuple[str, str]] = {}

    def root(key: tuple[str, str]) -> tuple[str, str]:
        parent.setdefault(key, key)
        while parent[key] != key:
            parent[key] = parent[parent[key]]  # path halving
            key = parent[key]
        return key

    keys: list[tuple[str, str]] = []
    for i, text in enumerate(examples.texts):
        key = root(("text", text))
        if "target" in group_by and examples.targets is not None:
            other = root(("target", normalize_target(examples.targets[i])))
            if other != key:
                parent[other] = key
        keys.append(("text", text))
    numbers: dict[tuple[str, str], int] = {}
    return [numbers.setdefault(root(key), len(numbers)) for key in keys]


def strata(examples: Examples) -> list[str]:
    """What each fold should hold in proportion: the label, and for stance rows the target with it."""
    if examples.targets is None:
        return list(examples.labels)
    return [f"{normalize_target(t)}\x1f{label}" for t, label in zip(examples.targets, examples.labels, strict=True)]


def assign_folds(
    examples: Examples, folds: int, seed: int, group_by: Sequence[str] = ("text",), stratify: bool = True
) -> list[np.ndarray]:
    """Row indices held out in each of `folds` folds (every row in exactly one; sorted), by scikit-learn's
    StratifiedGroupKFold. A DataError names the shortfall when the rows form fewer groups than folds."""
    import warnings

    import numpy as np
    from sklearn.model_selection import GroupKFold, StratifiedGroupKFold

    if folds < 2:
        raise DataError(f"cross-validation needs at least 2 folds, not {folds}")
    groups = row_groups(examples, group_by)
    sizes = Counter(groups)
    if len(sizes) < folds:
        linked = " or a target" if "target" in group_by else ""
        raise DataError(
            f"{folds} folds need at least {folds} groups of rows; rows sharing a text{linked} form only "
            f"{len(sizes)} (the largest holds {max(sizes.values(), default=0)} of {len(examples)} rows)"
        )
    by_target = "target" in group_by  # a target's rows then share a group: stratify by label alone
    labels = (list(examples.labels) if by_target else strata(examples)) if stratify else [""] * len(examples)
    if max(Counter(labels).values()) < folds:  # scikit-learn refuses when no stratum fills every fold
        labels = list(examples.labels) if max(Counter(examples.labels).values()) >= folds else [""] * len(examples)
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    if len(set(labels)) == 1:
        splitter = GroupKFold(n_splits=folds)  # nothing to stratify; GroupKFold balances fold sizes
    with warnings.catch_warnings():  # "the least populated class has fewer members than n_splits": expected
        warnings.simplefilter("ignore", UserWarning)
        held = [np.sort(rows) for _, rows in splitter.split(np.zeros(len(examples)), labels, groups)]
    if any(not len(rows) for rows in held):
        raise DataError(f"{folds} folds leave one empty: the rows' {len(sizes)} groups are too uneven")
    return held


def subset(examples: Examples, rows: Sequence[int] | np.ndarray) -> Examples:
    """The examples at `rows`, every column kept."""
    picked = [int(row) for row in rows]
    return Examples(
        texts=[examples.texts[i] for i in picked],
        labels=[examples.labels[i] for i in picked],
        targets=None if examples.targets is None else [examples.targets[i] for i in picked],
        ids=[examples.ids[i] for i in picked] if examples.ids else [],
        sources=None if examples.sources is None else [examples.sources[i] for i in picked],
    )


def complement(examples: Examples, held: np.ndarray) -> Examples:
    """Every row but those `held` out: a fold's training part."""
    import numpy as np

    return subset(examples, np.setdiff1d(np.arange(len(examples)), held))


def pooled(parts: Sequence[Examples]) -> Examples:
    """Several splits as one set of rows (train + validation for cross-validation), in order."""
    with_targets = all(part.targets is not None for part in parts)
    with_sources = all(part.sources is not None for part in parts)
    with_ids = all(part.ids for part in parts)
    return Examples(
        texts=[text for part in parts for text in part.texts],
        labels=[label for part in parts for label in part.labels],
        targets=[t for part in parts for t in part.targets or []] if with_targets else None,
        ids=[i for part in parts for i in part.ids] if with_ids else [],
        sources=[s for part in parts for s in part.sources or []] if with_sources else None,
    )
