"""The light prediction path (toolkit.backends.transformer.light): a saved BERT model run with torch and `tokenizers`
only gives the probabilities the transformers path gives, and anything it does not support loads the old way."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.helpers import LONG_TEXT, ROOT, TARGETS, untrained_model

pytest.importorskip("transformers")

MINILM = ROOT.parent / "shared" / "models" / "all-MiniLM-L6-v2"
TEXTS = [
    "the match ended with a late goal",
    LONG_TEXT,  # several windows
    "Héllo WORLD, café naïve 中文 [SEP] x",
    "",
    LONG_TEXT[: len(LONG_TEXT) // 2],
    "a" * 150,  # one word longer than WordPiece's 100 characters: [UNK]
]
TRICKY = [*TEXTS, "[CLS] [PAD]x [MASK] tail", "\x00 zero\u200b width\ttabs\nlines", "ÀÉÎÕÜ ß ﬁ", "  spaced   out  "]


def saved(task: str, pooling: str, folder: Path) -> Path:
    from toolkit.models.folder import save_model

    save_model(untrained_model(task, pooling=pooling), folder)
    return folder


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    """Saved tiny-encoder models (untrained heads: random but far from uniform) of each task and pooling."""
    base = tmp_path_factory.mktemp("light")
    cases = [("topic", "model"), ("stance", "mean"), ("stance", "model"), ("topic", "mean")]
    return {(task, pooling): saved(task, pooling, base / f"{task}-{pooling}") for task, pooling in cases}


def normal_model(folder: Path) -> Any:
    """The folder loaded as before the light path: through transformers."""
    from toolkit.backends.transformer.loading import load_saved
    from toolkit.backends.transformer.model import TransformerModel
    from toolkit.models.folder import read_manifest

    manifest = read_manifest(folder)
    labels, params, network, tokenizer = load_saved(folder, manifest)
    return TransformerModel(manifest["task"], labels, params.model_dump(mode="json"), network, tokenizer)


def targets_for(model: Any, texts: list[str]) -> list[str] | None:
    return [TARGETS[i % 2] for i in range(len(texts))] if model.task == "stance" else None


def assert_same_probabilities(folder: Path, aggregation: str = "mean", texts: list[str] = TEXTS) -> None:
    from toolkit.backends.transformer.light import LightBert
    from toolkit.models.folder import load_model

    light, normal = load_model(folder), normal_model(folder)
    assert isinstance(light.network, LightBert), "the folder loads through the light path"
    for model in (light, normal):
        model.settings = model.settings.model_copy(update={"window_aggregation": aggregation})
    targets = targets_for(light, texts)
    (ours, our_stats), (theirs, their_stats) = (
        light.predict_with_stats(texts, targets),
        normal.predict_with_stats(texts, targets),
    )
    assert our_stats == their_stats and our_stats.windowed >= 1, "the same windows, long texts split"
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-5)


@pytest.mark.parametrize("aggregation", ["mean", "max", "first"])
@pytest.mark.parametrize("case", [("topic", "model"), ("stance", "mean"), ("stance", "model"), ("topic", "mean")])
def test_light_path_gives_the_transformers_probabilities(case, aggregation: str, folders) -> None:
    assert_same_probabilities(folders[case], aggregation)


def test_the_tokenizer_gives_the_transformers_ids(folders) -> None:
    from transformers import AutoTokenizer

    from toolkit.backends.transformer.light import LightTokenizer

    folder = folders[("stance", "mean")]
    ours, theirs = LightTokenizer.from_folder(folder), AutoTokenizer.from_pretrained(folder)
    assert ours is not None and ours.pad_token_id == theirs.pad_token_id
    for text in TRICKY:
        assert ours(text, "arms control talks") == dict(theirs(text, "arms control talks")), text
        assert ours(text) == dict(theirs(text)), text
    options = {"add_special_tokens": False, "return_attention_mask": False, "verbose": False}
    plain = theirs(TRICKY, return_token_type_ids=False, **options)["input_ids"]
    assert ours(TRICKY, return_token_type_ids=False, **options)["input_ids"] == plain


def test_predicting_with_a_saved_model_imports_no_transformers(folders) -> None:
    code = (
        "import sys; from toolkit.models.folder import load_model; m = load_model(sys.argv[1]); "
        f"m.predict_with_unknown([{LONG_TEXT!r}, 'a short text'], ['arms control talks'] * 2); "
        "print(sorted({'transformers', 'sklearn', 'pandas', 'mlflow'} & set(sys.modules)))"
    )
    folder = folders[("stance", "mean")]
    result = subprocess.run([sys.executable, "-c", code, str(folder)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def edited(folder: Path, target: Path, name: str, change: dict[str, Any]) -> Path:
    """A copy of `folder` with keys of one JSON file changed and the manifest's hashes redone (a consistent folder)."""
    import shutil

    from toolkit._hashing import sha256_file

    shutil.copytree(folder, target)
    data = json.loads((target / name).read_text()) | change
    (target / name).write_text(json.dumps(data))
    manifest = json.loads((target / "manifest.json").read_text())
    manifest["files"] = {file: sha256_file(target / file) for file in manifest["files"]}
    (target / "manifest.json").write_text(json.dumps(manifest))
    return target


@pytest.mark.parametrize(
    ("name", "change"),
    [
        ("config.json", {"hidden_act": "gelu_new"}),  # an activation the light path does not implement
        ("tokenizer_config.json", {"do_lower_case": False}),  # transformers would rebuild another normalizer
        ("tokenizer_config.json", {"tokenizer_class": "DistilBertTokenizer"}),
    ],
)
def test_what_the_light_path_does_not_support_loads_through_transformers(
    name: str, change: dict[str, Any], folders, tmp_path: Path
) -> None:
    from toolkit.backends.transformer.light import LightBert
    from toolkit.models.folder import load_model

    folder = edited(folders[("topic", "model")], tmp_path / "m", name, change)
    model = load_model(folder)
    assert not isinstance(model.network, LightBert)
    probabilities = model.predict_proba(TEXTS[:2])
    np.testing.assert_allclose(probabilities, normal_model(folder).predict_proba(TEXTS[:2]), rtol=0, atol=1e-6)


def test_the_environment_switch_forces_the_transformers_path(folders, monkeypatch: pytest.MonkeyPatch) -> None:
    from toolkit.backends.transformer.light import ENV, LightBert
    from toolkit.models.folder import load_model

    monkeypatch.setenv(ENV, "0")
    assert not isinstance(load_model(folders[("topic", "model")]).network, LightBert)


def test_a_light_model_saves_again_to_an_equal_folder(folders, tmp_path: Path) -> None:
    from toolkit.backends.transformer.light import LightBert
    from toolkit.models.folder import load_model, save_model

    model = load_model(folders[("stance", "mean")])
    save_model(model, tmp_path / "again")
    again = load_model(tmp_path / "again")
    assert isinstance(again.network, LightBert)
    targets = targets_for(model, TEXTS)
    np.testing.assert_array_equal(again.predict_proba(TEXTS, targets), model.predict_proba(TEXTS, targets))


@pytest.mark.slow
@pytest.mark.parametrize("case", [("topic", "model"), ("stance", "mean")])
def test_light_path_equals_transformers_on_minilm(case, tmp_path: Path) -> None:
    """The real encoder (all-MiniLM-L6-v2, 6 layers, 30k WordPiece vocabulary) saved with a fresh head."""
    if not (MINILM / "model.safetensors").is_file():
        pytest.skip(f"{MINILM} is absent")
    from toolkit.backends.transformer.model import TransformerModel, TransformerParams, load_pretrained
    from toolkit.models.folder import save_model

    task, pooling = case
    settings = TransformerParams(
        model_name_or_path=str(MINILM), max_length=64, stride=16, pooling=pooling, device="cpu"
    )
    labels = ["against", "favor", "none"] if task == "stance" else ["economy", "health", "sports"]
    network, tokenizer = load_pretrained(str(MINILM), settings, labels)
    save_model(TransformerModel(task, labels, settings.model_dump(mode="json"), network, tokenizer), tmp_path / "m")
    for aggregation in ("mean", "max", "first"):
        assert_same_probabilities(tmp_path / "m", aggregation, [*TRICKY, LONG_TEXT * 3])
