"""Assign prepared rows to train/validation/test: the user's own splits (with overlaps removed so no
evaluation row was seen in training), or a seeded split stratified by label and target, by group, or by
target (validation and test targets unseen in training).
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from typing import TYPE_CHECKING

from toolkit.data.targets import normalize_target
from toolkit.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

    from toolkit.data.config import DataConfig

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
    """Use the user's splits where given (normalising names), else a seeded split: stratified, by group or
    by target. With several sources, those that bring their own splits keep them and the others are split."""
    own = rows["split"] != ""
    if "source" in rows.columns and own.any():  # a source that has its own splits has them on every row
        own = rows["source"].isin(set(rows.loc[own, "source"]))
    elif own.any():
        own[:] = True
    split = rows["split"].copy()
    if own.any():
        split[own] = split[own].map(lambda s: SPLIT_ALIASES.get(s, s))
        unknown = sorted(set(split[own]) - set(SPLITS))
        if unknown:
            raise DataError(f"unknown split names {unknown}; use train, validation and test")
    if not own.all():
        split[~own] = random_split(rows[~own], cfg)
    rows = rows.assign(split=split).drop(columns="group", errors="ignore")  # own splits win over split.group
    overlap = 0
    if own.any():
        rows, overlap = remove_split_overlap(rows)
    return rows, {"train_test_overlap": overlap}


def random_split(rows: pd.DataFrame, cfg: DataConfig) -> list[str]:
    """A seeded split of rows without their own: by group, by target, or stratified by label and target."""
    sizes = (cfg.split.validation, cfg.split.test, cfg.split.seed)
    if "group" in rows.columns:
        return group_split(list(rows["group"]), *sizes)
    if cfg.split.by_target:
        keys = [normalize_target(target) for target in rows["target"]]  # case-folded, spaces collapsed
        if len(set(keys)) < 2:
            raise DataError(
                f"split.by_target needs several distinct targets; the data has {len(set(keys))} (a stance "
                "dataset with a target column)"
            )
        return group_split(keys, *sizes)
    return stratified_split(rows, *sizes)
