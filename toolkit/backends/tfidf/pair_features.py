"""How a stance target relates to a text: dense relation features for (target, text) pairs.

A target can be a short phrase ("arms control talks") or a text of its own (a headline judged against an
article body). Beside each side's n-grams, a linear model needs to see how the two relate: TF-IDF cosine
on words and characters, the share of the target's content words found in the text and in its lead,
refuting and hedging cue words, and optionally the similarities cut into bins (one-hot), so a linear head
can learn a threshold such as "unrelated below this similarity". Every feature is a pure function of the
pair and of the fitted vectorizers, so a saved model recomputes them exactly.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from scipy import sparse

TOKEN = re.compile(r"(?u)\b\w\w+\b")
# Generic English cue lexicons (in the spirit of the FNC-1 baseline's refuting/hedging word lists).
REFUTING = frozenset(
    "fake fraud hoax false deny denies denied denying not no never despite nope doubt doubts bogus debunk "
    "debunked debunks prank pranks retract retracted retracts refute refutes refuted reject rejects rejected "
    "misleading untrue incorrect dismissed dismisses".split()
)
HEDGING = frozenset(
    "reportedly allegedly alleged claim claims claimed may might could unconfirmed rumor rumors rumour "
    "rumours apparently possibly purportedly supposedly unverified suggests suggested believed appears seems "
    "according report reports".split()
)


def unique_rows(values: Sequence[str]) -> tuple[list[str], list[int]]:
    """Distinct values and, per row, the index of its value: long texts repeated across pairs (one article
    body judged against many headlines) are vectorized once."""
    index: dict[str, int] = {}
    inverse = [index.setdefault(value, len(index)) for value in values]
    return list(index), inverse


# Texts longer than this (characters) are counted piece by piece, cut at whitespace: sklearn builds a
# Python list of every n-gram of a document at once, so a 50 MB article would need gigabytes. Counts
# add up across pieces exactly, except word n-grams (n > 1) that span a cut: at most one per cut.
PIECE_CHARS = 200_000


def split_at_whitespace(text: str, size: int = PIECE_CHARS) -> list[str]:
    """`text` in pieces of at most `size` characters, each cut at the last whitespace before the limit."""
    pieces, start = [], 0
    while len(text) - start > size:
        end = start + size
        cut = max(text.rfind(space, start + size // 2, end) for space in " \n\t\r")
        cut = cut if cut > start else end  # a single "word" longer than half a piece: cut it anyway
        pieces.append(text[start:cut])
        start = cut
    pieces.append(text[start:])
    return pieces


def transform_texts(vectorizer: Any, texts: Sequence[str]) -> sparse.csr_matrix:
    """`vectorizer.transform(texts)` in bounded memory: long texts are counted piece by piece, the
    pieces' counts summed per text, then weighted (sublinear tf, idf, norm) as one document."""
    import numpy as np
    from scipy import sparse
    from sklearn.feature_extraction.text import CountVectorizer

    if all(len(text) <= PIECE_CHARS for text in texts):
        return vectorizer.transform(texts)
    pieces, owner = [], []
    for index, text in enumerate(texts):
        parts = split_at_whitespace(text)
        pieces += parts
        owner += [index] * len(parts)
    counts = CountVectorizer.transform(vectorizer, pieces)
    combine = sparse.csr_matrix((np.ones(len(owner)), (owner, np.arange(len(owner)))), shape=(len(texts), len(owner)))
    return vectorizer._tfidf.transform((combine @ counts).tocsr(), copy=False)


def transform_unique(vectorizer: Any, values: Sequence[str]) -> sparse.csr_matrix:
    """vectorizer.transform(values), computing each distinct value once, long texts in bounded memory."""
    distinct, inverse = unique_rows(values)
    return transform_texts(vectorizer, distinct)[inverse]


def row_cosine(left: sparse.csr_matrix, right: sparse.csr_matrix) -> np.ndarray:
    """Cosine of L2-normalised TF-IDF rows, pair by pair."""
    import numpy as np

    return np.asarray(left.multiply(right).sum(axis=1)).ravel()


def word_similarity(target_vectors: Any, text_vectors: Any) -> np.ndarray:
    """Two columns: cosine of the word TF-IDF vectors, and the share of target terms found in the text."""
    import numpy as np

    target_terms = (target_vectors > 0).astype(np.float64)
    shared = np.asarray(target_terms.multiply(text_vectors > 0).sum(axis=1)).ravel()
    coverage = shared / np.maximum(np.asarray(target_terms.sum(axis=1)).ravel(), 1.0)
    return np.column_stack([row_cosine(target_vectors, text_vectors), coverage])


def content_sets(values: Sequence[str]) -> list[set[str]]:
    """Per row, the set of its content words (each distinct value analysed once)."""
    distinct, inverse = unique_rows(values)
    sets = [set(content_words(value)) for value in distinct]
    return [sets[k] for k in inverse]


def english_stop_words() -> frozenset[str]:
    """scikit-learn's English stop word list (the one training used), read from its source file without
    importing scikit-learn: it is a plain literal, and importing the package costs about a second."""
    import ast
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("sklearn")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("scikit-learn is needed for this model's overlap and cue features")
    source = (Path(spec.origin).parent / "feature_extraction" / "_stop_words.py").read_text(encoding="utf-8")
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "ENGLISH_STOP_WORDS":
            return frozenset(ast.literal_eval(node.value.args[0]))  # type: ignore[attr-defined]
    raise ValueError("ENGLISH_STOP_WORDS not found in scikit-learn's source")


_STOP_WORDS: list[frozenset[str]] = []


def content_words(text: str) -> list[str]:
    if not _STOP_WORDS:
        _STOP_WORDS.append(english_stop_words())
    return [token for token in TOKEN.findall(text.lower()) if token not in _STOP_WORDS[0]]


def word_overlap(targets: Sequence[str], texts: Sequence[str]) -> np.ndarray:
    """Two columns: share of the target's content words found in the text, and their Jaccard overlap."""
    import numpy as np

    rows = []
    for target_set, text_set in zip(content_sets(targets), content_sets(texts), strict=True):
        shared = len(target_set & text_set)
        rows.append([shared / max(len(target_set), 1), shared / max(len(target_set | text_set), 1)])
    return np.asarray(rows, dtype=np.float64).reshape(len(targets), 2)


def cue_rates(targets: Sequence[str], texts: Sequence[str]) -> np.ndarray:
    """Four columns: refuting and hedging words per 10 content words of the text; whether the target
    itself holds a refuting or a hedging word."""
    import numpy as np

    distinct, inverse = unique_rows(texts)
    text_rates = []
    for text in distinct:
        words = content_words(text)
        n = max(len(words), 1)
        text_rates.append([10 * sum(w in REFUTING for w in words) / n, 10 * sum(w in HEDGING for w in words) / n])
    rows = []
    for target_set, k in zip(content_sets(targets), inverse, strict=True):
        rows.append(text_rates[k] + [float(bool(target_set & REFUTING)), float(bool(target_set & HEDGING))])
    return np.asarray(rows, dtype=np.float64).reshape(len(targets), 4)


def one_hot_bins(values: np.ndarray, bins: int) -> sparse.csr_matrix:
    """Each column of values in [0, 1] cut into `bins` equal-width bins, one-hot encoded."""
    import numpy as np
    from scipy import sparse

    n, width = values.shape
    index = np.clip((values * bins).astype(int), 0, bins - 1) + np.arange(width) * bins
    return sparse.csr_matrix(
        (np.ones(n * width), index.ravel(), np.arange(0, n * width + 1, width)), shape=(n, width * bins)
    )


def relation_features(
    word: Any,
    char: Any | None,
    targets: Sequence[str],
    texts: Sequence[str],
    options: dict[str, Any],
    text_word: Any = None,
    text_char: Any = None,
) -> tuple[sparse.csr_matrix, np.ndarray]:
    """The relation block for each pair and the word cosine (used to gate text features).

    options: char_similarity (bool), lead_chars (int, 0 = off), bins (int, 0 = off), cues (bool),
    overlap (bool); with all of them off this is the two-column word similarity of earlier models.
    text_word / text_char: the texts' vectors when the caller already has them."""
    import numpy as np
    from scipy import sparse

    target_words = transform_unique(word, targets)
    text_word = transform_unique(word, texts) if text_word is None else text_word
    similarity = [word_similarity(target_words, text_word)]
    if options.get("char_similarity") and char is not None:
        text_char = transform_unique(char, texts) if text_char is None else text_char
        similarity.append(row_cosine(transform_unique(char, targets), text_char)[:, None])
    lead_chars = int(options.get("lead_chars", 0))
    leads = [text[:lead_chars] for text in texts] if lead_chars else []
    if leads:
        similarity.append(word_similarity(target_words, transform_unique(word, leads)))
    if options.get("overlap"):
        similarity += [word_overlap(targets, texts)] + ([word_overlap(targets, leads)] if leads else [])
    dense = np.hstack(similarity)
    blocks = [sparse.csr_matrix(dense)]
    if int(options.get("bins", 0)):
        blocks.append(one_hot_bins(np.clip(dense, 0.0, 1.0), int(options["bins"])))
    if options.get("cues"):
        cues = cue_rates(targets, texts)
        blocks.append(sparse.csr_matrix(np.hstack([cues, cues * dense[:, :1]])))
    return sparse.hstack(blocks, format="csr"), dense[:, 0]
