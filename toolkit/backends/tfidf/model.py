"""TF-IDF backend: word and character n-grams into a class-weighted logistic regression.

For stance, the input is a (target, text) pair: the features are the text's n-grams, the target's
n-grams, and how the two relate (cosine similarity, share of target words found in the text), so one
model serves several targets.

Saved as plain data only: vectorizer settings and vocabularies in JSON, IDF weights and the linear
head in safetensors. Loading rebuilds the vectorizers from that data; there is nothing to unpickle and
no type to trust, and prediction is a sparse matrix product plus a softmax.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolkit._deps import TRANSFORMER_DISTRIBUTIONS
from toolkit.backends.base import Backend, FittedModel
from toolkit.backends.tfidf.features import TfidfFeatures, make_vectorizer, prepare_texts, rebuild_vectorizer
from toolkit.backends.tfidf.params import TfidfParams
from toolkit.data.types import EpochLog, Examples, Progress
from toolkit.errors import ModelLoadError

if TYPE_CHECKING:
    import numpy as np
    from scipy import sparse

SETTINGS_FILE = "tfidf.json"
ARRAYS_FILE = "tfidf.safetensors"


def softmax_head(scores: np.ndarray) -> np.ndarray:
    """LogisticRegression's probabilities from decision scores: softmax, or the sigmoid for two classes."""
    import numpy as np

    if scores.shape[1] == 1:
        positive = 1.0 / (1.0 + np.exp(-scores[:, 0]))
        return np.column_stack([1.0 - positive, positive])
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    probabilities: np.ndarray = shifted / shifted.sum(axis=1, keepdims=True)
    return probabilities


class TfidfModel(FittedModel):
    """Fitted vectorizers and a linear head (coef, intercept) over their features."""

    backend_name = "tfidf"

    def __init__(
        self,
        task: str,
        labels: Sequence[str],
        params: dict[str, Any],
        features: TfidfFeatures,
        coef: np.ndarray,
        intercept: np.ndarray,
    ) -> None:
        super().__init__(task, labels, params)
        self.features = features
        self.coef = coef
        self.intercept = intercept

    def decision_scores(
        self, texts: Sequence[str], targets: Sequence[str] | None = None
    ) -> tuple[np.ndarray, sparse.csr_matrix]:
        """The linear head's scores, and the texts' word block (which words the model knew)."""
        import numpy as np

        features, words = self.features.transform_with_words(texts, targets)
        return np.asarray(features @ self.coef.T + self.intercept), words

    def predict_proba(self, texts: Sequence[str], targets: Sequence[str] | None = None) -> np.ndarray:
        return softmax_head(self.decision_scores(texts, targets)[0])

    def scale_head(self, temperature: float) -> None:
        """Divide the linear head by a temperature (kept linear, so saving stays plain arrays)."""
        self.coef = self.coef / temperature
        self.intercept = self.intercept / temperature

    def unknown_text_mask(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        from toolkit.backends.tfidf.pair_features import transform_unique

        prepared = prepare_texts(texts, self.features.split_hashtags)
        return np.asarray(transform_unique(self.features.word, prepared).getnnz(axis=1) == 0)

    def predict_with_unknown(
        self, texts: Sequence[str], targets: Sequence[str] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Both from one pass over the texts: the word block that feeds the head also says which texts
        had no known word."""
        import numpy as np

        scores, words = self.decision_scores(texts, targets)
        return softmax_head(scores), np.asarray(words.getnnz(axis=1) == 0)

    def requirements(self) -> list[str]:
        return list(TRANSFORMER_DISTRIBUTIONS) if self.features.encoder is not None else []

    def save(self, folder: Path) -> list[str]:
        import numpy as np
        from safetensors.numpy import save_file

        settings: dict[str, Any] = {
            "vectorizers": {},
            "target_blocks": self.features.blocks,
            "pair": self.features.pair,
            "split_hashtags": self.features.split_hashtags,
        }
        files = [SETTINGS_FILE, ARRAYS_FILE]
        encoder = self.features.encoder
        if encoder is not None:
            settings["embeddings"] = {
                "weight": self.features.embedding_weight,
                "max_length": encoder.max_length,
                "batch_size": encoder.batch_size,
            }
            files += encoder.save(folder)
        arrays = {"coef": self.coef, "intercept": self.intercept}
        for name, vectorizer in self.features.named().items():
            init = {k: v for k, v in vectorizer.get_params().items() if k != "dtype"}
            vocabulary = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.__getitem__)
            settings["vectorizers"][name] = {"init": init, "vocabulary": vocabulary}
            arrays[f"idf.{name}"] = vectorizer.idf_
        (folder / SETTINGS_FILE).write_text(json.dumps(settings, ensure_ascii=False), encoding="utf-8")
        # safetensors writes raw buffers: a Fortran-ordered array would come back scrambled.
        save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, str(folder / ARRAYS_FILE))
        return files

    @classmethod
    def load(cls, folder: Path, manifest: dict[str, Any]) -> TfidfModel:
        from safetensors.numpy import load_file

        try:
            settings = json.loads((folder / SETTINGS_FILE).read_text(encoding="utf-8"))
            arrays = load_file(str(folder / ARRAYS_FILE))
            vectorizers = {
                name: rebuild_vectorizer(spec, arrays[f"idf.{name}"]) for name, spec in settings["vectorizers"].items()
            }
            pair = pair_options(settings.get("pair", {}))
            embeddings = settings.get("embeddings")
            weight = float(embeddings["weight"]) if embeddings else 1.0
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelLoadError(f"{folder}: unreadable tfidf model files ({type(exc).__name__}: {exc})") from exc
        target = vectorizers.pop("target", None)
        features = TfidfFeatures(
            vectorizers,
            target,
            [str(t) for t in settings.get("target_blocks", [])],
            pair,
            load_encoder(folder, embeddings) if embeddings else None,
            weight,
            bool(settings.get("split_hashtags", False)),
        )
        return cls(
            manifest["task"],
            manifest["labels"],
            manifest.get("params", {}),
            features,
            arrays["coef"],
            arrays["intercept"],
        )


def load_encoder(folder: Path, embeddings: dict[str, Any]) -> Any:
    """The sentence encoder saved beside the linear head (its files were hash-checked with the rest)."""
    from toolkit.backends.tfidf.embeddings import ENCODER_FOLDER, SentenceEncoder

    return SentenceEncoder.load(
        str(folder / ENCODER_FOLDER), int(embeddings["max_length"]), int(embeddings["batch_size"])
    )


PAIR_OPTIONS = {
    "char_similarity": bool,
    "lead_chars": int,
    "overlap": bool,
    "bins": int,
    "cues": bool,
    "gated_text": bool,
    "block_char": bool,
    "block_weight": float,
}


def pair_options(saved: Any) -> dict[str, Any]:
    """The relation-feature switches, from params or a saved file; only known plain values pass."""
    if not isinstance(saved, dict) or set(saved) - set(PAIR_OPTIONS):
        raise ValueError(f"unsupported pair feature settings {saved!r}")
    return {key: PAIR_OPTIONS[key](value) for key, value in saved.items()}


def frequent_targets(targets: Sequence[str] | None, params: TfidfParams) -> list[str]:
    """The most frequent targets with enough rows to learn target-specific word weights."""
    from collections import Counter

    counts = Counter(targets or [])
    eligible = [(-n, t) for t, n in counts.items() if n >= params.target_block_min_rows]
    return [t for _, t in sorted(eligible)[: params.target_blocks]]


class TfidfBackend(Backend):
    """Fits `TfidfModel`s; see `TfidfParams` for what can be tuned."""

    name = "tfidf"
    Params = TfidfParams
    model_class = TfidfModel

    def import_libraries(self) -> None:
        import sklearn.feature_extraction.text
        import sklearn.linear_model
        import sklearn.svm  # noqa: F401

        if self.params.embeddings:  # type: ignore[attr-defined]
            from toolkit._deps import require

            require("torch", "transformer")
            require("transformers", "transformer")

    def fit(
        self,
        train: Examples,
        validation: Examples | None = None,
        progress: Progress | None = None,
        on_epoch: EpochLog | None = None,
    ) -> TfidfModel:
        """One linear fit, no epochs: `on_epoch` is never called."""
        import numpy as np

        params = TfidfParams.model_validate(self.params.model_dump())
        features, distinct = self.fit_features(train, params, progress)
        if progress:
            progress(f"fitting {params.classifier.replace('_', ' ')} on {len(train)} rows")
        classifier = make_classifier(params, self.seed)
        classifier.fit(features.transform(train.texts, train.targets, distinct), train.labels)
        labels = [str(label) for label in classifier.classes_]
        model = TfidfModel(
            self.task,
            labels,
            params.model_dump(mode="json"),
            features,
            np.asarray(classifier.coef_, dtype=np.float64),
            np.asarray(classifier.intercept_, dtype=np.float64),
        )
        if params.classifier == "linear_svm" and validation is not None and len(validation):
            model.scale_head(fit_temperature(model, validation))
        return model

    def fit_features(
        self, train: Examples, params: TfidfParams, progress: Progress | None
    ) -> tuple[TfidfFeatures, dict[str, Any]]:
        """Fitted vectorizers (and the loaded encoder) as TfidfFeatures, with the distinct training
        documents' vectors so the classifier's input is built without analysing any text twice."""
        from toolkit.backends.tfidf.pair_features import unique_rows

        # a body paired with many targets is one document
        documents = unique_rows(prepare_texts(train.texts, params.split_hashtags))[0]
        text = {"word": make_vectorizer("word", params.word_ngrams, params)}
        if params.char_ngrams is not None:
            text["char"] = make_vectorizer(params.char_analyzer, params.char_ngrams, params)
        distinct = {name: vectorizer.fit_transform(documents) for name, vectorizer in text.items()}
        target = None
        if self.task == "stance" and params.pair_features:
            if train.targets is None:
                raise ValueError("stance training data has no targets")
            target = make_vectorizer("word", (1, 2), params).fit(train.targets)
        switches = {key: getattr(params, f"pair_{key}") for key in PAIR_OPTIONS if not key.startswith("block_")}
        blocks = {"block_char": params.target_block_char, "block_weight": params.target_block_weight}
        encoder = None
        if params.embeddings:
            from toolkit.backends.tfidf.embeddings import SentenceEncoder

            if progress:
                progress(f"loading sentence encoder {params.embeddings} for {len(documents)} distinct texts")
            encoder = SentenceEncoder.load(params.embeddings, params.embedding_max_length, params.embedding_batch_size)
        features = TfidfFeatures(
            text,
            target,
            frequent_targets(train.targets, params) if target else [],
            pair_options(switches | blocks) if target else {},
            encoder,
            params.embedding_weight,
            params.split_hashtags,
        )
        return features, distinct


def make_classifier(params: TfidfParams, seed: int) -> Any:
    """The linear head's learner: both leave a plain (coef, intercept)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    if params.classifier == "linear_svm":
        return LinearSVC(C=params.C, class_weight=params.class_weight, max_iter=params.max_iter, random_state=seed)
    return LogisticRegression(C=params.C, class_weight=params.class_weight, max_iter=params.max_iter, random_state=seed)


def fit_temperature(model: TfidfModel, validation: Examples) -> float:
    """The softmax temperature that minimises validation log-loss (a grid over 0.05..20): calibrates an
    SVM's margins into probabilities without changing a single prediction."""
    import numpy as np

    scores = model.decision_scores(validation.texts, validation.targets)[0]
    known = {label: i for i, label in enumerate(model.labels)}
    rows = [(r, known[label]) for r, label in enumerate(validation.labels) if label in known]
    index, gold = np.array([r for r, _ in rows]), np.array([g for _, g in rows])
    if not rows:
        return 1.0

    def log_loss(temperature: float) -> float:
        probabilities = softmax_head(scores[index] / temperature)
        return float(-np.log(np.clip(probabilities[np.arange(len(gold)), gold], 1e-12, None)).mean())

    return min(np.geomspace(0.05, 20, 41), key=log_loss)
