"""The NumPy-only prediction path gives the fitted scikit-learn pipeline's probabilities to 1e-9, for every
tfidf config in configs/ (its backend params fitted on tiny synthetic data) and for the awkward texts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import ROOT, TARGETS, make_rows
from toolkit.backends.tfidf.features import TfidfFeatures
from toolkit.backends.tfidf.light import PlainVectorizer, char_wb_ngrams, supports
from toolkit.backends.tfidf.light_features import PlainFeatures, english_stop_words
from toolkit.backends.tfidf.model import ARRAYS_FILE, SETTINGS_FILE, TfidfBackend, TfidfModel, TfidfParams
from toolkit.config import load_config
from toolkit.data.types import Examples

TFIDF_CONFIGS = sorted(p for p in (ROOT / "configs").glob("*.yaml") if load_config(p).backend.name == "tfidf")
AWKWARD = [
    "",
    "   ",
    "#StopTheTalks #ArmsControlNow now!!",
    "İstanbul ÅNGSTRÖM straße \t\n  spaced     out",
    "a b c d",  # only one-letter words: no word token at all
    "x" * 20 + " " + "arms control talks " * 3,
]


def fitted(config: Path, task: str, tmp_path: Path) -> TfidfModel:
    """A model with the config's backend params, fitted on synthetic rows and saved, loaded the sklearn way."""
    from toolkit.models.folder import load_model, save_model

    params = dict(load_config(config).backend.params)
    params.update(min_df=1, max_features=None, target_block_min_rows=2)
    params.pop("embeddings", None)
    rows = make_rows(120)
    label = "stance" if task == "stance" else "topic"
    train = Examples(
        [r["text"] for r in rows], [r[label] for r in rows], [r["target"] for r in rows] if task == "stance" else None
    )
    backend = TfidfBackend(TfidfParams.model_validate(params), task, seed=0)
    save_model(backend.fit(train, train), tmp_path / "m")
    return load_model(tmp_path / "m")  # type: ignore[return-value]


def plain_twin(model: TfidfModel, folder: Path) -> TfidfModel:
    from safetensors.numpy import load_file

    settings = json.loads((folder / SETTINGS_FILE).read_text(encoding="utf-8"))
    assert supports(settings)
    features = PlainFeatures(settings, load_file(str(folder / ARRAYS_FILE)))
    return TfidfModel(model.task, model.labels, model.params, features, model.coef, model.intercept)  # type: ignore[arg-type]


@pytest.mark.parametrize("config", TFIDF_CONFIGS, ids=lambda p: p.stem)
@pytest.mark.parametrize("task", ["topic", "stance"])
def test_plain_path_gives_the_pipelines_probabilities(config: Path, task: str, tmp_path: Path) -> None:
    model = fitted(config, task, tmp_path)
    assert isinstance(model.features, TfidfFeatures)
    twin = plain_twin(model, tmp_path / "m")
    texts = [r["text"] for r in make_rows(40, seed=7)] + AWKWARD
    targets = [TARGETS[i % 2] if i % 5 else "a target nobody trained on" for i in range(len(texts))]
    expected = model.predict_with_unknown(texts, targets if task == "stance" else None)
    got = twin.predict_with_unknown(texts, targets if task == "stance" else None)
    np.testing.assert_allclose(got[0], expected[0], rtol=0, atol=1e-9)
    np.testing.assert_array_equal(got[1], expected[1])


def test_long_text_is_counted_in_the_same_pieces(tmp_path: Path) -> None:
    model = fitted(TFIDF_CONFIGS[0], "topic", tmp_path)
    text = " ".join(make_rows(1)[0]["text"] for _ in range(2500))  # > 200 000 characters
    assert len(text) > 200_000
    np.testing.assert_allclose(
        plain_twin(model, tmp_path / "m").predict_proba([text]), model.predict_proba([text]), rtol=0, atol=1e-9
    )


@pytest.mark.parametrize(
    "analyzer, ngrams", [("word", (1, 3)), ("word", (2, 2)), ("char_wb", (1, 5)), ("char", (2, 4))]
)
def test_vectorizer_rows_equal_sklearn(analyzer: str, ngrams: tuple[int, int]) -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = [r["text"] for r in make_rows(30)] + AWKWARD
    fitted_vectorizer = TfidfVectorizer(analyzer=analyzer, ngram_range=ngrams, sublinear_tf=True).fit(texts[:20])
    vocabulary = sorted(fitted_vectorizer.vocabulary_, key=fitted_vectorizer.vocabulary_.__getitem__)
    init = {k: v for k, v in fitted_vectorizer.get_params().items() if k != "dtype"}
    plain = PlainVectorizer({"init": init, "vocabulary": vocabulary}, fitted_vectorizer.idf_)
    rows = plain.transform(texts)
    dense = np.zeros(rows.shape)
    dense[rows.row_ids(), rows.indices] = rows.data
    np.testing.assert_allclose(dense, fitted_vectorizer.transform(texts).toarray(), rtol=0, atol=1e-12)


@pytest.mark.parametrize("text", ["a", "ab", "abc", "a  b\tcd", "  ", "İx"])
def test_char_wb_ngrams_equal_sklearns_analyzer(text: str) -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    for low, high in [(1, 1), (2, 4), (3, 3), (2, 5)]:
        analyzer = TfidfVectorizer(analyzer="char_wb", ngram_range=(low, high), lowercase=False).build_analyzer()
        assert char_wb_ngrams(text, low, high) == analyzer(text)


def test_stop_words_are_sklearns_without_importing_it() -> None:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    assert english_stop_words() == ENGLISH_STOP_WORDS


def test_settings_the_plain_path_cannot_reproduce_are_refused() -> None:
    word = {"init": {"analyzer": "word", "ngram_range": [1, 2]}, "vocabulary": []}
    assert supports({"vectorizers": {"word": word}})
    assert not supports({"vectorizers": {"word": {**word, "init": {**word["init"], "strip_accents": "ascii"}}}})
    assert not supports({"vectorizers": {"word": word}, "embeddings": {"weight": 1.0}})


def test_a_rows_answer_does_not_depend_on_the_other_rows_in_its_batch(tmp_path: Path) -> None:
    """Regression: target blocks once rewrote the shared word block in place when a row's target had no
    block, so the rows after it in the same batch got shifted word features."""
    model = fitted(TFIDF_CONFIGS[0], "stance", tmp_path)
    texts = [r["text"] for r in make_rows(6, seed=3)]
    targets = ["a target nobody trained on", *[TARGETS[i % 2] for i in range(5)]]
    together = model.predict_proba(texts, targets)
    alone = np.vstack([model.predict_proba([text], [target]) for text, target in zip(texts, targets, strict=True)])
    np.testing.assert_allclose(together, alone, rtol=0, atol=1e-12)
