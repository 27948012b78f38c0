"""The MLflow model registry: register a run's model under a name, point an alias at a version, list them.

A registered model is then a model reference everywhere: `toolkit predict --model models:/NAME@champion`
(and `toolkit score`, `toolkit evaluate`) load it through the toolkit's safe loader.
"""

from __future__ import annotations

import contextlib
import io
import re
from dataclasses import dataclass, field
from typing import Any

from toolkit.errors import ConfigError, ModelLoadError
from toolkit.tracking.names import MODEL_ARTIFACT, TAG_MODEL_URI, TAG_RUN_DETAIL
from toolkit.tracking.records import headline_metrics
from toolkit.tracking.store import check_store, client, mlflow_module, require_store, tracking_uri

RUN_ID = re.compile(r"^[0-9a-f]{32}$")
COPIED_TAGS = (
    "toolkit.task",
    "toolkit.backend",
    "toolkit.dataset",
    "toolkit.data_fingerprint",
    "toolkit.run_kind",
)


@dataclass
class ModelVersionInfo:
    """One registered version: where it came from and how its run scored."""

    name: str
    version: int
    aliases: list[str]
    run_id: str | None
    run_name: str | None
    task: str | None
    metrics: dict[str, float] = field(default_factory=dict)


def _client() -> Any:
    return client()


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def model_uri_of(ref: str) -> tuple[str, Any]:
    """A run ID or runs:/ID/PATH -> (model URI, run); the run must have logged a toolkit model."""
    run_id = ref.removeprefix("runs:/").split("/")[0]
    if not (RUN_ID.match(ref) or ref.startswith("runs:/")):
        raise ModelLoadError(f"'{ref}' is not a run: give a run ID or runs:/RUN_ID/model")
    try:
        run = _client().get_run(run_id)
    except Exception as exc:
        message = f"run {run_id} not found in {tracking_uri()}: {_first_line(exc)}"
        raise ModelLoadError(message) from exc
    uri = run.data.tags.get(TAG_MODEL_URI)
    if not uri:
        raise ModelLoadError(
            f"run {run_id} ({run.info.run_name}) logged no model; tuning trials keep none: "
            "register the tune's parent run, which holds the best trial's model"
        )
    return (ref if ref.startswith("runs:/") else uri), run


def register(ref: str, name: str) -> ModelVersionInfo:
    """Register the model of a run (ID or runs:/ID/model) as a new version of `name`."""
    mlflow = _mlflow()
    uri, run = model_uri_of(ref)
    uri = logged_model_uri(uri, run)
    tags = {key: run.data.tags[key] for key in COPIED_TAGS if key in run.data.tags}
    metrics = headline_metrics(run.data.metrics)
    tags |= {key: f"{value:.4f}" for key, value in metrics.items()}  # the version page shows tags, not run metrics
    try:
        with contextlib.redirect_stderr(io.StringIO()):  # MLflow prints "Successfully registered ..." itself
            version = mlflow.register_model(uri, name, tags=tags)
        store = _client()
        store.update_model_version(name, version.version, description=version_note(run, metrics))
        if not store.get_registered_model(name).description:  # a description someone wrote is kept
            store.update_registered_model(name, description=model_note(name, run))
    except Exception as exc:
        raise ModelLoadError(f"could not register {uri} as '{name}': {_first_line(exc)}") from exc
    return describe(version)


def logged_model_uri(uri: str, run: Any) -> str:
    """The run's logged model as `models:/m-ID` (MLflow 3) in place of `runs:/ID/model`: a version registered from it
    links to that model's page ("Source model"), which lists its metrics. Any other URI, or a run with no single
    logged model (MLflow 2), is kept."""
    if uri != f"runs:/{run.info.run_id}/{MODEL_ARTIFACT}":
        return uri
    try:
        found = _client().search_logged_models(
            experiment_ids=[run.info.experiment_id],
            filter_string=f"source_run_id = '{run.info.run_id}' AND name = '{MODEL_ARTIFACT}'",
        )
    except Exception:  # a store without logged models
        return uri
    return f"models:/{found[0].model_id}" if len(found) == 1 else uri


def version_note(run: Any, metrics: dict[str, float]) -> str:
    """A version's description (Markdown): where it came from and its headline metrics, rounded for reading."""
    tags = run.data.tags
    rows = "\n".join(f"| {key} | {value:.4f} |" for key, value in metrics.items())
    table = f"\n\n| metric | value |\n|---|---|\n{rows}" if rows else ""
    return (
        f"{tags.get('toolkit.task', '?')} classifier, backend `{tags.get('toolkit.backend', '?')}`, dataset "
        f"`{tags.get('toolkit.dataset', '?')}`; from run `{run.info.run_name}` ({run.info.run_id})."
        f"{table}\n\nFull settings: {tags.get(TAG_RUN_DETAIL, 'see the run')}"
    )


def model_note(name: str, run: Any) -> str:
    """A registered model's description, written when it has none: what it is and how to use it."""
    task = run.data.tags.get("toolkit.task", "?")
    return (
        f"{task.capitalize()} classifiers registered by the toolkit (each version says its backend, data and "
        f"metrics). Point the alias `champion` at the version to use (`toolkit models promote {name} VERSION`), "
        f"then `toolkit predict --model models:/{name}@champion`, `toolkit score` or `toolkit serve` load it."
    )


def promote(name: str, version: int, alias: str = "champion") -> tuple[ModelVersionInfo, int | None]:
    """Point `alias` at a version of `name`; return that version and the one the alias left (if any)."""
    client = _client()
    try:
        client.get_model_version(name, str(version))
    except Exception as exc:
        known = [v.version for v in list_versions(name)] if _exists(name) else []
        hint = f"; its versions: {', '.join(map(str, known))}" if known else "; see `toolkit models list`"
        raise ModelLoadError(f"registered model '{name}' has no version {version}{hint}") from exc
    try:
        previous: int | None = int(client.get_model_version_by_alias(name, alias).version)
    except Exception:
        previous = None
    try:
        client.set_registered_model_alias(name, alias, str(version))
    except Exception as exc:
        raise ConfigError(f"cannot set alias '{alias}': {_first_line(exc)}") from exc
    return describe(client.get_model_version(name, str(version))), previous


def list_versions(name: str | None = None) -> list[ModelVersionInfo]:
    """Every registered version (of one model, or of all), newest first within each name."""
    require_store()
    client = _client()
    filter_string = f"name = '{name}'" if name else None
    versions = client.search_model_versions(filter_string=filter_string)
    return sorted((describe(v) for v in versions), key=lambda info: (info.name, -info.version))


def _exists(name: str) -> bool:
    try:
        _client().get_registered_model(name)
    except Exception:
        return False
    return True


def _mlflow() -> Any:
    check_store()
    return mlflow_module()


def describe(version: Any) -> ModelVersionInfo:
    """A registry ModelVersion with its aliases, its source run's name, task and headline metrics."""
    aliases = [
        alias
        for alias, number in _client().get_registered_model(version.name).aliases.items()
        if str(number) == str(version.version)
    ]
    metrics: dict[str, float] = {}
    run_name = task = None
    if version.run_id:
        try:
            run = _client().get_run(version.run_id)
            run_name, task = run.info.run_name, run.data.tags.get("toolkit.task")
            metrics = {
                key: value
                for key, value in run.data.metrics.items()
                if key in ("validation_macro_f1", "test_macro_f1", "test_accuracy", "test_f_avg")
            }
        except Exception:  # a run deleted since: the version is still listed
            pass
    return ModelVersionInfo(
        name=version.name,
        version=int(version.version),
        aliases=sorted(aliases),
        run_id=version.run_id,
        run_name=run_name,
        task=task,
        metrics=metrics,
    )
