"""A saved tfidf model's feature rows without scikit-learn: the same blocks in the same order as
`features.TfidfFeatures` and `pair_features.relation_features` build while training, over `light.Rows`.

Each function here mirrors one in those modules; `tests/backends/tfidf/test_light.py` holds the two paths
to the same probabilities.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from toolkit.backends.tfidf.features import prepare_texts
from toolkit.backends.tfidf.light import PlainVectorizer, Rows, hstack, row_dot
from toolkit.backends.tfidf.pair_features import cue_rates, word_overlap

if TYPE_CHECKING:
    import numpy as np


def indicator(rows: Rows) -> Rows:
    return Rows(rows.indptr, rows.indices, (rows.data > 0).astype(float), rows.width)


def word_similarity(target_words: Rows, text_words: Rows) -> np.ndarray:
    """Cosine of the two word rows and the share of target terms found in the text."""
    import numpy as np

    terms = indicator(target_words)
    coverage = row_dot(terms, indicator(text_words)) / np.maximum(
        np.bincount(terms.row_ids(), terms.data, terms.shape[0]), 1.0
    )
    return np.column_stack([row_dot(target_words, text_words), coverage])


def one_hot_bins(values: np.ndarray, bins: int) -> Rows:
    import numpy as np

    n, width = values.shape
    index = np.clip((values * bins).astype(int), 0, bins - 1) + np.arange(width) * bins
    return Rows(
        np.arange(0, n * width + 1, width, dtype=np.int64),
        index.ravel().astype(np.int64),
        np.ones(n * width),
        width * bins,
    )


def target_blocks(words: Rows, targets: Sequence[str], blocks: list[str]) -> Rows:
    """Each row's entries moved into the column block of its target (none for other targets)."""
    import numpy as np

    index = {target: k for k, target in enumerate(blocks)}
    block = np.array([index.get(target, -1) for target in targets], dtype=np.int64)
    per_entry = np.repeat(block, np.diff(words.indptr))
    keep = per_entry >= 0
    lengths = np.bincount(words.row_ids()[keep], minlength=words.shape[0])
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    return Rows(indptr, (words.indices + per_entry * words.width)[keep], words.data[keep], words.width * len(blocks))


class PlainFeatures:
    """The feature rows of a saved tfidf model, computed with NumPy alone (see `supports()` for which)."""

    def __init__(self, settings: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        vectorizers = {
            name: PlainVectorizer(spec, arrays[f"idf.{name}"]) for name, spec in settings["vectorizers"].items()
        }
        self.target = vectorizers.pop("target", None)
        self.text = vectorizers
        self.blocks = [str(t) for t in settings.get("target_blocks", [])]
        self.pair = dict(settings.get("pair", {}))
        self.split_hashtags = bool(settings.get("split_hashtags", False))
        self.encoder = None

    @property
    def word(self) -> PlainVectorizer:
        return self.text["word"]

    def saved_vectorizers(self) -> dict[str, tuple[dict[str, Any], np.ndarray]]:
        """The vectorizers as they were loaded (a loaded model saves again unchanged, e.g. a tuning's best)."""
        named = self.text | ({"target": self.target} if self.target is not None else {})
        return {name: (vectorizer.spec, vectorizer.idf) for name, vectorizer in named.items()}

    def transform_words(self, texts: Sequence[str]) -> Rows:
        return self.word.transform_unique(prepare_texts(texts, self.split_hashtags))

    def transform(self, texts: Sequence[str], targets: Sequence[str] | None) -> Rows:
        return self.transform_with_words(texts, targets)[0]

    def transform_with_words(self, texts: Sequence[str], targets: Sequence[str] | None) -> tuple[Rows, Rows]:
        texts = prepare_texts(texts, self.split_hashtags)
        blocks = [vectorizer.transform_unique(texts) for vectorizer in self.text.values()]
        if self.target is not None:
            if targets is None or len(targets) != len(texts):
                raise ValueError("a stance model needs one target per text")
            blocks += self.pair_blocks(texts, targets, blocks)
        return hstack(blocks), blocks[0]

    def pair_blocks(self, texts: list[str], targets: Sequence[str], text_blocks: list[Rows]) -> list[Rows]:
        assert self.target is not None
        relation, cosine = self.relation(texts, targets, text_blocks)
        blocks = [self.target.transform_unique(targets)] if self.pair.get("target_ngrams", True) else []
        blocks.append(relation)
        if self.blocks:
            weight = float(self.pair.get("block_weight", 1.0))
            blocks.append(target_blocks(text_blocks[0], targets, self.blocks).scaled(weight))
            if self.pair.get("block_char") and "char" in self.text:
                blocks.append(target_blocks(text_blocks[1], targets, self.blocks).scaled(weight))
        if self.pair.get("gated_text"):
            blocks.append(text_blocks[0].scaled(cosine))
        return blocks

    def relation(self, texts: list[str], targets: Sequence[str], text_blocks: list[Rows]) -> tuple[Rows, np.ndarray]:
        """Mirrors pair_features.relation_features: similarities, optional bins and cue rates."""
        import numpy as np

        target_words = self.word.transform_unique(targets)
        similarity = [word_similarity(target_words, text_blocks[0])]
        char = self.text.get("char")
        if self.pair.get("char_similarity") and char is not None:
            similarity.append(row_dot(char.transform_unique(targets), text_blocks[1])[:, None])
        lead_chars = int(self.pair.get("lead_chars", 0))
        leads = [text[:lead_chars] for text in texts] if lead_chars else []
        if leads:
            similarity.append(word_similarity(target_words, self.word.transform_unique(leads)))
        if self.pair.get("overlap"):
            similarity += [word_overlap(targets, texts)] + ([word_overlap(targets, leads)] if leads else [])
        dense = np.hstack(similarity)
        blocks = [Rows.from_dense(dense)]
        if int(self.pair.get("bins", 0)):
            blocks.append(one_hot_bins(np.clip(dense, 0.0, 1.0), int(self.pair["bins"])))
        if self.pair.get("cues"):
            cues = cue_rates(targets, texts)
            blocks.append(Rows.from_dense(np.hstack([cues, cues * dense[:, :1]])))
        return hstack(blocks), dense[:, 0]
