"""The tfidf backend's parameters: what a config, `--set` or a tuning space may set, validated by pydantic.

A module of its own so the feature code can name the type without importing the backend (no import cycle).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from toolkit.schema import StrictModel


def _ordered(value: tuple[int, int]) -> tuple[int, int]:
    if value[0] > value[1]:
        raise ValueError(f"an n-gram range is [shortest, longest]: {value[0]} > {value[1]}")
    return value


NgramRange = Annotated[tuple[Annotated[int, Field(ge=1)], Annotated[int, Field(ge=1)]], AfterValidator(_ordered)]
"""[shortest, longest] n-gram lengths, both at least 1 (scikit-learn refuses them otherwise, after data prep)."""


class TfidfParams(StrictModel):
    """Parameters of the TF-IDF backend (the names used in configs, `--set` and MLflow)."""

    word_ngrams: NgramRange = (1, 2)
    char_ngrams: NgramRange | None = (2, 5)
    char_analyzer: Literal["char_wb", "char"] = Field(
        "char_wb", description="char_wb: n-grams inside words; char: also across spaces (e.g. '#tag' + next word)"
    )
    min_df: int = Field(1, ge=1, description="documents a term must occur in to be kept")
    max_features: int | None = Field(300_000, ge=1, description="the most frequent terms kept (null: all)")
    sublinear_tf: bool = True
    lowercase: bool = True
    C: float = Field(10.0, gt=0, description="inverse regularisation strength")
    classifier: Literal["logistic_regression", "linear_svm"] = Field(
        "logistic_regression",
        description="linear_svm: liblinear's LinearSVC, much faster on many long texts; "
        "its margins become probabilities by a softmax whose temperature is fitted on the validation split",
    )
    class_weight: Literal["balanced"] | None = "balanced"
    max_iter: int = Field(3000, ge=1, description="solver iterations")
    pair_features: bool = True
    target_blocks: int = Field(
        20,
        ge=0,
        description="stance: give up to this many frequent targets their own copy of the text's word "
        "features, so a word can mean favor for one target and against for another (0 disables)",
    )
    target_block_min_rows: int = Field(10, ge=1, description="rows a target needs in training to get a block")
    target_block_weight: float = Field(
        1.0,
        gt=0,
        description="stance: scale of the target blocks' features "
        "(above 1: the per-target weights are less regularised than shared ones)",
    )
    target_block_char: bool = Field(
        False, description="stance: target blocks of the char n-gram features too (closer to one model per target)"
    )
    pair_char_similarity: bool = Field(False, description="stance: cosine of target and text char n-grams")
    pair_lead_chars: int = Field(
        0,
        ge=0,
        description="stance: also relate the target to the text's first N "
        "characters (its lead), where a headline's claim is usually taken up; 0 = off",
    )
    pair_overlap: bool = Field(False, description="stance: content-word coverage and Jaccard overlap")
    pair_bins: int = Field(
        0,
        ge=0,
        description="stance: one-hot bins of each similarity, so a linear head "
        "can learn thresholds (e.g. 'unrelated below 0.1'); 0 = off",
    )
    pair_cues: bool = Field(False, description="stance: refuting/hedging cue word rates of the text and target")
    pair_target_ngrams: bool = Field(
        True,
        description="stance: the target's own word n-grams join the features; off, the model can only relate a "
        "target to its text, not remember a target's label (for targets unseen in training, such as new claims)",
    )
    pair_embedding_similarity: bool = Field(
        False,
        description="stance, with `embeddings`: the encoder's cosine of target and text joins the relation "
        "features (it carries over to targets unseen in training, where the target's n-grams cannot)",
    )
    pair_gated_text: bool = Field(
        False,
        description="stance: a copy of the text's word features scaled by "
        "the target/text cosine, so text words weigh most when the pair is related",
    )
    split_hashtags: bool = Field(
        False, description="social-media text: '#StopHillary' also counts as the words 'stop' and 'hillary'"
    )
    embeddings: str | None = Field(
        None,
        min_length=1,
        description="a sentence encoder (folder or hub id) whose frozen, mean-pooled text embeddings join the "
        "features (and the per-target blocks); saved inside the model folder. Needs the transformer extra",
    )
    embedding_weight: float = Field(1.0, gt=0, description="scale of the embedding features beside the n-grams")
    embedding_text: bool = Field(
        True,
        description="the text's own embedding joins the features; off, the encoder only compares target and "
        "text (pair_embedding_similarity)",
    )
    embedding_max_length: int = Field(128, ge=8, description="tokens of each text the encoder reads (its lead)")
    embedding_batch_size: int = Field(64, ge=1)

    @model_validator(mode="after")
    def _encoder_for_similarity(self) -> TfidfParams:
        if self.pair_embedding_similarity and not self.embeddings:
            raise ValueError("pair_embedding_similarity needs `embeddings` (the sentence encoder that compares them)")
        if self.embeddings and not self.embedding_text and not self.pair_embedding_similarity:
            raise ValueError("embedding_text: false leaves the encoder unused: set pair_embedding_similarity: true")
        return self
