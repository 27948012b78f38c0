"""A spec's `cv: {folds: k}`: each seed's pooled training rows cut into k grouped, stratified folds
(toolkit.data.folds, seeded by the seed), and every toolkit row (the config and its variants) and, unless
`cv.baselines: false`, every baseline fitted on k-1 folds and scored on the fold left out.

The held-out columns of results.md say how a model does on one dev split; the cv columns say how its settings
do across the training rows, with a spread, and neither ever touches the test split. The toolkit row's folds
are logged on its seed's child run (cv_fold_<metric> per fold, cv_<metric>, cv_std_<metric>, cv/folds.json).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from toolkit.bench.report import TOOLKIT_ROW
from toolkit.data.types import Progress

if TYPE_CHECKING:
    from toolkit.bench.spec import ExperimentSpec
    from toolkit.config import RunConfig
    from toolkit.data.folds import Fold
    from toolkit.data.types import Examples

CVRows = dict[str, list[dict[str, float]]]
"""Row of the table -> one dict of the spec's metrics per fold."""


def cv_seed(
    spec: ExperimentSpec, configs: dict[str, RunConfig], toolkit_run_id: str, progress: Progress | None = None
) -> tuple[CVRows, dict[str, list[int]]]:
    """Cross-validate one seed's rows: `configs` (row -> the seed's config: the toolkit row first, then its
    variants), then the baselines on the toolkit row's folds; with each fold's size ("held": rows scored,
    "train": rows its model was fitted on)."""
    from toolkit import tracking
    from toolkit.lifecycle.crossval import cross_validate_prepared
    from toolkit.lifecycle.tune_cv import log_cv
    from toolkit.train import ensure_prepared

    rows: CVRows = {}
    sizes: dict[str, list[int]] = {}
    for row, config in configs.items():
        if progress:
            progress(f"seed {config.seed}: {spec.cv.folds}-fold cross-validation of {row}")
        result = cross_validate_prepared(config, ensure_prepared(config), spec.cv)
        rows[row] = [picked(metrics, spec.metrics) for metrics in result.folds]
        if row == TOOLKIT_ROW:
            sizes = {"held": result.held_rows, "train": result.train_rows}
            with tracking.resumed_run(toolkit_run_id):
                log_cv(result)
    if spec.cv.baselines and spec.baselines:
        rows |= cv_baselines(spec, configs[TOOLKIT_ROW], progress)
    return rows, sizes


def cv_baselines(spec: ExperimentSpec, config: RunConfig, progress: Progress | None) -> CVRows:
    """Every baseline on the toolkit row's folds, which are worked out once for all of them."""
    from toolkit.lifecycle.crossval import cv_examples, fold_rows
    from toolkit.train import ensure_prepared

    examples = cv_examples(ensure_prepared(config), spec.cv.on)
    folds = fold_rows(config, examples, spec.cv)
    rows: CVRows = {}
    for name in spec.baselines:
        if progress:
            progress(f"seed {config.seed}: {spec.cv.folds}-fold cross-validation of baseline {name}")
        rows[name] = cv_baseline(spec, config, name, examples, folds)
    return rows


def cv_baseline(
    spec: ExperimentSpec, config: RunConfig, name: str, examples: Examples, folds: list[Fold]
) -> list[dict[str, float]]:
    """One baseline fitted on each fold's training part (the toolkit row's folds) and scored on its held rows."""
    from toolkit.bench.baselines import run_baseline
    from toolkit.data.folds import subset
    from toolkit.metrics import task_metrics

    labels = sorted(set(examples.labels))
    per_fold = []
    for fold in folds:
        scored = subset(examples, fold.held)
        outcome = run_baseline(name, subset(examples, fold.train), scored, config.seed)
        per_fold.append(picked(task_metrics(scored.labels, outcome.predicted, labels, scored.targets), spec.metrics))
    return per_fold


def picked(metrics: dict[str, float], names: list[str]) -> dict[str, float]:
    """The spec's metrics that a fold has (a per-target figure may be missing from a fold without that target),
    with every class's F1: on folds of unseen claims a rare class can fail where the dev split hides it."""
    from toolkit.metrics import per_class_f1

    return {name: metrics[name] for name in names if name in metrics} | per_class_f1(metrics)
