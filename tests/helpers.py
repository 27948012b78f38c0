"""Shared test data and builders, imported as `from tests.helpers import ...` from any test folder.

A plain module rather than conftest.py: conftest files are pytest's to load (one per folder, fixtures
only), and importing them by name breaks as soon as tests live in subfolders. Every text here is
synthetic, written in this file (never external data).
"""

from __future__ import annotations

import csv
import functools
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from toolkit.data.types import Examples

ROOT = Path(__file__).resolve().parents[1]
"""The repository root (configs/, data/, experiments/ are read from here)."""

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

# Twelve hand-written examples per task: enough for every backend's contract checks, small enough to fit fast.
TOPIC = Examples(
    texts=[
        "the striker scored a late goal",
        "the keeper saved a penalty in the final",
        "central bank raises interest rates",
        "inflation pushes prices and wages up",
        "new vaccine trial at the hospital",
        "doctors treat patients in the clinic",
    ]
    * 2,
    labels=["sports", "sports", "economy", "economy", "health", "health"] * 2,
)
STANCE = Examples(
    texts=[
        "we strongly support the talks",
        "the talks deserve our backing",
        "we reject the talks as reckless",
        "the talks are a dangerous failure",
        "the talks are scheduled for monday",
        "officials listed the talks agenda",
    ]
    * 2,
    labels=["favor", "favor", "against", "against", "none", "none"] * 2,
    targets=["arms control talks"] * 6 + ["nuclear energy"] * 6,
)

# A text longer than the tiny encoder's windows, so that it is split into several.
LONG_TEXT = " ".join(
    f"{word} market" for word in "alpha beta gamma delta epsilon zeta eta theta iota kappa".split() * 6
)


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
    """Rows as a CSV file with a header (the first row's keys)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter=delimiter)
        writer.writeheader()
        writer.writerows(rows)
    return path


def tiny_config(task: str, source: Path, **extra: object) -> list[str]:
    """--set overrides that point a run at a tiny CSV with the sample's column names."""
    overrides = [
        f"task={task}",
        f"data.source={source}",
        "data.name=tiny",
        f"data.columns.label={'stance' if task == 'stance' else 'topic'}",
        "backend.params.char_ngrams=null",
        "tracking.figures=false",  # drawing them is most of a tiny run's time; tests/tracking/test_review.py draws them
    ]
    if task == "stance":
        overrides.append("data.columns.target=target")
    return overrides + [f"{k}={v}" for k, v in extra.items()]


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
    """Transformer backend params for the tiny encoder (the backend contract's entry for 'transformer')."""
    return {"model_name_or_path": tiny_encoder_path(), **TINY_TRANSFORMER, **extra}


def untrained_model(task: str, **params: Any) -> Any:
    """A model with a fresh (random) head: enough for encoding, windowing and save/load checks."""
    from toolkit.backends.transformer.model import TransformerModel, TransformerParams, load_pretrained

    settings = TransformerParams(**tiny_transformer_params(**params))
    labels = ["against", "favor", "none"] if task == "stance" else ["economy", "health", "sports"]
    network, tokenizer = load_pretrained(settings.model_name_or_path, settings, labels)
    return TransformerModel(task, labels, settings.model_dump(mode="json"), network, tokenizer)


@dataclass
class CliResult:
    """What `toolkit ARGS` did, run in-process by the `cli` fixture (tests/conftest.py)."""

    code: int
    stdout: str
    stderr: str

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]

    def __iter__(self) -> Iterator[object]:
        """`code, out, err = cli(...)`."""
        return iter((self.code, self.stdout, self.stderr))


def rehash(folder: Path) -> None:
    """Rewrite the manifest with the true sha256 of every file it lists (a consistent, crafted folder)."""
    from toolkit._hashing import sha256_file

    try:
        manifest = json.loads((folder / "manifest.json").read_text())
    except (ValueError, RecursionError):  # the manifest itself was broken: it is not hashed, nothing to redo
        return
    manifest["files"] = {name: sha256_file(folder / name) for name in manifest["files"]}
    (folder / "manifest.json").write_text(json.dumps(manifest))
