"""Which model produced a result: the reference the user gave and what it resolved to when it was loaded.

`models:/topic@champion` names a different model after the alias moves, and a folder can be replaced: a
result (an evaluation, a scored file, a prediction) records the resolved model (registered name and version,
the run that logged it, the sha256 of its manifest, which holds the sha256 of every file) so that one can
tell later which model it was.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from toolkit._hashing import sha256_file
from toolkit.models.folder import MANIFEST

STORE_REFS = ("runs:/", "models:/")


@dataclass(frozen=True)
class ModelIdentity:
    """A loaded model's reference and what it resolved to."""

    ref: str
    """As the user gave it (a folder, runs:/ID/model, models:/NAME@ALIAS)."""
    uri: str
    """A reference that keeps naming this model: models:/NAME/VERSION, runs:/ID/model, else the ref."""
    sha256: str
    """sha256 of the model folder's manifest.json (which lists the sha256 of every model file)."""
    name: str | None = None
    version: str | None = None
    run_id: str | None = None

    def fields(self) -> dict[str, str | None]:
        """The flat `model_*` fields written beside a result (JSON outputs, summaries)."""
        return {f"model_{key}": value for key, value in asdict(self).items() if key != "ref"}

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        """One line for a terminal: models:/topic/3 (run 0a1b2c3d4e5f, sha256 9f8e7d6c5b4a)."""
        run = f"run {self.run_id[:12]}, " if self.run_id else ""
        return f"{self.uri} ({run}sha256 {self.sha256[:12]})"


def identify(ref: str, folder: Path) -> ModelIdentity:
    """The identity of the model read from `folder` for `ref`; a store ref is resolved through the tracking
    store (the alias's version now), a downloaded MLflow model folder gives the run recorded in its MLmodel."""
    sha256 = sha256_file(folder / MANIFEST)
    if ref.startswith(STORE_REFS):
        from toolkit.tracking import resolve_model_ref

        return ModelIdentity(ref=ref, sha256=sha256, **resolve_model_ref(ref))  # type: ignore[arg-type]
    return ModelIdentity(ref=ref, uri=ref, sha256=sha256, run_id=downloaded_run_id(Path(ref)))


def downloaded_run_id(path: Path) -> str | None:
    """The run id an MLflow model folder (`mlflow artifacts download` of a logged model) records in its
    MLmodel file; None for a plain model folder or an unreadable MLmodel."""
    mlmodel = path / "MLmodel"
    if not path.is_dir() or not mlmodel.is_file():
        return None
    import yaml

    try:
        run_id = yaml.safe_load(mlmodel.read_text(encoding="utf-8")).get("run_id")
    except (OSError, UnicodeDecodeError, yaml.YAMLError, AttributeError):
        return None
    return str(run_id) if isinstance(run_id, str) and run_id.strip() else None
