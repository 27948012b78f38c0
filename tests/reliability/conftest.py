"""Fixtures of the reliability suite: the real CLI entry point run in-process, shared model folders, and an
MLflow store copied from a pre-made one."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.reliability_helpers import fit_model_folder


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
