"""The plain transformers.Trainer cross-encoder baseline, fitted on the tiny encoder and rows written here."""

from __future__ import annotations

import pytest

from tests.helpers import tiny_encoder_path
from toolkit.bench.trainer_baseline import fit_trainer_cross_encoder, trainer_train
from toolkit.data.types import Examples

KEYWORDS = {"favor": "support welcome praise", "against": "oppose reject condemn", "none": "report schedule meeting"}


def keyword_rows(per_label: int = 4) -> Examples:
    """Stance rows whose label is given away by its keywords, for each of two targets: trivially separable."""
    texts, labels, targets = [], [], []
    for target in ("nuclear energy", "arms control talks"):
        for label, words in KEYWORDS.items():
            first, second, third = words.split()
            pairs = [(first, second), (second, third), (third, first)]
            for i in range(per_label):
                texts.append(f"{pairs[i % 3][0]} {pairs[i % 3][1]} the plan")
                labels.append(label)
                targets.append(target)
    return Examples(texts=texts, labels=labels, targets=targets)


def test_predictor_returns_one_training_label_per_row() -> None:
    train = keyword_rows(2)
    rows = Examples(texts=["we support it", "we oppose it", "a meeting"], labels=["?"] * 3, targets=["x"] * 3)
    predicted = fit_trainer_cross_encoder(train, tiny_encoder_path(), max_length=32)(rows)
    assert len(predicted) == len(rows)
    assert set(predicted) <= set(train.labels)


def test_topic_rows_are_read_as_single_texts() -> None:
    train = Examples(texts=["the goal in the match", "bank rates rise"] * 2, labels=["sports", "economy"] * 2)
    predicted = fit_trainer_cross_encoder(train, tiny_encoder_path(), max_length=16)(train)
    assert len(predicted) == len(train) and set(predicted) <= {"sports", "economy"}


@pytest.mark.slow
def test_fitted_predictor_beats_the_majority_class_on_separable_rows() -> None:
    train = keyword_rows()
    predicted = fit_trainer_cross_encoder(train, tiny_encoder_path(), max_length=32, epochs=150)(train)
    accuracy = sum(p == g for p, g in zip(predicted, train.labels, strict=True)) / len(train)
    assert accuracy >= 0.6  # the majority class scores 1/3; seeds 0-3 reach 0.75-1.0 here


@pytest.mark.slow
def test_one_seed_gives_the_same_fit_twice() -> None:
    import torch

    train, encoder = keyword_rows(2), tiny_encoder_path()
    first, _, _ = trainer_train(sorted(set(train.labels)), train, encoder, 32, epochs=5, seed=3)
    second, _, _ = trainer_train(sorted(set(train.labels)), train, encoder, 32, epochs=5, seed=3)
    weights = second.state_dict()
    assert all(torch.equal(tensor, weights[name]) for name, tensor in first.state_dict().items())
    predictor = fit_trainer_cross_encoder(train, encoder, max_length=32, epochs=5, seed=3)
    assert predictor(train) == fit_trainer_cross_encoder(train, encoder, max_length=32, epochs=5, seed=3)(train)
