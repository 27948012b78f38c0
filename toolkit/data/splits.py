"""Assign prepared rows to train/validation/test: the user's own splits (with overlaps removed so no
evaluation row was seen in training), or a seeded split stratified by label and target, by group, or by
target (validation and test targets unseen in training).

Held-out targets (split.test_targets) come first: every row, of any source, whose target equals one of them
(`normalize_target`: case-folded, whitespace collapsed) goes to test, overriding a source's own split column or
files, so no evaluation target occurs in training or validation (a benchmark's held-out motions, SemEval's
leave-one-target-out). With split.group, a group holding such a row goes to test whole, so its texts stay
together. The remaining rows are split exactly as without them: the user's own splits, or a seeded split whose
validation and test shares are of the remaining rows. An entry that matches no row's target is a DataError
naming it (a typo would otherwise hold out nothing). Relevance negatives, drawn from train targets only, are
never paired with a held-out target.
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


def held_out(rows: pd.DataFrame, test_targets: list[str]) -> pd.Series:
    """Which rows have one of `test_targets` (compared normalized); an entry that matches no row is a DataError.
    Each distinct target is normalized once, so hundreds of entries over many rows stay quick."""
    if not test_targets:
        return rows["target"].isin(())
    wanted = {normalize_target(target) for target in test_targets}
    normalized = {target: normalize_target(target) for target in rows["target"].unique()}
    present = set(normalized.values()) - {""}
    missing = next((target for target in test_targets if normalize_target(target) not in present), None)
    if missing is not None:
        import difflib

        close = difflib.get_close_matches(normalize_target(missing), sorted(present), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise DataError(
            f"split.test_targets: {missing!r} matches no row's target (compared case-folded, whitespace "
            f"collapsed; {len(present)} targets in the data){hint}"
        )
    return rows["target"].isin({target for target, key in normalized.items() if key in wanted})


def assign_splits(rows: pd.DataFrame, cfg: DataConfig) -> tuple[pd.DataFrame, dict[str, int]]:
    """Rows of a held-out target (split.test_targets) go to test; the others use the user's splits where given
    (normalising names), else a seeded split: stratified, by group or by target. With several sources, those
    that bring their own splits keep them and the others are split."""
    held = held_out(rows, cfg.split.test_targets)
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
    to_test = held_groups(rows, held & ~own) & ~own
    rest = ~own & ~to_test
    if rest.any():
        split[rest] = random_split(rows[rest], cfg)
    split[to_test] = "test"
    rows = rows.assign(split=split).drop(columns="group", errors="ignore")  # own splits win over split.group
    overlap = 0
    if own.any():
        rows, overlap = remove_split_overlap(rows)  # held-out rows of own splits still in them: test wins
        if held.any():
            rows, duplicates = hold_out(rows, held[rows.index])
            overlap += duplicates
    return rows, {"train_test_overlap": overlap}


def held_groups(rows: pd.DataFrame, held: pd.Series) -> pd.Series:
    """The held-out rows, and with split.group every row of a group that holds one (a group stays together)."""
    if "group" not in rows.columns:
        return held
    return held | rows["group"].isin(set(rows.loc[held, "group"]))


def hold_out(rows: pd.DataFrame, held: pd.Series) -> tuple[pd.DataFrame, int]:
    """Move the held-out rows of sources with their own splits to test (after their overlaps were removed);
    a copy of one already there (the same example from two sources' splits) is dropped and counted."""
    rows = rows.assign(split=rows["split"].where(~held, "test"))
    duplicate = held & row_keys(rows).duplicated(keep="first")
    return rows[~duplicate], int(duplicate.sum())


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
