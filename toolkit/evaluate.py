"""Evaluate a model on labeled examples: metrics, a report, the confusion matrix and the misses.

Used by training (validation and test splits) and by `toolkit evaluate` (any model on any data).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolkit.errors import DataError
from toolkit.metrics import classification_report_text, confusion_matrix_figure, task_metrics

if TYPE_CHECKING:
    from toolkit.backends.base import FittedModel
    from toolkit.config import DataConfig
    from toolkit.data.types import Examples


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
    misses = []
    for i, (gold, guess) in enumerate(zip(examples.labels, predicted, strict=True)):
        if gold != guess and len(misses) < max_misses:
            misses.append(
                {
                    "id": examples.ids[i] if examples.ids else str(i),
                    "target": examples.targets[i] if examples.targets else "",
                    "gold": gold,
                    "predicted": guess,
                    "probability": float(probabilities[i].max()),
                    "text": examples.texts[i][:500],
                }
            )
    report = classification_report_text(examples.labels, predicted, model.labels)
    return EvalResult(split, metrics, list(examples.labels), predicted, model.labels, report, misses)


def log_evaluation(result: EvalResult, title: str) -> None:
    """Log an EvalResult to the active MLflow run: metrics, report, confusion matrix PNG, misses table."""
    import pandas as pd

    from toolkit import tracking
    from toolkit.data.prepare import safe_name

    split = safe_name(result.split, "split")  # a user's --split value becomes part of artifact paths
    tracking.log_metrics(result.metrics, prefix=split)
    tracking.log_text(result.report, f"evaluation/{split}_classification_report.txt")
    with tempfile.TemporaryDirectory() as tmp:
        png = Path(tmp) / f"{split}_confusion_matrix.png"
        confusion_matrix_figure(result.gold, result.predicted, result.labels, png, f"{title} ({result.split})")
        tracking.log_figure_file(png, "evaluation")
    columns = ["id", "target", "gold", "predicted", "probability", "text"]
    tracking.log_table(pd.DataFrame(result.misclassified, columns=columns), f"evaluation/{split}_misclassified.json")


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
    with tracking.tracked_run(f"{task}-evaluations", f"evaluate-{data_name}", tags):
        tracking.log_params({"model": model_ref, "data": data, "split": result.split})
        log_evaluation(result, f"{model_ref} on {data_name}")
