"""Evaluate a model on labeled examples: metrics, a report, the confusion matrix and the misses.

Used by training (validation and test splits) and by `toolkit evaluate` (any model on any data).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolkit.errors import DataError
from toolkit.metrics import classification_report_text, task_metrics

if TYPE_CHECKING:
    from toolkit.backends.base import FittedModel
    from toolkit.config import DataConfig
    from toolkit.data.types import Examples
    from toolkit.identity import ModelIdentity


@dataclass
class EvalResult:
    """Metrics on one set of examples, with what is needed to draw and list the errors."""

    split: str
    metrics: dict[str, float]
    gold: list[str]
    predicted: list[str]
    labels: list[str]
    report: str
    misclassified: list[dict[str, Any]] = field(default_factory=list)
    probabilities: Any = None
    """(rows, labels) predicted probabilities, for the precision-recall and reliability plots."""
    targets: list[str] | None = None
    model: ModelIdentity | None = None
    """Which model was evaluated (set by evaluate_model): the ref and what it resolved to."""


def check_labels(model: FittedModel, examples: Examples) -> None:
    """Gold labels the model never saw make every metric misleading: refuse them by name."""
    unknown = sorted(set(examples.labels) - set(model.labels))
    if unknown:
        raise DataError(
            f"the data has label(s) {unknown} that the model does not know (model labels: {model.labels}); "
            "rename them with a label map"
        )


def evaluate_examples(model: FittedModel, examples: Examples, split: str, max_misses: int = 200) -> EvalResult:
    """Predict `examples` and compute every metric that applies to the model's task."""
    check_labels(model, examples)
    probabilities = model.predict_proba(examples.texts, examples.targets)
    predicted = [model.labels[i] for i in probabilities.argmax(axis=1)]
    metrics = task_metrics(examples.labels, predicted, model.labels, examples.targets)
    misses = misclassified_rows(examples, predicted, probabilities, model.labels, max_misses)
    report = classification_report_text(examples.labels, predicted, model.labels)
    result = EvalResult(split, metrics, list(examples.labels), predicted, model.labels, report, misses)
    result.probabilities, result.targets = probabilities, examples.targets
    return result


MISSES_COLUMNS = ["text", "gold", "predicted", "p", "p_gold", "target", "id"]
"""In reading order: the text, what it is, what the model said and how sure it was (p: of its own label, p_gold: of
the gold one); then the stance target and the row id."""


def misclassified_rows(
    examples: Examples, predicted: list[str], probabilities: Any, labels: list[str], limit: int
) -> list[dict[str, Any]]:
    """The misclassified rows, the most confidently wrong first, at most `limit` (texts cut to 500 characters)."""
    column = {label: i for i, label in enumerate(labels)}
    wrong = [i for i, (gold, guess) in enumerate(zip(examples.labels, predicted, strict=True)) if gold != guess]
    wrong.sort(key=lambda i: -float(probabilities[i].max()))
    return [
        {
            "text": examples.texts[i][:500],
            "gold": examples.labels[i],
            "predicted": predicted[i],
            "p": round(float(probabilities[i].max()), 4),
            "p_gold": round(float(probabilities[i][column[examples.labels[i]]]), 4),
            "target": examples.targets[i] if examples.targets else "",
            "id": examples.ids[i] if examples.ids else str(i),
        }
        for i in wrong[:limit]
    ]


def log_evaluation(result: EvalResult, title: str, figures: bool = True) -> None:
    """Log an EvalResult to the active MLflow run: metrics (with the ECE), the report, the figures (toolkit.plots:
    confusion matrices, precision-recall, reliability, per-target F1; `figures=False` skips drawing them) and the
    misclassified-examples table."""
    import pandas as pd

    from toolkit import tracking
    from toolkit.data.prepare import safe_name
    from toolkit.plots import evaluation_figures

    split = safe_name(result.split, "split")  # a user's --split value becomes part of artifact paths
    tracking.log_text(result.report, f"evaluation/{split}_classification_report.txt")
    if figures:
        with tempfile.TemporaryDirectory() as tmp:
            pngs, measured = evaluation_figures(
                Path(tmp),
                split,
                title,
                result.gold,
                result.predicted,
                result.labels,
                result.probabilities,
                result.targets,
            )
            for png in pngs:
                tracking.log_figure_file(png, "evaluation")
    else:
        measured = calibration_error(result)
    tracking.log_metrics(result.metrics | measured, prefix=split)
    columns = [c for c in MISSES_COLUMNS if c != "target" or result.targets is not None]
    table = pd.DataFrame(result.misclassified, columns=MISSES_COLUMNS)[columns]
    tracking.log_table(table, f"evaluation/{split}_misclassified.json")


def calibration_error(result: EvalResult) -> dict[str, float]:
    """The ECE the reliability figure would report, without drawing it."""
    import numpy as np

    from toolkit.metrics import reliability_bins

    if result.probabilities is None or not len(result.gold):
        return {}
    probabilities = np.asarray(result.probabilities)
    correct = np.asarray(result.gold) == np.asarray(result.predicted)
    return {"ece": round(float(reliability_bins(probabilities.max(axis=1), correct)["ece"]), 4)}


def evaluate_model(
    model_ref: str | None, data: str, *, split: str = "test", data_config: DataConfig, task: str, log: bool = True
) -> EvalResult:
    """Evaluate a model reference (default: the newest model of the data's task) on a prepared dataset
    split or a raw labeled file; optionally record the evaluation as its own MLflow run."""
    from toolkit.predict import load_ref

    if model_ref is None:
        model_ref = newest_model_for(data, task)
    loaded = load_ref(model_ref)
    examples, data_name = labeled_examples(data, split, data_config, loaded.model.task)
    result = evaluate_examples(loaded.model, examples, split)
    result.model = loaded.identity
    if log:
        log_evaluation_run(result, loaded.model.task, model_ref, data, data_name)
    return result


def newest_model_for(data: str, task: str) -> str:
    """The newest logged model of the task a prepared dataset was made for (else of `task`)."""
    from toolkit.data.prepare import is_prepared, load_prepared
    from toolkit.tracking import newest_model_run

    return newest_model_run(load_prepared(data).manifest["task"] if is_prepared(data) else task)


def labeled_examples(data: str, split: str, data_config: DataConfig, task: str) -> tuple[Examples, str]:
    """The examples to evaluate on and a name for them: a split of a prepared dataset, or a raw labeled file
    read with `data_config`'s columns. A stance model needs a target on every row."""
    from toolkit.data.prepare import examples_from_file, is_prepared, load_prepared

    if is_prepared(data):
        prepared = load_prepared(data)  # manifest validated, task checked against its config_key
        if prepared.manifest["task"] != task:
            raise DataError(f"{data} was prepared for {prepared.manifest['task']}; the model is a {task} model")
        if split not in prepared.splits:
            raise DataError(f"no split '{split}' in {data}; splits are {list(prepared.splits)}")
        examples, data_name = prepared.splits[split], prepared.manifest.get("name", Path(data).name)
        if not len(examples):
            raise DataError(f"split '{split}' of {data} is empty")
    else:
        examples, _ = examples_from_file(data, data_config, task)
        data_name = Path(data).stem
    if task == "stance" and examples.targets is None:
        raise DataError("a stance model needs targets: give --target-col or --target")
    return examples, data_name


def log_evaluation_run(result: EvalResult, task: str, model_ref: str, data: str, data_name: str) -> None:
    """Record an evaluation as its own MLflow run, beside the training runs of the task."""
    from toolkit import tracking

    tracking.check_store()
    tags = {tracking.TAG_TASK: task, "toolkit.run_kind": "evaluation", "toolkit.model_ref": model_ref}
    resolved = {key: value for key, value in (result.model.fields() if result.model else {}).items() if value}
    tags |= {f"toolkit.evaluated_{key}": value for key, value in resolved.items()}  # not toolkit.model_uri: no model
    with tracking.tracked_run(f"{task}-evaluations", f"evaluate {data_name}", tags, number_repeats=True):
        tracking.log_params({"model": model_ref, "data": data, "split": result.split, **resolved})
        log_evaluation(result, f"{model_ref} on {data_name}")
