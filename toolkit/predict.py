"""Load models by reference and predict texts or files.

A reference is a local model folder, `runs:/ID/model`, `models:/NAME@ALIAS` (or `/VERSION`), or any MLflow
model URI. Local folders load without importing MLflow. Whatever the reference, the model is read by
the toolkit's own loader (manifest, sha256 of every file, JSON + safetensors only), never by
unpickling.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolkit.data.readers import SourceReport, decode_bytes
from toolkit.data.readers.core import looks_binary
from toolkit.data.targets import TargetScope, normalize_target
from toolkit.errors import DataError, ModelLoadError
from toolkit.models.folder import read_manifest

if TYPE_CHECKING:
    from toolkit.backends.base import FittedModel
    from toolkit.identity import ModelIdentity

URI_SCHEMES = ("runs:/", "models:/", "mlflow-artifacts:/", "s3://", "gs://", "wasbs://", "dbfs:/", "file:/")


@dataclass
class LoadedModel:
    """A model with where it came from and what its manifest says (e.g. the default stance target)."""

    ref: str
    model: FittedModel
    manifest: dict[str, Any]
    folder: Path | None = None
    """The local folder it was read from (an MLflow model's download), e.g. to hash its manifest."""
    identity: ModelIdentity | None = None
    """What the ref resolved to when loaded (registered version, run, manifest sha256): recorded with results."""

    @property
    def target_scope(self) -> TargetScope | None:
        """Which targets the model answers for (its training targets, or any for a general model), as the loader
        read them from the manifest; None for a topic model or a folder that records no targets."""
        return self.model.target_scope

    @property
    def default_target(self) -> str | None:
        target = self.manifest.get("default_target")
        return str(target) if target else None


def load_ref(ref: str) -> LoadedModel:
    """Load a model from a local folder or an MLflow URI through the safe loader."""
    return loaded_from(ref, model_folder(ref))


def loaded_from(ref: str, folder: Path) -> LoadedModel:
    """The model in a local `folder` (what `ref` resolved to), read by the safe loader, with its identity."""
    from toolkit.identity import identify
    from toolkit.models.folder import load_model

    model, manifest = load_model(folder), read_manifest(folder)
    return LoadedModel(ref=ref, model=model, manifest=manifest, folder=folder, identity=identify(ref, folder))


def model_folder(ref: str) -> Path:
    """The local model folder a reference points to (an MLflow model is downloaded first; in an MLflow model
    folder already downloaded, e.g. by `mlflow artifacts download`, the toolkit folder its MLmodel names)."""
    path = Path(ref)
    if path.is_dir() and not (path / "manifest.json").exists() and (path / "MLmodel").is_file():
        from toolkit.tracking import model_dir_inside

        folder = model_dir_inside(path, ref)
    elif path.is_dir():
        folder = path
    elif ref.startswith(URI_SCHEMES):
        from toolkit.tracking import download_model_folder

        folder = download_model_folder(ref)
        check_recorded_hashes(ref, folder)
    elif path.exists():
        raise ModelLoadError(f"{ref} is a file; a model reference is a model folder or an MLflow URI")
    else:
        raise ModelLoadError(f"model not found: {ref} (expected a model folder, runs:/ID/model or models:/NAME@ALIAS)")
    return folder


def check_recorded_hashes(ref: str, folder: Path) -> None:
    """The manifest's file hashes must equal those tagged on the training run (held in the tracking store,
    not beside the artifacts): editing a model file and its manifest together is caught here."""
    from toolkit.tracking import recorded_hashes

    expected = recorded_hashes(ref)
    if expected is not None and read_manifest(folder)["files"] != expected:
        raise ModelLoadError(
            f"{ref}: the model files differ from the sha256 recorded on its training run (tampered or corrupt)"
        )


def load_default_models() -> list[LoadedModel]:
    """The newest finished topic model and stance model in the tracking store (whichever exist)."""
    loaded, missing = [], []
    for task in ("topic", "stance"):
        try:
            loaded.append(load_newest(task))
        except ModelLoadError as exc:
            missing.append(str(exc))
    if not loaded:
        raise ModelLoadError(missing[0])
    return loaded


def load_newest(task: str) -> LoadedModel:
    """The newest finished model of `task`: from training's index of a local store when the store confirms
    it (no MLflow import, see toolkit.tracking.latest), else by asking the store through MLflow."""
    from toolkit.tracking import newest_from_index, newest_model_run

    found = newest_from_index(task)
    return load_ref(newest_model_run(task)) if found is None else loaded_from(*found)


def read_article(path: str) -> str:
    """Read one article file ('-' for stdin) as text, detecting its encoding; refuse empty or binary input."""
    import sys

    if path == "-":
        raw = sys.stdin.buffer.read()
    else:
        file = Path(path)
        if file.is_dir():
            raise DataError(f"{path} is a folder; pass article files (e.g. {path}/*.txt)")
        if not file.exists():
            raise DataError(f"article not found: {path}")
        if not file.is_file():  # a FIFO would block, /dev/null reads as empty: neither is an article
            raise DataError(f"{path}: not a regular file (a FIFO, device or socket); pass an article file or '-'")
        raw = file.read_bytes()
    if looks_binary(raw):
        raise DataError(f"{path}: looks like a binary file, not text")
    text = decode_bytes(raw, None, SourceReport(path=path))
    if not text.strip():
        raise DataError(f"{path}: the article is empty")
    return text


MAX_DEFAULT_TARGETS = 5


def check_target(target: str | None, models: Sequence[LoadedModel]) -> None:
    """An empty or blank --target is a mistake (never "no target"), and so is a target for topic models only."""
    if target is None:
        return
    if not target.strip():
        raise DataError("--target is empty: pass a stance target (e.g. --target 'nuclear energy') or leave it out")
    if not any(loaded.model.task == "stance" for loaded in models):
        refs = ", ".join(loaded.ref for loaded in models)
        raise DataError(f"--target is for stance models; {refs} is a topic model")


def target_spellings(known: Sequence[Any]) -> dict[str, str]:
    """A model's training targets (its manifest's `targets`) by their normalized form."""
    spellings: dict[str, str] = {}
    for target in known:
        spellings.setdefault(normalize_target(str(target)), str(target))
    return spellings


def model_target(target: str, spellings: dict[str, str]) -> str:
    """The spelling a model knows for `target`: the training target equal to it once case-folded and with
    whitespace collapsed ("Arms Control Talks " asks what "arms control talks" learned); otherwise the
    target with its whitespace collapsed, case kept (a general model may read case)."""
    return spellings.get(normalize_target(target), " ".join(target.split()))


def targets_to_ask(loaded: LoadedModel, target: str | None) -> list[str | None]:
    """Which targets to judge each text against: the given one, else every target the model was trained
    on (up to five), else its most common one; [None] for topic models."""
    if loaded.model.task != "stance":
        return [None]
    if target:
        return [target]
    if loaded.target_scope and loaded.target_scope.general:
        raise DataError(f"{loaded.ref} is a general stance model: pass --target (any target)")
    known = [str(t) for t in loaded.manifest.get("targets", [])]
    if 0 < len(known) <= MAX_DEFAULT_TARGETS:
        return known
    if not loaded.default_target:
        raise DataError(f"{loaded.ref} is a stance model with no default target; pass --target")
    return [loaded.default_target]


def predict_records(
    loaded: LoadedModel, texts: Sequence[str], targets: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """One record per text: label, its probability, all probabilities, and an unknown-words flag."""
    model = loaded.model
    probabilities, unknown = model.predict_with_unknown(texts, targets)
    cut = model.truncated_tokens(texts, targets)
    records = []
    for i, row in enumerate(probabilities):
        best = int(row.argmax())
        record = {
            "task": model.task,
            "label": model.labels[best],
            "probability": float(row[best]),
            "probabilities": {label: float(p) for label, p in zip(model.labels, row, strict=True)},
        }
        warnings = []
        if targets is not None:
            record["target"] = targets[i]
            scope = loaded.target_scope
            if scope is not None:
                record["unseen_target"] = scope.is_unseen(targets[i])
                if record["unseen_target"]:
                    warnings.append(scope.warning(targets[i]))
        if unknown is not None and bool(unknown[i]):
            warnings.append("no known words: the label is a guess")
        if cut is not None and cut[i] > 0:
            record["truncated_tokens"] = int(cut[i])
            warnings.append(f"text cut to fit the model: {int(cut[i])} tokens not read")
        if warnings:
            record["warning"] = "; ".join(warnings)
        records.append(record)
    return records


def predict_files(
    paths: Sequence[str], models: Sequence[LoadedModel], target: str | None = None
) -> list[dict[str, Any]]:
    """Predict every file with every model: one row per file holding each model's record by task."""
    check_target(target, models)
    texts = [read_article(path) for path in paths]
    rows: list[dict[str, Any]] = [{"file": path, "predictions": []} for path in paths]
    for loaded in models:
        for asked in targets_to_ask(loaded, target):
            spellings = target_spellings(loaded.manifest.get("targets") or [])
            targets = None if asked is None else [model_target(asked, spellings)] * len(texts)
            for row, record in zip(rows, predict_records(loaded, texts, targets), strict=True):
                record["model"] = loaded.ref
                if loaded.identity is not None:  # which model it was: the manifest's sha256 names its files
                    record["model_sha256"] = loaded.identity.sha256
                row["predictions"].append(record)
    return rows
