"""Few-shot adaptation (`backend.params.init_from`): fine-tune a saved transformer model on a few rows of a new
target, keeping its labels, head, max_length and pooling; on the tiny random encoder (tests/helpers.py)."""

import json
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import STANCE, TOPIC, make_rows, tiny_config, tiny_transformer_params, write_csv
from toolkit.data.types import Examples
from toolkit.errors import ConfigError, DataError, ModelLoadError

pytest.importorskip("transformers")

NEW_TARGET = "solar subsidies"
# Eight rows on a target the saved model never saw, with only two of its three labels (no 'none').
FEW = Examples(
    texts=[
        "we support and welcome the subsidies",
        "the subsidies deserve praise and backing",
        "a benefit we endorse with hope",
        "progress we support",
        "we oppose and reject the subsidies",
        "a reckless and harmful failure",
        "we condemn the danger and risk",
        "dismiss this harmful failure",
    ],
    labels=["favor"] * 4 + ["against"] * 4,
    targets=[NEW_TARGET] * 8,
)
PROBE = ["we support the subsidies with hope", "we reject this reckless failure", "officials listed the agenda"]


def fit(task: str, data: Examples, **params: object):
    from toolkit.backends.transformer.model import TransformerBackend, TransformerParams

    backend = TransformerBackend(TransformerParams(**tiny_transformer_params(**params)), task, seed=0)
    notes: list[str] = []
    model = backend.fit(data, None, notes.append)
    model.notes = notes
    return model


def saved(model, folder: Path) -> Path:
    from toolkit.models.folder import save_model

    save_model(model, folder)
    return folder


@pytest.fixture(scope="module")
def general(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny stance model trained on two targets, saved."""
    return saved(fit("stance", STANCE), tmp_path_factory.mktemp("general") / "model")


def probe(model) -> np.ndarray:
    return model.predict_proba(PROBE, [NEW_TARGET] * len(PROBE))


def test_fine_tuning_starts_from_the_saved_model_and_keeps_its_labels(general: Path, tmp_path: Path) -> None:
    from toolkit.models.folder import load_model

    start = load_model(general)
    adapted = fit("stance", FEW, init_from=str(general), epochs=5, learning_rate=1e-3)
    assert start.labels == ["against", "favor", "none"]
    assert adapted.labels == start.labels, "the saved label order and head are kept, 'none' included"
    assert adapted.origin["ref"] == str(general)
    assert probe(adapted).shape == (3, 3) and not np.allclose(probe(adapted), probe(start), atol=1e-3)
    scratch = fit("stance", FEW, epochs=5, learning_rate=1e-3)
    assert scratch.labels == ["against", "favor"], "from scratch only the rows' labels exist"
    barely = fit("stance", FEW, init_from=str(general), epochs=1, learning_rate=1e-9, weight_decay=0.0)
    np.testing.assert_allclose(probe(barely), probe(start), atol=1e-5, err_msg="a negligible step keeps the start")
    same_rows = fit("stance", FEW, epochs=1, learning_rate=1e-9, weight_decay=0.0)
    assert not np.allclose(probe(barely)[:, :2], probe(same_rows), atol=1e-2), "not a fresh head on the encoder"

    folder = saved(adapted, tmp_path / "adapted")
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["labels"] == start.labels and manifest["params"]["init_from"] == str(general)
    again = load_model(folder)
    assert again.labels == adapted.labels
    np.testing.assert_allclose(probe(again), probe(adapted), atol=1e-6)


def test_the_saved_max_length_and_pooling_are_kept(general: Path) -> None:
    adapted = fit("stance", FEW, init_from=str(general), epochs=1, max_length=32, pooling="mean")
    assert (adapted.settings.max_length, adapted.settings.pooling) == (64, "model")
    assert any("max_length=32 ignored" in note for note in adapted.notes)
    assert any("pooling=mean ignored" in note for note in adapted.notes)


def test_k_rows_without_a_validation_split_train_every_epoch(general: Path) -> None:
    from toolkit.backends.transformer.model import TransformerBackend, TransformerParams

    params = TransformerParams(**tiny_transformer_params(init_from=str(general), epochs=3, early_stopping_patience=1))
    model = TransformerBackend(params, "stance").fit(FEW, Examples(texts=[], labels=[], targets=[]))
    assert model.training_stats["epochs_run"] == 3 and model.training_stats["best_epoch"] == 0


def test_refuses_what_cannot_be_fine_tuned(general: Path, tmp_path: Path) -> None:
    from toolkit.backends.tfidf.model import TfidfBackend, TfidfParams

    tfidf = saved(TfidfBackend(TfidfParams(char_ngrams=None), "stance").fit(STANCE), tmp_path / "tfidf")
    with pytest.raises(ConfigError, match="is a tfidf model"):
        fit("stance", FEW, init_from=str(tfidf), epochs=1)
    topic = saved(fit("topic", TOPIC, epochs=1), tmp_path / "topic")
    with pytest.raises(ConfigError, match="is a topic model, this run is stance"):
        fit("stance", FEW, init_from=str(topic), epochs=1)
    unknown = Examples(texts=FEW.texts, labels=["favor"] * 6 + ["neutral", "mixed"], targets=FEW.targets)
    with pytest.raises(DataError, match=r"\['mixed', 'neutral'\] are not labels of the init_from model"):
        fit("stance", unknown, init_from=str(general), epochs=1)
    with pytest.raises(ConfigError, match="is not a model folder"):
        fit("stance", FEW, init_from="runs:/0123/model", epochs=1)


def test_a_tampered_start_model_is_refused(general: Path, tmp_path: Path) -> None:
    import shutil

    copy = Path(shutil.copytree(general, tmp_path / "copy"))
    (copy / "labels.json").write_text('{"task": "stance", "labels": ["against", "favor", "none"]} ', encoding="utf-8")
    with pytest.raises(ModelLoadError, match="does not match its recorded sha256"):
        fit("stance", FEW, init_from=str(copy), epochs=1)


def transformer_overrides(task: str, source: Path, **params: object) -> list[str]:
    overrides = [o for o in tiny_config(task, source) if "char_ngrams" not in o] + ["backend.name=transformer"]
    return overrides + [f"backend.params.{k}={json.dumps(v)}" for k, v in tiny_transformer_params(**params).items()]


@pytest.mark.slow  # in `make test` (CI); the default loop keeps a faster sibling
def test_train_fine_tunes_a_logged_model_and_records_where_it_started(store: Path) -> None:
    from toolkit._hashing import sha256_file
    from toolkit.config import load_config
    from toolkit.predict import load_ref, model_folder
    from toolkit.train import train

    general = write_csv(store / "general.csv", make_rows(60))
    general_run = train(load_config(None, transformer_overrides("stance", general, epochs=2)))
    rows = [row | {"target": NEW_TARGET} for row in make_rows(30, seed=1) if row["stance"] != "none"]
    source = write_csv(store / "few.csv", rows)
    ref = general_run.model_uri
    overrides = transformer_overrides("stance", source, epochs=2, init_from=ref, learning_rate=2e-5)
    adapted = train(load_config(None, [*overrides, "data.name=tiny-adapt"]))  # other data: another name
    loaded = load_ref(adapted.model_uri)
    started = load_ref(ref)
    assert loaded.model.labels == started.model.labels == ["against", "favor", "none"]
    origin = loaded.manifest["init_from"]
    assert origin["ref"] == ref and loaded.manifest["params"]["init_from"] == ref
    assert origin["manifest_sha256"] == sha256_file(model_folder(ref) / "manifest.json")

    topic_run = [*transformer_overrides("topic", source, epochs=1, init_from=ref), "data.name=tiny-adapt"]
    with pytest.raises(ConfigError, match="is a stance transformer model; this run trains a topic transformer"):
        train(load_config(None, topic_run))
    with pytest.raises(ModelLoadError, match="backend.params.init_from: model 'runs:/"):
        bad = transformer_overrides("stance", source, epochs=1, init_from="runs:/0123abc/model")
        train(load_config(None, [*bad, "data.name=tiny-adapt"]))
