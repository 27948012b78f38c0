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
from toolkit.backends.tfidf.stored import (
    ARRAYS_FILE,
    PAIR_OPTIONS,
    SETTINGS_FILE,
    TfidfSettings,
    check_arrays,
    pair_options,
    read_arrays,
)
from toolkit.data.types import EpochLog, Examples, Progress
from toolkit.errors import ModelLoadError
from toolkit.models.folder import first_problem, invalid, loadable_files, read_model_json

if TYPE_CHECKING:
    import numpy as np
    from scipy import sparse


def softmax_head(scores: np.ndarray) -> np.ndarray:
    """LogisticRegression's probabilities from decision scores: softmax, or the sigmoid for two classes.

    Hand-written, not `scipy.special.softmax`/`expit`: the NumPy-only prediction path (`toolkit predict` on a tfidf
    folder) must not import SciPy (~0.1 s of its start-up); tests check it equals SciPy's."""
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
        scores = np.asarray(features @ self.coef.T + self.intercept)
        if not np.isfinite(scores).all():  # finite but huge coefficients overflow: never answer NaN
            raise ModelLoadError("invalid model folder: its linear head gives scores that are not finite")
        return scores, words

    def predict_proba(self, texts: Sequence[str], targets: Sequence[str] | None = None) -> np.ndarray:
        return softmax_head(self.decision_scores(texts, targets)[0])

    def scale_head(self, temperature: float) -> None:
        """Divide the linear head by a temperature (kept linear, so saving stays plain arrays)."""
        self.coef = self.coef / temperature
        self.intercept = self.intercept / temperature

    def unknown_text_mask(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        return np.asarray(self.features.transform_words(texts).getnnz(axis=1) == 0)

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
                "text": self.features.embed_text,
                "max_length": encoder.max_length,
                "batch_size": encoder.batch_size,
            }
            files += encoder.save(folder)
        arrays = {"coef": self.coef, "intercept": self.intercept}
        for name, (spec, idf) in self.features.saved_vectorizers().items():
            settings["vectorizers"][name] = spec
            arrays[f"idf.{name}"] = idf
        (folder / SETTINGS_FILE).write_text(json.dumps(settings, ensure_ascii=False), encoding="utf-8")
        # safetensors writes raw buffers: a Fortran-ordered array would come back scrambled.
        save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, str(folder / ARRAYS_FILE))
        return files

    @classmethod
    def files_read(cls, folder: Path, manifest: dict[str, Any]) -> list[str]:
        """tfidf.json and the arrays; with embeddings, the encoder's files too (from_pretrained finds them by name)."""
        from toolkit.backends.tfidf.embeddings import ENCODER_FOLDER

        files = [SETTINGS_FILE, ARRAYS_FILE]
        settings = read_model_json(folder, SETTINGS_FILE) if SETTINGS_FILE in manifest["files"] else {}
        if isinstance(settings, dict) and settings.get("embeddings"):
            encoder = [f"{ENCODER_FOLDER}/config.json", f"{ENCODER_FOLDER}/model.safetensors"]
            files += encoder + [f"{ENCODER_FOLDER}/{name}" for name in loadable_files(folder / ENCODER_FOLDER)]
        return files

    @classmethod
    def load(cls, folder: Path, manifest: dict[str, Any]) -> TfidfModel:
        """The model from its validated files: settings, params and arrays are checked before any is used, and
        the rebuilt features must be as wide as the linear head."""
        settings, arrays = read_checked(folder, manifest)
        features = plain_features(settings, arrays) or sklearn_features(folder, settings, arrays)
        model = cls(manifest["task"], manifest["labels"], manifest.get("params", {}), features, *head(arrays))
        width = features.transform(["probe"], ["probe"] if features.target is not None else None).shape[1]
        if model.coef.shape[1] != width:
            raise invalid(folder, f"coef has {model.coef.shape[1]} columns but the features have {width}")
        return model


def plain_features(settings: TfidfSettings, arrays: dict[str, np.ndarray]) -> Any | None:
    """The features rebuilt with NumPy alone (toolkit.backends.tfidf.light: no scikit-learn import, so
    `toolkit predict` starts in a fraction of a second); None when the settings need scikit-learn."""
    from toolkit.backends.tfidf.light import supports
    from toolkit.backends.tfidf.light_features import PlainFeatures

    saved = {
        "vectorizers": {name: spec.as_saved() for name, spec in settings.vectorizers.items()},
        "target_blocks": settings.target_blocks,
        "pair": settings.pair,
        "split_hashtags": settings.split_hashtags,
        "embeddings": settings.embeddings is not None,
    }
    return PlainFeatures(saved, arrays) if supports(saved) else None


def sklearn_features(folder: Path, settings: TfidfSettings, arrays: dict[str, np.ndarray]) -> TfidfFeatures:
    """The features as training built them: fitted scikit-learn vectorizers (and the sentence encoder)."""
    try:
        vectorizers = {
            name: rebuild_vectorizer(spec.as_saved(), arrays[f"idf.{name}"])
            for name, spec in settings.vectorizers.items()
        }
    except ValueError as exc:
        raise invalid(folder, f"{SETTINGS_FILE}: {exc}") from exc
    target = vectorizers.pop("target", None)
    embeddings = settings.embeddings
    return TfidfFeatures(
        vectorizers,
        target,
        settings.target_blocks,
        settings.pair,
        load_encoder(folder, embeddings.model_dump()) if embeddings else None,
        float(embeddings.weight) if embeddings else 1.0,
        settings.split_hashtags,
        embeddings.text if embeddings else True,
    )


def head(arrays: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The linear head as float64 (a file may store float32)."""
    import numpy as np

    return np.asarray(arrays["coef"], dtype=np.float64), np.asarray(arrays["intercept"], dtype=np.float64)


def read_checked(folder: Path, manifest: dict[str, Any]) -> tuple[TfidfSettings, dict[str, np.ndarray]]:
    """tfidf.json validated by TfidfSettings, the params by TfidfParams, and the arrays by `check_arrays`;
    anything wrong is an invalid model folder."""
    from pydantic import ValidationError

    try:
        settings = TfidfSettings.model_validate(read_model_json(folder, SETTINGS_FILE))
    except ValidationError as exc:
        raise invalid(folder, first_problem(exc, SETTINGS_FILE)) from exc
    try:
        TfidfParams.model_validate(manifest.get("params", {}))
    except ValidationError as exc:
        raise invalid(folder, first_problem(exc, "manifest.json params")) from exc
    if "target" in settings.vectorizers and manifest["task"] != "stance":
        raise invalid(folder, f"{SETTINGS_FILE} has a target vectorizer, but this is a {manifest['task']} model")
    try:
        arrays = read_arrays(folder / ARRAYS_FILE)
        check_arrays(arrays, settings, len(manifest["labels"]))
    except ValueError as exc:
        raise invalid(folder, str(exc)) from exc
    return settings, arrays


def load_encoder(folder: Path, embeddings: dict[str, Any]) -> Any:
    """The sentence encoder saved beside the linear head (its files were hash-checked with the rest)."""
    from toolkit.backends.tfidf.embeddings import ENCODER_FOLDER, SentenceEncoder

    return SentenceEncoder.load(
        str(folder / ENCODER_FOLDER), int(embeddings["max_length"]), int(embeddings["batch_size"])
    )


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
            params.embedding_text,
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
    """The softmax temperature that minimises validation log-loss (see calibration.best_temperature): calibrates
    an SVM's margins into probabilities without changing a single prediction."""
    import numpy as np

    from toolkit.backends.calibration import best_temperature

    scores = model.decision_scores(validation.texts, validation.targets)[0]
    known = {label: i for i, label in enumerate(model.labels)}
    rows = [(r, known[label]) for r, label in enumerate(validation.labels) if label in known]
    index, gold = np.array([r for r, _ in rows], dtype=np.int64), np.array([g for _, g in rows], dtype=np.int64)
    return best_temperature(scores[index], gold, softmax_head)
