"""decision_metric: class offsets learned on held-out predictions so the decision serves the metric reported."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import STANCE, TOPIC, rehash
from toolkit.backends.ensemble.combine import fit_offsets
from toolkit.backends.ensemble.model import EnsembleBackend
from toolkit.backends.ensemble.params import EnsembleParams
from toolkit.errors import ConfigError, ModelLoadError
from toolkit.metrics import confusion_counts, confusion_score
from toolkit.models.folder import load_model, save_model

LABELS = ["common", "rare"]


def rare_class_underpredicted() -> tuple[np.ndarray, np.ndarray]:
    """Rare rows get p(rare) 0.4, common rows 0.1: the argmax never says rare, a shift in (0.41, 2.2) always does."""
    gold = np.array([0] * 90 + [1] * 10)
    rare = np.where(gold == 1, 0.4, 0.1)
    return np.column_stack([1 - rare, rare]), gold


def macro_f1(probabilities: np.ndarray, gold: np.ndarray, offsets: list[float]) -> float:
    predicted = (np.log(probabilities) + np.array(offsets)).argmax(axis=1)
    return confusion_score(confusion_counts(gold, predicted, 2), LABELS, "macro_f1")


def test_offsets_predict_the_rare_class_where_macro_f1_rewards_it() -> None:
    probabilities, gold = rare_class_underpredicted()
    offsets = fit_offsets(probabilities, gold, LABELS, "macro_f1")
    assert offsets[0] == 0.0 and np.log(0.6 / 0.4) < offsets[1] < np.log(0.9 / 0.1)
    assert macro_f1(probabilities, gold, [0.0, 0.0]) < 0.5 and macro_f1(probabilities, gold, offsets) == 1.0


def test_offsets_stay_zero_when_the_argmax_already_serves_the_metric() -> None:
    gold = np.array([0] * 90 + [1] * 10)
    probabilities = np.column_stack([np.where(gold == 0, 0.9, 0.2), np.where(gold == 0, 0.1, 0.8)])
    assert fit_offsets(probabilities, gold, LABELS, "macro_f1") == [0.0, 0.0]


def test_a_fitted_ensembles_offsets_are_saved_loaded_and_summarised(tmp_path: Path) -> None:
    members = [{"name": "tfidf", "params": {"char_ngrams": None}}]
    settings = EnsembleParams.model_validate({"members": members, "decision_metric": "macro_f1", "folds": 3})
    model = EnsembleBackend(settings, "stance", seed=0).fit(STANCE, None)
    offsets = model.combination.offsets
    assert offsets is not None and len(offsets) == len(model.labels) and offsets[0] == 0.0
    assert {f"offset.{label}" for label in model.labels} <= set(model.fit_summary())
    probabilities = model.predict_proba(STANCE.texts, STANCE.targets)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    unshifted = model.combination.combine(
        [member.predict_proba(STANCE.texts, STANCE.targets) for member in model.members]
    )
    expected = (np.log(np.clip(unshifted, 1e-12, None)) + np.array(offsets)).argmax(axis=1)
    assert probabilities.argmax(axis=1).tolist() == expected.tolist()
    save_model(model, tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    assert loaded.combination.offsets == offsets
    np.testing.assert_allclose(loaded.predict_proba(STANCE.texts, STANCE.targets), probabilities, atol=1e-12)

    settings_file = tmp_path / "m" / "ensemble.json"
    saved = json.loads(settings_file.read_text(encoding="utf-8"))
    settings_file.write_text(json.dumps(saved | {"offsets": offsets[:-1]}), encoding="utf-8")
    rehash(tmp_path / "m")  # a consistent folder whose offsets do not fit its labels
    with pytest.raises(ModelLoadError, match="offsets must be 3 finite numbers"):
        load_model(tmp_path / "m")


def test_a_decision_metric_the_labels_cannot_give_is_named() -> None:
    members = [{"name": "tfidf", "params": {"char_ngrams": None}}]
    settings = EnsembleParams.model_validate({"members": members, "decision_metric": "f_avg", "folds": 2})
    expected = r"backend.params.decision_metric f_avg: f_avg needs 'favor' and 'against' labels \(the labels: \["
    with pytest.raises(ConfigError, match=expected):
        EnsembleBackend(settings, "topic", seed=0).fit(TOPIC, None)
