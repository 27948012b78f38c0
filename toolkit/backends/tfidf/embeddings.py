"""A frozen sentence encoder: mean-pooled, L2-normalised embeddings of texts, as extra features.

The tfidf backend can add these dense features beside its n-grams (`embeddings: <folder or hub id>`):
n-grams see the exact words, the encoder sees what a text is about, which matters when the stance words
are not in the training data ("only #God can judge me" against atheism). Nothing is fine-tuned, so
training stays a linear fit; the encoder's files are saved inside the model folder (safetensors weights,
tokenizer JSON), loaded with `use_safetensors=True` and `trust_remote_code=False`.

Each text is read up to `max_length` tokens (its lead); the n-gram features still read every word.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

ENCODER_FOLDER = "encoder"


class SentenceEncoder:
    """Wraps a Hugging Face encoder and its fast tokenizer; `encode` gives one unit vector per text."""

    def __init__(self, network: Any, tokenizer: Any, max_length: int, batch_size: int) -> None:
        self.network = network
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.batch_size = batch_size

    @classmethod
    def load(cls, source: str, max_length: int = 128, batch_size: int = 64) -> SentenceEncoder:
        """From a folder or hub id: safetensors weights only, never code from the model repository."""
        from toolkit._deps import require
        from toolkit.backends.transformer.loading import from_pretrained_safely

        require("torch", "transformer")
        transformers = require("transformers", "transformer")
        network, tokenizer = from_pretrained_safely(
            transformers.AutoModel, source, {}, "sentence encoder", "the sentence encoder"
        )
        positions = getattr(network.config, "max_position_embeddings", None) or max_length
        network.eval()
        return cls(network, tokenizer, min(max_length, positions), batch_size)

    @property
    def dimension(self) -> int:
        return int(self.network.config.hidden_size)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dimension) float32 unit vectors; each distinct text is encoded once, in batches
        of similar length so little compute goes to padding."""
        import numpy as np
        import torch

        from toolkit.backends.tfidf.pair_features import unique_rows
        from toolkit.backends.transformer.device import resolve_device
        from toolkit.backends.transformer.pooling import mean_pool

        distinct, inverse = unique_rows(texts)
        vectors = np.zeros((len(distinct), self.dimension), dtype=np.float32)
        order = sorted(range(len(distinct)), key=lambda i: len(distinct[i]))
        device = resolve_device("auto")
        network = self.network.to(device)
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                rows = order[start : start + self.batch_size]
                batch = self.tokenizer(
                    [distinct[i] for i in rows],
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                ).to(device)
                pooled = mean_pool(network(**batch).last_hidden_state, batch["attention_mask"])
                vectors[rows] = torch.nn.functional.normalize(pooled, dim=-1).float().cpu().numpy()
        return vectors[np.asarray(inverse, dtype=np.int64)] if len(texts) else vectors[:0]

    def save(self, folder: Path) -> list[str]:
        """Write the encoder into `folder/encoder`; return the written files' names relative to `folder`."""
        from toolkit.backends.transformer.loading import quiet_transformers

        target = folder / ENCODER_FOLDER
        with quiet_transformers():
            self.network.save_pretrained(target, safe_serialization=True)
            self.tokenizer.save_pretrained(target)
        return sorted(str(path.relative_to(folder)) for path in target.rglob("*") if path.is_file())
