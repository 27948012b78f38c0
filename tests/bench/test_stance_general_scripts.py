"""The general stance model's benchmark scripts on tiny data with stub predictors (no model, no real data)."""

from __future__ import annotations

from experiments.benchmarks import stance_general_heldout as heldout
from toolkit.data.types import Examples


def held_out_rows() -> Examples:
    """Two sources; target 'a' has 30 rows (two labels), 'b' 30 rows of one label, 'c' 5 rows."""
    texts, labels, targets, sources = [], [], [], []
    for target, n, source, both in (("a", 30, "ibm", True), ("b", 30, "vast", False), ("c", 5, "vast", True)):
        for i in range(n):
            texts.append(f"{target} text {i}")
            labels.append(("favor", "against")[i % 2] if both else "none")
            targets.append(target)
            sources.append(source)
    return Examples(texts, labels, targets, sources=sources)


def test_curve_targets_need_enough_rows_and_two_labels() -> None:
    rows = held_out_rows()
    assert [(s, t) for s, t, _ in heldout.curve_targets(rows, k_max=8, count=5, seed=0)] == [("ibm", "a")]
    assert heldout.curve_targets(rows, k_max=32, count=5, seed=0) == []


def test_held_out_figures_per_source_and_relevance() -> None:
    rows = held_out_rows()
    always_none = heldout.held_out_figures(lambda ex: ["none"] * len(ex), rows, seed=0)
    assert always_none["relevance_none_share"] == 1.0 and always_none["relevance_pairs"] == len(rows)
    assert always_none["vast"]["n"] == 35 and always_none["vast"]["targets"] == 2
    assert always_none["ibm"]["macro_f1"] == 0.0  # ibm rows are favor/against only
    echo = heldout.held_out_figures(lambda ex: list(ex.labels), rows, seed=0)
    assert echo["ibm"]["macro_f1"] == 1.0 and echo["relevance_none_share"] == 1.0  # pairs are labeled none


def test_curve_means_average_each_side_per_k() -> None:
    curve = [
        {"k": 8, "zero_shot": 0.2, "adapted": 0.6, "scratch": 0.4},
        {"k": 8, "zero_shot": 0.4, "adapted": 0.8, "scratch": 0.2},
    ]
    assert heldout.curve_means(curve, [8]) == {"8": {"zero_shot": 0.3, "adapted": 0.7, "scratch": 0.3}}
