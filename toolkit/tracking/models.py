"""Trained models in the tracking store: logging a model folder, finding the newest one, fetching one back.

The logged MLflow model is a pyfunc wrapper around the toolkit's own model folder (artifact `model_dir`);
`toolkit predict` and `toolkit score` read that folder with the safe loader, never the pickled wrapper.
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from toolkit._hashing import sha256_file
from toolkit.errors import ModelLoadError, ToolkitError, TrackingError
from toolkit.tracking.names import MODEL_ARTIFACT, MODEL_DIR_ARTIFACT, TAG_MODEL_SHA, TAG_MODEL_URI, TAG_TASK
from toolkit.tracking.store import client, first_line, mlflow_module, require_store, tracking_uri

STORE_REFS = ("runs:/", "models:/")  # refs resolved through the tracking store, which must then exist


def log_model_folder(model_dir: Path, input_example: Any) -> str:
    """Log the model folder as an MLflow pyfunc model (signature and example included); return its URI."""
    import toolkit

    mlflow = mlflow_module()
    with warnings.catch_warnings():  # defining a PythonModel subclass warns about type hints
        warnings.simplefilter("ignore")
        from toolkit.tracking.pyfunc import ToolkitPyfuncModel
    from toolkit.models.folder import load_model
    from toolkit.models.frame import predict_frame

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


def newest_model_run(task: str) -> str:
    """The newest FINISHED run of `task` that logged a model, across all experiments, as runs:/ID/model."""
    require_store()
    mlflow = mlflow_module()
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
    """Fetch the toolkit model folder a ref points at (runs:/, models:/, any artifact URI) into the model cache
    (`toolkit.tracking.cache`). Before anything is copied, the ref's listing must show a model folder: a logged
    model's MLmodel naming one, or a manifest.json; only MLmodel and manifest.json are read to find out."""
    from toolkit.tracking.cache import MANIFEST, cached_folder

    if ref.startswith(STORE_REFS):
        require_store()
    mlflow = mlflow_module()
    folder_uri = _model_folder_uri(mlflow, ref)
    with tempfile.TemporaryDirectory() as temp:
        key = sha256_file(Path(_fetch(mlflow, f"{folder_uri}/{MANIFEST}", Path(temp), ref)))
    return cached_folder(key, lambda temp: Path(_fetch(mlflow, folder_uri, temp, ref)))


def _model_folder_uri(mlflow: Any, ref: str) -> str:
    """The URI of the toolkit model folder at `ref`, found from listings and the MLmodel file alone."""
    from toolkit.tracking.cache import MANIFEST

    names = _listed(mlflow, ref)
    if MANIFEST in names:
        return ref.rstrip("/")
    if "MLmodel" in names:
        with tempfile.TemporaryDirectory() as temp:
            relative = _model_dir_path(Path(_fetch(mlflow, f"{ref.rstrip('/')}/MLmodel", Path(temp), ref)), ref)
        folder_uri = f"{ref.rstrip('/')}/{relative}"
        if MANIFEST in _listed(mlflow, folder_uri):
            return folder_uri
    raise ModelLoadError(f"'{ref}' is not a model folder: no toolkit model (MLmodel with a {MANIFEST}) is there")


def _listed(mlflow: Any, uri: str) -> set[str]:
    """The names directly under an artifact URI (MLflow lists some schemes' paths from the parent folder)."""
    return {Path(item.path).name for item in _artifacts(lambda: mlflow.artifacts.list_artifacts(artifact_uri=uri), uri)}


def _fetch(mlflow: Any, uri: str, folder: Path, ref: str) -> str:
    """Download one artifact (a file or a folder) into `folder`; return its local path."""
    download = mlflow.artifacts.download_artifacts
    return str(_artifacts(lambda: download(artifact_uri=uri, dst_path=str(folder)), ref))


def _artifacts(call: Callable[[], Any], ref: str) -> Any:
    """Run an MLflow artifact call: a network or disk failure is a runtime error (exit 1), anything else
    means the ref is wrong (exit 2)."""
    try:
        return call()
    except ToolkitError:
        raise
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            raise ModelLoadError(f"model '{ref}' not found: {first_line(exc)}") from exc
        raise TrackingError(f"could not fetch model '{ref}' from {tracking_uri()}: {first_line(exc)}") from exc
    except Exception as exc:
        raise ModelLoadError(f"model '{ref}' not found in {tracking_uri()}: {first_line(exc)}") from exc


def recorded_hashes(ref: str) -> dict[str, str] | None:
    """The model-file sha256 tags of the run that logged `ref` (runs:/ or models:/), kept in the tracking
    store apart from the artifacts; None when the ref names no run or the run has no such tags."""
    if not ref.startswith(STORE_REFS):
        return None
    store = client()
    try:
        run_id = _source_run_id(store, ref)
        tags = store.get_run(run_id).data.tags if run_id else {}
    except Exception:  # a ref MLflow resolved for the download but not here: the manifest check remains
        return None
    prefix = f"{TAG_MODEL_SHA}."
    hashes = {key[len(prefix) :]: value for key, value in tags.items() if key.startswith(prefix)}
    return hashes or None


def _source_run_id(store: Any, ref: str) -> str | None:
    """runs:/ID/... -> ID; models:/NAME@ALIAS, models:/NAME/VERSION, models:/m-ID -> the run that logged it."""
    if ref.startswith("runs:/"):
        return ref[len("runs:/") :].split("/")[0] or None
    if not ref.startswith("models:/"):
        return None
    name = ref[len("models:/") :].strip("/")
    if "@" in name:
        version = store.get_model_version_by_alias(*name.split("@", 1))
    elif "/" in name:
        version = store.get_model_version(*name.rsplit("/", 1))
    else:
        return str(store.get_logged_model(name).source_run_id or "") or None
    return str(version.run_id) if version.run_id else None


def resolve_model_ref(ref: str) -> dict[str, str | None]:
    """What a store ref points at now: the registered model's name and version (for models:/NAME@ALIAS or
    /VERSION), the run that logged it, and a URI that keeps naming that same model (models:/NAME/VERSION; a
    runs:/ ref as given). An alias moves; this is what a result records it resolved to."""
    if ref.startswith("runs:/"):
        return {"uri": ref, "name": None, "version": None, "run_id": _source_run_id(None, ref)}
    if not ref.startswith("models:/"):
        return {"uri": ref, "name": None, "version": None, "run_id": None}
    name = ref[len("models:/") :].strip("/")
    try:
        store = client()
        if "@" not in name and "/" not in name:  # a logged model's id (models:/m-...)
            return {"uri": ref, "name": None, "version": None, "run_id": _source_run_id(store, ref)}
        version = (
            store.get_model_version_by_alias(*name.split("@", 1))
            if "@" in name
            else store.get_model_version(*name.rsplit("/", 1))
        )
    except Exception as exc:  # it was just downloaded through the same store: a failure now is the store's
        raise TrackingError(f"could not resolve '{ref}' in {tracking_uri()}: {first_line(exc)}") from exc
    return {
        "uri": f"models:/{version.name}/{version.version}",
        "name": str(version.name),
        "version": str(version.version),
        "run_id": str(version.run_id) if version.run_id else None,
    }


def model_dir_inside(local: Path, ref: str) -> Path:
    """The toolkit model folder inside a downloaded MLflow model, found through its MLmodel file (plain YAML)."""
    relative = _model_dir_path(local / "MLmodel", ref)
    folder = (local / relative).resolve()
    if local.resolve() not in folder.parents or not folder.is_dir():
        raise ModelLoadError(f"'{ref}': its MLmodel points outside the model ({relative})")
    return folder


def _model_dir_path(mlmodel_file: Path, ref: str) -> str:
    """The toolkit model folder's path inside a logged model, from its MLmodel file (plain YAML), refused
    when it would leave the model."""
    import yaml

    try:
        mlmodel = yaml.safe_load(mlmodel_file.read_text(encoding="utf-8"))
        relative = str(mlmodel["flavors"]["python_function"]["artifacts"][MODEL_DIR_ARTIFACT]["path"])
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        message = f"'{ref}' is not a toolkit model (no {MODEL_DIR_ARTIFACT} artifact in its MLmodel)"
        raise ModelLoadError(message) from exc
    if Path(relative).is_absolute() or ".." in Path(relative).parts or ":" in relative:
        raise ModelLoadError(f"'{ref}': its MLmodel points outside the model ({relative})")
    return relative


def tag_logged_model(model_files: dict[str, str]) -> str:
    """Tag the active run with its model's URI and the sha256 of every model file (kept in the store,
    apart from the artifacts, so an edited artifact is caught at load time); return the URI."""
    from toolkit.tracking.runs import active_run_id

    uri = f"runs:/{active_run_id()}/{MODEL_ARTIFACT}"
    tags = {TAG_MODEL_URI: uri} | {f"{TAG_MODEL_SHA}.{name}": digest for name, digest in model_files.items()}
    mlflow_module().set_tags(tags)
    return uri
