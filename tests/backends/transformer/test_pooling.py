"""`pooling: mean`: a linear head on the mean of the encoder's token states (tiny offline encoder)."""

import json
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import STANCE, TOPIC, tiny_transformer_params, untrained_model

pytest.importorskip("transformers")


def fit_mean_pooled(task: str, data, **extra):
    from toolkit.backends.transformer.model import TransformerBackend, TransformerParams

    params = TransformerParams(**tiny_transformer_params(pooling="mean", **extra))
    return TransformerBackend(params, task, seed=0).fit(data, data)


def test_mean_pool_averages_only_the_real_tokens() -> None:
    import torch

    from toolkit.backends.transformer.pooling import mean_pool

    states = torch.arange(2 * 3 * 2, dtype=torch.float32).reshape(2, 3, 2)
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
    pooled = mean_pool(states, mask)
    torch.testing.assert_close(pooled[0], states[0, :2].mean(dim=0))
    torch.testing.assert_close(pooled[1], states[1].mean(dim=0))
    torch.testing.assert_close(mean_pool(states, None), states.mean(dim=1))


@pytest.mark.parametrize(("task", "data"), [("topic", TOPIC), ("stance", STANCE)])
def test_mean_pooled_model_learns_saves_and_loads_identically(task: str, data, tmp_path: Path) -> None:
    from toolkit.models.folder import load_model, save_model

    model = fit_mean_pooled(task, data)
    assert type(model.network).__name__ == "MeanPooledClassifier"
    assert model.predict(data.texts, data.targets) == data.labels, "overfits its own tiny training set"
    manifest = save_model(model, tmp_path / "m")
    assert {"model.safetensors", "head.safetensors", "config.json", "labels.json"} <= set(manifest["files"])
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert list(config["id2label"].values()) == model.labels
    loaded = load_model(tmp_path / "m")  # run by the light path (no transformers), mean-pooled as saved
    assert (type(loaded.network).__name__, loaded.network.pooling) == ("LightBert", "mean")
    np.testing.assert_array_equal(
        loaded.predict_proba(data.texts, data.targets), model.predict_proba(data.texts, data.targets)
    )


def test_padding_does_not_change_a_mean_pooled_prediction() -> None:
    """A short text batched with a long one (padded, masked) scores as it does alone (no padding, no mask)."""
    model = fit_mean_pooled("stance", STANCE, epochs=2)
    texts = ["we support", "the talks are a dangerous failure and we reject them as reckless and costly"]
    together = model.predict_proba(texts, STANCE.targets[:2])
    alone = model.predict_proba(texts[:1], STANCE.targets[:1])
    np.testing.assert_allclose(together[0], alone[0], atol=1e-6)


def test_a_missing_or_mismatched_head_is_one_clear_error(tmp_path: Path) -> None:
    import torch
    from safetensors.torch import save_file

    from toolkit.backends.transformer.model import load_pretrained
    from toolkit.errors import ModelLoadError
    from toolkit.models.folder import load_model, save_model

    model = fit_mean_pooled("topic", TOPIC, epochs=1)
    save_model(model, tmp_path / "m")
    head = tmp_path / "m" / "head.safetensors"
    save_file({"classifier.weight": torch.zeros(7, 5), "classifier.bias": torch.zeros(7)}, str(head))
    with pytest.raises(ModelLoadError, match="does not match its recorded sha256"):
        load_model(tmp_path / "m")
    with pytest.raises(ModelLoadError, match="cannot load the mean-pooling head head.safetensors"):
        load_pretrained(str(tmp_path / "m"), model.settings, None)  # below the checksum check
    head.unlink()
    with pytest.raises(ModelLoadError, match="model file missing: head.safetensors"):
        load_model(tmp_path / "m")


@pytest.mark.parametrize(("saved", "claimed"), [("mean", "model"), ("model", "mean")])
def test_a_model_loaded_with_params_that_say_the_other_pooling_is_refused(saved: str, claimed: str, tmp_path: Path):
    """A manifest whose `pooling` disagrees with the folder would load a random head (for a mean-pooled folder read
    as a [CLS] classifier: silently, transformers initializes the missing classifier): one clear error instead."""
    from toolkit.errors import ModelLoadError
    from toolkit.models.folder import load_model, save_model

    save_model(untrained_model("topic", pooling=saved), tmp_path / "m")
    manifest_path = tmp_path / "m" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["params"]["pooling"] = claimed
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(ModelLoadError, match=f"saved with pooling: {saved} .* but its params say pooling: {claimed}"):
        load_model(tmp_path / "m")


def test_a_saved_classifier_without_its_head_weights_or_with_a_corrupt_head_is_refused(tmp_path: Path) -> None:
    """Below the checksum check: a [CLS] folder whose weights lack the classifier (it would be random), and a
    mean-pooling head file that is not safetensors, are each one ModelLoadError."""
    from toolkit.backends.transformer.model import load_pretrained
    from toolkit.errors import ModelLoadError

    mean = untrained_model("topic", pooling="mean")
    mean.save(tmp_path)
    (tmp_path / "head.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ModelLoadError, match="cannot load the mean-pooling head head.safetensors"):
        load_pretrained(str(tmp_path), mean.settings, None)
    (tmp_path / "head.safetensors").unlink()  # now the folder of a bare encoder, read as a [CLS] classifier
    as_cls = mean.settings.model_copy(update={"pooling": "model"})
    with pytest.raises(ModelLoadError, match="weights missing from the saved model .*classifier.bias"):
        load_pretrained(str(tmp_path), as_cls, None)
