"""What a run records: params, metrics, datasets, text, figures and tables, under names MLflow accepts."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolkit.tracking.store import mlflow_module

if TYPE_CHECKING:
    from toolkit.data.types import Examples


def log_params(flat: dict[str, str]) -> None:
    """Log dotted params in batches (MLflow caps a batch at 100 and a value at 6000 characters)."""
    mlflow = mlflow_module()
    items = [(key, value[:6000]) for key, value in flat.items()]
    for start in range(0, len(items), 100):
        mlflow.log_params(dict(items[start : start + 100]))


def log_dataset(prepared_manifest: dict[str, Any], splits: dict[str, Examples], source: str) -> None:
    """Log each split as an MLflow dataset input (shown in the run's Datasets panel) with the data hash."""
    import pandas as pd

    mlflow = mlflow_module()
    name = prepared_manifest.get("name", "data")
    for split, examples in splits.items():
        frame = pd.DataFrame({"id": examples.ids, "text": examples.texts, "label": examples.labels})
        if examples.targets is not None:
            frame["target"] = examples.targets
        if examples.sources is not None:  # which source each row came from (prepared data that records it)
            frame["source"] = examples.sources
        with warnings.catch_warnings():  # MLflow warns that a local path matches two source types
            warnings.simplefilter("ignore")
            dataset = mlflow.data.from_pandas(
                frame, source=source, name=f"{name}-{split}", digest=prepared_manifest["fingerprint"][:16]
            )
        mlflow.log_input(dataset, context=split)


def log_metrics(metrics: dict[str, float], prefix: str, step: int | None = None) -> None:
    """Log metrics as '<prefix>_<name>' with names MLflow accepts (labels may hold any character)."""
    mlflow = mlflow_module()
    mlflow.log_metrics({f"{prefix}_{safe_key(k)}": float(v) for k, v in metrics.items()}, step=step)


def safe_key(key: str) -> str:
    """MLflow keys allow letters, digits, _ - . space / but a key must not read as a path that climbs
    ('../x') or that normalises to another name; labels can hold anything, so '/' becomes '_' too."""
    return "".join(c if c.isascii() and (c.isalnum() or c in "_-. ") else "_" for c in key)


def log_text(text: str, artifact_file: str) -> None:
    mlflow_module().log_text(text, artifact_file)


def log_figure_file(path: Path, artifact_path: str | None = None) -> None:
    mlflow_module().log_artifact(str(path), artifact_path=artifact_path)


def log_table(frame: Any, artifact_file: str) -> None:
    """A table for the run's Artifacts/Evaluation view (mlflow.log_table), also readable as JSON."""
    mlflow_module().log_table(data=frame, artifact_file=artifact_file)


def set_tags(tags: dict[str, str]) -> None:
    mlflow_module().set_tags(tags)


HEADLINE_METRICS = ("accuracy", "macro_f1", "weighted_f1", "f_avg", "f_avg_macro_over_targets", "fnc_score", "ece")
"""The metrics (of each evaluated split) a logged model and a registered version show."""


def headline_metrics(metrics: dict[str, float]) -> dict[str, float]:
    """The validation and test headline metrics among a run's metrics, validation first."""
    keys = [f"{split}_{name}" for split in ("validation", "test") for name in HEADLINE_METRICS]
    return {key: metrics[key] for key in keys if key in metrics}
