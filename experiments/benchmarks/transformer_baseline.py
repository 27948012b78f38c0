"""The plain `transformers.Trainer` side of experiments/benchmarks/transformer_gpu.py: what a user gets today.

The code lives in toolkit.bench.trainer_baseline (the benchmark runner uses it too); this adapts it to the
stages' Split objects (`.examples` with texts and targets) and bundles (`"labels"`, in gold-index order).
"""

from __future__ import annotations

from typing import Any

from toolkit.bench import trainer_baseline
from toolkit.bench.trainer_baseline import PairDataset, synchronize, timed, trainer_for

__all__ = ["PairDataset", "synchronize", "timed", "trainer_fit", "trainer_for", "trainer_predict"]


def trainer_predict(network: Any, tokenizer: Any, dev: Any, max_length: int) -> dict[str, Any]:
    """Trainer.predict with default arguments (eval batch 8, pairs truncated to max_length) on these weights."""
    return trainer_baseline.trainer_predict(network, tokenizer, dev.examples, max_length)


def trainer_fit(
    bundle: dict[str, Any], train: Any, dev: Any, encoder: str, max_length: int, epochs: int = 1
) -> dict[str, Any]:
    """A plain Trainer fine-tune from the pretrained encoder: training samples/s, then its dev predictions."""
    return trainer_baseline.trainer_fit(bundle["labels"], train.examples, dev.examples, encoder, max_length, epochs)
