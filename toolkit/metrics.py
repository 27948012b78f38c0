"""Evaluation metrics as pure functions over label lists: no network, no tracking.

F_avg follows SemEval-2016 Task 6: the mean of the F1 of the "favor" and "against" classes, computed
over all targets pooled. Label names are matched case-insensitively, so FAVOR and favor both count.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, get_args

STANCE_POLES = ("favor", "against")
FNC_RELATED = ("agree", "disagree", "discuss")


def classification_metrics(gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> dict[str, float]:
    """Accuracy, macro-F1 and per-class precision/recall/F1/support as a flat dict of floats."""
    from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

    known = list(labels)
    metrics = {
        "accuracy": float(accuracy_score(gold, predicted)),
        "macro_f1": float(f1_score(gold, predicted, labels=known, average="macro", zero_division=0)),
        "weighted_f1": float(f1_score(gold, predicted, labels=known, average="weighted", zero_division=0)),
    }
    precision, recall, f1, support = precision_recall_fscore_support(gold, predicted, labels=known, zero_division=0)
    for i, label in enumerate(known):
        metrics[f"precision.{label}"] = float(precision[i])
        metrics[f"recall.{label}"] = float(recall[i])
        metrics[f"f1.{label}"] = float(f1[i])
        metrics[f"support.{label}"] = float(support[i])
    return metrics


def f_avg(gold: Sequence[str], predicted: Sequence[str]) -> float | None:
    """Mean F1 of the favor and against classes (pooled over targets); None if the labels lack them."""
    from sklearn.metrics import f1_score

    lower_gold = [g.lower() for g in gold]
    lower_pred = [p.lower() for p in predicted]
    present = set(lower_gold) | set(lower_pred)
    if not all(pole in present for pole in STANCE_POLES):
        return None
    scores = f1_score(lower_gold, lower_pred, labels=list(STANCE_POLES), average=None, zero_division=0)
    return float(scores.mean())


def f_avg_per_target(gold: Sequence[str], predicted: Sequence[str], targets: Sequence[str]) -> dict[str, float]:
    """F_avg computed separately for each target (reported beside, never instead of, the pooled one)."""
    per_target: dict[str, float] = {}
    for target in sorted(set(targets)):
        rows = [i for i, t in enumerate(targets) if t == target]
        score = f_avg([gold[i] for i in rows], [predicted[i] for i in rows])
        if score is not None:
            per_target[target] = score
    return per_target


def fnc_score(gold: Sequence[str], predicted: Sequence[str]) -> float | None:
    """FNC-1 score as a share of the best possible: +0.25 per correct related/unrelated decision,
    +0.75 more per correct agree/disagree/discuss label on a related pair. None without FNC labels."""
    lower_gold, lower_pred = [g.lower() for g in gold], [p.lower() for p in predicted]
    if len(lower_gold) != len(lower_pred):
        raise ValueError("gold and predicted differ in length")
    labels = sorted(set(lower_gold) | set(lower_pred))
    if "unrelated" not in labels:
        return None
    index = {label: i for i, label in enumerate(labels)}
    confusion = confusion_counts([index[g] for g in lower_gold], [index[p] for p in lower_pred], len(labels))
    return confusion_score(confusion, labels, "fnc_score")


def task_metrics(
    gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str], targets: Sequence[str] | None = None
) -> dict[str, float]:
    """Every metric that applies: the classification set, plus F_avg (stance) and the FNC-1 score."""
    metrics = classification_metrics(gold, predicted, labels)
    if targets is not None:
        pooled = f_avg(gold, predicted)
        if pooled is not None:
            metrics["f_avg"] = pooled
            metrics.update({f"f_avg_target.{t}": v for t, v in f_avg_per_target(gold, predicted, targets).items()})
            per_target = [v for k, v in metrics.items() if k.startswith("f_avg_target.")]
            metrics["f_avg_macro_over_targets"] = sum(per_target) / len(per_target) if per_target else pooled
        fnc = fnc_score(gold, predicted)
        if fnc is not None:
            metrics["fnc_score"] = fnc
    return metrics


DecisionMetric = Literal["accuracy", "macro_f1", "f_avg", "fnc_score"]  # what confusion_score computes
DECISION_METRICS: tuple[str, ...] = get_args(DecisionMetric)


def confusion_counts(gold: Any, predicted: Any, n_labels: int) -> Any:
    """The (gold, predicted) count matrix of label indices: every metric below is a function of it."""
    import numpy as np

    flat = np.asarray(gold, dtype=np.int64) * n_labels + np.asarray(predicted, dtype=np.int64)
    return np.bincount(flat, minlength=n_labels * n_labels).reshape(n_labels, n_labels)


def confusion_score(confusion: Any, labels: Sequence[str], name: str) -> float:
    """One of DECISION_METRICS from a count matrix over `labels`: the figure task_metrics gives for the same
    predictions (F1 of an absent class 0, labels matched case-insensitively), at array speed, for searches
    that score thousands of candidate decisions."""
    import numpy as np

    counts = np.asarray(confusion, dtype=np.float64)
    lower = [label.lower() for label in labels]
    if name == "accuracy":
        return float(np.trace(counts) / max(counts.sum(), 1.0))
    if name == "fnc_score":
        related = np.array([label in FNC_RELATED for label in lower])
        if "unrelated" not in lower:
            raise ValueError("fnc_score needs an 'unrelated' label")
        same_side = counts[related][:, related].sum() + counts[~related][:, ~related].sum()
        best = counts[related].sum() + 0.25 * counts[~related].sum()
        return float((0.25 * same_side + 0.75 * np.trace(counts[related][:, related])) / max(best, 1e-12))
    true_positive = np.diag(counts)
    denominator = counts.sum(axis=0) + counts.sum(axis=1)
    f1 = np.divide(2 * true_positive, denominator, out=np.zeros_like(true_positive), where=denominator > 0)
    if name == "macro_f1":
        return float(f1.mean())
    if name == "f_avg":
        if not all(pole in lower for pole in STANCE_POLES):
            raise ValueError("f_avg needs 'favor' and 'against' labels")
        return float(np.mean([f1[lower.index(pole)] for pole in STANCE_POLES]))
    raise ValueError(f"unknown decision metric {name!r}; one of {', '.join(DECISION_METRICS)}")


def classification_report_text(gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> str:
    """scikit-learn's text report, for a human reading the run's artifacts."""
    from sklearn.metrics import classification_report

    report: str = classification_report(gold, predicted, labels=list(labels), digits=4, zero_division=0)
    return report


def per_target_scores(
    gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str], targets: Sequence[str]
) -> dict[str, dict[str, float]]:
    """For each target: its rows, macro-F1 over the model's labels, and F_avg where its rows have favor/against."""
    from sklearn.metrics import f1_score

    scores: dict[str, dict[str, float]] = {}
    for target in sorted(set(targets)):
        rows = [i for i, t in enumerate(targets) if t == target]
        g, p = [gold[i] for i in rows], [predicted[i] for i in rows]
        present = [label for label in labels if label in set(g) | set(p)]
        scores[target] = {
            "rows": float(len(rows)),
            "macro_f1": float(f1_score(g, p, labels=present, average="macro", zero_division=0)),
        }
        pooled = f_avg(g, p)
        if pooled is not None:
            scores[target]["f_avg"] = pooled
    return scores


def reliability_bins(confidence: Any, correct: Any, bins: int = 10) -> dict[str, Any]:
    """Equal-width confidence bins of the top label: rows, mean confidence and accuracy per bin, and the expected
    calibration error (ECE: the rows-weighted mean gap between accuracy and confidence)."""
    import numpy as np

    confidence, correct = np.asarray(confidence, dtype=float), np.asarray(correct, dtype=float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    counts = np.bincount(which, minlength=bins).astype(float)
    safe = np.maximum(counts, 1.0)
    mean_confidence = np.bincount(which, weights=confidence, minlength=bins) / safe
    accuracy = np.bincount(which, weights=correct, minlength=bins) / safe
    ece = float((counts * np.abs(accuracy - mean_confidence)).sum() / max(counts.sum(), 1.0))
    return {"edges": edges, "counts": counts, "confidence": mean_confidence, "accuracy": accuracy, "ece": ece}


def per_class_f1(metrics: dict[str, float]) -> dict[str, float]:
    """Every class's F1 (`f1.LABEL`): a rare class (FNC-1's disagree, 1.7% of pairs) vanishes in the averages."""
    return {key: value for key, value in metrics.items() if key.startswith("f1.")}


def headline(metrics: dict[str, Any]) -> dict[str, float]:
    """The few numbers worth printing first."""
    keys = ("accuracy", "macro_f1", "f_avg", "fnc_score")
    return {key: metrics[key] for key in keys if key in metrics}
