"""The tracking store under faults: unreachable, read-only, missing; and the cache of downloaded models.

- an unreachable http store fails every command within seconds, with one line (exit 1);
- a read-only store prints the toolkit's one line, never a library's traceback;
- commands that only read never create a store (exit 2 when there is none);
- runs:/ and models:/ loads share a content-addressed, bounded cache, and a ref that is not a model folder
  is refused before anything is copied.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.helpers import make_rows, tiny_config, write_csv
from tests.reliability.reliability_helpers import assert_one_line_error, fit_model_folder

UNREACHABLE = "http://127.0.0.1:9"  # the discard port: closed on a test machine, refused at once
NO_RUN = "runs:/0123456789abcdef0123456789abcdef/model"
REGISTERED = "store-hardening"
EVALUATE_FOLDER = ["evaluate", "-d", "labeled.csv", "--label-col", "topic", "-m", "{folder}"]  # logs a run


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory, template_db: Path) -> dict[str, object]:
    """A store holding one trained topic model, registered as REGISTERED@champion (version 1)."""
    from toolkit.config import load_config
    from toolkit.train import train

    root = tmp_path_factory.mktemp("logged-store")
    shutil.copy(template_db, root / "mlruns.db")
    source = write_csv(root / "articles.csv", make_rows(60))
    uri = f"sqlite:///{root / 'mlruns.db'}"
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        patch.setenv("TOOLKIT_CACHE", str(root / "cache"))
        result = train(load_config(None, tiny_config("topic", source, **{"tracking.misclassified_rows": 0})))
        from toolkit.tracking.store import client, mlflow_module

        version = mlflow_module().register_model(result.model_uri, REGISTERED)
        client().set_registered_model_alias(REGISTERED, "champion", version.version)
    return {"root": root, "uri": uri, "model_uri": result.model_uri, "run_id": result.run_id}


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working folder with an article and a labeled file, no store, and its own model cache."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("TOOLKIT_CACHE", str(tmp_path / "cache"))
    (tmp_path / "article.txt").write_text("coach team goal match season win", encoding="utf-8")
    write_csv(tmp_path / "labeled.csv", make_rows(30))
    return tmp_path


def files_under(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*")}


# --- 12. An unreachable store fails every command within seconds ---------------------------------------

STORE_COMMANDS = {
    "predict (newest models)": ["predict", "article.txt"],
    "predict models:/": ["predict", "article.txt", "-m", f"models:/{REGISTERED}@champion"],
    "predict runs:/": ["predict", "article.txt", "-m", NO_RUN],
    "models list": ["models", "list"],
    "models register": ["models", "register", NO_RUN, "--name", REGISTERED],
    "models promote": ["models", "promote", REGISTERED, "1"],
    "doctor": ["doctor"],
    "doctor --fix": ["doctor", "--fix"],
    "compare": ["compare", "some-experiment"],
    "evaluate (newest model)": ["evaluate", "-d", "labeled.csv", "--label-col", "topic"],
    "evaluate a folder, logged": EVALUATE_FOLDER,
}


@pytest.mark.parametrize("args", list(STORE_COMMANDS.values()), ids=list(STORE_COMMANDS))
def test_unreachable_store_fails_every_command_within_seconds(args, cli, workdir, model_dirs, monkeypatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", UNREACHABLE)
    started = time.perf_counter()
    result = cli(*[arg.format(folder=model_dirs["topic"]) for arg in args])
    assert_one_line_error(result, 1, f"MLflow tracking store {UNREACHABLE} is not reachable")
    assert time.perf_counter() - started < 10


# --- 13. A read-only store: the toolkit's one line, never a library's traceback ---------------------------


def make_read_only(database: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> str:
    """The store's URI, read-only for this process. A mode does not stop root, the immutable flag does;
    where chattr is refused, SQLite opens the file read-only (the same 'readonly database' error)."""
    database.chmod(0o444)
    if os.geteuid() == 0:
        if subprocess.run(["chattr", "+i", str(database)], capture_output=True).returncode != 0:
            return f"sqlite:///file:{database}?mode=ro&uri=true"
        request.addfinalizer(lambda: subprocess.run(["chattr", "-i", str(database)], check=False))
    return f"sqlite:///{database}"


def stale_run(uri: str) -> str:
    """A RUNNING run whose process (on this host) is gone."""
    import socket

    from toolkit.tracking.status import TAG_HOST, TAG_PID, TAG_PROCESS_START
    from toolkit.tracking.store import mlflow_module

    store = mlflow_module().MlflowClient(tracking_uri=uri)
    tags = {TAG_HOST: socket.gethostname(), TAG_PID: "999999999", TAG_PROCESS_START: "1"}
    return str(store.create_run("0", tags=tags).info.run_id)


def library_logs_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    """A library that logs its exception (multi-line message, traceback) before the toolkit reports it."""
    import logging

    from toolkit.tracking import status

    library = logging.getLogger("some.library")  # with its own handler to stderr, as MLflow has
    monkeypatch.setattr(library, "handlers", [logging.StreamHandler()])
    monkeypatch.setattr(library, "propagate", False)

    def running_runs() -> list[object]:
        try:
            raise OSError("disk I/O error")
        except OSError:
            library.exception("database error.\n[SQL: SELECT 1]")
            raise

    monkeypatch.setattr(status, "running_runs", running_runs)


READ_ONLY = {  # command, what else goes wrong, stderr lines (a library's log line stays, cut to one), fragment
    "evaluate --log": (EVALUATE_FOLDER, None, 1, "readonly"),
    "doctor --fix": (["doctor", "--fix"], None, 1, "readonly database"),
    "a library logs a traceback": (["doctor"], library_logs_a_traceback, 2, "disk I/O error"),
}


@pytest.mark.parametrize(("args", "patch", "lines", "fragment"), list(READ_ONLY.values()), ids=list(READ_ONLY))
def test_read_only_store_prints_no_traceback(
    args, patch, lines, fragment, cli, workdir, model_dirs, template_db, monkeypatch, request
) -> None:
    staging = workdir / "staging.db"  # MLflow keeps this process's connection to a URI: write through another
    shutil.copy(template_db, staging)
    stale_run(f"sqlite:///{staging}")
    database = workdir / "store" / "mlruns.db"
    database.parent.mkdir()
    shutil.copy(staging, database)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", make_read_only(database, monkeypatch, request))
    if patch is not None:
        patch(monkeypatch)
    result = cli(*[arg.format(folder=model_dirs["topic"]) for arg in args])
    assert result.code == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    assert len(result.error_lines) == lines, result.stderr
    assert result.error_lines[-1].startswith("error: ") and fragment in result.error_lines[-1], result.stderr


# --- 14. Commands that only read never create a store -------------------------------------------------------

NO_STORE = "no trained model found: train one first (toolkit train"
READERS = {
    "predict, no store here": (None, ["predict", "article.txt"], NO_STORE),
    "models list, no store here": (None, ["models", "list"], NO_STORE),
    "predict runs:/, no store here": (None, ["predict", "article.txt", "-m", NO_RUN], NO_STORE),
    "evaluate (newest model), no store here": (None, ["evaluate", "-d", "labeled.csv"], NO_STORE),
    "predict, missing database": ("nowhere/deeper/x.db", ["predict", "article.txt"], "does not exist"),
    "models list, missing database": ("nowhere/deeper/x.db", ["models", "list"], "does not exist"),
}


@pytest.mark.parametrize(("database", "args", "message"), list(READERS.values()), ids=list(READERS))
def test_reading_commands_never_create_a_store(database, args, message, cli, workdir, monkeypatch) -> None:
    if database is not None:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{workdir / database}")
    before = files_under(workdir)
    assert_one_line_error(cli(*args), 2, message)
    assert files_under(workdir) == before, "a reading command created files"


# --- 15. The model cache: content-addressed, reused, bounded; non-models refused before copying ----------


def manifest_sha(folder: Path) -> str:
    import hashlib

    return hashlib.sha256((folder / "manifest.json").read_bytes()).hexdigest()


def cached_entries(cache: Path) -> list[str]:
    return sorted(path.name for path in cache.iterdir()) if cache.is_dir() else []


def test_every_store_ref_of_one_model_shares_one_cache_entry(cli, workdir, logged, monkeypatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", str(logged["uri"]))
    monkeypatch.delenv("TOOLKIT_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(workdir / "xdg"))
    refs = [str(logged["model_uri"]), f"models:/{REGISTERED}@champion", f"models:/{REGISTERED}/1", None]
    cache = workdir / "xdg" / "toolkit" / "models"
    inode = None
    for ref in refs:
        result = cli("predict", "article.txt", "--json", *(["-m", ref] if ref else []))
        assert result.code == 0, result.stderr
        assert json.loads(result.stdout)[0]["predictions"][0]["label"] == "sports"
        (entry,) = cached_entries(cache)
        assert inode in (None, (cache / entry).stat().st_ino), f"{ref} copied the model again"
        inode = (cache / entry).stat().st_ino
    assert entry == manifest_sha(cache / entry)


def test_cache_evicts_the_least_recently_used_beyond_its_bound(cli, workdir, model_dirs, monkeypatch) -> None:
    folders = {"a": model_dirs["topic"]} | {
        name: fit_model_folder(workdir / name, "topic", make_rows(60, seed=seed)) for name, seed in [("b", 2), ("c", 3)]
    }
    keys = {name: manifest_sha(folder) for name, folder in folders.items()}
    monkeypatch.setenv("TOOLKIT_MODEL_CACHE_ENTRIES", "2")
    cache = workdir / "cache"
    for name in ["a", "b", "c", "b", "a"]:
        time.sleep(0.01)  # distinct use times
        result = cli("predict", "article.txt", "-m", folders[name].as_uri())
        assert result.code == 0, result.stderr
    assert cached_entries(cache) == sorted([keys["a"], keys["b"]])  # c, least recently used, went
    monkeypatch.setenv("TOOLKIT_MODEL_CACHE_MB", "0")
    assert cli("predict", "article.txt", "-m", folders["c"].as_uri()).code == 0
    assert cached_entries(cache) == [keys["c"]]  # over the size bound, only the model in use stays


def no_model_run(logged: dict[str, object]) -> str:
    """A run of the store that logged an artifact, but no model."""
    from toolkit.tracking.store import mlflow_module

    store = mlflow_module().MlflowClient(tracking_uri=str(logged["uri"]))
    run = store.create_run("0")
    store.log_text(run.info.run_id, "not a model", "model/readme.txt")
    return f"runs:/{run.info.run_id}/model"


NOT_MODELS = {
    "file:///etc": lambda workdir, logged: "file:///etc",
    "a folder of files": lambda workdir, logged: workdir.as_uri(),
    "a run without a model": lambda workdir, logged: no_model_run(logged),
}


@pytest.mark.parametrize("make_ref", list(NOT_MODELS.values()), ids=list(NOT_MODELS))
def test_refs_that_are_not_model_folders_are_refused_before_copying(
    make_ref, cli, workdir, logged, monkeypatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", str(logged["uri"]))
    ref = make_ref(workdir, logged)
    assert_one_line_error(cli("predict", "article.txt", "-m", ref), 2, "not a model folder")
    assert not (workdir / "cache").exists() or not any((workdir / "cache").rglob("*")), "something was copied"


def test_a_failed_download_leaves_no_entry_and_a_tampered_entry_is_fetched_again(
    cli, workdir, logged, monkeypatch
) -> None:
    import mlflow

    monkeypatch.setenv("MLFLOW_TRACKING_URI", str(logged["uri"]))
    real = mlflow.artifacts.download_artifacts

    def broken(*args, **kwargs):
        path = Path(real(*args, **kwargs))
        if path.is_dir():  # the folder itself, after its first files: the connection drops
            raise ConnectionError("connection reset")
        return str(path)

    monkeypatch.setattr(mlflow.artifacts, "download_artifacts", broken)
    failed = cli("predict", "article.txt", "-m", str(logged["model_uri"]))
    assert_one_line_error(failed, 1, "connection reset")
    assert cached_entries(workdir / "cache") == []
    monkeypatch.setattr(mlflow.artifacts, "download_artifacts", real)
    assert cli("predict", "article.txt", "-m", str(logged["model_uri"])).code == 0
    (entry,) = cached_entries(workdir / "cache")
    (workdir / "cache" / entry / "manifest.json").write_text("{}")
    assert cli("predict", "article.txt", "-m", str(logged["model_uri"])).code == 0
    assert manifest_sha(workdir / "cache" / entry) == entry
