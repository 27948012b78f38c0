"""k-fold cross-validation of a run config over the prepared training rows: a figure that does not depend on
one lucky (or unlucky) dev split, and that no choice of settings has seen when the test split stays out.

The rows are the config's prepared `train` split (with `cv.on: train+validation`, the validation split
pooled in; never test), cut into folds by `toolkit.data.folds` (grouped by text, or text and target;
stratified by label, or target and label; seeded by the run's seed). Each fold's model is the configured
backend fitted on the other folds exactly as `toolkit train` fits it, and is scored on its fold with the
metric functions training and `toolkit evaluate` use (`toolkit.metrics.task_metrics`). Nothing is tracked
here: `toolkit tune` and the benchmark runner log what they need.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from toolkit.data.folds import Fold, cv_folds, pooled, row_groups, subset
from toolkit.data.types import Examples, Progress
from toolkit.errors import DataError

if TYPE_CHECKING:
    from toolkit.config import CVConfig, RunConfig
    from toolkit.data.prepare import PreparedData


@dataclass
class CVResult:
    """Per-fold metrics and their mean and (sample) standard deviation over the folds."""

    folds: list[dict[str, float]]
    held_rows: list[int]
    train_rows: list[int] = field(default_factory=list)
    mean: dict[str, float] = field(default_factory=dict)
    std: dict[str, float] = field(default_factory=dict)
    rows: int = 0
    groups: int = 0
    on: str = "train"
    group_by: list[str] = field(default_factory=lambda: ["text"])
    unlinked_label: str | None = None
    fit_seconds: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """A JSON-ready record (folds.json of a trial's run, a benchmark's results.json)."""
        return {
            "folds": len(self.folds),
            "on": self.on,
            "group_by": self.group_by,
            "unlinked_label": self.unlinked_label,
            "rows": self.rows,
            "groups": self.groups,
            "held_rows": self.held_rows,
            "train_rows": self.train_rows,
            "fit_seconds": self.fit_seconds,
            "mean": self.mean,
            "std": self.std,
            "per_fold": self.folds,
        }


def mean_std(per_fold: list[dict[str, float]]) -> tuple[dict[str, float], dict[str, float]]:
    """Mean and sample std of each metric that every fold has (a per-target F_avg of a target absent from
    one held-out fold is left out rather than averaged over fewer folds)."""
    keys = [key for key in per_fold[0] if all(key in metrics for metrics in per_fold)] if per_fold else []
    mean = {key: statistics.fmean(m[key] for m in per_fold) for key in keys}
    std = {key: statistics.stdev(m[key] for m in per_fold) if len(per_fold) > 1 else 0.0 for key in keys}
    return mean, std


def cv_examples(prepared: PreparedData, on: str) -> Examples:
    """The rows cross-validation cuts into folds: the train split, pooled with validation when asked."""
    parts = [prepared.splits["train"]] + ([prepared.splits["validation"]] if on == "train+validation" else [])
    return pooled([part for part in parts if len(part)])


def fold_rows(config: RunConfig, examples: Examples, cv: CVConfig) -> list[Fold]:
    """Each fold's held-out and training rows, as `cv` groups them, seeded by the run's seed."""
    return cv_folds(examples, cv.folds, config.seed, cv.group_by, cv.unlinked_label)


def fit_fold(config: RunConfig, train: Examples, validation: Examples | None, progress: Progress | None) -> Any:
    """The configured backend fitted on one fold's training part, seeded and started as `toolkit train` does."""
    from toolkit.backends import get_backend
    from toolkit.backends.seeding import seed_everything
    from toolkit.train import init_from_folder

    backend_class = get_backend(config.backend.name)
    backend = backend_class(backend_class.Params.model_validate(config.backend.params), config.task, config.seed)
    start = init_from_folder(config, getattr(backend.params, "init_from", None), None)
    if start is not None:
        backend.init_folder = start  # type: ignore[attr-defined]  # as train() hands it over
    seed_everything(config.seed)
    backend.import_libraries()
    return backend.fit(train, validation, progress)


def score_fold(model: Any, held: Examples, labels: list[str]) -> dict[str, float]:
    """Every metric `toolkit evaluate` reports, over all labels of the pooled rows (a label the fold's model
    never learned counts as missed, not as absent)."""
    from toolkit.metrics import task_metrics

    predicted = model.predict(held.texts, held.targets)
    return task_metrics(held.labels, predicted, labels, held.targets)


def cross_validate(
    config: RunConfig,
    examples: Examples,
    folds: list[Fold],
    *,
    validation: Examples | None = None,
    progress: Progress | None = None,
) -> CVResult:
    """Fit the config's backend once per fold on the other folds and score it on the fold held out.

    `validation`, when given, is handed to every fit as `toolkit train` hands the validation split (early
    stopping); it must not be among `examples` (cross_validate_prepared gives it only with `on: train`).

    Example:
        >>> result = cross_validate(config, examples, cv_folds(examples, 5, seed=0))  # doctest: +SKIP
        >>> result.mean["macro_f1"], result.std["macro_f1"]  # doctest: +SKIP
    """
    from toolkit.backends.reuse import reusing_features

    labels = sorted(set(examples.labels))
    per_fold, seconds = [], []
    with reusing_features():  # frozen features (a sentence encoder's vectors) computed once for all folds
        for number, fold in enumerate(folds, start=1):
            part = subset(examples, fold.train)
            if len(set(part.labels)) < 2:
                raise DataError(f"cross-validation fold {number} leaves a single label to train on: add rows or folds")
            if progress:
                progress(
                    f"cross-validation fold {number}/{len(folds)}: "
                    f"fitting on {len(part)} rows, scoring {len(fold.held)}"
                )
            started = time.perf_counter()
            model = fit_fold(config, part, validation, None)
            seconds.append(time.perf_counter() - started)
            per_fold.append(score_fold(model, subset(examples, fold.held), labels))
    mean, std = mean_std(per_fold)
    held, trained = [len(fold.held) for fold in folds], [len(fold.train) for fold in folds]
    return CVResult(per_fold, held, trained, mean, std, rows=len(examples), fit_seconds=seconds)


def cross_validate_prepared(
    config: RunConfig, prepared: PreparedData, cv: CVConfig, progress: Progress | None = None
) -> CVResult:
    """cross_validate over a prepared dataset's pooled splits, as `cv` says (the usual entry point)."""
    examples = cv_examples(prepared, cv.on)
    validation = prepared.splits["validation"] if cv.on == "train" and len(prepared.splits["validation"]) else None
    result = cross_validate(config, examples, fold_rows(config, examples, cv), validation=validation, progress=progress)
    result.on, result.group_by, result.unlinked_label = cv.on, list(cv.group_by), cv.unlinked_label
    result.groups = len(set(row_groups(examples, cv.group_by, cv.unlinked_label)))
    return result
