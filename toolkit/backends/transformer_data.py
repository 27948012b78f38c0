"""Token plumbing for the transformer backend, kept free of torch where it can be.

- Stance inputs are (target, text) sentence pairs: the target comes first and is never truncated; only
  the text side is cut (`truncation="only_second"`).
- A text longer than `max_length` tokens is split into overlapping windows (`stride` shared tokens),
  each window is classified, and the window probabilities are aggregated back to one row per text.
- Batches are built from windows sorted by length, so padding (and wasted compute) stays small.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from toolkit.errors import DataError

if TYPE_CHECKING:
    import numpy as np

Aggregation = Literal["mean", "max"]
MODEL_INPUTS = ("input_ids", "token_type_ids", "attention_mask")


@dataclass
class Encoded:
    """Token windows of a list of texts: `owner[i]` is the index of the text window `i` came from."""

    features: list[dict[str, list[int]]]
    owner: list[int]
    n_texts: int

    @property
    def lengths(self) -> list[int]:
        return [len(feature["input_ids"]) for feature in self.features]

    def windows_per_text(self) -> np.ndarray:
        import numpy as np

        return np.bincount(np.asarray(self.owner, dtype=np.int64), minlength=self.n_texts)

    @property
    def windowed(self) -> int:
        """How many texts did not fit in one window (and so were split, never silently cut)."""
        return int((self.windows_per_text() > 1).sum())

    def first_windows(self) -> list[int]:
        """Index of each text's first window (texts in order)."""
        seen: dict[int, int] = {}
        for index, text in enumerate(self.owner):
            seen.setdefault(text, index)
        return [seen[text] for text in range(self.n_texts)]


def safe_stride(tokenizer: Any, max_length: int, stride: int, longest_first: int | None) -> int:
    """The requested stride, reduced to at most half of the room a window leaves for the text."""
    pair = longest_first is not None
    room = max_length - tokenizer.num_special_tokens_to_add(pair=pair) - (longest_first or 0)
    return max(0, min(stride, room // 2))


def longest_target(tokenizer: Any, targets: Sequence[str], max_length: int) -> int:
    """Token count of the longest target; a target that leaves no room for the text is an error."""
    distinct = sorted(set(targets))
    counts = tokenizer(distinct, add_special_tokens=False)["input_ids"]
    room = max_length - tokenizer.num_special_tokens_to_add(pair=True)
    longest, target = max((len(ids), t) for ids, t in zip(counts, distinct, strict=True))
    if longest >= room:
        raise DataError(
            f"stance target '{target[:80]}' is {longest} tokens long; max_length={max_length} leaves no room "
            "for the text (raise backend.params.max_length or shorten the target)"
        )
    return longest


def encode(
    tokenizer: Any, texts: Sequence[str], targets: Sequence[str] | None, max_length: int, stride: int
) -> Encoded:
    """Tokenize texts (or (target, text) pairs) into windows of at most `max_length` tokens."""
    if not texts:
        return Encoded([], [], 0)
    options: dict[str, Any] = {"max_length": max_length, "return_overflowing_tokens": True}
    if targets is None:
        options.update(truncation=True, stride=safe_stride(tokenizer, max_length, stride, None))
        tokens = tokenizer(list(texts), **options)
    else:
        if len(targets) != len(texts):
            raise DataError(f"a stance model needs one target per text ({len(targets)} targets, {len(texts)} texts)")
        longest = longest_target(tokenizer, targets, max_length)
        options.update(truncation="only_second", stride=safe_stride(tokenizer, max_length, stride, longest))
        tokens = tokenizer([str(t) for t in targets], list(texts), **options)
    owner = [int(i) for i in tokens["overflow_to_sample_mapping"]]
    keys = [key for key in MODEL_INPUTS if key in tokens]
    features = [{key: tokens[key][i] for key in keys} for i in range(len(owner))]
    return Encoded(features, owner, len(texts))


def pad_batch(features: Sequence[dict[str, list[int]]], pad_id: int, multiple: int = 1) -> dict[str, np.ndarray]:
    """Right-pad one batch to its own longest window (dynamic padding), rounded up to `multiple` so a GPU
    sees few distinct shapes (each new shape costs attention-kernel set-up) and tensor-core-friendly sizes."""
    import numpy as np

    longest = max(len(feature["input_ids"]) for feature in features)
    width = -(-longest // multiple) * multiple
    batch = {}
    for key in features[0]:
        fill = pad_id if key == "input_ids" else 0
        array = np.full((len(features), width), fill, dtype=np.int64)
        for row, feature in enumerate(features):
            array[row, : len(feature[key])] = feature[key]
        batch[key] = array
    return batch


def sorted_batches(lengths: Sequence[int], batch_size: int) -> list[np.ndarray]:
    """Inference batches: windows sorted longest first, so each batch pads little and OOM shows early."""
    import numpy as np

    order = np.argsort(-np.asarray(lengths, dtype=np.int64), kind="stable")
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]


def training_batches(
    lengths: Sequence[int], batch_size: int, rng: np.random.Generator, group_by_length: bool
) -> list[np.ndarray]:
    """Shuffled training batches; with length grouping, rows of similar length share a batch
    (sorted inside shuffled mega-batches of 50 batches, the scheme of transformers' LengthGroupedSampler)."""
    import numpy as np

    order = rng.permutation(len(lengths))
    if group_by_length:
        lengths_array = np.asarray(lengths)
        mega = batch_size * 50
        chunks = [order[start : start + mega] for start in range(0, len(order), mega)]
        order = np.concatenate([chunk[np.argsort(-lengths_array[chunk], kind="stable")] for chunk in chunks])
    batches = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
    if group_by_length:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


def aggregate(window_probabilities: np.ndarray, owner: Sequence[int], n_texts: int, how: Aggregation) -> np.ndarray:
    """One probability row per text from its windows: their mean, or the per-class max renormalised."""
    import numpy as np

    owner_array = np.asarray(owner, dtype=np.int64)
    width = window_probabilities.shape[1]
    if how == "mean":
        sums = np.zeros((n_texts, width), dtype=np.float64)
        np.add.at(sums, owner_array, window_probabilities)
        rows = sums / np.bincount(owner_array, minlength=n_texts)[:, None]
    elif how == "max":
        rows = np.zeros((n_texts, width), dtype=np.float64)
        np.maximum.at(rows, owner_array, window_probabilities)
    else:
        raise ValueError(f"unknown window aggregation '{how}' (use 'mean' or 'max')")
    result: np.ndarray = rows / rows.sum(axis=1, keepdims=True)
    return result
