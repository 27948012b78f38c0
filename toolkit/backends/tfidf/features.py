"""The tfidf backend's feature matrix: text n-grams, target n-grams and relation features, per-target
blocks, and optional sentence-embedding features, hstacked in one fixed order so a saved linear head
lines up with the columns a loaded model rebuilds.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from scipy import sparse

    from toolkit.backends.tfidf.embeddings import SentenceEncoder
    from toolkit.backends.tfidf.params import TfidfParams

HASHTAG = re.compile(r"#(\w+)")
HASHTAG_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def expand_hashtag(match: re.Match[str]) -> str:
    """'#HillaryForPrison' -> '#HillaryForPrison Hillary For Prison' (the tag itself is kept)."""
    words = HASHTAG_WORD.findall(match.group(1))
    return f"{match.group(0)} {' '.join(words)}" if len(words) > 1 else match.group(0)


def prepare_texts(texts: Sequence[str], split_hashtags: bool) -> list[str]:
    """The texts the features read: with `split_hashtags`, each camel-case or digit-joined hashtag is
    followed by its words, so '#StopHillary' also counts as 'stop' and 'hillary'."""
    if not split_hashtags:
        return list(texts)
    return [HASHTAG.sub(expand_hashtag, text) if "#" in text else text for text in texts]


def make_vectorizer(analyzer: str, ngrams: tuple[int, int], params: TfidfParams) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(
        analyzer=analyzer,
        ngram_range=ngrams,
        min_df=params.min_df,
        max_features=params.max_features,
        sublinear_tf=params.sublinear_tf,
        lowercase=params.lowercase,
    )


SAFE_VECTORIZER_KEYS = {
    "analyzer",
    "binary",
    "decode_error",
    "encoding",
    "input",
    "lowercase",
    "max_df",
    "max_features",
    "min_df",
    "ngram_range",
    "norm",
    "smooth_idf",
    "strip_accents",
    "sublinear_tf",
    "token_pattern",
    "use_idf",
}


def rebuild_vectorizer(spec: dict[str, Any], idf: np.ndarray) -> Any:
    """A fitted TfidfVectorizer from saved settings; only plain-data settings are accepted."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    init = {k: v for k, v in spec["init"].items() if v is not None}
    unexpected = set(init) - SAFE_VECTORIZER_KEYS
    if unexpected or init.get("analyzer") not in {"word", "char", "char_wb"}:
        raise ValueError(f"unsupported vectorizer settings {sorted(unexpected) or init.get('analyzer')}")
    init["ngram_range"] = tuple(init["ngram_range"])
    vectorizer = TfidfVectorizer(**init)
    vectorizer.vocabulary_ = {term: index for index, term in enumerate(spec["vocabulary"])}
    if len(idf) != len(vectorizer.vocabulary_):
        raise ValueError("IDF weights and vocabulary differ in length")
    vectorizer.idf_ = idf
    return vectorizer


def target_block_features(
    word_features: sparse.csr_matrix, targets: Sequence[str], blocks: list[str]
) -> sparse.csr_matrix:
    """Each row's features moved into the column block of its target (empty for other targets)."""
    import numpy as np
    from scipy import sparse

    index = {target: k for k, target in enumerate(blocks)}
    block = np.array([index.get(target, -1) for target in targets])
    width = word_features.shape[1]
    row_lengths = np.diff(word_features.indptr)
    offsets = np.repeat(np.maximum(block, 0) * width, row_lengths)
    data = word_features.data * np.repeat(block >= 0, row_lengths)
    # a copy of indptr: eliminate_zeros() rewrites it in place, and the caller's word block shares it
    moved = sparse.csr_matrix(
        (data, word_features.indices + offsets, word_features.indptr.copy()),
        shape=(word_features.shape[0], width * len(blocks)),
    )
    moved.eliminate_zeros()
    return moved


class TfidfFeatures:
    """Named TF-IDF vectorizers over the text (word first), optionally one over the target, the targets
    that get their own block of features, and an optional frozen sentence encoder."""

    def __init__(
        self,
        text: dict[str, Any],
        target: Any | None,
        blocks: list[str] | None = None,
        pair: dict[str, Any] | None = None,
        encoder: SentenceEncoder | None = None,
        embedding_weight: float = 1.0,
        split_hashtags: bool = False,
        embed_text: bool = True,
    ) -> None:
        self.text = text
        self.target = target
        self.blocks = blocks or []
        self.pair = pair or {}
        self.encoder = encoder
        self.embedding_weight = embedding_weight
        self.split_hashtags = split_hashtags
        self.embed_text = embed_text

    @property
    def word(self) -> Any:
        return self.text["word"]

    def transform(
        self, texts: Sequence[str], targets: Sequence[str] | None, distinct: dict[str, Any] | None = None
    ) -> sparse.csr_matrix:
        """Feature rows for (target, text) pairs; `distinct`: vectors of the distinct prepared texts
        already computed while fitting (same order as unique_rows), so training analyses each text once."""
        return self.transform_with_words(texts, targets, distinct)[0]

    def transform_words(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """The texts' word TF-IDF rows alone (which words the model knew)."""
        from toolkit.backends.tfidf.pair_features import transform_unique

        return transform_unique(self.word, prepare_texts(texts, self.split_hashtags))

    def transform_with_words(
        self, texts: Sequence[str], targets: Sequence[str] | None, distinct: dict[str, Any] | None = None
    ) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
        """The feature rows and, separately, the text's word TF-IDF block (which words the model knew)."""
        from scipy import sparse

        from toolkit.backends.tfidf.pair_features import transform_unique, unique_rows

        texts = prepare_texts(texts, self.split_hashtags)
        if distinct:
            inverse = unique_rows(texts)[1]
            blocks = [distinct[name][inverse] for name in self.text]
        else:
            blocks = [transform_unique(vectorizer, texts) for vectorizer in self.text.values()]
        embedded = self.embed(texts)
        if embedded is not None:
            blocks.append(embedded)
        if self.target is not None:
            if targets is None or len(targets) != len(texts):
                raise ValueError("a stance model needs one target per text")
            blocks += self.pair_blocks(texts, targets, blocks, embedded)
        return sparse.hstack(blocks, format="csr"), blocks[0]

    def embed(self, texts: list[str]) -> sparse.csr_matrix | None:
        """The encoder's unit vectors scaled by `embedding_weight` (None without an encoder, or when it only
        compares targets and texts)."""
        from scipy import sparse

        if self.encoder is None or not self.embed_text:
            return None
        return sparse.csr_matrix(self.embedding_weight * self.encoder.encode(texts))

    def pair_blocks(
        self, texts: list[str], targets: Sequence[str], text_blocks: list[Any], embedded: Any | None
    ) -> list[Any]:
        """Target n-grams, relation features, per-target copies and the similarity-gated text words."""
        from scipy import sparse

        from toolkit.backends.tfidf.pair_features import relation_features, transform_unique

        relation, cosine = relation_features(
            self.word,
            self.text.get("char"),
            targets,
            texts,
            self.pair,
            text_blocks[0],
            text_blocks[1] if "char" in self.text else None,
        )
        blocks = [transform_unique(self.target, targets)] if self.pair.get("target_ngrams", True) else []
        blocks.append(relation)
        if self.pair.get("embedding_similarity"):
            if self.encoder is None:
                raise ValueError("embedding similarity features need the sentence encoder")
            blocks.append(sparse.csr_matrix(self.encoder.similarities(targets, texts)))
        if self.blocks:
            weight = float(self.pair.get("block_weight", 1.0))
            blocks.append(weight * target_block_features(text_blocks[0], targets, self.blocks))
            if self.pair.get("block_char") and "char" in self.text:
                blocks.append(weight * target_block_features(text_blocks[1], targets, self.blocks))
            if embedded is not None:
                blocks.append(target_block_features(embedded, targets, self.blocks))
        if self.pair.get("gated_text"):
            blocks.append(sparse.csr_matrix(text_blocks[0].multiply(cosine[:, None])))
        return blocks

    def named(self) -> dict[str, Any]:
        return self.text | ({"target": self.target} if self.target is not None else {})

    def saved_vectorizers(self) -> dict[str, tuple[dict[str, Any], np.ndarray]]:
        """Each vectorizer as plain data: its settings and vocabulary (JSON) and its IDF weights."""
        saved = {}
        for name, vectorizer in self.named().items():
            init = {k: v for k, v in vectorizer.get_params().items() if k != "dtype"}
            vocabulary = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.__getitem__)
            saved[name] = ({"init": init, "vocabulary": vocabulary}, vectorizer.idf_)
        return saved
