"""What a saved tfidf model's files must hold, checked before any of it is used.

`tfidf.json` is validated against the pydantic models below, `tfidf.safetensors`' arrays against the shapes the
settings and the manifest's labels imply, and every number must be finite. The hashes only prove that a file is
the one the manifest names, not that it is sound: a folder that fails here is an invalid model folder (one
line, exit 2), never a raw library error (SafetensorError, IndexError, matmul ValueError) or a NaN answer.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    field_validator,
    model_validator,
)

if TYPE_CHECKING:
    import numpy as np

SETTINGS_FILE = "tfidf.json"
ARRAYS_FILE = "tfidf.safetensors"
VECTORIZER_ORDER = ("word", "char", "target")  # the order of their feature blocks, whatever the file's order
PAIR_OPTIONS: dict[str, type] = {
    "char_similarity": bool,
    "lead_chars": int,
    "overlap": bool,
    "bins": int,
    "cues": bool,
    "gated_text": bool,
    "target_ngrams": bool,
    "embedding_similarity": bool,
    "block_char": bool,
    "block_weight": float,
}
Number = StrictInt | StrictFloat


class Stored(BaseModel):
    """A section of tfidf.json: nothing unknown, no type coercion of flags."""

    model_config = ConfigDict(extra="forbid")


class VectorizerInit(Stored):
    """TfidfVectorizer's constructor arguments as saved (sklearn's defaults where a key is absent); the
    callables it could take (preprocessor, tokenizer) and a fixed vocabulary are never accepted."""

    analyzer: Literal["word", "char", "char_wb"]
    ngram_range: tuple[StrictInt, StrictInt] = (1, 1)
    binary: StrictBool = False
    decode_error: Literal["strict", "ignore", "replace"] = "strict"
    encoding: StrictStr = "utf-8"
    input: Literal["content"] = "content"
    lowercase: StrictBool = True
    max_df: Number = Field(1.0, gt=0)
    min_df: Number = Field(1, ge=0)
    max_features: StrictInt | None = Field(None, ge=1)
    norm: Literal["l1", "l2"] | None = "l2"
    smooth_idf: StrictBool = True
    strip_accents: Literal["ascii", "unicode"] | None = None
    sublinear_tf: StrictBool = False
    token_pattern: StrictStr | None = r"(?u)\b\w\w+\b"
    use_idf: StrictBool = True
    preprocessor: None = None
    tokenizer: None = None
    stop_words: None = None
    vocabulary: None = None

    @field_validator("ngram_range")
    @classmethod
    def ordered(cls, value: tuple[int, int]) -> tuple[int, int]:
        if not 1 <= value[0] <= value[1]:
            raise ValueError(f"must be (min, max) with 1 <= min <= max, not {list(value)}")
        return value

    @field_validator("token_pattern")
    @classmethod
    def compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a regular expression ({exc})") from exc
        return value


class VectorizerSpec(Stored):
    init: VectorizerInit
    vocabulary: list[StrictStr]

    @field_validator("vocabulary")
    @classmethod
    def distinct(cls, terms: list[str]) -> list[str]:
        if len(set(terms)) != len(terms):
            raise ValueError("terms must be unique (each is one column of the features)")
        return terms

    def as_saved(self) -> dict[str, Any]:
        """The spec in the shape `rebuild_vectorizer` reads."""
        return {"init": self.init.model_dump(exclude_unset=True), "vocabulary": self.vocabulary}


class EmbeddingSettings(Stored):
    weight: Number = Field(gt=0)
    max_length: StrictInt = Field(ge=1)
    batch_size: StrictInt = Field(ge=1)
    text: StrictBool = True

    @field_validator("weight")
    @classmethod
    def finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("must be finite")
        return value


class TfidfSettings(Stored):
    """All of tfidf.json."""

    vectorizers: dict[str, VectorizerSpec]
    target_blocks: list[StrictStr] = []
    pair: dict[str, Any] = {}
    split_hashtags: StrictBool = False
    embeddings: EmbeddingSettings | None = None

    @field_validator("vectorizers")
    @classmethod
    def known_blocks(cls, vectorizers: dict[str, VectorizerSpec]) -> dict[str, VectorizerSpec]:
        unknown = sorted(set(vectorizers) - set(VECTORIZER_ORDER))
        if unknown or "word" not in vectorizers:
            raise ValueError(f"must hold a 'word' vectorizer and only {list(VECTORIZER_ORDER)} ones")
        return {name: vectorizers[name] for name in VECTORIZER_ORDER if name in vectorizers}

    @field_validator("pair")
    @classmethod
    def known_options(cls, pair: dict[str, Any]) -> dict[str, Any]:
        return pair_options(pair)

    @model_validator(mode="after")
    def encoder_for_similarity(self) -> TfidfSettings:
        if self.pair.get("embedding_similarity") and self.embeddings is None:
            raise ValueError("pair.embedding_similarity needs the embeddings section (the sentence encoder)")
        return self


def pair_options(saved: Any) -> dict[str, Any]:
    """The relation-feature switches, from params or a saved file; only known plain values of their types pass."""
    if not isinstance(saved, dict) or set(saved) - set(PAIR_OPTIONS):
        raise ValueError(f"unsupported pair feature settings {saved!r}")
    for key, value in saved.items():
        if not plain_value(value, PAIR_OPTIONS[key]):
            raise ValueError(f"pair feature setting {key} must be a {PAIR_OPTIONS[key].__name__}, not {value!r}")
    return {key: PAIR_OPTIONS[key](value) for key, value in saved.items()}


def plain_value(value: Any, kind: type) -> bool:
    """`value` is a `kind` as JSON writes it: a bool for a switch, else a finite non-negative number (no bool)."""
    if kind is bool or isinstance(value, bool):
        return kind is bool and isinstance(value, bool)
    numeric = isinstance(value, int) if kind is int else isinstance(value, int | float)
    return numeric and math.isfinite(value) and value >= 0


def check_arrays(arrays: dict[str, np.ndarray], settings: TfidfSettings, n_labels: int) -> None:
    """The arrays the settings and labels call for, and nothing else: float, finite, and of matching shapes
    (a binary head has one row). Raises ValueError saying which array is wrong."""
    import numpy as np

    expected = {"coef", "intercept"} | {f"idf.{name}" for name in settings.vectorizers}
    odd = sorted(expected ^ set(arrays))
    if odd:
        problem = "has no" if odd[0] in expected else "holds an unexpected"
        raise ValueError(f"{ARRAYS_FILE} {problem} array {odd[0]!r}")
    for name in sorted(expected):
        if arrays[name].dtype.kind != "f":
            raise ValueError(f"{name} must hold floats, not {arrays[name].dtype}")
        if not np.isfinite(arrays[name]).all():
            raise ValueError(f"{name} holds values that are not finite (NaN or infinity)")
    for name, spec in settings.vectorizers.items():
        if arrays[f"idf.{name}"].shape != (len(spec.vocabulary),):
            raise ValueError(
                f"idf.{name} has shape {arrays[f'idf.{name}'].shape}; its {len(spec.vocabulary)} terms need one each"
            )
    rows, coef = 1 if n_labels == 2 else n_labels, arrays["coef"]
    if coef.ndim != 2:
        raise ValueError(f"coef must be a 2-d array, not one of shape {coef.shape}")
    if coef.shape[0] != rows:
        raise ValueError(f"coef has {coef.shape[0]} rows (shape {coef.shape}); {n_labels} labels need {rows}")
    if arrays["intercept"].shape != (rows,):
        raise ValueError(f"intercept has shape {arrays['intercept'].shape}; {n_labels} labels need ({rows},)")


def read_arrays(path: Path) -> dict[str, np.ndarray]:
    """The safetensors file's arrays; raises ValueError when it is not a readable safetensors file."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"{path.name} is not a readable safetensors file ({first[:200]})") from exc
