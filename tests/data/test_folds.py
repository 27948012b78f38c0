"""Cross-validation folds (toolkit.data.folds): a group never on both sides, strata kept, the same folds per seed."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.helpers import make_rows
from toolkit.data.folds import assign_folds, cv_folds, pooled, row_groups, subset
from toolkit.data.types import Examples
from toolkit.errors import DataError


def stance_rows(n: int = 180, repeats: int = 3) -> Examples:
    """make_rows' stance rows, each text paired `repeats` times with one of its two targets."""
    rows = make_rows(n)
    texts = [row["text"] for row in rows for _ in range(repeats)]
    labels = [row["stance"] for row in rows for _ in range(repeats)]
    targets = [row["target"] for row in rows for _ in range(repeats)]
    return Examples(texts, labels, targets, ids=[f"{i}" for i in range(len(texts))])


def headline_rows(n: int = 180) -> Examples:
    """FNC-1's shape: each body twice, under a headline shared by five bodies; every other block's last body
    also under the next block's headline, so blocks link in pairs (18 groups of 10 bodies)."""
    rows = make_rows(n)
    headlines = [
        f"headline {i // 5 + (k == 1 and i % 5 == 4 and (i // 5) % 2 == 0)}" for i in range(n) for k in range(2)
    ]
    texts = [row["text"] for row in rows for _ in range(2)]
    labels = [row["stance"] for row in rows for _ in range(2)]
    return Examples(texts, labels, headlines, ids=[f"{i}" for i in range(len(texts))])


def test_groups_are_connected_components_of_shared_texts_and_targets() -> None:
    rows = Examples(["a", "b", "a", "c", "d"], ["x"] * 5, ["T1", "T2", "T3", "t3 ", "T4"])
    assert row_groups(rows) == [0, 1, 0, 2, 3]
    # a-T1, a-T3, c-T3 (targets compared case-folded): rows 0, 2 and 3 link; b and d stand alone
    assert row_groups(rows, ["text", "target"]) == [0, 1, 0, 0, 2]
    with pytest.raises(DataError, match="group_by must be"):
        row_groups(rows, ["target"])


@pytest.mark.parametrize("group_by", [["text"], ["text", "target"]])
def test_folds_cover_every_row_once_and_never_split_a_group(group_by: list[str]) -> None:
    rows = headline_rows() if "target" in group_by else stance_rows()
    assert len(set(row_groups(rows, group_by))) == (18 if "target" in group_by else 180)
    folds = assign_folds(rows, 4, seed=0, group_by=group_by)
    assert sorted(int(i) for fold in folds for i in fold) == list(range(len(rows)))
    groups = row_groups(rows, group_by)
    fold_of = {i: n for n, fold in enumerate(folds) for i in fold}
    for group in set(groups):
        assert len({fold_of[i] for i, g in enumerate(groups) if g == group}) == 1


def test_folds_are_stratified_by_target_and_label() -> None:
    rows = stance_rows(repeats=1)
    folds = assign_folds(rows, 3, seed=1)
    whole = Counter(zip(rows.targets or [], rows.labels, strict=True))
    for fold in folds:
        part = subset(rows, fold)
        counts = Counter(zip(part.targets or [], part.labels, strict=True))
        for stratum, total in whole.items():
            assert abs(counts[stratum] - total / 3) <= 1.5, (stratum, counts[stratum], total)


def test_folds_are_deterministic_by_seed() -> None:
    rows = stance_rows()
    first, again = assign_folds(rows, 5, seed=3), assign_folds(rows, 5, seed=3)
    assert [list(fold) for fold in first] == [list(fold) for fold in again]
    other = assign_folds(rows, 5, seed=4)
    assert [list(fold) for fold in first] != [list(fold) for fold in other]


def test_too_few_groups_is_a_data_error_naming_the_count() -> None:
    rows = Examples(["a", "a", "b", "b"], ["x", "y", "x", "y"], ["T"] * 4)
    with pytest.raises(DataError, match="3 folds need at least 3 groups.*form only 2"):
        assign_folds(rows, 3, seed=0)
    with pytest.raises(DataError, match="sharing a text or a target form only 1"):
        assign_folds(rows, 2, seed=0, group_by=["text", "target"])


def test_complement_and_pooled_keep_every_column() -> None:
    rows = stance_rows(18, repeats=1)
    fold = cv_folds(rows, 3, seed=0)[0]
    held, part = fold.held, subset(rows, fold.train)
    assert len(part) + len(held) == len(rows) and not set(part.ids) & {rows.ids[i] for i in held}
    both = pooled([part, subset(rows, held)])
    assert sorted(both.ids) == sorted(rows.ids) and both.targets is not None and len(both.targets) == len(rows)
    assert pooled([part, Examples(["t"], ["favor"])]).targets is None


def claim_rows(claims: int = 10) -> Examples:
    """FNC-1's shape in miniature: each claim's two headlines paired with its three bodies (agree / discuss),
    and with one body of each of the next two claims ("unrelated", as FNC-1's random pairings)."""
    texts, labels, targets = [], [], []
    for claim in range(claims):
        for headline in range(2):
            for body in range(3):
                texts.append(f"body {claim}.{body}")
                labels.append("agree" if (claim + body) % 2 else "discuss")
                targets.append(f"headline {claim}.{headline}")
            for other in (1, 2):
                texts.append(f"body {(claim + other) % claims}.{headline}")
                labels.append("unrelated")
                targets.append(f"headline {claim}.{headline}")
    return Examples(texts, labels, targets, ids=[f"{i}" for i in range(len(texts))])


def test_unlinked_rows_leave_whole_claims_in_each_fold_and_no_held_out_headline_in_training() -> None:
    rows = claim_rows()
    with pytest.raises(DataError, match="form only 1"):  # the random pairings link every claim to every other
        assign_folds(rows, 5, seed=0, group_by=["text", "target"])
    assert len(set(row_groups(rows, ["text", "target"], unlinked_label="unrelated"))) == 10
    folds = cv_folds(rows, 5, seed=0, group_by=["text", "target"], unlinked_label="unrelated")
    assert sorted(int(i) for fold in folds for i in fold.held) == list(range(len(rows))), "each row scored once"
    for fold in folds:
        held, train = subset(rows, fold.held), subset(rows, fold.train)
        assert not set(held.targets or []) & set(train.targets or []), "a held-out headline was trained on"
        linked = {text for text, label in zip(held.texts, held.labels, strict=True) if label != "unrelated"}
        assert linked and not linked & set(train.texts), "a held-out claim's body was trained on"
        assert not set(fold.held) & set(fold.train)
        assert len(fold.train) < len(rows) - len(fold.held), "rows pairing a held-out body were left out"
        assert "unrelated" in held.labels and "unrelated" in train.labels


def test_unlinked_label_must_be_a_label_and_needs_both_keys() -> None:
    from toolkit.config import CVConfig

    with pytest.raises(DataError, match="unlinked_label 'unrelatd' is not a label of these rows"):
        cv_folds(claim_rows(), 5, seed=0, group_by=["text", "target"], unlinked_label="unrelatd")
    with pytest.raises(DataError, match=r"needs stance rows grouped by \[text, target\]"):
        cv_folds(claim_rows(), 5, seed=0, unlinked_label="unrelated")
    with pytest.raises(ValueError, match="unlinked_label needs group_by"):
        CVConfig(folds=5, unlinked_label="unrelated")
    assert "unlinked_label" not in CVConfig(folds=5).model_dump(), "earlier results.json keep their shape"
    assert CVConfig(folds=5, group_by=["text", "target"], unlinked_label="x").model_dump()["unlinked_label"] == "x"
