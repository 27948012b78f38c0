"""Relation features of (target, text) pairs: values checked by hand, exact save/load with all of them on."""

from pathlib import Path

import numpy as np
import pytest

from toolkit.backends.tfidf.model import TfidfBackend, TfidfParams
from toolkit.backends.tfidf.pair_features import cue_rates, one_hot_bins, transform_unique, word_overlap
from toolkit.data.types import Examples
from toolkit.models.folder import load_model, save_model

ALL_PAIR_FEATURES = {
    "pair_char_similarity": True,
    "pair_lead_chars": 40,
    "pair_overlap": True,
    "pair_bins": 5,
    "pair_cues": True,
    "pair_gated_text": True,
    "char_ngrams": [2, 4],
    "char_analyzer": "char",
    "target_blocks": 2,
    "target_block_min_rows": 2,
    "target_block_char": True,
    "target_block_weight": 2.0,
}
BODIES = [
    "The mayor confirmed the bridge will close for repairs next week. Traffic will be diverted.",
    "Officials denied reports that the bridge would close; the claim is false, they said.",
    "A local team won the cup final after extra time in a tense match.",
]
PAIRS = Examples(
    texts=[BODIES[0], BODIES[1], BODIES[2], BODIES[0], BODIES[1], BODIES[2]] * 2,
    targets=[
        "Bridge to close next week",
        "Bridge to close next week",
        "Bridge to close next week",
        "Team wins cup final",
        "Team wins cup final",
        "Team wins cup final",
    ]
    * 2,
    labels=["agree", "disagree", "unrelated", "unrelated", "unrelated", "discuss"] * 2,
)


def test_word_overlap_counts_content_words_by_hand() -> None:
    # target content words {bridge, close, week}; text has bridge and week -> 2/3; union has 5 -> 2/5
    overlap = word_overlap(["the bridge will close this week"], ["a bridge opened on monday week"])
    np.testing.assert_allclose(overlap, [[2 / 3, 2 / 5]])


def test_cue_rates_by_hand() -> None:
    # content words: officials, denied, claim, false -> 2 refuting (denied, false), 1 hedging (claim)
    rates = cue_rates(["fake bridge story"], ["Officials denied the claim as false"])
    np.testing.assert_allclose(rates, [[10 * 2 / 4, 10 * 1 / 4, 1.0, 0.0]])


def test_one_hot_bins_put_each_value_in_one_bin_per_column() -> None:
    bins = one_hot_bins(np.array([[0.0, 1.0], [0.55, 0.2]]), 4).toarray()
    assert bins.tolist() == [[1, 0, 0, 0, 0, 0, 0, 1], [0, 0, 1, 0, 1, 0, 0, 0]]


def test_transform_unique_equals_plain_transform() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer().fit(BODIES)
    texts = [BODIES[1], BODIES[0], BODIES[1], BODIES[2], BODIES[1]]
    np.testing.assert_allclose(transform_unique(vectorizer, texts).toarray(), vectorizer.transform(texts).toarray())


def test_all_pair_features_fit_and_round_trip_exactly(tmp_path: Path) -> None:
    model = TfidfBackend(TfidfParams(**ALL_PAIR_FEATURES), "stance", seed=0).fit(PAIRS)
    assert model.predict(PAIRS.texts, PAIRS.targets) == PAIRS.labels
    save_model(model, tmp_path / "model")
    loaded = load_model(tmp_path / "model")
    # the loaded model answers on the NumPy path (light.py), whose sums run in another order than SciPy's
    np.testing.assert_allclose(
        loaded.predict_proba(PAIRS.texts, PAIRS.targets),
        model.predict_proba(PAIRS.texts, PAIRS.targets),
        rtol=0,
        atol=1e-12,
    )
    assert loaded.features.pair == model.features.pair and model.features.pair["bins"] == 5


def test_relation_features_change_with_the_target_only() -> None:
    model = TfidfBackend(TfidfParams(**ALL_PAIR_FEATURES), "stance", seed=0).fit(PAIRS)
    related = model.features.transform([BODIES[0]], ["Bridge to close next week"])
    unrelated = model.features.transform([BODIES[0]], ["Team wins cup final"])
    assert (related != unrelated).nnz > 0


def test_unknown_saved_pair_setting_is_refused(tmp_path: Path) -> None:
    import json

    from toolkit.errors import ModelLoadError

    model = TfidfBackend(TfidfParams(**ALL_PAIR_FEATURES), "stance", seed=0).fit(PAIRS)
    folder = save_model(model, tmp_path / "model") and tmp_path / "model"
    settings = json.loads((folder / "tfidf.json").read_text())
    settings["pair"]["exec"] = "import os"
    (folder / "tfidf.json").write_text(json.dumps(settings))
    with pytest.raises(ModelLoadError):
        load_model(folder)


def test_linear_svm_head_is_linear_calibrated_and_round_trips(tmp_path: Path) -> None:
    params = TfidfParams(**ALL_PAIR_FEATURES, classifier="linear_svm", C=1.0)
    plain = TfidfBackend(params, "stance", seed=0).fit(PAIRS)
    calibrated = TfidfBackend(params, "stance", seed=0).fit(PAIRS, PAIRS)
    # a temperature rescales the margins: same predictions, different (fitted) confidence
    assert calibrated.predict(PAIRS.texts, PAIRS.targets) == plain.predict(PAIRS.texts, PAIRS.targets) == PAIRS.labels
    ratio = plain.coef / calibrated.coef
    np.testing.assert_allclose(ratio[np.isfinite(ratio)], ratio[np.isfinite(ratio)].flat[0])
    save_model(calibrated, tmp_path / "model")
    np.testing.assert_allclose(  # loaded: the NumPy path, as above
        load_model(tmp_path / "model").predict_proba(PAIRS.texts, PAIRS.targets),
        calibrated.predict_proba(PAIRS.texts, PAIRS.targets),
        rtol=0,
        atol=1e-12,
    )
