"""Assign prepared rows to train/validation/test: the user's own splits (with overlaps removed so no
evaluation row was seen in training), or a seeded split stratified by label and target, or by group.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from typing import TYPE_CHECKING

from toolkit.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

    from toolkit.config import DataConfig

SPLITS = ("train", "validation", "test")
SPLIT_ALIASES = {
    "train": "train",
    "training": "train",
    "dev": "validation",
    "valid": "validation",
    "validation": "validation",
    "val": "validation",
    "test": "test",
    "testing": "test",
}


def row_keys(rows: pd.DataFrame) -> pd.Series:
    """What makes two rows the same example: the target and the stripped text."""
    return rows["target"] + "\x1f" + rows["text"].str.strip()


def remove_split_overlap(rows: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """With the user's own splits: an example in test is dropped from validation and train, one in
    validation from train, so no evaluation row was seen in training (test is never reduced)."""
    key = row_keys(rows)
    test_keys = set(key[rows["split"] == "test"])
    validation_keys = set(key[rows["split"] == "validation"])
    overlap = ((rows["split"] != "test") & key.isin(test_keys)) | (
        (rows["split"] == "train") & key.isin(validation_keys)
    )
    return rows[~overlap], int(overlap.sum())


def stratified_split(rows: pd.DataFrame, validation: float, test: float, seed: int) -> list[str]:
    """Assign each row to a split, per stratum (label, target): seeded, rounding so small classes stay in train."""
    assignment = [""] * len(rows)
    strata: dict[tuple[str, str], list[int]] = defaultdict(list)
    for position, (label, target) in enumerate(zip(rows["label"], rows["target"], strict=True)):
        strata[(label, target)].append(position)
    rng = random.Random(seed)
    for key in sorted(strata):
        members = strata[key]
        rng.shuffle(members)
        n_test, n_val = int(round(len(members) * test)), int(round(len(members) * validation))
        if n_test + n_val >= len(members):
            n_test, n_val = 0, 0
        for rank, position in enumerate(members):
            assignment[position] = "test" if rank < n_test else "validation" if rank < n_test + n_val else "train"
    return assignment


def group_split(groups: list[str], validation: float, test: float, seed: int) -> list[str]:
    """Assign whole groups to splits (seeded shuffle of the groups, filled up to each split's share of rows)."""
    sizes = Counter(groups)
    order = sorted(sizes)
    random.Random(seed).shuffle(order)
    split_of, filled = {}, 0
    for group in order:
        share = filled / len(groups)
        split_of[group] = "test" if share < test else "validation" if share < test + validation else "train"
        filled += sizes[group]
    return [split_of[group] for group in groups]


def assign_splits(rows: pd.DataFrame, cfg: DataConfig) -> tuple[pd.DataFrame, dict[str, int]]:
    """Use the user's splits where given (normalising names), else a stratified seeded split."""
    dropped: dict[str, int] = {}
    if (rows["split"] != "").any():
        rows = rows.drop(columns="group", errors="ignore")  # the user's own splits win over split.group
        normalized = rows["split"].map(lambda s: SPLIT_ALIASES.get(s, s))
        unknown = sorted(set(normalized) - set(SPLITS))
        if unknown:
            raise DataError(f"unknown split names {unknown}; use train, validation and test")
        rows = rows.assign(split=normalized)
        rows, dropped["train_test_overlap"] = remove_split_overlap(rows)
        return rows, dropped
    if "group" in rows.columns:
        assignment = group_split(list(rows["group"]), cfg.split.validation, cfg.split.test, cfg.split.seed)
        rows = rows.assign(split=assignment).drop(columns="group")
    else:
        rows = rows.assign(split=stratified_split(rows, cfg.split.validation, cfg.split.test, cfg.split.seed))
    dropped["train_test_overlap"] = 0
    return rows, dropped
