"""Where a prepared dataset came from: its sources as absolute paths, recorded in the manifest, so that
preparing other data never silently takes the place of an earlier dataset (same name, same folder)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from toolkit.data.sources import source_configs
from toolkit.errors import DataError

if TYPE_CHECKING:
    from toolkit.data.config import DataConfig


def source_paths(cfg: DataConfig) -> list[str]:
    """What a dataset is prepared from, as absolute paths (a hub id as typed): each source's files (or its own
    split files) and a joined file."""
    found = []
    for _, source_cfg in source_configs(cfg):
        files = list(source_cfg.splits.values()) if source_cfg.splits else list(source_cfg.source)
        files += [source_cfg.join.source] if source_cfg.join is not None else []
        found += [file if source_cfg.format == "hf" else os.path.abspath(file) for file in files]
    return found


def prepared_from(folder: Path) -> list[str] | None:
    """The sources an earlier prepared folder was made from (its manifest's source_paths, else recomputed from
    its config); None when unreadable (a broken folder is prepared again, as before)."""
    from pydantic import ValidationError

    from toolkit._jsonfile import UnreadableJson, read_json
    from toolkit.data.config import DataConfig

    try:
        manifest = read_json(folder / "manifest.json")
        recorded = manifest.get("source_paths")
        if isinstance(recorded, list) and recorded and all(isinstance(path, str) for path in recorded):
            return recorded
        return source_paths(DataConfig.model_validate(manifest["config"]))
    except (UnreadableJson, ValidationError, AttributeError, KeyError, TypeError):
        return None


def check_same_sources(output: Path, cfg: DataConfig) -> None:
    """Refuse to replace a prepared folder made from other sources: the same files (edited or not) may be
    prepared again into it, other data needs its own name or folder."""
    before = prepared_from(output)
    if before is None or set(before) == set(source_paths(cfg)):
        return
    more = f" and {len(before) - 1} more" if len(before) > 1 else ""
    raise DataError(
        f"output folder {output} holds a dataset prepared from {before[0]}{more}; refusing to replace it with "
        "other data: give this data another name (--name, data.name) or folder (--output, data.output), or delete it"
    )
