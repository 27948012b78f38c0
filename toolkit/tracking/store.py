"""The tracking store: where it is, whether it answers, and the MLflow client every tracking module uses.

With no MLFLOW_TRACKING_URI the store is local: `mlruns.db` (SQLite) plus `mlruns/` for artifacts, in
the working folder; `mlflow ui --backend-store-uri sqlite:///mlruns.db` shows it. Only the modules of
`toolkit.tracking` import MLflow; the rest of the toolkit calls their named functions.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from toolkit.errors import ModelLoadError, TrackingError

LOCAL_STORE = "sqlite:///mlruns.db"
NOTE_TAG = "mlflow.note.content"  # where MLflow keeps an experiment's (or a run's) description
PROBE_SECONDS = 5.0  # TOOLKIT_STORE_TIMEOUT overrides: how long an http(s) store has to answer at all
_answered: set[str] = set()  # http(s) stores that answered once in this process


def tracking_uri() -> str:
    """MLFLOW_TRACKING_URI when set, else the local SQLite store in the working folder."""
    return os.environ.get("MLFLOW_TRACKING_URI") or LOCAL_STORE


def mlflow_module() -> Any:
    """MLflow pointed at the configured store, quietly (no artifact progress bars), after checking that an
    http(s) store answers at all. For this package only."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    uri = tracking_uri()
    probe(uri)
    import mlflow

    mlflow.set_tracking_uri(uri)
    return mlflow


def probe(uri: str) -> None:
    """An http(s) store must answer within seconds: MLflow's own client retries for about 4 minutes first.
    Any HTTP answer counts (401, 404 and TLS errors too); a refused, unresolvable or silent server does not."""
    import http.client
    import ssl
    import urllib.error
    import urllib.request

    if not uri.startswith(("http://", "https://")) or uri in _answered:
        return
    seconds = float(os.environ.get("TOOLKIT_STORE_TIMEOUT") or PROBE_SECONDS)
    try:
        urllib.request.urlopen(f"{uri.rstrip('/')}/health", timeout=seconds).close()
    except urllib.error.HTTPError:
        pass
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        if not isinstance(reason, ssl.SSLError):
            message = f"MLflow tracking store {uri} is not reachable: {reason} (probed for {seconds:g} s)"
            raise TrackingError(message) from exc
    _answered.add(uri)


def local_database(uri: str) -> Path | None:
    """The SQLite file of a sqlite:/// URI (SQLite's `file:...?mode=ro` form included); None for other stores."""
    if not uri.startswith("sqlite:///"):
        return None
    path = uri[len("sqlite:///") :].split("?", 1)[0].removeprefix("file:")
    return Path(path) if path and path != ":memory:" else None


def require_store() -> None:
    """Commands that only read must not create a store, yet MLflow makes a new, empty one (folder included)
    wherever it is pointed: refuse a local store that does not exist instead."""
    uri = tracking_uri()
    database = local_database(uri)
    if database is None or database.is_file():
        return
    if uri == LOCAL_STORE:
        raise ModelLoadError(
            f"no trained model found: train one first (toolkit train ...); no {database} in {Path.cwd()}"
        )
    raise ModelLoadError(f"no trained model found: the database of MLflow tracking store {uri} does not exist")


def client() -> Any:
    """An MlflowClient on the configured store."""
    return mlflow_module().MlflowClient()


def first_line(exc: BaseException) -> str:
    """An exception's first line, cut short: MLflow's messages can run to pages."""
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def check_store() -> None:
    """Fail fast, before any training, when the tracking store cannot be reached."""
    uri = tracking_uri()
    if uri.startswith("http"):
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    try:
        with _creation_lock(uri):
            client().search_experiments(max_results=1)
    except TrackingError:
        raise
    except Exception as exc:
        raise TrackingError(f"MLflow tracking store {uri} is not reachable: {first_line(exc)}") from exc


@contextmanager
def _creation_lock(uri: str) -> Iterator[None]:
    """Serialize the first use of a local SQLite store: two processes creating its tables at once
    collide in MLflow's migrations ("duplicate column name"). Other stores need no lock."""
    from toolkit._locks import file_lock

    database = local_database(uri)
    if database is None:
        yield
        return
    if not database.parent.is_dir():
        raise TrackingError(f"MLflow tracking store {uri} is not reachable: folder {database.parent} does not exist")
    with file_lock(database):
        yield


def experiment_id_for(name: str, description: str | None = None) -> str:
    """The experiment's id, created if needed (with `description`, shown by the MLflow UI). Two processes may create
    it at once: MLflow's own set_experiment then returns without activating it, and the run would land in 'Default'."""
    store = client()
    for _ in range(5):
        found = store.get_experiment_by_name(name)
        if found is not None:
            if found.lifecycle_stage != "active":
                raise TrackingError(f"experiment '{name}' is deleted; restore it or choose another name")
            if description and NOTE_TAG not in found.tags:  # made by an older toolkit, or by hand without one
                store.set_experiment_tag(found.experiment_id, NOTE_TAG, description)
            return str(found.experiment_id)
        try:
            return str(store.create_experiment(name, tags={NOTE_TAG: description} if description else None))
        except Exception as exc:  # created by someone else in between: look it up again
            if "already exists" not in str(exc).lower() and "unique" not in str(exc).lower():
                message = f"cannot write to MLflow tracking store {tracking_uri()}: {first_line(exc)}"
                raise TrackingError(message) from exc
    raise TrackingError(f"could not create or find experiment '{name}'")


def run_summary(run: Any) -> dict[str, str]:
    """IDs and the command to look at a run in the MLflow UI."""
    uri = tracking_uri()
    ui = f"mlflow ui --backend-store-uri {uri}" if uri == LOCAL_STORE else f"open {uri}"
    return {"run_id": run.info.run_id, "experiment_id": run.info.experiment_id, "tracking_uri": uri, "ui": ui}
