"""Stance features that carry over to targets unseen in training (FNC-1's new claims): the sentence encoder's
similarities of target and text, and a model without the target's own n-grams; plus the per-process memo
that lets cross-validation refit on the same texts without encoding them again."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import ROOT, STANCE, rehash, tiny_encoder_path
from toolkit.backends.reuse import reusing_features
from toolkit.backends.tfidf.embeddings import SentenceEncoder
from toolkit.backends.tfidf.model import TfidfBackend, TfidfParams
from toolkit.config import load_config
from toolkit.errors import ConfigError, ModelLoadError
from toolkit.models.folder import load_model, save_model


def params(**extra: object) -> TfidfParams:
    return TfidfParams(char_ngrams=None, target_blocks=0, **extra)


def similarity_params(**extra: object) -> TfidfParams:
    return params(embeddings=tiny_encoder_path(), embedding_max_length=32, pair_embedding_similarity=True, **extra)


def test_similarity_is_the_cosine_of_target_and_text_vectors() -> None:
    encoder = SentenceEncoder.load(tiny_encoder_path(), max_length=32)
    targets = ["The keeper saved a penalty.", "The keeper saved a penalty.", "bank rates"]
    texts = ["The keeper saved a penalty.", "Bank rates rose again this week.", "Bank rates rose again this week."]
    found = encoder.similarities(targets, texts)
    assert found.shape == (3, 1)
    assert found[0, 0] == pytest.approx(1.0, abs=1e-5), "a text compared with itself"
    expected = [float(encoder.encode([t])[0] @ encoder.encode([x])[0]) for t, x in zip(targets, texts, strict=True)]
    np.testing.assert_allclose(found[:, 0], expected, atol=1e-6)
    assert found[2, 0] > found[1, 0], "the related pair is the closer one"


def counting(encoder: SentenceEncoder) -> list[str]:
    """The texts `encoder` sends through its network from now on."""
    sent: list[str] = []
    original = encoder.encode_new

    def encode_new(texts: list[str]) -> np.ndarray:
        sent.extend(texts)
        return original(texts)

    encoder.encode_new = encode_new  # type: ignore[method-assign]
    return sent


def test_inside_a_reuse_block_a_second_encoder_with_the_same_files_encodes_nothing_again() -> None:
    texts = ["memo check: goals and rates", "memo check: a second text"]
    with reusing_features():
        first = SentenceEncoder.load(tiny_encoder_path(), max_length=32)
        vectors = first.encode(texts)
        with reusing_features():  # nested (a study's cross-validation): the same store
            again = SentenceEncoder.load(tiny_encoder_path(), max_length=32)
            assert again.fingerprint == first.fingerprint
            sent = counting(again)
            np.testing.assert_array_equal(again.encode(list(reversed(texts))), vectors[::-1])
            assert sent == []
        shorter = SentenceEncoder.load(tiny_encoder_path(), max_length=8)
        assert shorter.fingerprint != first.fingerprint, "vectors depend on how much of a text is read"
    outside = SentenceEncoder.load(tiny_encoder_path(), max_length=32)
    sent = counting(outside)
    np.testing.assert_allclose(outside.encode(texts), vectors, atol=1e-6)
    assert sent == texts, "outside a block nothing is kept: a timed prediction pays the full cost"


def test_shorter_reads_are_encoded_afresh_inside_a_block() -> None:
    with reusing_features():
        SentenceEncoder.load(tiny_encoder_path(), max_length=32).encode(["a text read twice over"])
        shorter = SentenceEncoder.load(tiny_encoder_path(), max_length=8)
        sent = counting(shorter)
        shorter.encode(["a text read twice over"])
        assert sent == ["a text read twice over"]


@pytest.mark.parametrize("embedding_text", [True, False])
def test_similarity_adds_one_relation_column_and_survives_save_and_load(embedding_text: bool, tmp_path: Path) -> None:
    """With the text's own vector (embedding_text) or with the encoder only comparing target and text."""
    encoder_text = {"embeddings": tiny_encoder_path(), "embedding_max_length": 32} if embedding_text else {}
    without = TfidfBackend(params(**encoder_text), "stance").fit(STANCE)
    model = TfidfBackend(similarity_params(embedding_text=embedding_text), "stance").fit(STANCE)
    width = model.features.transform(STANCE.texts, STANCE.targets).shape[1]
    assert width == without.features.transform(STANCE.texts, STANCE.targets).shape[1] + 1
    save_model(model, tmp_path / "m")
    saved = json.loads((tmp_path / "m" / "tfidf.json").read_text())
    assert saved["pair"]["embedding_similarity"] is True and saved["embeddings"]["text"] is embedding_text
    loaded = load_model(tmp_path / "m")
    np.testing.assert_allclose(
        loaded.predict_proba(STANCE.texts, STANCE.targets), model.predict_proba(STANCE.texts, STANCE.targets), atol=1e-6
    )


def test_similarity_without_an_encoder_is_refused_in_params_and_in_a_model_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="pair_embedding_similarity needs `embeddings`"):
        params(pair_embedding_similarity=True)
    with pytest.raises(ValueError, match="embedding_text: false leaves the encoder unused"):
        params(embeddings=tiny_encoder_path(), embedding_text=False)
    with pytest.raises(ConfigError, match="^[^:]+: 'backend.params': pair_embedding_similarity needs `embeddings`"):
        load_config(ROOT / "configs" / "stance_tfidf.yaml", ["backend.params.pair_embedding_similarity=true"])
    save_model(TfidfBackend(params(), "stance").fit(STANCE), tmp_path / "m")
    settings = tmp_path / "m" / "tfidf.json"
    saved = json.loads(settings.read_text())
    saved["pair"]["embedding_similarity"] = True
    settings.write_text(json.dumps(saved))
    rehash(tmp_path / "m")  # a consistent, crafted folder: the settings check must catch it, not the hashes
    with pytest.raises(ModelLoadError, match="embedding_similarity needs the embeddings section"):
        load_model(tmp_path / "m")


def test_without_target_ngrams_a_model_reads_targets_only_through_the_relation(tmp_path: Path) -> None:
    with_ngrams = TfidfBackend(params(), "stance").fit(STANCE)
    without = TfidfBackend(params(pair_target_ngrams=False), "stance").fit(STANCE)
    target_terms = len(with_ngrams.features.target.vocabulary_)
    assert target_terms > 0
    width = without.features.transform(STANCE.texts, STANCE.targets).shape[1]
    assert width == with_ngrams.features.transform(STANCE.texts, STANCE.targets).shape[1] - target_terms
    # the same text against two targets: only the relation features can tell the rows apart
    unseen = ["we strongly support the talks", "we strongly support the talks"]
    rows = without.features.transform(unseen, ["arms control talks", "a target nobody trained on"]).toarray()
    assert not np.array_equal(rows[0], rows[1])
    save_model(without, tmp_path / "m")
    loaded = load_model(tmp_path / "m")  # the NumPy-only path
    assert type(loaded.features).__name__ == "PlainFeatures"
    np.testing.assert_allclose(
        loaded.predict_proba(STANCE.texts, STANCE.targets),
        without.predict_proba(STANCE.texts, STANCE.targets),
        atol=1e-9,
    )
