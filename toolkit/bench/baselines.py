"""Plain baselines that a user would pick instead of the toolkit, measured on the same splits.

`tfidf_lr` is scikit-learn's `TfidfVectorizer()` + `LogisticRegression()` with default settings; `fasttext`
is fastText supervised with word bigrams and its default epochs (optional: the `bench` extra), and
`fasttext_epoch25` the same with 25 epochs, the setting fastText's own tutorial recommends for small data
(its default 5 epochs underfit a few thousand rows badly, so quoting only that would flatter the toolkit).
`svm_per_target` is the SemEval-2016 organizers' baseline: one linear SVM per target over word 1-3 and
character 2-5 n-grams (one model over all rows for topic data). For stance,
both see the target and the text concatenated, the usual way of feeding a pair to a plain classifier.
They are benchmark yardsticks, not backends: nothing here is saved or served.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from toolkit.data.types import Examples

BASELINES = ("tfidf_lr", "fasttext", "fasttext_epoch25", "svm_per_target")
Predictor = Callable[[Examples], list[str]]  # a fitted baseline: evaluation rows -> predicted labels


@dataclass
class BaselineResult:
    """Predictions on the evaluation rows, with the seconds spent fitting and predicting."""

    name: str
    predicted: list[str]
    train_seconds: float
    predict_seconds: float


def joined_inputs(examples: Examples) -> list[str]:
    """One string per row: 'target text' for stance pairs, the text alone otherwise."""
    if examples.targets is None:
        return list(examples.texts)
    return [f"{target} {text}" for target, text in zip(examples.targets, examples.texts, strict=True)]


def fit_tfidf_lr(train: Examples, seed: int) -> Predictor:
    """Default TfidfVectorizer + LogisticRegression (only the seed and enough iterations to converge)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    pipeline = make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=1000, random_state=seed))
    pipeline.fit(joined_inputs(train), train.labels)
    return lambda rows: [str(label) for label in pipeline.predict(joined_inputs(rows))]


def fasttext_line(text: str) -> str:
    """fastText reads one example per line: newlines inside a text become spaces."""
    return " ".join(text.split())


def fit_fasttext(train: Examples, seed: int, epoch: int = 5) -> Predictor:
    """fastText supervised, word bigrams, default learning rate, `epoch` epochs (5 is its default), two threads."""
    from toolkit._deps import require

    fasttext = require("fasttext", "bench")
    labels = sorted(set(train.labels))
    code = {label: f"__label__{i}" for i, label in enumerate(labels)}
    handle, path = tempfile.mkstemp(suffix=".txt", prefix="fasttext-train-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            for text, label in zip(joined_inputs(train), train.labels, strict=True):
                file.write(f"{code[label]} {fasttext_line(text)}\n")
        model = fasttext.train_supervised(input=path, wordNgrams=2, epoch=epoch, seed=seed, thread=2, verbose=0)
    finally:
        os.unlink(path)
    decode = {value: key for key, value in code.items()}
    # model.predict on a list is broken with NumPy 2 (fastText 0.9.2); the per-line C++ call is not.
    return lambda rows: [
        decode[model.f.predict(fasttext_line(text) + "\n", 1, 0.0, "strict")[0][1]] for text in joined_inputs(rows)
    ]


def fit_svm_per_target(train: Examples, seed: int) -> Predictor:
    """One LinearSVC (default C) per target on word 1-3 + char 2-5 n-gram TF-IDF of the text alone."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline, make_union
    from sklearn.svm import LinearSVC

    def fit_one(texts: list[str], labels: list[str]) -> Callable[[list[str]], list[str]]:
        if len(set(labels)) == 1:
            return lambda inputs: labels[:1] * len(inputs)
        features = make_union(TfidfVectorizer(ngram_range=(1, 3)), TfidfVectorizer(analyzer="char", ngram_range=(2, 5)))
        model = make_pipeline(features, LinearSVC(random_state=seed)).fit(texts, labels)
        return lambda inputs: [str(label) for label in model.predict(inputs)] if inputs else []

    targets = train.targets or [""] * len(train)
    models = {
        target: fit_one(
            [text for text, t in zip(train.texts, targets, strict=True) if t == target],
            [label for label, t in zip(train.labels, targets, strict=True) if t == target],
        )
        for target in sorted(set(targets))
    }
    # for targets unseen in training; with a single target that target's model already is this one
    everyone = next(iter(models.values())) if len(models) == 1 else fit_one(list(train.texts), list(train.labels))

    def predict(rows: Examples) -> list[str]:
        row_targets = rows.targets or [""] * len(rows)
        predicted = [""] * len(rows)
        for target in set(row_targets):
            index = [i for i, t in enumerate(row_targets) if t == target]
            labels = models.get(target, everyone)([rows.texts[i] for i in index])
            for i, label in zip(index, labels, strict=True):
                predicted[i] = label
        return predicted

    return predict


FITTERS: dict[str, Callable[[Examples, int], Predictor]] = {
    "tfidf_lr": fit_tfidf_lr,
    "fasttext": fit_fasttext,
    "fasttext_epoch25": lambda train, seed: fit_fasttext(train, seed, epoch=25),
    "svm_per_target": fit_svm_per_target,
}


def run_baseline(name: str, train: Examples, evaluation: Examples, seed: int) -> BaselineResult:
    """Fit baseline `name` on `train` and predict `evaluation`, timing both."""
    started = time.perf_counter()
    predict = FITTERS[name](train, seed)
    train_seconds = time.perf_counter() - started
    started = time.perf_counter()
    predicted = predict(evaluation)
    return BaselineResult(name, predicted, train_seconds, time.perf_counter() - started)


MASK_PLACEHOLDER = "TARGET"


def masked(examples: Examples, placeholder: str = MASK_PLACEHOLDER) -> Examples:
    """The same rows with every target replaced by one placeholder: what the model can do without it."""
    targets: Sequence[str] | None = examples.targets
    if targets is None:
        return examples
    return Examples(examples.texts, examples.labels, [placeholder] * len(targets), examples.ids)
