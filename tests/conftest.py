"""Shared fixtures: tiny corpora written here (never external text) and an isolated MLflow store."""

from __future__ import annotations

import csv
import functools
import random
from pathlib import Path

import pytest

TOPIC_WORDS = {
    "sports": "match goal team coach league season win score player stadium referee final".split(),
    "economy": "market inflation bank rates growth trade jobs budget prices tax exports wages".split(),
    "health": "hospital vaccine doctors patients disease clinic care virus nurses drug surgery".split(),
}
STANCE_WORDS = {
    "favor": "support welcome praise progress hope benefit deserve backing endorse".split(),
    "against": "oppose reject condemn danger risk failure reckless dismiss harmful".split(),
    "none": "report schedule meeting noted said week announced listed published".split(),
}
TARGETS = ["arms control talks", "nuclear energy"]


def make_rows(n: int = 180, seed: int = 0) -> list[dict[str, str]]:
    """Synthetic bag-of-words articles with a topic and a stance toward one of two targets."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        topic, stance, target = list(TOPIC_WORDS)[i % 3], list(STANCE_WORDS)[(i // 3) % 3], TARGETS[(i // 9) % 2]
        words = rng.choices(TOPIC_WORDS[topic], k=25) + rng.choices(STANCE_WORDS[stance], k=8) + target.split()
        rng.shuffle(words)
        rows.append(
            {
                "id": f"r{i:04d}",
                "title": f"{topic} report {i}",
                "text": " ".join(words),
                "topic": topic,
                "target": target,
                "stance": stance,
            }
        )
    return rows


def write_csv(path: Path, rows: list[dict[str, str]], delimiter: str = ",") -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter=delimiter)
        writer.writeheader()
        writer.writerows(rows)
    return path


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


def tiny_config(task: str, source: Path, **extra: object) -> list[str]:
    """--set overrides that point a run at a tiny CSV with the sample's column names."""
    overrides = [
        f"task={task}",
        f"data.source={source}",
        "data.name=tiny",
        f"data.columns.label={'stance' if task == 'stance' else 'topic'}",
        "backend.params.char_ngrams=null",
    ]
    if task == "stance":
        overrides.append("data.columns.target=target")
    return overrides + [f"{k}={v}" for k, v in extra.items()]


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
        results = {task: train(load_config(None, tiny_config(task, source))) for task in ("topic", "stance")}
    finally:
        os.chdir(old_cwd)
        if old_uri is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = old_uri
    return {"root": root, "source": source, "uri": f"sqlite:///{root / 'mlruns.db'}", **results}


# A tiny random BERT (hidden 32, 2 layers) with a WordPiece tokenizer trained on this file's own corpus:
# the transformer backend runs offline in seconds. Settings chosen so it overfits a dozen rows reliably.
TINY_TRANSFORMER = {
    "max_length": 64,
    "stride": 8,
    "epochs": 20,
    "batch_size": 4,
    "learning_rate": 3e-3,
    "warmup_ratio": 0.0,
    "early_stopping_patience": None,
    "class_weight": None,
    "device": "cpu",
}


@functools.cache
def tiny_encoder_path() -> str:
    """Build the tiny encoder once per test session (removed at exit). torch gets one thread: on a shared
    2-core machine its thread pool spinning makes a model this small ~10x slower."""
    import atexit
    import shutil
    import tempfile

    pytest.importorskip("transformers")
    import torch

    torch.set_num_threads(1)
    from toolkit.testing import build_tiny_encoder

    folder = Path(tempfile.mkdtemp(prefix="toolkit-tiny-encoder-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    corpus = [f"{row['title']} {row['text']}" for row in make_rows()] + TARGETS
    corpus += [" ".join(words) for words in (*TOPIC_WORDS.values(), *STANCE_WORDS.values())]
    return str(build_tiny_encoder(folder / "encoder", corpus))


def tiny_transformer_params(**extra: object) -> dict[str, object]:
    """Transformer backend params for the tiny encoder (test_backends' TINY_PARAMS entry)."""
    return {"model_name_or_path": tiny_encoder_path(), **TINY_TRANSFORMER, **extra}
