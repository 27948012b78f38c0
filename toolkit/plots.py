"""The figures an evaluation logs for a reviewer (PNG files; the caller logs them to the run).

- `confusion_figure`: the confusion matrix as counts and, beside it, normalised per gold label (recall on the
  diagonal), so a small class's errors are as visible as a large one's.
- `precision_recall_figure`: one precision-recall curve per class (one-vs-rest, from the predicted probabilities),
  with its average precision.
- `reliability_figure`: a reliability (calibration) diagram of the top label's probability, with its expected
  calibration error (ECE) and how many rows fall in each bin.
- `per_target_figure`: stance only: macro-F1 and F_avg for each target, as bars.

Matplotlib (Agg, no display) is imported inside each function so the CLI starts fast; the figures are small and
drawn at a modest resolution, so that logging them costs well under a second per split.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolkit.metrics import reliability_bins

if TYPE_CHECKING:
    import numpy as np

DPI = 80
MAX_CURVES = 12  # precision-recall curves drawn on one plot (the most frequent classes); more are unreadable


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(figure: Any, path: Path) -> Path:
    plt = _pyplot()
    figure.savefig(path, dpi=DPI, bbox_inches="tight")  # nothing cut off (rotated labels); cheaper than a layout engine
    plt.close(figure)
    return path


def confusion_figure(
    gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str], path: Path, title: str
) -> Path:
    """Counts (left) and row-normalised shares (right) of gold (rows) against predicted (columns) labels."""
    import numpy as np
    from sklearn.metrics import confusion_matrix

    plt = _pyplot()
    counts = confusion_matrix(gold, predicted, labels=list(labels))
    totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, totals, out=np.zeros(counts.shape, dtype=float), where=totals > 0)
    side = max(4.0, 0.55 * len(labels) + 2.5)
    figure, axes = plt.subplots(1, 2, figsize=(2 * side + 0.5, side + 0.6), sharey=True)
    for ax, values, name, fmt in (
        (axes[0], counts, "counts", "d"),
        (axes[1], shares, "share of each gold label (row)", ".2f"),
    ):
        ax.imshow(values, cmap="Blues", vmin=0, vmax=max(values.max(), 1e-9))
        ax.set(xticks=range(len(labels)), yticks=range(len(labels)), xlabel="predicted", title=name)
        ax.set_xticklabels(labels, rotation=45, ha="right")
        if len(labels) <= 25:  # numbers in the cells while they are still legible
            limit = values.max() / 2
            for (row, column), value in np.ndenumerate(values):
                color = "white" if value > limit else "black"
                ax.text(column, row, format(value, fmt), ha="center", va="center", color=color, fontsize=8)
    axes[0].set(yticklabels=labels, ylabel="gold")  # shared with the right panel, which shows no row labels
    figure.suptitle(title)
    return _save(figure, path)


def precision_recall_figure(
    gold: Sequence[str], probabilities: np.ndarray, labels: Sequence[str], path: Path, title: str
) -> Path:
    """Per-class precision-recall curves (one-vs-rest) with each class's average precision in the legend."""
    import numpy as np
    from sklearn.metrics import average_precision_score, precision_recall_curve

    plt = _pyplot()
    gold_array = np.asarray(gold)
    present = sorted((i for i, label in enumerate(labels) if (gold_array == label).any()), key=lambda i: labels[i])
    shown = sorted(present, key=lambda i: -int((gold_array == labels[i]).sum()))[:MAX_CURVES]
    figure, ax = plt.subplots(figsize=(6.4, 5.2))
    for i in sorted(shown):
        truth = gold_array == labels[i]
        precision, recall, _ = precision_recall_curve(truth, probabilities[:, i])
        ap = average_precision_score(truth, probabilities[:, i])
        ax.step(recall, precision, where="post", label=f"{labels[i]} (AP {ap:.2f}, n={int(truth.sum())})")
    ax.set(xlim=(0, 1.01), ylim=(0, 1.02), xlabel="recall", ylabel="precision")
    left_out = len(present) - len(shown)
    ax.set_title(title + (f" ({left_out} rarer classes not drawn)" if left_out else ""), fontsize=10)
    ax.legend(loc="lower left", fontsize=8)
    ax.grid(alpha=0.3)
    return _save(figure, path)


def reliability_figure(confidence: np.ndarray, correct: np.ndarray, path: Path, title: str) -> tuple[Path, float]:
    """Accuracy against mean confidence of the top label in 10 bins (the diagonal is perfect calibration), with the
    rows per bin below; returns the PNG and the expected calibration error."""
    plt = _pyplot()
    bins = reliability_bins(confidence, correct)
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(5.6, 6.0), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    width = bins["edges"][1] - bins["edges"][0]
    centres = bins["edges"][:-1] + width / 2
    filled = bins["counts"] > 0
    top.plot(bins["confidence"][filled], bins["accuracy"][filled], "o-", color="tab:blue", label="this model")
    top.plot([0, 1], [0, 1], "--", color="grey", label="perfectly calibrated")
    top.set(ylim=(0, 1), ylabel="accuracy", xlim=(0, 1))
    top.set_title(f"{title}\nECE {bins['ece']:.3f}", fontsize=10)
    top.legend(loc="upper left", fontsize=8)
    bottom.bar(centres, bins["counts"], width=width * 0.9, color="tab:grey")
    bottom.set(xlabel="confidence of the predicted label", ylabel="rows")
    return _save(figure, path), round(float(bins["ece"]), 4)  # logged as a metric: 4 decimals read better in the UI


def per_target_figure(scores: dict[str, dict[str, float]], path: Path, title: str) -> Path:
    """Horizontal bars per target: macro-F1, and F_avg (mean F1 of favor and against) where the target has it."""
    import numpy as np

    plt = _pyplot()
    targets = sorted(scores)
    rows = np.arange(len(targets))
    figure, ax = plt.subplots(figsize=(7.0, max(2.5, 0.45 * len(targets) + 1.4)))
    ax.barh(rows - 0.2, [scores[t]["macro_f1"] for t in targets], height=0.4, label="macro-F1")
    f_avg = [scores[t].get("f_avg", np.nan) for t in targets]
    if not np.all(np.isnan(f_avg)):
        ax.barh(rows + 0.2, f_avg, height=0.4, label="F_avg (favor, against)")
    ax.set_yticks(rows, [f"{t} (n={int(scores[t]['rows'])})" for t in targets])
    ax.invert_yaxis()
    ax.set(xlim=(0, 1), xlabel="F1")
    ax.set_title(title, fontsize=10)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)  # beside the bars, never over them
    ax.grid(axis="x", alpha=0.3)
    return _save(figure, path)


def evaluation_figures(
    folder: Path,
    split: str,
    title: str,
    gold: Sequence[str],
    predicted: Sequence[str],
    labels: Sequence[str],
    probabilities: np.ndarray | None = None,
    targets: Sequence[str] | None = None,
) -> tuple[list[Path], dict[str, float]]:
    """Every figure of one evaluated split, written to `folder` as `<split>_<figure>.png`, and the metrics they
    measure on the way (`ece`). Without probabilities (an old caller), the confusion matrix alone."""
    import numpy as np

    from toolkit.metrics import per_target_scores

    caption = f"{title} ({split})"
    paths = [confusion_figure(gold, predicted, labels, folder / f"{split}_confusion_matrix.png", caption)]
    extra: dict[str, float] = {}
    if probabilities is not None and len(gold):
        probabilities = np.asarray(probabilities)
        paths.append(
            precision_recall_figure(gold, probabilities, labels, folder / f"{split}_precision_recall.png", caption)
        )
        correct = np.asarray(gold) == np.asarray(predicted)
        png, extra["ece"] = reliability_figure(
            probabilities.max(axis=1), correct, folder / f"{split}_reliability.png", caption
        )
        paths.append(png)
    if targets is not None and len(set(targets)) > 1:
        scores = per_target_scores(gold, predicted, labels, targets)
        paths.append(per_target_figure(scores, folder / f"{split}_per_target_f1.png", caption))
    return paths, extra
