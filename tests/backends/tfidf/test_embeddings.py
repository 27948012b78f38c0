"""tfidf extras for short social-media texts: hashtag words, and frozen sentence-embedding features
(exercised with the tiny offline encoder from tests/helpers.py)."""

import json
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import STANCE, TOPIC, tiny_encoder_path
from toolkit.backends.tfidf.features import prepare_texts
from toolkit.backends.tfidf.model import TfidfBackend, TfidfParams
from toolkit.errors import ModelLoadError
from toolkit.models.folder import load_model, save_model


def test_hashtags_are_split_into_their_words_and_kept() -> None:
    texts = ["Vote now #StopHillary2016 #feminism", "#NASAClimate data", "no tags here", "C# code"]
    assert prepare_texts(texts, split_hashtags=True) == [
        "Vote now #StopHillary2016 Stop Hillary 2016 #feminism",
        "#NASAClimate NASA Climate data",
        "no tags here",
        "C# code",
    ]
    assert prepare_texts(texts, split_hashtags=False) == texts


def test_split_hashtags_lets_a_model_read_words_joined_in_a_tag() -> None:
    data = TOPIC
    params = TfidfParams(char_ngrams=None, split_hashtags=True)
    model = TfidfBackend(params, "topic").fit(data)
    # "#InflationAndRates" is one unknown token without splitting; its words are economy words
    assert model.predict(["#InflationAndRates"]) == ["economy"]
    plain = TfidfBackend(TfidfParams(char_ngrams=None), "topic").fit(data)
    assert plain.unknown_text_mask(["#InflationAndRates"]).tolist() == [True]


def embedding_params(**extra: object) -> TfidfParams:
    return TfidfParams(char_ngrams=None, embeddings=tiny_encoder_path(), embedding_max_length=32, **extra)


def test_encoder_vectors_do_not_depend_on_batching() -> None:
    """Mean pooling must ignore padding: a text gets the same unit vector alone or beside longer texts."""
    from toolkit.backends.tfidf.embeddings import SentenceEncoder

    encoder = SentenceEncoder.load(tiny_encoder_path(), max_length=32, batch_size=3)
    texts = ["goal", "the keeper saved a penalty in the final minute of the match", "bank rates", "goal"]
    together = encoder.encode(texts)
    alone = np.vstack([encoder.encode([text]) for text in texts])
    assert together.shape == (4, encoder.dimension)
    np.testing.assert_allclose(together, alone, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1.0, rtol=1e-5)
    assert not np.allclose(together[0], together[1])


@pytest.mark.parametrize(("task", "data"), [("topic", TOPIC), ("stance", STANCE)])
def test_embedding_features_join_the_matrix_and_survive_save_and_load(task: str, data, tmp_path: Path) -> None:
    with_embeddings = TfidfBackend(embedding_params(), task).fit(data)
    without = TfidfBackend(TfidfParams(char_ngrams=None), task).fit(data)
    dimension = with_embeddings.features.encoder.dimension
    blocks = len(with_embeddings.features.blocks)
    extra = with_embeddings.features.transform(data.texts, data.targets).shape[1]
    extra -= without.features.transform(data.texts, data.targets).shape[1]
    assert extra == dimension * (1 + blocks), "shared embedding block plus one copy per target block"
    assert with_embeddings.predict(data.texts, data.targets) == data.labels

    manifest = save_model(with_embeddings, tmp_path / "m")
    assert "encoder/model.safetensors" in manifest["files"]
    assert all(not name.endswith((".bin", ".pt", ".pkl")) for name in manifest["files"])
    loaded = load_model(tmp_path / "m")
    np.testing.assert_allclose(
        loaded.predict_proba(data.texts, data.targets),
        with_embeddings.predict_proba(data.texts, data.targets),
        atol=1e-6,
    )
    assert json.loads((tmp_path / "m" / "tfidf.json").read_text())["embeddings"]["max_length"] == 32


def test_tampered_encoder_weights_are_refused(tmp_path: Path) -> None:
    model = TfidfBackend(embedding_params(), "topic").fit(TOPIC)
    save_model(model, tmp_path / "m")
    weights = tmp_path / "m" / "encoder" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-8] + b"\0" * 8)
    with pytest.raises(ModelLoadError, match="sha256"):
        load_model(tmp_path / "m")


def test_missing_encoder_is_a_clear_error(tmp_path: Path) -> None:
    params = TfidfParams(char_ngrams=None, embeddings=str(tmp_path / "no-such-encoder"))
    with pytest.raises(ModelLoadError, match="cannot load sentence encoder"):
        TfidfBackend(params, "topic").fit(TOPIC)


@pytest.mark.slow  # in `make test` (CI); the default loop keeps a faster sibling
def test_a_run_with_embeddings_logs_a_model_that_loads_through_mlflow(store: Path) -> None:
    """The encoder travels inside the logged model folder: pyfunc and `toolkit predict`'s loader agree."""
    import mlflow
    import pandas as pd

    from tests.helpers import make_rows, tiny_config, write_csv
    from toolkit.config import load_config
    from toolkit.predict import load_ref
    from toolkit.train import train

    source = write_csv(store / "articles.csv", make_rows(60))
    overrides = tiny_config("stance", source) + [
        f"backend.params.embeddings={tiny_encoder_path()}",
        "backend.params.embedding_max_length=32",
    ]
    result = train(load_config(None, overrides))
    texts = ["support welcome praise hope", "oppose reject danger"]
    frame = pd.DataFrame({"text": texts, "target": ["nuclear energy"] * 2})
    through_pyfunc = mlflow.pyfunc.load_model(result.model_uri).predict(frame)
    loaded = load_ref(result.model_uri)
    assert "encoder/model.safetensors" in loaded.manifest["files"]
    direct = loaded.model.predict_proba(list(frame.text), list(frame.target))
    np.testing.assert_allclose(
        through_pyfunc[[f"prob_{label}" for label in loaded.model.labels]].to_numpy(), direct, atol=1e-6
    )
    requirements = Path(mlflow.artifacts.download_artifacts(f"{result.model_uri}/requirements.txt")).read_text()
    assert "torch==" in requirements and "transformers==" in requirements
