"""The model folder: `manifest.json` plus the backend's plain files, each checked by sha256 on load.

Format versions: bump FORMAT_VERSION when a change makes old folders unreadable by the new loader,
keep a loader branch for every version still in SUPPORTED_FORMATS, and add a folder of the old format
to the tests. Loading reads JSON first, validates it, verifies every file's hash, and only then lets the
backend read its (non-executable) files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolkit import __version__
from toolkit._hashing import sha256_file
from toolkit.errors import ModelLoadError

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
    """Read and validate `manifest.json`; raises ModelLoadError naming what is wrong."""
    path = folder / MANIFEST
    if not folder.is_dir():
        raise ModelLoadError(f"model folder not found: {folder}")
    if not path.is_file():
        raise ModelLoadError(f"{folder} is not a toolkit model folder (no {MANIFEST})")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelLoadError(f"{path}: not valid JSON ({exc})") from exc
    required = {"format_version", "backend", "task", "labels", "files"}
    if not isinstance(manifest, dict):
        raise ModelLoadError(f"{path}: the manifest must be a JSON object")
    if not required <= manifest.keys():
        raise ModelLoadError(f"{path}: missing keys {sorted(required - set(manifest))}")
    if not isinstance(manifest["files"], dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in manifest["files"].items()
    ):
        raise ModelLoadError(f"{path}: 'files' must map file names to sha256 strings")
    if not isinstance(manifest["format_version"], int) or manifest["format_version"] not in SUPPORTED_FORMATS:
        raise ModelLoadError(
            f"{path}: model format {manifest['format_version']} is not supported by toolkit {__version__}"
        )
    return manifest


def verify_files(folder: Path, manifest: dict[str, Any]) -> None:
    """Refuse executable formats and any file whose sha256 differs from the one recorded at training."""
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


def load_model(folder: str | Path) -> FittedModel:
    """Load a model folder written by `save_model`, after validating its manifest and hashes."""
    from toolkit.backends import get_backend

    folder = Path(folder)
    manifest = read_manifest(folder)
    verify_files(folder, manifest)
    try:
        backend = get_backend(manifest["backend"])
    except Exception as exc:
        raise ModelLoadError(f"{folder}: {exc}") from exc
    model = backend.model_class.load(folder, manifest)
    if model.task == "stance":
        from toolkit.data.targets import TargetScope

        model.target_scope = TargetScope.from_manifest(manifest)
    return model
