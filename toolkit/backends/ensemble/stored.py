"""The ensemble's files: `ensemble.json` (members, temperatures, weights, combiner), `ensemble.safetensors`
(the stacker's head, stacker only) and each member's own files under `members/<i>/`.

The one manifest of the ensemble folder lists and hashes every file, the members' included. A member is loaded
by its own backend's `load` with a manifest cut from the ensemble's (its files, paths relative to its folder),
so it passes the same checks as a model folder of its own, and nothing is unpickled or executed.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, StrictStr, ValidationError

from toolkit.models.folder import ManifestSchema, first_problem, invalid, loadable_files, read_model_json
from toolkit.schema import StrictModel

if TYPE_CHECKING:
    import numpy as np

    from toolkit.backends.base import FittedModel

SETTINGS_FILE = "ensemble.json"
ARRAYS_FILE = "ensemble.safetensors"
MEMBERS_FOLDER = "members"


class SavedMember(StrictModel):
    """One member as ensemble.json records it: what its backend's loader needs beside its files."""

    backend: StrictStr
    labels: list[StrictStr]
    params: dict[str, Any] = Field(default_factory=dict)
    temperature: float = Field(gt=0)
    weight: float | None = Field(None, ge=0)


class EnsembleSettings(StrictModel):
    """ensemble.json."""

    combiner: Literal["weighted_average", "stacker"]
    labels: list[StrictStr]
    members: list[SavedMember] = Field(min_length=1)
    offsets: list[float] | None = Field(None, description="per label, added to the combined log-probabilities")


def member_folder(index: int) -> str:
    """The folder of member `index`, relative to the ensemble folder."""
    return f"{MEMBERS_FOLDER}/{index}"


def member_manifest(manifest: dict[str, Any], index: int, member: SavedMember) -> dict[str, Any]:
    """The manifest member `index` would have as a model folder of its own: the ensemble's files under its folder
    (paths made relative to it, hashes as recorded), its backend, labels and params."""
    prefix = f"{member_folder(index)}/"
    return {
        "format_version": manifest["format_version"],
        "backend": member.backend,
        "task": manifest["task"],
        "labels": member.labels,
        "params": member.params,
        "files": {name[len(prefix) :]: digest for name, digest in manifest["files"].items() if name.startswith(prefix)},
    }


def read_settings(folder: Path, manifest: dict[str, Any]) -> EnsembleSettings:
    """ensemble.json validated: its labels are the manifest's, each member's labels are the same set, and no
    member is itself an ensemble."""
    try:
        settings = EnsembleSettings.model_validate(read_model_json(folder, SETTINGS_FILE))
    except ValidationError as exc:
        raise invalid(folder, first_problem(exc, SETTINGS_FILE)) from exc
    if settings.labels != manifest["labels"]:
        raise invalid(folder, f"{SETTINGS_FILE} and manifest.json disagree on the labels")
    offsets = settings.offsets
    if offsets is not None and (len(offsets) != len(settings.labels) or not all(map(math.isfinite, offsets))):
        raise invalid(folder, f"{SETTINGS_FILE}: offsets must be {len(settings.labels)} finite numbers, one per label")
    for index, member in enumerate(settings.members):
        if set(member.labels) != set(settings.labels):
            raise invalid(folder, f"{SETTINGS_FILE}: member {index} has other labels than the ensemble")
        if member.backend == "ensemble":
            raise invalid(folder, f"{SETTINGS_FILE}: member {index} is an ensemble (members cannot nest)")
    return settings


def member_class(folder: Path, index: int, member: SavedMember, manifest: dict[str, Any]) -> type[FittedModel]:
    """The model class of a member's backend, once its cut manifest passes the manifest schema."""
    from toolkit.backends import get_backend

    try:
        ManifestSchema.model_validate(member_manifest(manifest, index, member))
        return get_backend(member.backend).model_class
    except ValidationError as exc:
        raise invalid(folder, first_problem(exc, f"{SETTINGS_FILE} member {index}")) from exc
    except Exception as exc:  # an unknown or uninstallable backend
        raise invalid(folder, f"{SETTINGS_FILE} member {index}: {exc}") from exc


def files_read(folder: Path, manifest: dict[str, Any]) -> list[str]:
    """ensemble.json, the stacker's arrays, and every file each member's loader reads (under its folder)."""
    files = [SETTINGS_FILE]
    if SETTINGS_FILE not in manifest["files"]:
        return files
    settings = read_settings(folder, manifest)
    if settings.combiner == "stacker":
        files.append(ARRAYS_FILE)
    for index, member in enumerate(settings.members):
        sub = folder / member_folder(index)
        read = member_class(folder, index, member, manifest).files_read(sub, member_manifest(manifest, index, member))
        names = loadable_files(sub) if read is None else read
        files += [f"{member_folder(index)}/{name}" for name in names]
    return files


def load_members(folder: Path, manifest: dict[str, Any], settings: EnsembleSettings) -> list[FittedModel]:
    """Each member through its own backend's loader, from its folder and its cut manifest."""
    members = []
    for index, member in enumerate(settings.members):
        cut = member_manifest(manifest, index, member)
        members.append(member_class(folder, index, member, manifest).load(folder / member_folder(index), cut))
    return members


def read_head(folder: Path, settings: EnsembleSettings) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The stacker's (coef, intercept) as float64, checked against the labels and members; (None, None) otherwise."""
    import numpy as np
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    if settings.combiner != "stacker":
        return None, None
    try:
        arrays = load_file(str(folder / ARRAYS_FILE))
    except (OSError, SafetensorError, ValueError) as exc:
        raise invalid(folder, f"{ARRAYS_FILE}: {exc}") from exc
    labels, width = len(settings.labels), len(settings.labels) * len(settings.members)
    coef = np.asarray(arrays.get("coef", np.zeros(0)), dtype=np.float64)
    intercept = np.asarray(arrays.get("intercept", np.zeros(0)), dtype=np.float64)
    if coef.shape != (labels, width) or intercept.shape != (labels,):
        raise invalid(folder, f"{ARRAYS_FILE}: coef must be {labels}x{width} and intercept {labels} long")
    if not (np.isfinite(coef).all() and np.isfinite(intercept).all()):
        raise invalid(folder, f"{ARRAYS_FILE}: the stacker's weights are not all finite")
    return coef, intercept
