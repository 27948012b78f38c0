"""`toolkit models export REF DIR`: the plain model folder behind any reference, copied out for use elsewhere.

An MLflow download (`mlflow artifacts download`) gives the pyfunc wrapper with the toolkit folder deep inside
(artifacts/model_dir); export gives that folder itself, after the checks every load makes (manifest schema,
each file's sha256, and for a store ref the hashes recorded on its training run), so `predict -m DIR` reads it.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from toolkit.errors import DataError
from toolkit.identity import ModelIdentity, identify
from toolkit.models.folder import MANIFEST, read_manifest, verify_files


def export_model(ref: str, dest: Path) -> ModelIdentity:
    """Copy the model folder `ref` points to (a folder, runs:/, models:/, a downloaded MLflow model) into
    `dest`, a new or empty folder; the copy is checked again and only then moved into place."""
    from toolkit.predict import model_folder

    check_destination(dest)
    folder = model_folder(ref)
    manifest = read_manifest(folder)
    verify_files(folder, manifest)
    identity = identify(ref, folder)
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        for name in [*manifest["files"], MANIFEST]:
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(folder / name, staging / name)
        verify_files(staging, read_manifest(staging))
        check_destination(dest)  # still new or empty
        if dest.is_dir():
            dest.rmdir()
        staging.rename(dest)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return identity


def check_destination(dest: Path) -> None:
    """Export never overwrites: the destination must be new or an empty folder."""
    if dest.exists() and not dest.is_dir():
        raise DataError(f"{dest} is a file; export writes a model folder")
    if dest.is_dir() and any(dest.iterdir()):
        raise DataError(f"{dest} is not empty; refusing to overwrite it (choose a new or empty folder)")
