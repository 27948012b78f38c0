"""A tuning trial scored by cross-validation (`tune.cv.folds: k`): k fits instead of one, no model kept.

The trial's child run holds the config's params, each fold's metrics as `cv_fold_<name>` (step = fold
number), their mean as `cv_<name>` and standard deviation as `cv_std_<name>`, and `cv/folds.json` with every
value and fold size. The objective `cv_macro_f1` is the mean over folds of the fold models' `macro_f1`. No
model is fitted on all rows here: `toolkit tune` trains the best trial's config once afterwards, as
`toolkit train` would, and logs that model on the parent run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from toolkit.errors import ConfigError
from toolkit.lifecycle.crossval import CVResult

if TYPE_CHECKING:
    from toolkit.config import RunConfig, TuneConfig
    from toolkit.data.prepare import PreparedData
    from toolkit.data.types import Progress


def check_cv_metric(metric: str, prepared: PreparedData) -> None:
    """Fail before the first trial when `cv_<name>` is not a metric the task's evaluation produces."""
    from toolkit.metrics import task_metrics

    train = prepared.splits["train"]
    labels = sorted(set(train.labels))
    gold = [*train.labels, *labels]  # every label once more: the metrics a prediction of it would add
    targets = None if train.targets is None else [*train.targets, *[train.targets[0]] * len(labels)]
    names = {f"cv_{name}" for name in task_metrics(gold, gold, labels, targets) if not name.startswith("f_avg_target.")}
    if metric not in names:
        overall = ", ".join(sorted(name for name in names if "." not in name))
        raise ConfigError(
            f"tune.metric '{metric[:200]}' is not a cross-validated metric of this task; one of: {overall} "
            "(or cv_f1.LABEL, cv_precision.LABEL, cv_recall.LABEL for one label)"
        )


def cv_value(result: CVResult, metric: str) -> float:
    """'cv_macro_f1' -> the mean over folds of macro_f1."""
    name = metric.removeprefix("cv_")
    if name not in result.mean:
        raise ConfigError(f"tune.metric '{metric[:200]}' was not measured on every fold; one of: cv_macro_f1, ...")
    return result.mean[name]


@dataclass
class CVTrial:
    """What `toolkit tune` reads of a trial, as of a TrainResult: the run and its metrics by split ('cv')."""

    run_id: str
    metrics: dict[str, dict[str, float]]
    result: CVResult


def cv_trial(config: RunConfig, spec: TuneConfig, parent_id: str, progress: Progress | None = None) -> CVTrial:
    """Cross-validate one trial's config as a child run of the search (metrics['cv'] holds the fold means)."""
    from toolkit import tracking
    from toolkit.lifecycle.crossval import cross_validate_prepared
    from toolkit.train import ensure_prepared, run_name

    prepared = ensure_prepared(config)
    name = run_name(config, prepared.manifest["fingerprint"])
    tags = tracking.base_tags(config) | {"toolkit.data_fingerprint": prepared.manifest["fingerprint"]}
    description = (
        f"{spec.cv.folds}-fold cross-validation over the prepared {spec.cv.on} rows, grouped by "
        f"{' and '.join(spec.cv.group_by)}{unlinked_note(spec.cv.unlinked_label)}; `{spec.metric}` is the mean "
        "over folds."
    )
    with tracking.tracked_run(config.experiment_name, name, tags, description, parent_id) as run:
        tracking.log_params(config.flat() | cv_params(spec))
        result = cross_validate_prepared(config, prepared, spec.cv, progress)
        log_cv(result)
        cv_value(result, spec.metric)  # a metric missing from a fold fails this trial's run
    return CVTrial(run.info.run_id, {"cv": result.mean}, result)


def unlinked_note(label: str | None) -> str:
    return f" ('{label}' rows linking neither: whole claims per fold)" if label else ""


def cv_params(spec: TuneConfig) -> dict[str, str]:
    params = {"cv.folds": str(spec.cv.folds), "cv.group_by": str(spec.cv.group_by), "cv.on": spec.cv.on}
    return params | ({"cv.unlinked_label": spec.cv.unlinked_label} if spec.cv.unlinked_label else {})


def log_cv(result: CVResult) -> None:
    """Per-fold values (one step per fold), mean and std, and the whole record as cv/folds.json."""
    from toolkit import tracking

    for number, metrics in enumerate(result.folds, start=1):
        tracking.log_metrics(metrics, prefix="cv_fold", step=number)
    tracking.log_metrics(result.mean, prefix="cv")
    tracking.log_metrics(result.std, prefix="cv_std")
    tracking.log_metrics({"fit_seconds": sum(result.fit_seconds)}, prefix="cv_time")
    tracking.log_text(json.dumps(result.summary(), indent=2), "cv/folds.json")
