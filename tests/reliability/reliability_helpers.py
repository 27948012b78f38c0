"""Helpers for the reliability suite: the real CLI entry point run in-process, and file snapshots."""

from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]


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


def snapshot(root: Path, skip: tuple[str, ...] = ("mlruns", "mlruns.db", "cache")) -> dict[str, str]:
    """Every file under `root` (outside the tracking store and model cache) with its sha256."""
    files = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if relative.parts[0] in skip or not path.is_file():
            continue
        files[str(relative)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return files


def assert_one_line_error(result: CliResult, code: int, *fragments: str) -> None:
    """The contract for bad input: exit `code`, exactly one 'error: ...' line on stderr, no traceback."""
    assert result.code == code, (result.code, result.stderr, result.stdout)
    assert len(result.error_lines) == 1, result.stderr
    line = result.error_lines[0]
    assert line.startswith("error: "), line
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    for fragment in fragments:
        assert fragment in line, (fragment, line)


def fit_model_folder(folder: Path, task: str, rows: list[dict[str, str]] | None = None, **params: object) -> Path:
    """A real tfidf model folder (no MLflow), trained on the tiny synthetic corpus."""
    from conftest import make_rows

    from toolkit.backends.tfidf.model import TfidfBackend, TfidfParams
    from toolkit.data.types import Examples
    from toolkit.models.folder import save_model

    rows = rows or make_rows(90)
    label = "stance" if task == "stance" else "topic"
    examples = Examples(
        [r["text"] for r in rows],
        [r[label] for r in rows],
        [r["target"] for r in rows] if task == "stance" else None,
    )
    settings = {"char_ngrams": None, **params}
    model = TfidfBackend(TfidfParams.model_validate(settings), task, seed=0).fit(examples)
    extra = (
        {"targets": sorted({r["target"] for r in rows}), "default_target": rows[0]["target"]}
        if task == "stance"
        else {}
    )
    save_model(model, folder, extra)
    return folder


@pytest.fixture(scope="session")
def model_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A topic and a stance model folder, shared read-only by the tests (copy one before changing it)."""
    root = tmp_path_factory.mktemp("models")
    return {task: fit_model_folder(root / task, task) for task in ("topic", "stance")}


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty, already migrated MLflow SQLite store: creating one costs seconds, copying it milliseconds."""
    import mlflow

    path = tmp_path_factory.mktemp("template-store") / "mlruns.db"
    mlflow.MlflowClient(tracking_uri=f"sqlite:///{path}").search_experiments(max_results=1)
    return path


@pytest.fixture
def fast_store(store: Path, template_db: Path) -> Path:
    """Like conftest's `store` (tmp working folder + its own MLflow store), with the store pre-made."""
    import shutil

    shutil.copy(template_db, store / "mlruns.db")
    return store


class PicklePayload:
    """Unpickling this creates the marker file: proof that a loader ran code from the model file."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (self.marker, "w"))


class SkopsPayload:
    """skops calls __setstate__ for a trusted type: loading it with this type trusted creates the marker."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __setstate__(self, state: dict[str, str]) -> None:
        Path(state["marker"]).write_text("payload ran")
        self.__dict__.update(state)


def list_in_manifest(folder: Path, *names: str, drop: tuple[str, ...] = ()) -> None:
    """Record files in a model folder's manifest with their true sha256 (a crafted but consistent folder)."""
    import json

    from toolkit.models.folder import sha256_file

    manifest = json.loads((folder / "manifest.json").read_text())
    for name in drop:
        manifest["files"].pop(name, None)
    manifest["files"].update({name: sha256_file(folder / name) for name in names})
    (folder / "manifest.json").write_text(json.dumps(manifest))
