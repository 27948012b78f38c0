"""Fixtures of the serving tests: tfidf model folders and a real server on 127.0.0.1 (a free port) in a thread."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tests.reliability.reliability_helpers import fit_model_folder

if not all(importlib.util.find_spec(module) for module in ("fastapi", "uvicorn")):
    collect_ignore_glob = ["test_*.py"]  # the `serve` extra is not installed


@pytest.fixture(scope="session")
def serve_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A topic and a stance tfidf model folder, read-only."""
    root = tmp_path_factory.mktemp("serve-models")
    return {task: fit_model_folder(root / task, task) for task in ("topic", "stance")}


@pytest.fixture(scope="module")
def server(serve_models: dict[str, Path]):
    """(base URL, app) of a server answering with both models; stopped after the module."""
    from toolkit.serving.run import ServeOptions, background_server, load_models

    models = load_models([str(serve_models["topic"]), str(serve_models["stance"])])
    options = ServeOptions(port=0, access_log=False, max_request_bytes=64_000, max_texts=20)
    with background_server(models, options) as running:
        yield running
