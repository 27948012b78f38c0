import pytest

from toolkit.metrics import classification_metrics, f_avg, f_avg_per_target, fnc_score, task_metrics


def test_classification_metrics_by_hand() -> None:
    gold = ["a", "a", "b", "b"]
    predicted = ["a", "b", "b", "b"]
    metrics = classification_metrics(gold, predicted, ["a", "b"])
    assert metrics["accuracy"] == 0.75
    assert metrics["precision.a"] == 1.0 and metrics["recall.a"] == 0.5
    assert metrics["f1.b"] == pytest.approx(0.8)  # p = 2/3, r = 1
    assert metrics["macro_f1"] == pytest.approx((2 / 3 + 0.8) / 2)


def test_f_avg_is_mean_of_favor_and_against_f1_pooled() -> None:
    gold = ["FAVOR", "FAVOR", "AGAINST", "AGAINST", "NONE"]
    predicted = ["FAVOR", "NONE", "AGAINST", "FAVOR", "NONE"]
    # favor: p = 1/2, r = 1/2 -> 0.5 ; against: p = 1, r = 1/2 -> 2/3
    assert f_avg(gold, predicted) == pytest.approx((0.5 + 2 / 3) / 2)
    assert f_avg(["x", "y"], ["x", "y"]) is None


def test_f_avg_per_target_is_separate_from_pooled() -> None:
    gold = ["favor", "against", "favor", "against"]
    predicted = ["favor", "against", "against", "favor"]
    targets = ["t1", "t1", "t2", "t2"]
    per_target = f_avg_per_target(gold, predicted, targets)
    assert per_target == {"t1": 1.0, "t2": 0.0}
    metrics = task_metrics(gold, predicted, ["against", "favor"], targets)
    assert metrics["f_avg"] == pytest.approx(0.5)
    assert metrics["f_avg_macro_over_targets"] == pytest.approx(0.5)


def test_fnc_score_by_hand() -> None:
    gold = ["unrelated", "agree", "discuss", "disagree"]
    predicted = ["unrelated", "agree", "agree", "unrelated"]
    # best: 0.25 + 1 + 1 + 1 = 3.25; got: 0.25 + (0.25 + 0.75) + 0.25 + 0 = 1.5
    assert fnc_score(gold, predicted) == pytest.approx(1.5 / 3.25)
    assert fnc_score(["a"], ["a"]) is None


def official_fnc_score(gold: list[str], predicted: list[str]) -> float:
    """The FNC-1 organisers' scorer.py loop, written out as a reference for fnc_score."""
    related = ("agree", "disagree", "discuss")

    def raw(g_labels: list[str], p_labels: list[str]) -> float:
        score = 0.0
        for g, p in zip(g_labels, p_labels, strict=True):
            if g == p:
                score += 0.25
                if g != "unrelated":
                    score += 0.50
            if g in related and p in related:
                score += 0.25
        return score

    return raw(gold, predicted) / raw(gold, gold)


def test_fnc_score_matches_the_official_scorer_on_random_labels() -> None:
    import random

    labels = ["agree", "disagree", "discuss", "unrelated"]
    rng = random.Random(0)
    for _ in range(50):
        gold = rng.choices(labels, weights=[7, 2, 18, 73], k=40) + ["unrelated"]
        predicted = rng.choices(labels, k=len(gold))
        assert fnc_score(gold, predicted) == pytest.approx(official_fnc_score(gold, predicted))


def test_fnc_all_unrelated_scores_the_share_of_unrelated_weight() -> None:
    gold = ["unrelated"] * 3 + ["discuss"]
    # best: 3 * 0.25 + 1 = 1.75; all 'unrelated': 3 * 0.25 = 0.75
    assert fnc_score(gold, ["unrelated"] * 4) == pytest.approx(0.75 / 1.75)


def test_f_avg_pooled_differs_from_the_mean_over_targets() -> None:
    # t1: favor 2/2 right; t2: one against row predicted favor.
    gold = ["FAVOR", "FAVOR", "AGAINST", "NONE", "AGAINST"]
    predicted = ["FAVOR", "FAVOR", "AGAINST", "NONE", "FAVOR"]
    targets = ["t1", "t1", "t1", "t2", "t2"]
    # pooled: favor p = 2/3, r = 1 -> 0.8; against p = 1, r = 1/2 -> 2/3; F_avg = 0.7333
    metrics = task_metrics(gold, predicted, ["AGAINST", "FAVOR", "NONE"], targets)
    assert metrics["f_avg"] == pytest.approx((0.8 + 2 / 3) / 2)
    # t1: both poles perfect -> 1.0; t2: favor p = 0 -> 0, against r = 0 -> 0 -> 0.0; mean 0.5
    assert metrics["f_avg_target.t1"] == 1.0 and metrics["f_avg_target.t2"] == 0.0
    assert metrics["f_avg_macro_over_targets"] == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("labels", "names"),
    [
        (["agree", "disagree", "discuss", "unrelated"], ["accuracy", "macro_f1", "fnc_score"]),
        (["AGAINST", "FAVOR", "NONE"], ["accuracy", "macro_f1", "f_avg"]),
        (["business", "sport", "tech"], ["accuracy", "macro_f1"]),
    ],
)
def test_confusion_score_gives_what_task_metrics_gives(labels: list[str], names: list[str]) -> None:
    """The array-speed scorer an offset search uses must agree with the metrics every report prints."""
    import numpy as np

    from toolkit.metrics import confusion_counts, confusion_score

    rng = np.random.default_rng(0)
    gold = rng.choice(len(labels), 300, p=np.linspace(1, 3, len(labels)) / np.linspace(1, 3, len(labels)).sum())
    predicted = np.where(rng.random(300) < 0.6, gold, rng.integers(0, len(labels) - 1, 300))  # never the last label
    expected = task_metrics([labels[i] for i in gold], [labels[i] for i in predicted], labels, ["t"] * 300)
    confusion = confusion_counts(gold, predicted, len(labels))
    for name in names:
        assert confusion_score(confusion, labels, name) == pytest.approx(expected[name], abs=1e-12), name


def test_confusion_score_refuses_a_metric_the_labels_cannot_give() -> None:
    from toolkit.metrics import confusion_score

    with pytest.raises(ValueError, match="favor"):
        confusion_score([[1, 0], [0, 1]], ["business", "sport"], "f_avg")
    with pytest.raises(ValueError, match="unknown decision metric"):
        confusion_score([[1, 0], [0, 1]], ["business", "sport"], "auc")
