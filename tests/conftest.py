"""Shared fixtures: a tiny corpus, an isolated MLflow store, trained runs. Data and builders: tests/helpers.py."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.helpers import CliResult, make_rows, tiny_config, write_csv


@pytest.fixture(scope="session", autouse=True)
def private_model_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Training and loading by ref fill the model cache; tests keep theirs out of the user's ~/.cache."""
    import os

    os.environ.setdefault("TOOLKIT_CACHE", str(tmp_path_factory.mktemp("model-cache")))


@pytest.fixture
def corpus_csv(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "articles.csv", make_rows())


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty MLflow store in tmp_path, with tmp_path as the working folder."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlruns.db'}")
    monkeypatch.setenv("TOOLKIT_CACHE", str(tmp_path / "cache"))
    return tmp_path


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """One topic and one stance run on the tiny corpus, shared by the tests that only read them."""
    import os

    from toolkit.config import load_config
    from toolkit.train import train

    root = tmp_path_factory.mktemp("trained")
    source = write_csv(root / "articles.csv", make_rows())
    old_cwd, old_uri = Path.cwd(), os.environ.get("MLFLOW_TRACKING_URI")
    os.chdir(root)
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{root / 'mlruns.db'}"
    os.environ["TOOLKIT_CACHE"] = str(root / "cache")
    try:
        figures = ["tracking.figures=true"]  # these two runs are the ones whose figures tests look at
        results = {
            task: train(load_config(None, [*tiny_config(task, source), *figures])) for task in ("topic", "stance")
        }
    finally:
        os.chdir(old_cwd)
        if old_uri is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = old_uri
    return {"root": root, "source": source, "uri": f"sqlite:///{root / 'mlruns.db'}", **results}


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    """Run `toolkit.cli.main()` (the console script's entry, with its error handling) in this process.

    A subprocess pays ~3 s of imports per call; this runs the same code path as `toolkit ARGS`.
    """
    from toolkit.cli import main

    def run(*args: str, stdin: bytes | None = None) -> CliResult:
        monkeypatch.setattr(sys, "argv", ["toolkit", *args])
        if stdin is not None:
            import io

            monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"))
        capsys.readouterr()
        saved_env = dict(os.environ)
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        finally:
            os.environ.clear()
            os.environ.update(saved_env)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run
