"""Every result names the model behind it, and the model folder behind any reference is easy to get.

Issue 17 (data and provenance): `evaluate` did not say which model it evaluated; `score` wrote the alias
(models:/NAME@champion) in its `model` column and `_job.json`, not the version it resolved to; a folder from
`mlflow artifacts download` was refused by `predict -m` ("no manifest.json").
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.helpers import make_rows, write_csv
from tests.reliability.reliability_helpers import assert_one_line_error, fit_model_folder

NAME = "tiny-topic"


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """One topic run registered as version 1 of NAME, with the alias champion (its own store and cache)."""
    import pandas as pd

    from toolkit import tracking
    from toolkit.models.folder import read_manifest
    from toolkit.tracking.registry import promote, register

    root = tmp_path_factory.mktemp("registry")
    saved_cwd, saved_env = Path.cwd(), dict(os.environ)
    os.chdir(root)
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{root / 'mlruns.db'}"
    os.environ["TOOLKIT_CACHE"] = str(root / "cache")
    try:  # what training logs for a model, without the training
        folder = fit_model_folder(root / "model_dir", "topic")
        with tracking.tracked_run("provenance", "tiny", {tracking.TAG_TASK: "topic"}) as run:
            tracking.log_model_folder(folder, pd.DataFrame({"text": ["a goal in the final"]}))
            tracking.tag_logged_model(read_manifest(folder)["files"])
        register(run.info.run_id, NAME)
        promote(NAME, 1, "champion")
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
    return {"root": str(root), "uri": f"sqlite:///{root / 'mlruns.db'}", "run_id": run.info.run_id}


@pytest.fixture
def at_registry(registry: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A fresh working folder using the registry's store."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", registry["uri"])
    monkeypatch.setenv("TOOLKIT_CACHE", str(tmp_path / "cache"))
    return registry


def manifest_sha(folder: Path) -> str:
    import hashlib

    return hashlib.sha256((folder / "manifest.json").read_bytes()).hexdigest()


def test_evaluate_names_the_model_it_evaluated(cli, at_registry: dict[str, str], tmp_path: Path) -> None:
    data = write_csv(tmp_path / "labeled.csv", make_rows(30, seed=4))
    result = cli("evaluate", "--data", str(data), "--model", f"models:/{NAME}@champion", "--no-log", "--json")
    assert result.code == 0, result.stderr
    model = json.loads(result.stdout)["model"]
    assert model["ref"] == f"models:/{NAME}@champion" and model["uri"] == f"models:/{NAME}/1"
    assert (model["name"], model["version"], model["run_id"]) == (NAME, "1", at_registry["run_id"])
    assert len(model["sha256"]) == 64
    table = cli("evaluate", "--data", str(data), "--model", f"models:/{NAME}@champion")  # logged as a run too
    assert table.code == 0 and f"model: models:/{NAME}/1 (run {at_registry['run_id'][:12]}" in table.stdout
    import mlflow

    logged = mlflow.search_runs(experiment_names=["topic-evaluations"], output_format="list")[0]
    assert logged.data.params["model_version"] == "1" and logged.data.params["model_sha256"] == model["sha256"]
    assert logged.data.tags["toolkit.evaluated_model_run_id"] == at_registry["run_id"]


def test_score_records_what_the_alias_resolved_to(cli, at_registry: dict[str, str], tmp_path: Path) -> None:
    import pandas as pd

    source = write_csv(tmp_path / "in.csv", make_rows(8, seed=2))
    result = cli("score", str(source), "--model", f"models:/{NAME}@champion", "--output", "out", "--json")
    assert result.code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert set(pd.read_parquet(tmp_path / "out")["model"]) == {f"models:/{NAME}/1"}
    job = json.loads((tmp_path / "out" / "_job.json").read_text(encoding="utf-8"))["model"]
    on_disk = json.loads((tmp_path / "out" / "_summary.json").read_text(encoding="utf-8"))
    for recorded in (summary, on_disk):
        assert recorded["model"] == f"models:/{NAME}@champion"  # what the user asked for, beside what it was
        assert (recorded["model_version"], recorded["model_run_id"]) == ("1", at_registry["run_id"])
        assert recorded["model_sha256"] == job["sha256"]
    assert (job["ref"], job["version"], job["run_id"]) == (f"models:/{NAME}@champion", "1", at_registry["run_id"])
    resumed = cli("score", str(source), "--model", f"models:/{NAME}@champion", "--output", "out")  # same job
    assert resumed.code == 0 and f"model: models:/{NAME}/1 (run {at_registry['run_id'][:12]}" in resumed.stdout


def test_predict_reads_an_mlflow_download_and_says_which_model(cli, at_registry: dict[str, str], tmp_path: Path):
    import mlflow

    downloaded = Path(mlflow.artifacts.download_artifacts(f"runs:/{at_registry['run_id']}/model", dst_path="dl"))
    assert (downloaded / "MLmodel").is_file() and not (downloaded / "manifest.json").exists()
    (tmp_path / "a.txt").write_text("the striker scored a late goal in the final match", encoding="utf-8")
    result = cli("predict", "a.txt", "--model", str(downloaded), "--json")
    assert result.code == 0, result.stderr
    record = json.loads(result.stdout)[0]["predictions"][0]
    inner = downloaded / "artifacts" / "model_dir"
    assert record["label"] == "sports" and record["model_sha256"] == manifest_sha(inner)
    labeled = write_csv(tmp_path / "labeled.csv", make_rows(9))
    evaluated = cli("evaluate", "--data", str(labeled), "-m", str(downloaded), "--no-log", "--json")
    assert json.loads(evaluated.stdout)["model"]["run_id"] == at_registry["run_id"]  # from the MLmodel file


def test_models_export_gives_the_plain_model_folder(cli, at_registry: dict[str, str], tmp_path: Path) -> None:
    result = cli("models", "export", f"models:/{NAME}@champion", "exported", "--json")
    assert result.code == 0, result.stderr
    exported = json.loads(result.stdout)
    assert (exported["uri"], exported["run_id"]) == (f"models:/{NAME}/1", at_registry["run_id"])
    assert exported["sha256"] == manifest_sha(tmp_path / "exported")
    (tmp_path / "a.txt").write_text("central bank raises interest rates and inflation", encoding="utf-8")
    predicted = cli("predict", "a.txt", "--model", "exported", "--json")
    assert predicted.code == 0 and json.loads(predicted.stdout)[0]["predictions"][0]["label"] == "economy"
    assert_one_line_error(cli("models", "export", f"runs:/{at_registry['run_id']}/model", "exported"), 2, "not empty")
    (tmp_path / "empty").mkdir()
    assert cli("models", "export", "exported", "empty").code == 0  # a folder ref; an empty folder is fine
    assert manifest_sha(tmp_path / "empty") == exported["sha256"]


def test_export_and_predict_check_the_hashes(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    folder = fit_model_folder(tmp_path / "model", "topic")
    weights = next(name for name in json.loads((folder / "manifest.json").read_text())["files"])
    (folder / weights).write_bytes((folder / weights).read_bytes()[:-1] + b" ")
    assert_one_line_error(cli("models", "export", str(folder), "out"), 2, "does not match its recorded sha256")
    assert not (tmp_path / "out").exists()
