"""`predict` without --model finds the newest models from training's index, without importing MLflow, and
falls back to asking the store whenever the index and the store disagree."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT, make_rows, tiny_config, write_csv
from toolkit.tracking.latest import index_file, newest_from_index


@pytest.fixture(scope="module")
def two_topic_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with two finished topic runs (the index names the second) and one stance run."""
    from toolkit.config import load_config
    from toolkit.train import train

    root = tmp_path_factory.mktemp("latest")
    source = write_csv(root / "articles.csv", make_rows(90))
    saved = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "TOOLKIT_CACHE")}
    old_cwd = Path.cwd()
    os.chdir(root)
    # absolute URIs: MLflow keeps one engine per URI string for the whole process
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{root / 'mlruns.db'}"
    os.environ["TOOLKIT_CACHE"] = str(root / "cache")
    try:
        for task in ("topic", "topic", "stance"):
            train(load_config(None, tiny_config(task, source)))
    finally:
        os.chdir(old_cwd)
        for key, value in saved.items():
            os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
    return root


@pytest.fixture
def work(two_topic_runs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the store, its index and the cache, as the working folder."""
    copy = tmp_path / "work"
    shutil.copytree(two_topic_runs, copy)
    monkeypatch.chdir(copy)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{copy / 'mlruns.db'}")
    monkeypatch.setenv("TOOLKIT_CACHE", str(copy / "cache"))
    return copy


def mlflow_newest(task: str) -> str:
    from toolkit.tracking import newest_model_run

    return newest_model_run(task)


def test_the_index_answers_like_the_store_without_importing_mlflow(work: Path) -> None:
    code = (
        "import sys, json; from toolkit.predict import load_default_models; "
        "models = load_default_models(); "
        "print(json.dumps({'mlflow': 'mlflow' in sys.modules, 'sklearn': 'sklearn' in sys.modules, "
        "'refs': {m.model.task: m.ref for m in models}}))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", code], cwd=work, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["mlflow"] is False
    assert answer["refs"] == {"topic": mlflow_newest("topic"), "stance": mlflow_newest("stance")}


def delete_newest_topic_run(work: Path) -> None:
    from toolkit.tracking.store import client

    client().delete_run(mlflow_newest("topic").split("/")[1])


def fail_newest_topic_run(work: Path) -> None:
    from toolkit.tracking.store import client

    client().set_terminated(mlflow_newest("topic").split("/")[1], status="FAILED")


def point_index_at_the_older_run(work: Path) -> None:
    path = index_file(work / "mlruns.db")
    entries = json.loads(path.read_text())
    from toolkit.tracking.store import client

    runs = client().search_runs(["1", "2", "3", "4"], "tags.`toolkit.task` = 'topic'", order_by=["start_time ASC"])
    entries["topic"]["run_id"] = runs[0].info.run_id
    path.write_text(json.dumps(entries))


def tamper_recorded_hash(work: Path) -> None:
    from toolkit.tracking.store import client

    run_id = mlflow_newest("topic").split("/")[1]
    key = next(k for k in client().get_run(run_id).data.tags if k.startswith("toolkit.model_sha256."))
    client().set_tag(run_id, key, "0" * 64)


def evict_the_cached_folder(work: Path) -> None:
    entry = json.loads(index_file(work / "mlruns.db").read_text())["topic"]["manifest"]
    shutil.rmtree(work / "cache" / entry)


def corrupt_the_index(work: Path) -> None:
    index_file(work / "mlruns.db").write_text("{not json")


@pytest.mark.parametrize(
    "change",
    [
        delete_newest_topic_run,
        fail_newest_topic_run,
        point_index_at_the_older_run,
        tamper_recorded_hash,
        evict_the_cached_folder,
        corrupt_the_index,
    ],
)
def test_when_index_and_store_disagree_the_store_decides(work: Path, change) -> None:  # type: ignore[no-untyped-def]
    from toolkit.predict import load_newest

    assert newest_from_index("topic") is not None
    change(work)
    assert newest_from_index("topic") is None
    if change is not tamper_recorded_hash:  # a tampered run is refused on the MLflow path too
        assert load_newest("topic").ref == mlflow_newest("topic")


def test_a_tracking_server_is_always_asked(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert newest_from_index("topic") is not None
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    assert newest_from_index("topic") is None
