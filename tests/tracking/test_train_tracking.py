"""A real training run logs everything a reviewer needs, and its model loads back every way."""

from pathlib import Path

import pandas as pd
import pytest

from tests.helpers import make_rows, tiny_config, write_csv
from toolkit.backends.tfidf.model import TfidfBackend
from toolkit.config import load_config


@pytest.fixture
def client(trained, monkeypatch):
    import mlflow

    monkeypatch.setenv("MLFLOW_TRACKING_URI", trained["uri"])
    monkeypatch.setenv("TOOLKIT_CACHE", str(trained["root"] / "cache"))
    monkeypatch.chdir(trained["root"])
    mlflow.set_tracking_uri(trained["uri"])
    return mlflow.MlflowClient(trained["uri"])


def test_run_records_params_metrics_tags_and_dataset(trained, client) -> None:
    result = trained["stance"]
    run = client.get_run(result.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["backend.params.C"] == "10.0" and run.data.params["task"] == "stance"
    for split in ("validation", "test"):
        for name in ("accuracy", "macro_f1", "f_avg", "precision.favor", "recall.against", "f1.none"):
            assert 0.0 <= run.data.metrics[f"{split}_{name}"] <= 1.0
    assert run.data.tags["toolkit.task"] == "stance"
    assert run.data.tags["toolkit.version"]
    assert run.data.tags["mlflow.source.git.commit"]
    assert any(key.startswith("toolkit.model_sha256.") for key in run.data.tags)
    inputs = run.inputs.dataset_inputs
    assert {i.dataset.name for i in inputs} == {"tiny-train", "tiny-validation", "tiny-test"}
    assert all(i.dataset.digest for i in inputs)


def test_run_artifacts(trained, client) -> None:
    result = trained["topic"]
    names = {a.path for a in client.list_artifacts(result.run_id, "evaluation")}
    assert {
        "evaluation/test_confusion_matrix.png",
        "evaluation/test_classification_report.txt",
        "evaluation/test_misclassified.json",
    } <= names
    local = client.download_artifacts(result.run_id, "evaluation/test_confusion_matrix.png", str(trained["root"]))
    assert Path(local).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_logged_model_loads_through_mlflow_pyfunc(trained, client) -> None:
    import mlflow

    model = mlflow.pyfunc.load_model(trained["stance"].model_uri)
    frame = pd.DataFrame(
        {
            "text": ["support welcome praise hope", "oppose reject danger"],
            "target": ["nuclear energy", "nuclear energy"],
        }
    )
    out = model.predict(frame)
    assert list(out.columns[:2]) == ["label", "probability"]
    assert out["label"].tolist() == ["favor", "against"]
    assert model.metadata.signature is not None


def test_predict_from_every_kind_of_ref(trained, client) -> None:
    import mlflow

    from toolkit.predict import load_default_models, load_ref, predict_records
    from toolkit.tracking import download_model_folder

    run_ref = trained["topic"].model_uri
    version = mlflow.register_model(run_ref, "tiny-topic")
    client.set_registered_model_alias("tiny-topic", "champion", version.version)
    folder = download_model_folder(run_ref)
    text = ["coach team goal match season win"]
    refs = [run_ref, "models:/tiny-topic@champion", f"models:/tiny-topic/{version.version}", str(folder)]
    outputs = [predict_records(load_ref(ref), text)[0] for ref in refs]
    assert {o["label"] for o in outputs} == {"sports"}
    assert len({round(o["probability"], 12) for o in outputs}) == 1
    defaults = {loaded.model.task: loaded for loaded in load_default_models()}
    assert set(defaults) == {"topic", "stance"}
    assert defaults["stance"].default_target in {"arms control talks", "nuclear energy"}


@pytest.mark.slow  # in `make test` (CI); the default loop keeps a faster sibling
def test_same_config_and_data_give_same_metrics(store, corpus_csv) -> None:
    from toolkit.train import train

    config = load_config(None, tiny_config("stance", corpus_csv, **{"tracking.log_model": "false"}))
    first, second = train(config), train(config)
    assert first.metrics == second.metrics
    assert first.run_id != second.run_id


@pytest.mark.slow  # an MLflow round trip of seconds: make test runs it, the inner loop leaves it out
def test_failed_training_ends_the_run_as_failed(store, corpus_csv, monkeypatch) -> None:
    import mlflow

    from toolkit.backends.tfidf import model as tfidf
    from toolkit.train import train

    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(tfidf.TfidfBackend, "fit", explode)
    with pytest.raises(RuntimeError, match="boom"):
        train(load_config(None, tiny_config("topic", corpus_csv)))
    runs = mlflow.search_runs(search_all_experiments=True, output_format="list")
    assert [r.info.status for r in runs] == ["FAILED"]


def test_prepared_data_is_reused_until_the_source_changes(store, corpus_csv) -> None:
    from toolkit.train import ensure_prepared

    config = load_config(None, tiny_config("topic", corpus_csv))
    first = ensure_prepared(config)
    stamp = (first.path / "manifest.json").stat().st_mtime_ns
    assert (ensure_prepared(config).path / "manifest.json").stat().st_mtime_ns == stamp
    write_csv(corpus_csv, make_rows(90))
    again = ensure_prepared(config)
    assert sum(len(s) for s in again.splits.values()) == 90


class LegacyFitBackend(TfidfBackend):
    """A backend written before `on_epoch` joined the contract (e.g. registered by another package)."""

    def fit(self, train, validation=None, progress=None):  # noqa: ANN001, ANN201 - the old signature on purpose
        return super().fit(train, validation, progress)


@pytest.mark.slow  # in `make test` (CI); the default loop keeps a faster sibling
def test_a_backend_without_on_epoch_still_trains(store, corpus_csv, monkeypatch) -> None:
    from toolkit import backends
    from toolkit.train import train

    monkeypatch.setitem(backends.BUILTIN_BACKENDS, "legacy", f"{__name__}:LegacyFitBackend")
    result = train(load_config(None, tiny_config("topic", corpus_csv, **{"backend.name": "legacy"})))
    assert result.metrics["test"]["macro_f1"] > 0.5
