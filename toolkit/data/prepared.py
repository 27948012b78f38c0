"""Reading a prepared dataset folder back without trusting it: its manifest is validated against a schema,
its `config_key` recomputed (so an edited task or config is caught), each split's arrow file read with any
failure as one DataError, and the rows checked against the manifest's per-split label counts.

`toolkit evaluate` and training act on the manifest's task: a folder whose manifest says otherwise than the
data it was prepared from must be refused, not evaluated as if it were right.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, StrictInt, StrictStr, ValidationError

from toolkit._jsonfile import UnreadableJson, read_json
from toolkit.data.types import Examples
from toolkit.errors import DataError
from toolkit.schema import Task

AGAIN = "run `toolkit prepare` again"


class PreparedManifest(BaseModel):
    """The keys of a prepared folder's manifest.json that loading and training rely on (others pass through)."""

    model_config = ConfigDict(extra="allow")

    kind: Literal["toolkit-prepared-dataset"]
    task: Task
    config: dict[str, Any]
    config_key: StrictStr
    counts: dict[str, dict[str, StrictInt]]
    fingerprint: StrictStr


def key_of(task: str, config: dict[str, Any]) -> str:
    """What decides a prepared dataset's content besides the files: its task and data config (JSON form),
    without the output folder. Shared by prepare (to write it) and loading (to recompute it)."""
    payload = {"task": task, "config": {key: value for key, value in config.items() if key != "output"}}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def read_prepared_manifest(path: Path) -> dict[str, Any]:
    """The folder's manifest, validated and consistent with its own config_key; else one DataError line."""
    try:
        manifest = read_json(path / "manifest.json")
        PreparedManifest.model_validate(manifest)
    except UnreadableJson as exc:
        raise DataError(f"prepared dataset {path}: manifest.json {exc}; {AGAIN}") from exc
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        raise DataError(f"prepared dataset {path}: manifest.json {where!r}: {error['msg']}; {AGAIN}") from exc
    if key_of(manifest["task"], manifest["config"]) != manifest["config_key"]:
        raise DataError(
            f"prepared dataset {path}: manifest.json was edited (its task '{manifest['task']}' and config do not "
            f"match its config_key); {AGAIN}"
        )
    return manifest


def read_split(path: Path, name: str) -> dict[str, list[Any]]:
    """One split's columns from its arrow files; a truncated or corrupt file is a DataError naming the split."""
    import datasets

    try:
        columns: dict[str, list[Any]] = datasets.load_from_disk(str(path / "dataset" / name)).to_dict()
    except (OSError, ValueError, KeyError, TypeError) as exc:
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        raise DataError(
            f"prepared dataset {path}: split '{name}' is unreadable ({type(exc).__name__}: {first}); {AGAIN}"
        ) from exc
    missing = sorted({"id", "text", "label", "target"} - set(columns))
    if missing:
        raise DataError(f"prepared dataset {path}: split '{name}' has no column(s) {missing}; {AGAIN}")
    return columns


def check_split(path: Path, manifest: dict[str, Any], name: str, examples: Examples) -> None:
    """The rows must be those the manifest counted (per label), and a stance split needs a target on each."""
    found = dict(sorted(Counter(examples.labels).items()))
    recorded = dict(sorted(manifest["counts"].get(name, {}).items()))
    if found != recorded:
        raise DataError(
            f"prepared dataset {path}: split '{name}' holds {len(examples)} rows {found}, but manifest.json records "
            f"{sum(recorded.values())} rows {recorded} (edited or corrupt); {AGAIN}"
        )
    if manifest["task"] == "stance" and not all(examples.targets or []):
        raise DataError(f"prepared dataset {path}: split '{name}' has stance rows without a target; {AGAIN}")
