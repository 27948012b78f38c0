"""Run a benchmark spec (experiments/specs/NAME.yaml): a data+model config x seeds, with baselines side by side.

One MLflow parent run per spec; each seed is one child run of the toolkit model (through `train.train`,
so it logs exactly what `toolkit train` logs) plus one child run per baseline on the same split. The seed
also seeds the dev split carved from the shared train files, so "mean ± std over seeds" covers the split.
Everything measured is written to `experiments/results/NAME/results.json`, and results.md is rendered from
that JSON (toolkit.bench.report): figures are printed by this run, never typed in.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolkit.bench.report import MASKED_ROW, TOOLKIT_ROW, machine, mean_std, render_results
from toolkit.bench.spec import ExperimentSpec, experiment_name, load_spec, resolve_spec, results_folder
from toolkit.data.types import Progress
from toolkit.errors import ConfigError

if TYPE_CHECKING:
    from toolkit.bench.unseen import UnseenRun
    from toolkit.config import RunConfig
    from toolkit.data.types import Examples
    from toolkit.train import TrainResult

__all__ = ["ExperimentResult", "ExperimentSpec", "load_spec", "mean_std", "run_experiment", "seed_config"]


@dataclass
class ExperimentResult:
    """Per row (toolkit, baselines, masked): metric -> one value per seed; plus where it was written."""

    spec: ExperimentSpec
    rows: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    per_target: dict[str, list[float]] = field(default_factory=dict)
    cv: dict[str, dict[str, list[float]]] = field(default_factory=dict)  # row -> metric -> every fold of every seed
    cv_held_rows: dict[str, list[int]] = field(default_factory=dict)  # seed -> rows held out in each fold
    cv_train_rows: dict[str, list[int]] = field(default_factory=dict)  # seed -> rows each fold's model was fitted on
    fit: dict[str, dict[str, list[float]]] = field(default_factory=dict)  # row -> what the fit learned, per seed
    parent_run_id: str = ""
    results_path: str = ""
    seconds: float = 0.0

    def add(self, row: str, values: dict[str, float], table: str = "rows") -> None:
        for key, value in values.items():
            getattr(self, table).setdefault(row, {}).setdefault(key, []).append(float(value))


def seed_config(spec: ExperimentSpec, seed: int, variant: str | None = None) -> RunConfig:
    """The spec's run config for one seed (and variant): model seed and split seed, its own prepared folder."""
    from toolkit.config import load_config

    overrides = spec.overrides + (spec.variants[variant] if variant else [])
    config = load_config(spec.config, overrides + [f"seed={seed}", f"data.split.seed={seed}"])
    config.data.output = config.data.output or f"data/processed/{config.data.name}-{config.task}-seed{seed}"
    config.tracking.experiment = experiment_name(spec)
    suffix = f"-{slug(variant)}" if variant else ""
    config.tracking.run_name = f"{spec.name}-{config.backend.name}{suffix}-seed{seed}"
    return config


def slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower()


def run_experiment(spec_path: str | Path, progress: Progress | None = None) -> ExperimentResult | UnseenRun:
    """Prepare, train and evaluate every seed under one parent run; write results.md; return the figures.
    A spec with `unseen:` is run fold by fold on held-out targets instead (toolkit.bench.unseen)."""
    from toolkit import tracking

    spec_path = resolve_spec(spec_path)
    spec = load_spec(spec_path)
    if spec.unseen is not None:
        from toolkit.bench.unseen import run_unseen

        return run_unseen(spec, str(spec_path), progress)
    for seed in spec.seeds:  # validate every config before any work
        for variant in [None, *spec.variants]:
            seed_config(spec, seed, variant)
    tracking.check_store()
    result = ExperimentResult(spec)
    started = time.perf_counter()
    tags = {"toolkit.experiment_spec": spec.name, "toolkit.kind": "benchmark"}
    with tracking.tracked_run(experiment_name(spec), f"{spec.name}-benchmark", tags, spec.description) as parent:
        tracking.log_params(
            {
                "spec": str(spec_path),
                "seeds": str(spec.seeds),
                "config": spec.config,
                "baselines": str(spec.baselines),
                "overrides": str(spec.overrides),
            }
        )
        for seed in spec.seeds:
            run_seed(spec, seed, result, progress)
        result.seconds = time.perf_counter() - started
        tracking.log_metrics(summary_metrics(result), prefix="mean")
        result.parent_run_id = parent.info.run_id
        result.results_path = str(write_results(result, str(spec_path)))
        tracking.log_text(Path(result.results_path).read_text(encoding="utf-8"), "results.md")
    return result


def run_seed(spec: ExperimentSpec, seed: int, result: ExperimentResult, progress: Progress | None) -> None:
    """One seed: the toolkit model (child run via train.train), the masked check, then each baseline."""
    from toolkit.train import ensure_prepared
    from toolkit.train import train as train_run

    config = seed_config(spec, seed)
    prepared = ensure_prepared(config, progress)
    train, evaluation = prepared.splits["train"], prepared.splits[spec.evaluate_on]
    if not len(evaluation):
        raise ConfigError(f"{spec.name}: the {spec.evaluate_on} split is empty; give it a share in data.split")
    check_metrics(train, spec.metrics)
    if progress:
        progress(f"seed {seed}: training {config.backend.name}")
    trained = train_run(config, progress)
    result.add(TOOLKIT_ROW, trained_row(trained, evaluation, spec.metrics))
    result.add(TOOLKIT_ROW, trained.model.fit_summary(), table="fit")
    for key, value in trained.metrics.get(spec.evaluate_on, {}).items():
        if key.startswith("f_avg_target."):
            result.per_target.setdefault(key.removeprefix("f_avg_target."), []).append(value)
    if spec.mask_target and evaluation.targets is not None:
        masked_metrics = masked_check(trained.model, evaluation, spec.metrics, trained.run_id)
        result.add(MASKED_ROW, masked_metrics)
    for variant in spec.variants:
        if progress:
            progress(f"seed {seed}: variant {variant}")
        variant_run = train_run(seed_config(spec, seed, variant), progress)
        result.add(f"{TOOLKIT_ROW}, {variant}", trained_row(variant_run, evaluation, spec.metrics))
        result.add(f"{TOOLKIT_ROW}, {variant}", variant_run.model.fit_summary(), table="fit")
    for name in spec.baselines:
        if progress:
            progress(f"seed {seed}: baseline {name}")
        result.add(name, baseline_run(spec, config, name, train, evaluation))
    if spec.cv.folds:
        cross_validated(spec, seed, trained.run_id, result, progress)


def cross_validated(
    spec: ExperimentSpec, seed: int, run_id: str, result: ExperimentResult, progress: Progress | None
) -> None:
    """The cv columns for one seed: k-fold figures of the toolkit rows and baselines (toolkit.bench.crossval)."""
    from toolkit.bench.crossval import cv_seed

    configs = {TOOLKIT_ROW: seed_config(spec, seed)}
    configs |= {f"{TOOLKIT_ROW}, {variant}": seed_config(spec, seed, variant) for variant in spec.variants}
    rows, sizes = cv_seed(spec, configs, run_id, progress)
    for row, folds in rows.items():
        for metrics in folds:
            result.add(row, metrics, table="cv")
    result.cv_held_rows[str(seed)], result.cv_train_rows[str(seed)] = sizes["held"], sizes["train"]


def check_metrics(examples: Examples, names: list[str]) -> None:
    """Fail before any training when a tabulated metric does not apply to this data."""
    from toolkit.metrics import task_metrics

    pick(task_metrics(examples.labels, examples.labels, sorted(set(examples.labels)), examples.targets), names)


def trained_row(trained: TrainResult, examples: Examples, metric_names: list[str]) -> dict[str, float]:
    """A toolkit row of the table: the trained model's metrics, throughput and fit time."""
    return measure_model(trained.model, examples, metric_names) | {"train_seconds": trained.train_seconds}


def measure_model(model: Any, examples: Examples, metric_names: list[str]) -> dict[str, float]:
    """The spec's metrics for a fitted model, with prediction throughput (docs per second)."""
    from toolkit.metrics import per_class_f1, task_metrics

    started = time.perf_counter()
    predicted = model.predict(examples.texts, examples.targets)
    seconds = time.perf_counter() - started
    metrics = task_metrics(examples.labels, predicted, model.labels, examples.targets)
    return pick(metrics, metric_names) | per_class_f1(metrics) | {"docs_per_second": len(examples) / max(seconds, 1e-9)}


def masked_check(model: Any, examples: Examples, metric_names: list[str], run_id: str) -> dict[str, float]:
    """Re-evaluate with every target replaced by a placeholder; log the result on the seed's child run."""
    from toolkit import tracking
    from toolkit.bench.baselines import masked
    from toolkit.metrics import task_metrics

    hidden = masked(examples)
    predicted = model.predict(hidden.texts, hidden.targets)
    # Metrics still pooled by the real targets: only the model's input is masked.
    metrics = pick(task_metrics(examples.labels, predicted, model.labels, examples.targets), metric_names)
    with tracking.resumed_run(run_id):
        tracking.log_metrics(metrics, prefix="target_masked")
    return metrics


def baseline_run(
    spec: ExperimentSpec, config: RunConfig, name: str, train: Examples, evaluation: Examples
) -> dict[str, float]:
    """Fit one baseline on the seed's train split, evaluate it on the same rows, as a child run."""
    from toolkit import tracking
    from toolkit.bench.baselines import run_baseline
    from toolkit.metrics import per_class_f1, task_metrics

    tags = tracking.base_tags(config) | {tracking.TAG_BACKEND: f"baseline.{name}", "toolkit.kind": "baseline"}
    with tracking.tracked_run(experiment_name(spec), f"{spec.name}-{name}-seed{config.seed}", tags):
        tracking.log_params({"baseline": name, "seed": str(config.seed), "data.split.seed": str(config.seed)})
        outcome = run_baseline(name, train, evaluation, config.seed)
        labels = sorted(set(train.labels))
        metrics = task_metrics(evaluation.labels, outcome.predicted, labels, evaluation.targets)
        tracking.log_metrics(metrics, prefix=spec.evaluate_on)
        timing = {
            "train_seconds": outcome.train_seconds,
            "docs_per_second": len(evaluation) / max(outcome.predict_seconds, 1e-9),
        }
        tracking.log_metrics(timing, prefix="time")
    return pick(metrics, spec.metrics) | per_class_f1(metrics) | timing


def pick(metrics: dict[str, float], names: list[str]) -> dict[str, float]:
    """The named metrics; a name that does not apply to the task is an error, not a silent gap."""
    missing = [name for name in names if name not in metrics]
    if missing:
        raise ConfigError(f"metric(s) {missing} not computed for this task; available: {sorted(metrics)[:12]}...")
    return {name: metrics[name] for name in names}


def summary_metrics(result: ExperimentResult) -> dict[str, float]:
    """Means over seeds, flattened for the parent run: '<row>.<metric>'."""
    held = {f"{row}.{key}": values for row, metrics in result.rows.items() for key, values in metrics.items()}
    folds = {f"{row}.cv_{key}": values for row, metrics in result.cv.items() for key, values in metrics.items()}
    return {name: mean_std(values)[0] for name, values in (held | folds).items()}


def write_results(result: ExperimentResult, spec_path: str) -> Path:
    """Write results.json (every per-seed value, command, date, machine) and results.md rendered from it."""
    folder = results_folder(result.spec)
    folder.mkdir(parents=True, exist_ok=True)
    payload = {
        "spec": result.spec.model_dump(),
        "spec_path": spec_path,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "rows": result.rows,
        "per_target": result.per_target,
        "parent_run_id": result.parent_run_id,
        "machine": machine(),
        "seconds": result.seconds,
    }
    if result.spec.cv.folds:  # without cv, results.json keeps its earlier shape
        sizes = {"held_rows": result.cv_held_rows, "train_rows": result.cv_train_rows}
        payload["cv"] = result.spec.cv.model_dump(mode="json") | {"rows": result.cv} | sizes
    if result.fit:  # an ensemble's learned weights and temperatures; models that learn none add no key
        payload["fit"] = result.fit
    (folder / "results.json").write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    path = folder / "results.md"
    path.write_text(render_results(payload), encoding="utf-8")
    return path
