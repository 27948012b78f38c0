"""The newest model of each task in a local SQLite store, found without importing MLflow.

`toolkit predict article.txt` (no --model) loads the newest finished topic and stance models. Asking MLflow
costs seconds of imports; this module answers from a small index that training writes beside the store
(`.mlruns.db.latest.json`: per task, the run and the sha256 of its model's manifest), with the model folder
kept in the model cache (`toolkit.tracking.cache`). Every answer is checked against the store itself, read
with the standard library's sqlite3 in read-only mode: the run must still be the newest FINISHED run of its
task that logged a model, in an active experiment, and the sha256 tags on the run must equal the cached
manifest's file hashes. Anything else (no index, a deleted, failed or newer run, an evicted cache entry, a
store whose tables are not as expected) returns None, and the caller asks MLflow as before. Stores that are
not SQLite files (a tracking server) are always asked through MLflow: there the store is the source of truth.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

from toolkit.tracking.cache import MANIFEST, cache_dir, cached_folder
from toolkit.tracking.names import TAG_MODEL_SHA, TAG_MODEL_URI, TAG_TASK
from toolkit.tracking.store import local_database, tracking_uri

NEWEST_RUN = f"""
SELECT r.run_uuid FROM runs r
JOIN experiments e ON e.experiment_id = r.experiment_id
JOIN tags task ON task.run_uuid = r.run_uuid AND task.key = '{TAG_TASK}' AND task.value = ?
JOIN tags model ON model.run_uuid = r.run_uuid AND model.key = '{TAG_MODEL_URI}'
WHERE r.status = 'FINISHED' AND r.lifecycle_stage = 'active' AND e.lifecycle_stage = 'active'
ORDER BY r.start_time DESC LIMIT 1
"""
RUN_TAGS = "SELECT key, value FROM tags WHERE run_uuid = ? AND (key = ? OR key LIKE ?)"


def index_file(database: Path) -> Path:
    return database.parent / f".{database.name}.latest.json"


def remember(task: str, model_uri: str, folder: Path) -> None:
    """After a model is logged to a local SQLite store: keep its folder in the cache and note it in the index.
    Best effort: a failure here only means the next `predict` asks MLflow."""
    from toolkit._hashing import sha256_file
    from toolkit._locks import file_lock

    database = local_database(tracking_uri())
    if database is None:
        return
    try:
        key = sha256_file(folder / MANIFEST)
        cached_folder(key, lambda temp: Path(shutil.copytree(folder, temp / "model")))
        path = index_file(database)
        with file_lock(path):
            entries = read_index(path)
            entries[task] = {"model_uri": model_uri, "run_id": model_uri.split("/")[1], "manifest": key}
            temp = path.with_name(path.name + ".tmp")
            temp.write_text(json.dumps(entries, indent=2), encoding="utf-8")
            os.replace(temp, path)
    except OSError:
        return


def read_index(path: Path) -> dict[str, dict[str, str]]:
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return entries if isinstance(entries, dict) else {}


def newest_from_index(task: str) -> tuple[str, Path] | None:
    """(model ref, cached model folder) of the newest model of `task`, when the index and the store agree."""
    database = local_database(tracking_uri())
    if database is None or not database.is_file():
        return None
    entry = read_index(index_file(database)).get(task)
    if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) for k in ("run_id", "manifest")):
        return None
    folder = cache_dir() / entry["manifest"]
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        with sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True) as store:
            newest = store.execute(NEWEST_RUN, (task,)).fetchone()
            tags = dict(store.execute(RUN_TAGS, (entry["run_id"], TAG_MODEL_URI, f"{TAG_MODEL_SHA}.%")).fetchall())
    except (OSError, ValueError, sqlite3.Error):
        return None
    recorded = {key[len(TAG_MODEL_SHA) + 1 :]: value for key, value in tags.items() if key != TAG_MODEL_URI}
    if newest is None or newest[0] != entry["run_id"] or recorded != manifest.get("files"):
        return None
    try:
        os.utime(folder)  # the cache keeps the most recently used entries
    except OSError:
        pass
    return str(tags.get(TAG_MODEL_URI)), folder
