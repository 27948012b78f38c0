"""Everything MLflow: the store, run lifecycle, logging a training run, and resolving model references.

With no MLFLOW_TRACKING_URI the store is local: `mlruns.db` (SQLite) plus `mlruns/` for artifacts, in
the working folder; `mlflow ui --backend-store-uri sqlite:///mlruns.db` shows it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolkit import __version__
from toolkit.errors import ModelLoadError, TrackingError

if TYPE_CHECKING:
    from toolkit.backends.base import Examples
    from toolkit.config import RunConfig

LOCAL_STORE = "sqlite:///mlruns.db"
MODEL_ARTIFACT = "model"
MODEL_DIR_ARTIFACT = "model_dir"
TAG_TASK = "toolkit.task"
TAG_BACKEND = "toolkit.backend"
TAG_MODEL_URI = "toolkit.model_uri"
TAG_MODEL_SHA = "toolkit.model_sha256"


def tracking_uri() -> str:
    """MLFLOW_TRACKING_URI when set, else the local SQLite store in the working folder."""
    return os.environ.get("MLFLOW_TRACKING_URI") or LOCAL_STORE


def use_store() -> Any:
    """Import MLflow pointed at the configured store, quietly (no artifact progress bars)."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import mlflow

    mlflow.set_tracking_uri(tracking_uri())
    return mlflow


def check_store() -> None:
    """Fail fast, before any training, when the tracking store cannot be reached."""
    uri = tracking_uri()
    if uri.startswith("http"):
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    mlflow = use_store()
    try:
        with _creation_lock(uri):
            mlflow.MlflowClient().search_experiments(max_results=1)
    except TrackingError:
        raise
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TrackingError(f"MLflow tracking store {uri} is not reachable: {first[:300]}") from exc


@contextmanager
def _creation_lock(uri: str) -> Iterator[None]:
    """Serialize the first use of a local SQLite store: two processes creating its tables at once
    collide in MLflow's migrations ("duplicate column name"). Other stores need no lock."""
    from toolkit._locks import file_lock

    if not uri.startswith("sqlite:///"):
        yield
        return
    database = Path(uri[len("sqlite:///") :])
    if not database.parent.is_dir():
        raise TrackingError(f"MLflow tracking store {uri} is not reachable: folder {database.parent} does not exist")
    with file_lock(database):
        yield


def git_commit() -> str:
    """The working folder's git commit (with '-dirty' when it has changes), or 'unknown'."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if commit.returncode != 0:
        return "unknown"
    return commit.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


@contextmanager
def tracked_run(
    experiment: str,
    run_name: str,
    tags: dict[str, str],
    description: str | None = None,
    parent_run_id: str | None = None,
    run_id: str | None = None,
) -> Iterator[Any]:
    """An MLflow run whose final status is set here: FINISHED, FAILED on an error, KILLED on Ctrl-C/SIGTERM.

    `parent_run_id` makes it a nested child of that (active) run, as a tuning trial is; `run_id` resumes an
    existing run instead of starting a new one, as a resumed tuning study does with its parent run.
    """
    from toolkit.doctor import owner_tags

    mlflow = use_store()
    active = mlflow.active_run()
    if active is not None and parent_run_id is None and run_id is None:
        # inside another run (an experiment's parent run): become its child, in its experiment
        parent_run_id, experiment_id = active.info.run_id, active.info.experiment_id
    else:
        experiment_id = experiment_id_for(experiment)
        mlflow.set_experiment(experiment_id=experiment_id)
    nested = parent_run_id is not None
    run = mlflow.start_run(
        run_id=run_id,
        experiment_id=experiment_id,
        run_name=None if run_id else run_name,
        tags=tags | owner_tags(),
        description=description,
        nested=nested,
        parent_run_id=parent_run_id,
    )

    def on_sigterm(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt("SIGTERM")

    previous = signal.signal(signal.SIGTERM, on_sigterm) if _main_thread() else None
    try:
        yield run
    except KeyboardInterrupt:
        mlflow.end_run(status="KILLED")
        raise
    except BaseException:
        mlflow.end_run(status="FAILED")
        raise
    else:
        mlflow.end_run(status="FINISHED")
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def experiment_id_for(name: str) -> str:
    """The experiment's id, created if needed. Two processes may create it at once: MLflow's own
    set_experiment then returns without activating it, and the run would land in 'Default'."""
    client = use_store().MlflowClient()
    for _ in range(5):
        found = client.get_experiment_by_name(name)
        if found is not None:
            if found.lifecycle_stage != "active":
                raise TrackingError(f"experiment '{name}' is deleted; restore it or choose another name")
            return str(found.experiment_id)
        try:
            return str(client.create_experiment(name))
        except Exception as exc:  # created by someone else in between: look it up again
            if "already exists" not in str(exc).lower() and "unique" not in str(exc).lower():
                raise
    raise TrackingError(f"could not create or find experiment '{name}'")


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def log_params(flat: dict[str, str]) -> None:
    """Log dotted params in batches (MLflow caps a batch at 100 and a value at 6000 characters)."""
    mlflow = use_store()
    items = [(key, value[:6000]) for key, value in flat.items()]
    for start in range(0, len(items), 100):
        mlflow.log_params(dict(items[start : start + 100]))


def log_dataset(prepared_manifest: dict[str, Any], splits: dict[str, Examples], source: str) -> None:
    """Log each split as an MLflow dataset input (shown in the run's Datasets panel) with the data hash."""
    import pandas as pd

    mlflow = use_store()
    name = prepared_manifest.get("name", "data")
    for split, examples in splits.items():
        frame = pd.DataFrame({"id": examples.ids, "text": examples.texts, "label": examples.labels})
        if examples.targets is not None:
            frame["target"] = examples.targets
        with warnings.catch_warnings():  # MLflow warns that a local path matches two source types
            warnings.simplefilter("ignore")
            dataset = mlflow.data.from_pandas(
                frame, source=source, name=f"{name}-{split}", digest=prepared_manifest["fingerprint"][:16]
            )
        mlflow.log_input(dataset, context=split)


def log_metrics(metrics: dict[str, float], prefix: str, step: int | None = None) -> None:
    """Log metrics as '<prefix>_<name>' with names MLflow accepts (labels may hold any character)."""
    mlflow = use_store()
    mlflow.log_metrics({f"{prefix}_{safe_key(k)}": float(v) for k, v in metrics.items()}, step=step)


def safe_key(key: str) -> str:
    """MLflow keys allow letters, digits, _ - . space / but a key must not read as a path that climbs
    ('../x') or that normalises to another name; labels can hold anything, so '/' becomes '_' too."""
    return "".join(c if c.isascii() and (c.isalnum() or c in "_-. ") else "_" for c in key)


def log_model_folder(model_dir: Path, input_example: Any) -> str:
    """Log the model folder as an MLflow pyfunc model (signature and example included); return its URI."""
    import toolkit

    mlflow = use_store()
    with warnings.catch_warnings():  # defining a PythonModel subclass warns about type hints
        warnings.simplefilter("ignore")
        from toolkit.pyfunc import ToolkitPyfuncModel
    from toolkit.predict import predict_frame
    from toolkit.saved_model import load_model

    model = load_model(model_dir)
    output_example = predict_frame(model, input_example)
    signature = mlflow.models.infer_signature(input_example, output_example)
    with warnings.catch_warnings():  # MLflow warns about type hints and cloudpickle on every log
        warnings.simplefilter("ignore")
        info = mlflow.pyfunc.log_model(
            name=MODEL_ARTIFACT,
            python_model=ToolkitPyfuncModel(),
            artifacts={MODEL_DIR_ARTIFACT: str(model_dir)},
            code_paths=[str(Path(toolkit.__file__).parent)],
            signature=signature,
            input_example=input_example,
            pip_requirements=_pip_requirements(model.requirements()),
        )
    return str(info.model_uri)


def _pip_requirements(extra: list[str]) -> list[str]:
    """What a serving environment needs to run the wrapper (the toolkit itself travels as code), pinned to
    the versions installed here; `extra`: what the model's backend needs on top (e.g. torch)."""
    from importlib.metadata import version

    names = ["scikit-learn", "safetensors", "pandas", "numpy", "scipy", "pydantic", "pyyaml", "mlflow", *extra]
    return [f"{name}=={version(name).split('+')[0]}" for name in dict.fromkeys(names)]


def log_text(text: str, artifact_file: str) -> None:
    use_store().log_text(text, artifact_file)


def log_figure_file(path: Path, artifact_path: str | None = None) -> None:
    use_store().log_artifact(str(path), artifact_path=artifact_path)


def log_table(frame: Any, artifact_file: str) -> None:
    """A table for the run's Artifacts/Evaluation view (mlflow.log_table), also readable as JSON."""
    use_store().log_table(data=frame, artifact_file=artifact_file)


def set_tags(tags: dict[str, str]) -> None:
    use_store().set_tags(tags)


def base_tags(config: RunConfig) -> dict[str, str]:
    """Tags every training run carries."""
    return {
        TAG_TASK: config.task,
        TAG_BACKEND: config.backend.name,
        "toolkit.version": __version__,
        "toolkit.dataset": config.data.name,
        "mlflow.source.git.commit": git_commit(),
    }


def newest_model_run(task: str) -> str:
    """The newest FINISHED run of `task` that logged a model, across all experiments, as runs:/ID/model."""
    mlflow = use_store()
    runs = mlflow.search_runs(
        search_all_experiments=True,
        filter_string=f"tags.`{TAG_TASK}` = '{task}' and attributes.status = 'FINISHED'",
        order_by=["attributes.start_time DESC"],
        max_results=20,
        output_format="list",
    )
    for run in runs:
        if TAG_MODEL_URI in run.data.tags:
            return str(run.data.tags[TAG_MODEL_URI])
    raise ModelLoadError(
        f"no finished {task} run with a model in {tracking_uri()}; train one (`toolkit train`) or pass --model"
    )


def download_model_folder(ref: str) -> Path:
    """Fetch the toolkit model folder inside a logged MLflow model (runs:/, models:/, or any artifact URI)."""
    mlflow = use_store()
    cache = Path(os.environ.get("TOOLKIT_CACHE", Path(tempfile.gettempdir()) / "toolkit-models"))
    cache.mkdir(parents=True, exist_ok=True)
    try:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=ref, dst_path=tempfile.mkdtemp(dir=cache)))
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelLoadError(f"model '{ref}' not found in {tracking_uri()}: {first[:300]}") from exc
    return model_dir_inside(local, ref)


def recorded_hashes(ref: str) -> dict[str, str] | None:
    """The model-file sha256 tags of the run that logged `ref` (runs:/ or models:/), kept in the tracking
    store apart from the artifacts; None when the ref names no run or the run has no such tags."""
    client = use_store().MlflowClient()
    try:
        run_id = _source_run_id(client, ref)
        tags = client.get_run(run_id).data.tags if run_id else {}
    except Exception:  # a ref MLflow resolved for the download but not here: the manifest check remains
        return None
    prefix = f"{TAG_MODEL_SHA}."
    hashes = {key[len(prefix) :]: value for key, value in tags.items() if key.startswith(prefix)}
    return hashes or None


def _source_run_id(client: Any, ref: str) -> str | None:
    """runs:/ID/... -> ID; models:/NAME@ALIAS, models:/NAME/VERSION, models:/m-ID -> the run that logged it."""
    if ref.startswith("runs:/"):
        return ref[len("runs:/") :].split("/")[0] or None
    if not ref.startswith("models:/"):
        return None
    name = ref[len("models:/") :].strip("/")
    if "@" in name:
        version = client.get_model_version_by_alias(*name.split("@", 1))
    elif "/" in name:
        version = client.get_model_version(*name.rsplit("/", 1))
    else:
        return str(client.get_logged_model(name).source_run_id or "") or None
    return str(version.run_id) if version.run_id else None


def model_dir_inside(local: Path, ref: str) -> Path:
    """The toolkit model folder inside a downloaded MLflow model, found through its MLmodel file (plain YAML)."""
    import yaml

    try:
        mlmodel = yaml.safe_load((local / "MLmodel").read_text(encoding="utf-8"))
        relative = mlmodel["flavors"]["python_function"]["artifacts"][MODEL_DIR_ARTIFACT]["path"]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise ModelLoadError(
            f"'{ref}' is not a toolkit model (no {MODEL_DIR_ARTIFACT} artifact in its MLmodel)"
        ) from exc
    folder = (local / relative).resolve()
    if local.resolve() not in folder.parents or not folder.is_dir():
        raise ModelLoadError(f"'{ref}': its MLmodel points outside the model ({relative})")
    return folder


def run_summary(run: Any) -> dict[str, str]:
    """IDs and the command to look at a run in the MLflow UI."""
    uri = tracking_uri()
    ui = f"mlflow ui --backend-store-uri {uri}" if uri == LOCAL_STORE else f"open {uri}"
    return {"run_id": run.info.run_id, "experiment_id": run.info.experiment_id, "tracking_uri": uri, "ui": ui}


def dump_json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, default=str)
