"""The contract every registered backend must meet (run over the whole registry)."""

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import STANCE, TOPIC, tiny_transformer_params
from toolkit.backends import available_backends, get_backend
from toolkit.data.types import Examples
from toolkit.models.folder import load_model, save_model


def backends_to_test() -> list[str]:
    names = []
    for name in available_backends():
        try:
            get_backend(name)
        except ImportError:
            continue
        names.append(name)
    return names


def fit(name: str, task: str, data: Examples):
    backend_class = get_backend(name)
    params = TINY_PARAMS.get(name, {})
    params = params() if callable(params) else params  # built on first use (the tiny encoder is a folder)
    params = backend_class.Params.model_validate(params)
    return backend_class(params, task, seed=0).fit(data, data)


TINY_PARAMS: dict[str, dict | Callable[[], dict]] = {
    "tfidf": {"char_ngrams": None},
    "transformer": tiny_transformer_params,
    "ensemble": {
        "members": [
            {"name": "tfidf", "params": {"char_ngrams": None}},
            {"name": "tfidf", "params": {"word_ngrams": [1, 1], "char_ngrams": [2, 4]}},
        ]
    },
}


@pytest.mark.parametrize("name", backends_to_test())
@pytest.mark.parametrize(("task", "data"), [("topic", TOPIC), ("stance", STANCE)])
def test_backend_contract(name: str, task: str, data: Examples, tmp_path: Path) -> None:
    model = fit(name, task, data)
    assert sorted(model.labels) == sorted(set(data.labels))
    probabilities = model.predict_proba(data.texts, data.targets)
    assert probabilities.shape == (len(data), len(model.labels))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)
    assert model.predict(data.texts, data.targets) == data.labels, "overfits its own tiny training set"
    save_model(model, tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    np.testing.assert_allclose(loaded.predict_proba(data.texts, data.targets), probabilities, atol=1e-6)
    single = loaded.predict_proba(data.texts[:1], data.targets[:1] if data.targets else None)
    np.testing.assert_allclose(single[0], probabilities[0], atol=1e-6)


@pytest.mark.parametrize("name", backends_to_test())
def test_unknown_parameter_is_rejected(name: str) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        get_backend(name).Params.model_validate({"no_such_parameter": 1})


def test_tfidf_probabilities_equal_sklearn_logistic_regression() -> None:
    from sklearn.linear_model import LogisticRegression

    from toolkit.backends.tfidf.model import TfidfBackend, TfidfParams

    for data in (TOPIC, Examples(TOPIC.texts[:4], TOPIC.labels[:4])):  # multiclass and binary heads
        model = TfidfBackend(TfidfParams(char_ngrams=None), "topic").fit(data)
        features = model.features.transform(data.texts, None)
        reference = LogisticRegression(C=10.0, class_weight="balanced", max_iter=3000, random_state=0)
        reference.fit(features, data.labels)
        np.testing.assert_allclose(model.predict_proba(data.texts), reference.predict_proba(features), atol=1e-9)


def test_tfidf_flags_texts_without_known_words() -> None:
    model = fit("tfidf", "topic", TOPIC)
    mask = model.unknown_text_mask(["the striker scored", "zzzz qqqq", "", "Стратегия переговоров"])
    assert mask.tolist() == [False, True, True, True]


def test_tfidf_stance_uses_the_target() -> None:
    model = fit("tfidf", "stance", STANCE)
    text = ["we strongly support the talks"]
    first = model.predict_proba(text, ["arms control talks"])
    second = model.predict_proba(text, ["nuclear energy"])
    assert not np.allclose(first, second), "changing only the target changes the prediction"


def test_tfidf_training_is_deterministic() -> None:
    one = fit("tfidf", "stance", STANCE).predict_proba(STANCE.texts, STANCE.targets)
    two = fit("tfidf", "stance", STANCE).predict_proba(STANCE.texts, STANCE.targets)
    np.testing.assert_array_equal(one, two)


def test_tfidf_probabilities_and_unknown_flags_come_from_one_pass() -> None:
    """Scoring asks for both; the word features are computed once, and the answers equal the separate calls."""
    model = fit("tfidf", "topic", TOPIC)
    texts = ["the striker scored", "zzzz qqqq", "bank rates rise"]
    calls = []
    word = model.features.word
    original = word.transform
    word.transform = lambda documents: calls.append(len(documents)) or original(documents)
    probabilities, unknown = model.predict_with_unknown(texts)
    assert len(calls) == 1
    np.testing.assert_array_equal(probabilities, model.predict_proba(texts))
    assert unknown.tolist() == model.unknown_text_mask(texts).tolist() == [False, True, False]
