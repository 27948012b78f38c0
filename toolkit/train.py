"""Train from a RunConfig: prepared data -> backend.fit -> evaluation -> an MLflow run with the model.

No printing and no CLI here: progress goes to an optional callback, results come back as a TrainResult.
"""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolkit.backends.seeding import seed_everything  # Python and NumPy; backends seed their own libraries
from toolkit.data.types import Progress

if TYPE_CHECKING:
    from toolkit.config import RunConfig
    from toolkit.data.prepare import PreparedData


@dataclass
class TrainResult:
    """What a training run produced, for the CLI to print and for notebooks to use."""

    run_id: str
    experiment: str
    model_uri: str | None
    metrics: dict[str, dict[str, float]]
    train_seconds: float
    prepared_path: str
    rows: dict[str, int]
    ui: str
    model: Any = None  # the fitted model itself, for callers that keep evaluating it (experiments)


def ensure_prepared(config: RunConfig, progress: Progress | None = None) -> PreparedData:
    """The prepared dataset for this config: the given folder, a current cached one, or prepared now."""
    from toolkit._locks import file_lock
    from toolkit.data.prepare import default_prepared_path, load_prepared, prepare_dataset, prepared_is_current

    data = config.data
    if data.prepared:
        return load_prepared(data.prepared)
    output = Path(data.output or default_prepared_path(data.name, config.task))
    with file_lock(output):  # two trainings may want the same folder
        if not prepared_is_current(output, data, config.task):
            if progress:
                progress(f"preparing {', '.join(data.source_names if data.sources else data.source)} -> {output}")
            prepare_dataset(data, config.task, output)
        return load_prepared(output)


def model_extras(config: RunConfig, prepared: PreparedData, model: Any = None) -> dict[str, Any]:
    """Manifest fields beyond the backend's: data fingerprint, config, the default stance target, and for a model
    fine-tuned from a saved one (`init_from`) that model's ref and the sha256 of its manifest."""
    train = prepared.splits["train"]
    extras: dict[str, Any] = {
        "data_fingerprint": prepared.manifest["fingerprint"],
        "dataset": prepared.manifest.get("name"),
        "config": config.model_dump(mode="json"),
    }
    if getattr(model, "origin", None):
        extras["init_from"] = model.origin
    if train.targets:
        extras["targets"] = sorted(set(train.targets))
        extras["default_target"] = Counter(train.targets).most_common(1)[0][0]
        extras["stance_scope"] = config.stance_scope
    return extras


def run_name(config: RunConfig, fingerprint: str = "") -> str:
    """`tfidf C=4`: the backend and the settings that differ from its defaults (toolkit.run_names); the task and
    dataset are the experiment's name, the full description is the tag `toolkit.run_detail`."""
    from toolkit.run_names import run_name as short_name

    return short_name(config)


def run_description(config: RunConfig, prepared: PreparedData) -> str:
    """The run's description in the MLflow UI: the config's own text plus what was trained on what."""
    rows = ", ".join(f"{len(examples)} {split}" for split, examples in prepared.splits.items())
    detail = (
        f"{config.task} classifier, backend `{config.backend.name}`, dataset `{config.data.name}` "
        f"({rows} rows; fingerprint `{prepared.manifest['fingerprint'][:12]}`)."
    )
    return f"{config.tracking.description}\n\n{detail}" if config.tracking.description else detail


def train(
    config: RunConfig,
    progress: Progress | None = None,
    *,
    parent_run_id: str | None = None,
    model_dir: Path | None = None,
) -> TrainResult:
    """Prepare (or reuse) the data, fit the backend, evaluate, and record everything in one MLflow run.

    `parent_run_id` records the run as a nested child of that active run (a tuning trial); `model_dir`
    also keeps the fitted model folder there (so a tuner can log the best trial's model without refitting).
    """
    from toolkit import tracking
    from toolkit.backends import get_backend
    from toolkit.run_names import run_detail

    tracking.check_store()
    stale = tracking.end_stale_runs()
    if stale and progress:
        progress(f"marked {len(stale)} run(s) KILLED: their process had died ({', '.join(stale)})")
    prepared = ensure_prepared(config, progress)
    splits = prepared.splits
    backend_class = get_backend(config.backend.name)
    backend = backend_class(backend_class.Params.model_validate(config.backend.params), config.task, config.seed)
    start = init_from_folder(config, getattr(backend.params, "init_from", None), progress)
    if start is not None:
        backend.init_folder = start  # type: ignore[attr-defined]  # a backend with init_from reads it there
    fingerprint = prepared.manifest["fingerprint"]
    tags = tracking.base_tags(config) | {"toolkit.data_fingerprint": fingerprint}
    tags[tracking.TAG_RUN_DETAIL] = run_detail(config, fingerprint)
    name = run_name(config, fingerprint)
    description = run_description(config, prepared)
    repeats = config.tracking.run_name is None  # a generated name gets (2), (3)... when the experiment has it
    with tracking.tracked_run(config.experiment_name, name, tags, description, parent_run_id, None, repeats) as run:
        tracking.log_params(config.flat())
        tracking.log_dataset(prepared.manifest, splits, str(prepared.path))
        log_sources(prepared.manifest)
        seed_everything(config.seed)
        backend.import_libraries()
        if progress:
            progress(f"training {config.backend.name} on {len(splits['train'])} rows")
        started = time.perf_counter()
        validation = splits["validation"] if len(splits["validation"]) else None
        model = fit_logging_epochs(backend, splits["train"], validation, progress)
        train_seconds = time.perf_counter() - started
        tracking.log_metrics({"train_seconds": round(train_seconds, 3)}, prefix="time")  # ms: shorter in the UI
        tracking.log_metrics(model.fit_summary(), prefix="fit")
        title = f"{config.task} {config.data.name}: {run.info.run_name}"
        metrics = evaluate_splits(
            model, splits, config.tracking.misclassified_rows, title, progress, config.tracking.figures
        )
        if model_dir is not None:
            from toolkit.models.folder import save_model

            save_model(model, model_dir, model_extras(config, prepared, model))
        model_uri = None
        if config.tracking.log_model:
            if progress:
                progress("logging the model to MLflow")
            model_uri = log_trained_model(model, config, prepared, splits["train"])
    summary = tracking.run_summary(run)
    return TrainResult(
        run_id=run.info.run_id,
        experiment=config.experiment_name,
        model_uri=model_uri,
        metrics=metrics,
        train_seconds=train_seconds,
        prepared_path=str(prepared.path),
        rows={split: len(examples) for split, examples in splits.items()},
        ui=summary["ui"],
        model=model,
    )


def init_from_folder(config: RunConfig, ref: str | None, progress: Progress | None) -> Path | None:
    """The local folder of `backend.params.init_from` (an MLflow ref is downloaded and checked against the hashes
    recorded on its run), verified by the safe loader and refused unless it is a model of this run's backend
    and task; None without init_from. The backend reads its network from there; the ref stays in the params."""
    if not ref:
        return None
    from toolkit.errors import ConfigError, ModelLoadError
    from toolkit.models.folder import read_manifest, verify_files
    from toolkit.predict import model_folder

    if progress:
        progress(f"starting from the saved model {ref}")
    try:
        folder = model_folder(ref)
        manifest = read_manifest(folder)
        verify_files(folder, manifest)
    except ModelLoadError as exc:
        raise ModelLoadError(f"backend.params.init_from: {exc}") from exc
    if manifest["backend"] != config.backend.name or manifest["task"] != config.task:
        raise ConfigError(
            f"backend.params.init_from: '{ref}' is a {manifest['task']} {manifest['backend']} model; this run "
            f"trains a {config.task} {config.backend.name} model"
        )
    return folder


def log_sources(manifest: dict[str, Any]) -> None:
    """Which rows came from which source: the manifest's per-source counts as `data/sources.json`, and each
    source's train rows as a `data.source_rows.<name>` param (prepared data from before sources: nothing)."""
    import json

    from toolkit import tracking

    summary = manifest.get("sources_summary")
    if not summary:
        return
    tracking.log_text(json.dumps(summary, indent=2, ensure_ascii=False), "data/sources.json")
    train_rows = {name: str(counts["rows"]["train"]) for name, counts in summary.items()}
    tracking.log_params({f"data.source_rows.{tracking.safe_key(name)}": rows for name, rows in train_rows.items()})


def fit_logging_epochs(backend: Any, train: Any, validation: Any, progress: Progress | None) -> Any:
    """Fit, logging each epoch's record to the active run. A backend registered by another package and
    written before `on_epoch` joined the contract is fitted without it (its epochs are then not logged)."""
    import inspect

    from toolkit import tracking

    if "on_epoch" not in inspect.signature(backend.fit).parameters:
        return backend.fit(train, validation, progress)
    return backend.fit(
        train,
        validation,
        progress,
        on_epoch=lambda epoch, metrics: tracking.log_metrics(metrics, prefix="epoch", step=epoch),
    )


def evaluate_splits(
    model: Any,
    splits: dict[str, Any],
    max_misses: int,
    title: str,
    progress: Progress | None = None,
    figures: bool = True,
) -> dict[str, dict[str, float]]:
    """Evaluate on the validation and test splits (those not empty) and log each to the active run."""
    from toolkit.evaluate import evaluate_examples, log_evaluation

    metrics = {}
    for split in ("validation", "test"):
        if len(splits[split]):
            if progress:
                progress(f"evaluating on {split} ({len(splits[split])} rows)")
            result = evaluate_examples(model, splits[split], split, max_misses)
            log_evaluation(result, title, figures)
            metrics[split] = result.metrics
    return metrics


def log_trained_model(model: Any, config: RunConfig, prepared: PreparedData, train_examples: Any) -> str:
    """Save the model folder, log it as a pyfunc model, and tag the run with its URI and file hashes."""
    import pandas as pd

    from toolkit import tracking
    from toolkit.models.folder import save_model

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "model_dir"
        manifest = save_model(model, folder, model_extras(config, prepared, model))
        example = pd.DataFrame({"text": [train_examples.texts[0][:300]]})
        if config.task == "stance":
            example["target"] = [train_examples.targets[0]]
        tracking.log_model_folder(folder, example)  # MLflow links the run's metrics so far to the logged model
        uri = tracking.tag_logged_model(manifest["files"])
        tracking.remember_newest(config.task, uri, folder)
    return uri
