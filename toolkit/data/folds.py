"""Cross-validation folds over labeled examples: grouped, stratified, deterministic by seed.

Rows that share a text (a duplicate article, one body paired with several targets) form one group, and with
`group_by=("text", "target")` rows that share a target too (FNC-1: a headline paired with several bodies);
a group is a connected component of those links, so no text (or target) ever sits on both sides of a fold.
With `unlinked_label` (FNC-1's "unrelated": a headline paired at random with another claim's body) rows of
that label do not link their text and target: the groups are then the claims, a row is held out in the fold of
its target's group, and a fold's model is fitted only on rows whose text and target both lie outside it, so
every held-out target, and every held-out text of a linked row, is new to it (as in FNC-1's official test).
Within that, folds are stratified by label, and for stance rows by target and label, so each fold's mix
resembles the whole. The same rows and seed always give the same folds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from toolkit.data.targets import normalize_target
from toolkit.data.types import Examples
from toolkit.errors import DataError

if TYPE_CHECKING:
    import numpy as np

GROUP_KEYS = ("text", "target")


@dataclass(frozen=True)
class Fold:
    """One cross-validation fold: the rows scored, and the rows its model is fitted on (the other folds' rows,
    less any that would show it a held-out text or target)."""

    held: np.ndarray
    train: np.ndarray


def row_groups(examples: Examples, group_by: Sequence[str] = ("text",), unlinked_label: str | None = None) -> list[int]:
    """One group number per row (numbered in order of first appearance): rows linked by an identical text,
    or by the same target (case-folded) when `group_by` names it, share a number, transitively. With
    `unlinked_label`, the number of the row's target's group (its own rows do not link text and target)."""
    text_side, target_side = key_groups(examples, group_by, unlinked_label)
    return target_side if unlinked_label is not None else text_side


def key_groups(
    examples: Examples, group_by: Sequence[str] = ("text",), unlinked_label: str | None = None
) -> tuple[list[int], list[int]]:
    """The group number of each row's text and of its target (the same number unless the row's label is
    `unlinked_label`; without "target" in `group_by`, the text's for both)."""
    unknown = set(group_by) - set(GROUP_KEYS)
    if unknown or "text" not in group_by:
        raise DataError(f"group_by must be ['text'] or ['text', 'target'], not {list(group_by)}")
    by_target = "target" in group_by and examples.targets is not None
    if unlinked_label is not None and not by_target:
        raise DataError("unlinked_label needs stance rows grouped by [text, target]")
    if unlinked_label is not None and unlinked_label not in set(examples.labels):
        known = ", ".join(sorted(set(examples.labels)))
        raise DataError(f"unlinked_label {unlinked_label!r} is not a label of these rows ({known})")
    parent: dict[tuple[str, str], tuple[str, str]] = {}

    def root(key: tuple[str, str]) -> tuple[str, str]:
        parent.setdefault(key, key)
        while parent[key] != key:
            parent[key] = parent[parent[key]]  # path halving
            key = parent[key]
        return key

    keys: list[tuple[tuple[str, str], tuple[str, str]]] = []
    for i, text in enumerate(examples.texts):
        text_key = ("text", text)
        target_key = ("target", normalize_target(examples.targets[i])) if by_target else text_key  # type: ignore[index]
        first, other = root(text_key), root(target_key)
        if other != first and examples.labels[i] != unlinked_label:
            parent[other] = first
        keys.append((text_key, target_key))
    numbers: dict[tuple[str, str], int] = {}
    sides = [(numbers.setdefault(root(t), len(numbers)), numbers.setdefault(root(g), len(numbers))) for t, g in keys]
    return [text for text, _ in sides], [target for _, target in sides]


def strata(examples: Examples) -> list[str]:
    """What each fold should hold in proportion: the label, and for stance rows the target with it."""
    if examples.targets is None:
        return list(examples.labels)
    return [f"{normalize_target(t)}\x1f{label}" for t, label in zip(examples.targets, examples.labels, strict=True)]


def assign_folds(
    examples: Examples,
    folds: int,
    seed: int,
    group_by: Sequence[str] = ("text",),
    stratify: bool = True,
    unlinked_label: str | None = None,
) -> list[np.ndarray]:
    """Row indices held out in each of `folds` folds (every row in exactly one; sorted), by scikit-learn's
    StratifiedGroupKFold. A DataError names the shortfall when the rows form fewer groups than folds."""
    return held_out_groups(examples, row_groups(examples, group_by, unlinked_label), folds, seed, group_by, stratify)


def held_out_groups(
    examples: Examples, groups: list[int], folds: int, seed: int, group_by: Sequence[str], stratify: bool = True
) -> list[np.ndarray]:
    """assign_folds over group numbers already worked out (`row_groups` or one side of `key_groups`)."""
    import warnings

    import numpy as np
    from sklearn.model_selection import GroupKFold, StratifiedGroupKFold

    if folds < 2:
        raise DataError(f"cross-validation needs at least 2 folds, not {folds}")
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


def cv_folds(
    examples: Examples, folds: int, seed: int, group_by: Sequence[str] = ("text",), unlinked_label: str | None = None
) -> list[Fold]:
    """assign_folds' held-out rows with each fold's training rows: every other row, except (with
    `unlinked_label`) a row whose text's group is held out in that fold while its target's is not."""
    import numpy as np

    everything = np.arange(len(examples))
    if unlinked_label is None:
        return [Fold(rows, np.setdiff1d(everything, rows)) for rows in assign_folds(examples, folds, seed, group_by)]
    text_side, target_side = key_groups(examples, group_by, unlinked_label)  # worked out once for both uses
    held = held_out_groups(examples, target_side, folds, seed, group_by)
    fold_of_group = {target_side[row]: number for number, rows in enumerate(held) for row in rows}
    row_fold = np.array([fold_of_group[group] for group in target_side])
    text_fold = np.array([fold_of_group.get(group, -1) for group in text_side])  # -1: a text only unlinked rows hold
    return [Fold(rows, everything[(row_fold != n) & (text_fold != n)]) for n, rows in enumerate(held)]


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
