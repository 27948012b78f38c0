"""The tfidf backend's prediction path with NumPy and the standard library only.

Training fits scikit-learn vectorizers; predicting with a saved model needs none of it. Importing
scikit-learn (and SciPy and pandas with it) costs about a second, which `toolkit predict article.txt` would
pay on every call. This module recomputes the same feature rows from the saved plain data (vocabularies, IDF
weights, the relation switches) with the analyzers written out as scikit-learn defines them, and keeps them in
a small CSR-like `Rows` that the linear head multiplies. `tests/backends/tfidf/test_light.py` checks that the
probabilities equal the fitted pipeline's to 1e-9 for every tfidf config in `configs/`.

Settings this path does not reproduce (accent stripping, stop words, custom token patterns, sentence
embeddings) make `supports()` false: such a model loads the scikit-learn path instead.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from toolkit.backends.tfidf.pair_features import PIECE_CHARS, TOKEN, split_at_whitespace, unique_rows

if TYPE_CHECKING:
    import numpy as np

DEFAULT_TOKEN_PATTERN = r"(?u)\b\w\w+\b"
WHITE_SPACES = re.compile(r"\s\s+")
WORD_CACHE_LIMIT = 200_000  # distinct words whose char_wb n-grams a vectorizer remembers
# vectorizer settings whose saved value must be the default for this path to give scikit-learn's rows
REQUIRED_DEFAULTS = {"strip_accents": None, "stop_words": None, "preprocessor": None, "tokenizer": None}


def supports(settings: dict[str, Any]) -> bool:
    """Whether a saved tfidf model's settings are all ones this path reproduces exactly."""
    if settings.get("embeddings"):
        return False
    for spec in settings.get("vectorizers", {}).values():
        init = spec.get("init", {})
        if any(init.get(key) != value for key, value in REQUIRED_DEFAULTS.items()):
            return False
        if init.get("analyzer") not in {"word", "char", "char_wb"} or init.get("norm", "l2") not in {"l1", "l2", None}:
            return False
        if init.get("analyzer") == "word" and init.get("token_pattern", DEFAULT_TOKEN_PATTERN) != DEFAULT_TOKEN_PATTERN:
            return False
    return True


class Rows:
    """Sparse rows in CSR layout (indptr, column indices, values): just what the linear head needs."""

    def __init__(self, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, width: int) -> None:
        self.indptr, self.indices, self.data, self.width = indptr, indices, data, width

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.indptr) - 1, self.width

    def row_ids(self) -> np.ndarray:
        import numpy as np

        return np.repeat(np.arange(self.shape[0]), np.diff(self.indptr))

    def getnnz(self, axis: int = 1) -> np.ndarray:
        import numpy as np

        return np.diff(self.indptr)

    def __matmul__(self, dense: np.ndarray) -> np.ndarray:
        """rows @ dense (width x k), one output column at a time: `take` from a contiguous column and a segment sum
        per row (about ten times faster than fancy-indexing rows of a transposed head and counting with bincount;
        this is most of a served tfidf answer)."""
        import numpy as np

        out = np.zeros((self.shape[0], dense.shape[1]))
        stored = np.diff(self.indptr) > 0
        if not stored.any():
            return out
        starts = self.indptr[:-1][stored]  # a row with no entry would break reduceat's segments: left at zero
        for k, column in enumerate(np.ascontiguousarray(dense.T)):
            out[stored, k] = np.add.reduceat(column.take(self.indices) * self.data, starts)
        return out

    def take(self, order: Sequence[int]) -> Rows:
        """Rows in the given order (repeats allowed): distinct texts computed once, spread back over pairs."""
        import numpy as np

        order = np.asarray(order, dtype=np.int64)
        starts, lengths = self.indptr[order], np.diff(self.indptr)[order]
        picks = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths) + np.arange(lengths.sum())
        indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        return Rows(indptr, self.indices[picks], self.data[picks], self.width)

    def scaled(self, factors: np.ndarray | float) -> Rows:
        """Each row's values times its factor (one per row, or one for all)."""
        import numpy as np

        weights = factors if np.isscalar(factors) else np.repeat(factors, np.diff(self.indptr))
        return Rows(self.indptr, self.indices, self.data * weights, self.width)

    @classmethod
    def from_dense(cls, values: np.ndarray) -> Rows:
        import numpy as np

        n, width = values.shape
        keep = values != 0
        indptr = np.concatenate([[0], np.cumsum(keep.sum(axis=1))]).astype(np.int64)
        return cls(indptr, np.nonzero(keep)[1].astype(np.int64), values[keep].astype(np.float64), width)


def hstack(blocks: Sequence[Rows]) -> Rows:
    """Blocks side by side, row by row, each block's columns shifted past the ones before it."""
    import numpy as np

    n = blocks[0].shape[0]
    offsets = np.cumsum([0] + [block.width for block in blocks[:-1]])
    rows = np.concatenate([block.row_ids() for block in blocks])
    order = np.argsort(rows, kind="stable")
    indices = np.concatenate([block.indices + offset for block, offset in zip(blocks, offsets, strict=True)])
    data = np.concatenate([block.data for block in blocks])
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n))]).astype(np.int64)
    return Rows(indptr, indices[order], data[order], int(sum(block.width for block in blocks)))


def row_dot(left: Rows, right: Rows) -> np.ndarray:
    """Per row, the dot product of two equally shaped row sets (cosine for L2-normalised rows)."""
    import numpy as np

    width = max(left.width, right.width) + 1
    left_keys, right_keys = left.row_ids() * width + left.indices, right.row_ids() * width + right.indices
    _, at_left, at_right = np.intersect1d(left_keys, right_keys, assume_unique=True, return_indices=True)
    products = left.data[at_left] * right.data[at_right]
    return np.bincount(left.row_ids()[at_left], weights=products, minlength=left.shape[0])


def word_ngrams(tokens: list[str], low: int, high: int) -> list[str]:
    """scikit-learn's word n-grams of a token list (unigrams first, then each longer n in order)."""
    grams = list(tokens) if low == 1 else []
    for n in range(max(low, 2), min(high + 1, len(tokens) + 1)):
        grams += [" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    return grams


def char_wb_ngrams(text: str, low: int, high: int) -> list[str]:
    """scikit-learn's char_wb n-grams: inside each space-padded word; a short word counted once."""
    grams = []
    for word in WHITE_SPACES.sub(" ", text).split():
        padded = f" {word} "
        for n in range(low, high + 1):
            grams += [padded[i : i + n] for i in range(max(len(padded) - n + 1, 1))]
            if len(padded) <= n:
                break
    return grams


def char_ngrams(text: str, low: int, high: int) -> list[str]:
    """scikit-learn's char n-grams over the whole text, runs of whitespace squeezed to one space."""
    text = WHITE_SPACES.sub(" ", text)
    return [text[i : i + n] for n in range(low, min(high + 1, len(text) + 1)) for i in range(len(text) - n + 1)]


class PlainVectorizer:
    """A fitted TfidfVectorizer's transform, rebuilt from its saved settings, vocabulary and IDF weights."""

    def __init__(self, spec: dict[str, Any], idf: np.ndarray) -> None:
        init = spec["init"]
        self.spec = spec
        self.vocabulary = {term: index for index, term in enumerate(spec["vocabulary"])}
        if len(idf) != len(self.vocabulary):
            raise ValueError("IDF weights and vocabulary differ in length")
        self.idf = idf
        self.lowercase = bool(init.get("lowercase", True))
        self.binary = bool(init.get("binary", False))
        self.sublinear_tf = bool(init.get("sublinear_tf", False))
        self.use_idf = bool(init.get("use_idf", True))
        self.norm = init.get("norm", "l2")
        self.kind, self.ngrams = init["analyzer"], (int(init["ngram_range"][0]), int(init["ngram_range"][1]))
        self.analyzer = self.make_analyzer(self.kind, self.ngrams)
        self.word_grams: dict[str, np.ndarray] = {}  # char_wb: a word's n-grams do not depend on its context

    @staticmethod
    def make_analyzer(kind: str, ngrams: tuple[int, int]) -> Callable[[str], list[str]]:
        low, high = int(ngrams[0]), int(ngrams[1])
        if kind == "word":
            return lambda text: word_ngrams(TOKEN.findall(text), low, high)
        if kind == "char_wb":
            return lambda text: char_wb_ngrams(text, low, high)
        return lambda text: char_ngrams(text, low, high)

    def counted(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Known terms' indices (ascending) and counts; a text longer than PIECE_CHARS is counted piece by piece,
        as in training."""
        import numpy as np

        pieces = split_at_whitespace(text) if len(text) > PIECE_CHARS else [text]
        found, times = [], []
        for piece in pieces:
            piece = piece.lower() if self.lowercase else piece
            if self.kind == "char_wb":
                words = Counter(WHITE_SPACES.sub(" ", piece).split())
                found += [self.grams_of(word) for word in words]
                times += words.values()
            else:
                grams = self.analyzer(piece)
                found.append(np.fromiter((i for g in grams if (i := self.vocabulary.get(g)) is not None), np.int64))
                times.append(1)
        lengths = [len(indices) for indices in found]
        indices, inverse = np.unique(np.concatenate(found or [np.empty(0, np.int64)]), return_inverse=True)
        return indices, np.bincount(
            inverse, weights=np.repeat(np.asarray(times, float), lengths), minlength=len(indices)
        )

    def grams_of(self, word: str) -> np.ndarray:
        """char_wb: a word's known n-grams, looked up once and then remembered (a word's n-grams do not depend
        on its context, and news reuses its words: this makes a served article several times cheaper)."""
        import numpy as np

        grams = self.word_grams.get(word)
        if grams is None:
            if len(self.word_grams) > WORD_CACHE_LIMIT:
                self.word_grams.clear()
            found = (i for gram in char_wb_ngrams(word, *self.ngrams) if (i := self.vocabulary.get(gram)) is not None)
            grams = self.word_grams[word] = np.fromiter(found, np.int64)
        return grams

    def transform(self, texts: Sequence[str]) -> Rows:
        """TF-IDF rows as scikit-learn computes them: counts, sublinear tf, IDF, row norm."""
        import numpy as np

        counted = [self.counted(text) for text in texts]
        indptr = np.concatenate([[0], np.cumsum([len(indices) for indices, _ in counted])]).astype(np.int64)
        indices = np.concatenate([indices for indices, _ in counted] or [np.empty(0, np.int64)])
        data = np.concatenate([counts for _, counts in counted] or [np.empty(0)])
        rows = Rows(indptr, indices.astype(np.int64), data.astype(np.float64), len(self.idf))
        if self.binary:
            rows.data[:] = 1.0
        if self.sublinear_tf:
            rows.data = np.log(rows.data) + 1.0
        if self.use_idf:
            rows.data = rows.data * self.idf.take(rows.indices)
        return self.normalised(rows)

    def normalised(self, rows: Rows) -> Rows:
        import numpy as np

        if self.norm is None:
            return rows
        sizes = np.abs(rows.data) if self.norm == "l1" else rows.data * rows.data
        totals = np.bincount(rows.row_ids(), weights=sizes, minlength=rows.shape[0])
        totals = totals if self.norm == "l1" else np.sqrt(totals)
        totals[totals == 0.0] = 1.0
        return rows.scaled(1.0 / totals)

    def transform_unique(self, values: Sequence[str]) -> Rows:
        """transform(values), analysing each distinct value once (one body paired with many targets)."""
        distinct, inverse = unique_rows(values)
        return self.transform(distinct).take(inverse)
