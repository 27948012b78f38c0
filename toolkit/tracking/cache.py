"""The cache of model folders fetched from the tracking store or an artifact URI: one entry per model content.

An entry is named by the sha256 of the model's manifest.json (which holds the sha256 of every model file), so
every ref to one model (runs:/ID/model, models:/NAME@ALIAS, models:/NAME/VERSION, the newest run of a task)
shares one copy and a second load copies nothing. An entry is filled in a temporary folder inside the cache,
then renamed into place: a failed or concurrent download never leaves a half-filled entry. A hit is checked
against its name (a cached manifest edited since is fetched again); the model loader then checks every file
against the manifest. The cache keeps the most recently used entries within TOOLKIT_MODEL_CACHE_ENTRIES
(default 8) and TOOLKIT_MODEL_CACHE_MB (default 2048) and evicts the rest.

Where: TOOLKIT_CACHE, else $XDG_CACHE_HOME/toolkit/models, else ~/.cache/toolkit/models.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from toolkit._hashing import sha256_file
from toolkit._locks import file_lock
from toolkit.errors import ConfigError, ModelLoadError

MANIFEST = "manifest.json"
FILLING = ".fill-"  # prefix of the temporary folders entries are filled in
DEFAULT_ENTRIES = 8
DEFAULT_MB = 2048.0
STALE_FILL_SECONDS = 24 * 3600  # a fill folder this old was left by a killed process


def cache_dir() -> Path:
    """Where fetched model folders are kept."""
    if os.environ.get("TOOLKIT_CACHE"):
        return Path(os.environ["TOOLKIT_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "toolkit" / "models"


def cached_folder(key: str, fill: Callable[[Path], Path]) -> Path:
    """The entry of the model whose manifest hashes to `key`; on a miss `fill(folder)` downloads the model
    folder into a temporary folder and returns where it put it."""
    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    entry = cache / key
    if not _holds(entry, key):
        with tempfile.TemporaryDirectory(dir=cache, prefix=FILLING) as temp:
            filled = fill(Path(temp))
            if not _holds(filled, key):
                raise ModelLoadError(f"the model changed while it was downloaded (manifest is no longer {key[:12]})")
            with file_lock(entry):
                if entry.exists() and not _holds(entry, key):  # damaged or edited since: replace it
                    shutil.rmtree(entry)
                if not entry.exists():
                    filled.rename(entry)
    os.utime(entry)  # the most recently used now
    evict(cache, keep=entry)
    return entry


def _holds(folder: Path, key: str) -> bool:
    """Whether the folder's manifest is the one named `key`."""
    manifest = folder / MANIFEST
    return manifest.is_file() and sha256_file(manifest) == key


def evict(cache: Path, keep: Path) -> list[str]:
    """Remove the least recently used entries beyond the bounds (never `keep`, the entry in use) and fill
    folders a killed process left; return the names removed."""
    entries = [path for path in cache.iterdir() if path.is_dir() and not path.name.startswith(".")]
    entries.sort(key=lambda path: (path != keep, -path.stat().st_mtime))
    max_entries = _bound("TOOLKIT_MODEL_CACHE_ENTRIES", DEFAULT_ENTRIES)
    max_bytes = _bound("TOOLKIT_MODEL_CACHE_MB", DEFAULT_MB) * 1024 * 1024
    removed, count, total, full = [], 0, 0, False
    for entry in entries:
        size = sum(file.stat().st_size for file in entry.rglob("*") if file.is_file())
        full = full or (entry != keep and (count + 1 > max_entries or total + size > max_bytes))
        if full:
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry.name)
        else:
            count, total = count + 1, total + size
    for leftover in cache.glob(f"{FILLING}*"):
        if time.time() - leftover.stat().st_mtime > STALE_FILL_SECONDS:
            shutil.rmtree(leftover, ignore_errors=True)
    return removed


def _bound(variable: str, default: float) -> float:
    """A cache bound from the environment."""
    value = os.environ.get(variable) or default
    try:
        bound = float(value)
    except ValueError:
        raise ConfigError(f"{variable} must be a number, not '{value}'") from None
    if bound < 0:
        raise ConfigError(f"{variable} must be 0 or more, not '{value}'")
    return bound
