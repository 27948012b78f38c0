"""The NumPy-only prediction path gives the fitted scikit-learn pipeline's probabilities to 1e-9, for every
tfidf config in configs/ (its backend params fitted on tiny synthetic data) and for the awkward texts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.helpers import ROOT, TARGETS, make_rows
from toolkit.backends.tfidf.features import TfidfFeatures
from toolkit.backends.tfidf.light import PlainVectorizer, Rows, char_wb_ngrams, supports
from toolkit.backends.tfidf.light_features import PlainFeatures
from toolkit.backends.tfidf.model import TfidfBackend, TfidfModel, TfidfParams
from toolkit.backends.tfidf.pair_features import english_stop_words
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


def fitted(config: Path, task: str, tmp_path: Path) -> tuple[TfidfModel, TfidfModel]:
    """The config's backend params fitted on synthetic rows (the scikit-learn pipeline, in memory) and the same
    model saved and loaded back (which takes the NumPy-only path)."""
    from toolkit.models.folder import load_model, save_model

    params = dict(load_config(config).backend.params)
    params.update(min_df=1, max_features=None, target_block_min_rows=2)
    for encoder_setting in ("embeddings", "embedding_text", "pair_embedding_similarity"):  # the plain path has none
        params.pop(encoder_setting, None)
    rows = make_rows(120)
    label = "stance" if task == "stance" else "topic"
    targets = [r["target"] for r in rows] if task == "stance" else None
    train = Examples([r["text"] for r in rows], [r[label] for r in rows], targets)
    model = TfidfBackend(TfidfParams.model_validate(params), task, seed=0).fit(train, train)
    save_model(model, tmp_path / "m")
    return model, load_model(tmp_path / "m")  # type: ignore[return-value]


@pytest.mark.parametrize("config", TFIDF_CONFIGS, ids=lambda p: p.stem)
@pytest.mark.parametrize("task", ["topic", "stance"])
def test_plain_path_gives_the_pipelines_probabilities(config: Path, task: str, tmp_path: Path) -> None:
    model, loaded = fitted(config, task, tmp_path)
    assert isinstance(model.features, TfidfFeatures) and isinstance(loaded.features, PlainFeatures)
    texts = [r["text"] for r in make_rows(40, seed=7)] + AWKWARD
    targets = [TARGETS[i % 2] if i % 5 else "a target nobody trained on" for i in range(len(texts))]
    expected = model.predict_with_unknown(texts, targets if task == "stance" else None)
    got = loaded.predict_with_unknown(texts, targets if task == "stance" else None)
    np.testing.assert_allclose(got[0], expected[0], rtol=0, atol=1e-9)
    np.testing.assert_array_equal(got[1], expected[1])
    np.testing.assert_array_equal(loaded.unknown_text_mask(texts), expected[1])


def test_long_text_is_counted_in_the_same_pieces(tmp_path: Path) -> None:
    model, loaded = fitted(TFIDF_CONFIGS[0], "topic", tmp_path)
    text = " ".join(make_rows(1)[0]["text"] for _ in range(2500))  # > 200 000 characters
    assert len(text) > 200_000
    np.testing.assert_allclose(loaded.predict_proba([text]), model.predict_proba([text]), rtol=0, atol=1e-9)


def test_loading_a_tfidf_model_imports_no_scikit_learn(tmp_path: Path) -> None:
    import subprocess
    import sys

    fitted(TFIDF_CONFIGS[0], "stance", tmp_path)
    code = (
        "import sys; from toolkit.models.folder import load_model; m = load_model(sys.argv[1]); "
        "m.predict_with_unknown(['arms control talks resume'], ['arms control talks']); "
        "print(sorted({'sklearn', 'scipy', 'pandas', 'mlflow', 'torch'} & set(sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path / "m")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


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


@pytest.mark.parametrize("empty", [[], [0], [2], [4], [0, 1, 4], [0, 1, 2, 3, 4]])
def test_rows_times_a_head_equals_the_dense_product_with_empty_rows_anywhere(empty: list[int]) -> None:
    """The segment sums skip rows with no entry (a text with no known term): first, middle, last or all."""
    rng = np.random.default_rng(0)
    dense = rng.random((5, 9)) * (rng.random((5, 9)) < 0.4)
    dense[empty] = 0.0
    head = rng.normal(size=(3, 9))
    np.testing.assert_allclose(Rows.from_dense(dense) @ head.T, dense @ head.T, rtol=0, atol=1e-12)


def test_a_rows_answer_does_not_depend_on_the_other_rows_in_its_batch(tmp_path: Path) -> None:
    """Regression: target blocks once rewrote the shared word block in place when a row's target had no
    block, so the rows after it in the same batch got shifted word features."""
    for model in fitted(TFIDF_CONFIGS[0], "stance", tmp_path):
        texts = [r["text"] for r in make_rows(6, seed=3)]
        targets = ["a target nobody trained on", *[TARGETS[i % 2] for i in range(5)]]
        together = model.predict_proba(texts, targets)
        alone = np.vstack([model.predict_proba([t], [g]) for t, g in zip(texts, targets, strict=True)])
        np.testing.assert_allclose(together, alone, rtol=0, atol=1e-12)


def test_a_loaded_model_saves_again_unchanged(tmp_path: Path) -> None:
    from toolkit.models.folder import load_model, save_model

    _, loaded = fitted(TFIDF_CONFIGS[0], "stance", tmp_path)
    save_model(loaded, tmp_path / "again")
    from safetensors.numpy import load_file

    before, after = (
        load_file(str(tmp_path / "m" / "tfidf.safetensors")),
        load_file(str(tmp_path / "again" / "tfidf.safetensors")),
    )
    assert before.keys() == after.keys() and all(np.array_equal(before[k], after[k]) for k in before)
    texts, targets = ["arms control talks resume"], ["arms control talks"]
    np.testing.assert_array_equal(
        load_model(tmp_path / "again").predict_proba(texts, targets), loaded.predict_proba(texts, targets)
    )
