"""Untrusted model files: loading a model never executes code from it.

Each crafted folder carries a payload that creates a marker file when deserialized. A control step shows
the payload is live (the unsafe loader does create the marker); then the toolkit must refuse the folder
with one clear line, and the marker must not exist.
"""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import pytest

from tests.helpers import make_rows, tiny_config, write_csv
from tests.reliability.reliability_helpers import PicklePayload, SkopsPayload, assert_one_line_error, list_in_manifest


@pytest.fixture
def folder(tmp_path: Path, model_dirs) -> Path:
    """A private copy of a good topic model folder, to craft."""
    return Path(shutil.copytree(model_dirs["topic"], tmp_path / "crafted"))


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    return tmp_path / "PAYLOAD_RAN"


def pickle_bytes(marker: Path) -> bytes:
    data = pickle.dumps(PicklePayload(marker))
    pickle.loads(data)  # control: the payload is live
    assert marker.exists()
    marker.unlink()
    return data


def predict_with(cli, folder: Path, article_dir: Path):
    (article_dir / "a.txt").write_text("the team won the final match")
    return cli("predict", str(article_dir / "a.txt"), "--model", str(folder))


@pytest.mark.parametrize("name", ["model.pkl", "weights.bin", "model.joblib", "MODEL.PT"])
def test_listed_pickle_payload_is_refused_and_never_runs(name: str, cli, folder: Path, marker: Path, tmp_path) -> None:
    (folder / name).write_bytes(pickle_bytes(marker))
    list_in_manifest(folder, name)
    result = predict_with(cli, folder, tmp_path)
    assert_one_line_error(result, 2, f"refusing {name}: pickle-based formats are never loaded")
    assert not marker.exists()


def test_unlisted_pickle_beside_a_good_model_is_never_read(cli, folder: Path, marker: Path, tmp_path) -> None:
    (folder / "model.pkl").write_bytes(pickle_bytes(marker))
    (folder / "pytorch_model.bin").write_bytes(pickle_bytes(marker))
    result = predict_with(cli, folder, tmp_path)
    assert result.code == 0, result.stderr
    assert not marker.exists()


def test_bin_beside_a_missing_safetensors_is_refused(cli, folder: Path, marker: Path, tmp_path) -> None:
    (folder / "tfidf.safetensors").unlink()
    (folder / "pytorch_model.bin").write_bytes(pickle_bytes(marker))
    result = predict_with(cli, folder, tmp_path)
    assert_one_line_error(result, 2, "model file missing: tfidf.safetensors")
    list_in_manifest(folder, "pytorch_model.bin", drop=("tfidf.safetensors",))
    assert_one_line_error(predict_with(cli, folder, tmp_path), 2, "refusing pytorch_model.bin: pickle-based")
    assert not marker.exists()


def dangerous_skops(path: Path, marker: Path) -> str:
    """A skops file whose load, with its type trusted, runs the payload (shown by the control step)."""
    sio = pytest.importorskip("skops.io")
    sio.dump(SkopsPayload(marker), path)
    untrusted = sio.get_untrusted_types(file=path)
    assert untrusted == [f"{SkopsPayload.__module__}.SkopsPayload"]
    sio.load(path, trusted=untrusted)  # control: trusting the type the file names runs its code
    assert marker.exists()
    marker.unlink()
    return untrusted[0]


def test_listed_skops_file_is_refused(cli, folder: Path, marker: Path, tmp_path) -> None:
    dangerous_skops(folder / "head.skops", marker)
    list_in_manifest(folder, "head.skops")
    result = predict_with(cli, folder, tmp_path)
    assert_one_line_error(result, 2, "refusing head.skops: only .json, .model, .safetensors, .txt files are loaded")
    assert not marker.exists()


def mlflow_sklearn_folder(root: Path, marker: Path) -> Path:
    """An MLflow sklearn-flavor model whose own MLmodel file trusts the dangerous type."""
    root.mkdir()
    trusted = dangerous_skops(root / "model.skops", marker)
    (root / "MLmodel").write_text(
        "flavors:\n  sklearn:\n    pickled_model: model.skops\n    serialization_format: skops\n"
        f"    skops_trusted_types: ['{trusted}']\n    sklearn_version: 1.9.0\n"
        "  python_function:\n    loader_module: mlflow.sklearn\n    model_path: model.skops\n"
    )
    return root


def test_mlmodel_that_trusts_a_dangerous_type_is_refused(cli, fast_store: Path, marker: Path) -> None:
    crafted = mlflow_sklearn_folder(fast_store / "sk_model", marker)
    assert_one_line_error(predict_with(cli, crafted, fast_store), 2, "is not a toolkit model")
    from toolkit.tracking.store import mlflow_module as use_store

    mlflow = use_store()
    with mlflow.start_run(experiment_id="0") as run:  # not the experiment an earlier test left active
        mlflow.log_artifacts(str(crafted), "model")
    ref = f"runs:/{run.info.run_id}/model"
    assert_one_line_error(predict_with(cli, Path(ref), fast_store), 2, "is not a toolkit model (no model_dir")
    assert not marker.exists()


def test_tampered_file_is_refused(cli, folder: Path, tmp_path) -> None:
    settings = folder / "tfidf.json"
    settings.write_text(settings.read_text().replace('"word"', '"char"', 1))
    assert_one_line_error(predict_with(cli, folder, tmp_path), 2, "tfidf.json does not match its recorded sha256")


@pytest.mark.parametrize("name", ["../outside.json", "/etc/hostname"])
def test_manifest_naming_a_file_outside_the_folder_is_refused(name: str, cli, folder: Path, tmp_path) -> None:
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"][name] = "0" * 64
    (folder / "manifest.json").write_text(json.dumps(manifest))
    assert_one_line_error(predict_with(cli, folder, tmp_path), 2, "names a file outside the model folder")


def test_file_and_manifest_edited_together_are_caught_by_the_run_tags(cli, fast_store: Path) -> None:
    from toolkit.config import load_config
    from toolkit.models.folder import load_model
    from toolkit.tracking import download_model_folder
    from toolkit.train import train

    source = write_csv(fast_store / "articles.csv", make_rows(60))
    result = train(load_config(None, tiny_config("topic", source, **{"tracking.misclassified_rows": 0})))
    stored = next((fast_store / "mlruns").rglob("model_dir/tfidf.json")).parent
    assert predict_with(cli, Path(result.model_uri), fast_store).code == 0
    settings = stored / "tfidf.json"
    settings.write_text(settings.read_text().replace('"goal"', '"gaol"', 1))
    list_in_manifest(stored, "tfidf.json")  # a consistent forgery: the manifest alone no longer helps
    load_model(download_model_folder(result.model_uri))  # control: the folder by itself passes its checks
    assert_one_line_error(
        predict_with(cli, Path(result.model_uri), fast_store),
        2,
        "differ from the sha256 recorded on its training run",
    )


def test_transformer_loading_forbids_remote_code_and_pickles() -> None:
    """Every from_pretrained call in the backends pins use_safetensors and trust_remote_code, in every module."""
    import re

    pytest.importorskip("transformers")
    import toolkit.backends

    calls = []
    for module in sorted(Path(toolkit.backends.__file__).parent.rglob("*.py")):
        source = module.read_text(encoding="utf-8")
        found = re.findall(r"from_pretrained\(([^)]*)\)", source)
        assert len(found) == source.count("from_pretrained("), f"{module.name}: a call the pattern missed"
        calls += [(module.name, arguments) for arguments in found]
        assert "use_safetensors=False" not in source, module.name
        assert "torch.load(" not in source or "weights_only=True" in source, module.name
    assert all("trust_remote_code=False" in arguments for _, arguments in calls), calls
    assert any("use_safetensors=True" in arguments for _, arguments in calls), "weights are not pinned to safetensors"
    assert len(calls) >= 2, "the encoder and tokenizer loads were not found"
