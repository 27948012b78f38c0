"""The model folder: `manifest.json` plus the backend's plain files, each checked by sha256 on load.

Format versions: bump FORMAT_VERSION when a change makes old folders unreadable by the new loader,
keep a loader branch for every version still in SUPPORTED_FORMATS, and add a folder of the old format
to the tests. Loading reads JSON first, validates it, verifies every file's hash, and only then lets the
backend read its (non-executable) files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, StrictInt, StrictStr, StringConstraints, ValidationError, field_validator

from toolkit import __version__
from toolkit._hashing import sha256_file
from toolkit._jsonfile import UnreadableJson, read_json
from toolkit.errors import ModelLoadError
from toolkit.schema import Task

if TYPE_CHECKING:
    from toolkit.backends.base import FittedModel

FORMAT_VERSION = 1
SUPPORTED_FORMATS = {1}
MANIFEST = "manifest.json"
FORBIDDEN_SUFFIXES = {".pkl", ".pickle", ".joblib", ".bin", ".pt", ".pth", ".ckpt"}
# The only files a model folder may list: data formats that no loader executes. skops is deliberately
# absent: the tfidf backend stores JSON + safetensors, so no type list ever needs trusting. (.txt and
# .model are tokenizer vocabularies: plain text and sentencepiece protobuf.)
ALLOWED_SUFFIXES = {".json", ".safetensors", ".txt", ".model"}
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class ManifestSchema(BaseModel):
    """What every manifest.json must hold; other keys (a stance model's targets, its data's name) pass through."""

    model_config = ConfigDict(extra="allow")

    format_version: StrictInt
    backend: StrictStr
    task: Task
    labels: list[StrictStr]
    files: dict[str, Sha256]
    params: dict[str, Any] = {}

    @field_validator("labels")
    @classmethod
    def unique_names(cls, labels: list[str]) -> list[str]:
        """A label is a column of the probabilities and a name in the output: blank or repeated ones make
        the answer ambiguous, and fewer than two is no classifier."""
        if len(labels) < 2:
            raise ValueError(f"a classifier needs at least 2 labels, not {len(labels)}")
        if any(not label.strip() for label in labels):
            raise ValueError("labels must be non-empty strings")
        repeated = sorted({label for label in labels if labels.count(label) > 1})
        if repeated:
            raise ValueError(f"labels must be unique ({repeated} repeated)")
        return labels


def invalid(folder: Path, why: str) -> ModelLoadError:
    """The one error of a model folder whose content is wrong although its files may match their hashes."""
    return ModelLoadError(f"invalid model folder: {folder}: {why}")


def first_problem(exc: ValidationError, what: str) -> str:
    """pydantic's first complaint as one line: `what 'labels.0': Input should be a valid string`."""
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{what} {where!r}: {message}" if where else f"{what}: {message}"


def read_model_json(folder: Path, name: str) -> Any:
    """A JSON file of a model folder, parsed; any way it is unreadable is an invalid model folder."""
    try:
        return read_json(folder / name)
    except UnreadableJson as exc:
        raise invalid(folder, f"{name} {exc}") from exc


def save_model(model: FittedModel, folder: Path, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write `model` into `folder` (created) and return the manifest that describes it."""
    folder.mkdir(parents=True, exist_ok=True)
    files = model.save(folder)
    manifest = {
        "format_version": FORMAT_VERSION,
        "backend": model.backend_name,
        "task": model.task,
        "labels": model.labels,
        "params": model.params,
        "toolkit_version": __version__,
        **(extra or {}),
        "files": {name: sha256_file(folder / name) for name in sorted(files)},
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    return manifest


def read_manifest(folder: Path) -> dict[str, Any]:
    """Read and validate `manifest.json` against ManifestSchema; raises ModelLoadError naming what is wrong."""
    path = folder / MANIFEST
    if not folder.is_dir():
        raise ModelLoadError(f"model folder not found: {folder}")
    if not path.is_file():
        raise ModelLoadError(f"{folder} is not a toolkit model folder (no {MANIFEST})")
    manifest = read_model_json(folder, MANIFEST)
    if not isinstance(manifest, dict):
        raise invalid(folder, f"{MANIFEST} must be a JSON object")
    required = {"format_version", "backend", "task", "labels", "files"}
    if not required <= manifest.keys():
        raise invalid(folder, f"{MANIFEST} is missing keys {sorted(required - set(manifest))}")
    version = manifest["format_version"]
    if not isinstance(version, int) or isinstance(version, bool) or version not in SUPPORTED_FORMATS:
        raise ModelLoadError(f"{path}: model format {version!r} is not supported by toolkit {__version__}")
    try:
        ManifestSchema.model_validate(manifest)
    except ValidationError as exc:
        raise invalid(folder, first_problem(exc, MANIFEST)) from exc
    return manifest


def verify_files(folder: Path, manifest: dict[str, Any]) -> None:
    """Refuse executable formats and any file whose sha256 differs from the one recorded at training, then any
    file the backend's loader would read without the manifest listing it (it would be read unchecked)."""
    for name, expected in manifest["files"].items():
        path = (folder / name).resolve()
        if folder.resolve() not in path.parents:
            raise ModelLoadError(f"{folder}: manifest names a file outside the model folder: {name}")
        if path.suffix.lower() in FORBIDDEN_SUFFIXES:
            raise ModelLoadError(f"{folder}: refusing {name}: pickle-based formats are never loaded")
        if path.suffix.lower() not in ALLOWED_SUFFIXES:
            raise ModelLoadError(
                f"{folder}: refusing {name}: only {', '.join(sorted(ALLOWED_SUFFIXES))} files are loaded"
            )
        if not path.is_file():
            raise ModelLoadError(f"{folder}: model file missing: {name}")
        if sha256_file(path) != expected:
            raise ModelLoadError(f"{folder}: {name} does not match its recorded sha256 (tampered or corrupt)")
    check_listed(folder, manifest)


def model_class_of(folder: Path, manifest: dict[str, Any]) -> type[FittedModel]:
    """The model class of the manifest's backend (imported now); an unknown backend is a ModelLoadError."""
    from toolkit.backends import get_backend

    try:
        return get_backend(manifest["backend"]).model_class
    except Exception as exc:
        raise ModelLoadError(f"{folder}: {exc}") from exc


def loadable_files(folder: Path) -> list[str]:
    """Every file a loader that finds files by name (transformers' from_pretrained) could read: each one with a
    loadable suffix, anywhere in the folder, but the manifest itself."""
    return sorted(
        path.relative_to(folder).as_posix()
        for path in folder.rglob("*")
        if path.is_file() and path.suffix.lower() in ALLOWED_SUFFIXES and path != folder / MANIFEST
    )


def check_listed(folder: Path, manifest: dict[str, Any]) -> None:
    """The Guarantees promise that every file read is listed and hashed: a manifest that omits one (or lists
    none at all) is refused, not loaded unchecked. Call after the listed files' hashes are verified."""
    read = model_class_of(folder, manifest).files_read(folder, manifest)
    unlisted = sorted(set(loadable_files(folder) if read is None else read) - set(manifest["files"]))
    if unlisted:
        raise invalid(
            folder,
            f"{MANIFEST} does not list {unlisted[0]}, which the {manifest['backend']} loader reads "
            "(every file read must be listed with its sha256)",
        )


def load_model(folder: str | Path) -> FittedModel:
    """Load a model folder written by `save_model`, after validating its manifest and hashes."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    verify_files(folder, manifest)
    model = model_class_of(folder, manifest).load(folder, manifest)
    if model.task == "stance":
        from toolkit.data.targets import TargetScope

        model.target_scope = TargetScope.from_manifest(manifest)
    return model
