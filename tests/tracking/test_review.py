"""Review in the MLflow UI: runs named by what differs, experiments and registered models described, model versions
with their metrics, the figures a reviewer looks for, and a misclassified-examples table in reading order."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import tiny_config
from toolkit.config import load_config
from toolkit.data.types import Examples


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


# --- Names -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "name"),
    [
        ([], "tfidf"),
        (["backend.params.C=4"], "tfidf C=4"),
        (["backend.params.C=4", "backend.params.word_ngrams=[1,3]", "seed=2"], "tfidf C=4 words=1-3 seed=2"),
        (
            ["backend.name=transformer", "backend.params.learning_rate=2e-5", "backend.params.epochs=5"],
            "transformer lr=2e-5 ep=5",
        ),
        (["backend.params.C=4", "tracking.run_name=my run"], "my run"),
    ],
)
def test_a_run_is_named_by_its_backend_and_what_its_config_set(overrides: list[str], name: str) -> None:
    from toolkit.run_names import run_name

    assert run_name(load_config(None, overrides)) == name


def test_long_names_are_cut_with_a_count_and_the_detail_keeps_everything() -> None:
    from toolkit.run_names import MAX_NAME, run_detail, run_name, trial_name

    sets = {"learning_rate": 3e-3, "epochs": 20, "max_length": 64, "stride": 8, "batch_size": 4, "device": "cpu"}
    config = load_config(None, ["backend.name=transformer", *(f"backend.params.{k}={v}" for k, v in sets.items())])
    name = run_name(config)
    assert len(name) <= MAX_NAME + 3 and name.startswith("transformer lr=0.003 ep=20") and name.endswith(" +3")
    detail = run_detail(config, "c81d25aa")
    assert detail.startswith("topic-transformer-sample-c81d25: ")
    assert all(f"backend.params.{key}=" in detail for key in sets)
    assert (
        trial_name(7, {"backend.params.C": 4.21345, "backend.params.word_ngrams": [1, 3]}) == "trial 7 C=4.21 words=1-3"
    )


# --- A small store with repeated runs ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Two runs of one config and one with C=4, in a store of their own; the C=4 run registered twice."""
    from tests.helpers import make_rows, write_csv
    from toolkit.tracking.registry import register
    from toolkit.train import train

    root = tmp_path_factory.mktemp("reviewed")
    source = write_csv(root / "articles.csv", make_rows(90))
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlruns.db'}")
        patch.setenv("TOOLKIT_CACHE", str(root / "cache"))
        runs = [
            train(load_config(None, tiny_config("topic", source, **extra)))
            for extra in ({}, {}, {"backend.params.C": 4})
        ]
        first = register(runs[2].run_id, "review-topic")
        import mlflow

        mlflow.MlflowClient().update_registered_model("review-topic", description="written by a person")
        second = register(runs[0].run_id, "review-topic")
    return {"root": root, "runs": runs, "versions": (first, second), "uri": f"sqlite:///{root / 'mlruns.db'}"}


@pytest.fixture
def client(reviewed, monkeypatch):
    import mlflow

    monkeypatch.setenv("MLFLOW_TRACKING_URI", reviewed["uri"])
    monkeypatch.chdir(reviewed["root"])
    mlflow.set_tracking_uri(reviewed["uri"])
    return mlflow.MlflowClient(reviewed["uri"])


def test_repeated_runs_of_one_config_get_distinct_short_names(reviewed, client) -> None:
    runs = [client.get_run(result.run_id) for result in reviewed["runs"]]
    assert [run.info.run_name for run in runs] == ["tfidf chars=none", "tfidf chars=none (2)", "tfidf C=4 chars=none"]
    detail = runs[2].data.tags["toolkit.run_detail"]
    assert detail.startswith("topic-tfidf-tiny-") and "backend.params.C=4.0" in detail
    assert "backend.params.char_ngrams=null" in detail


def test_compare_tells_the_runs_apart(reviewed, client) -> None:
    from toolkit.lifecycle.compare import compare_runs

    rows = compare_runs("topic-tiny").rows
    names = [row["run_name"] for row in rows]
    assert len(set(names)) == len(names) == 3 and all(len(name) <= 30 for name in names)


def test_experiments_get_a_description(reviewed, client) -> None:
    note = client.get_experiment_by_name("topic-tiny").tags["mlflow.note.content"]
    assert note.startswith("Topic classifiers trained by the toolkit on the dataset `tiny`")


def test_an_experiment_without_a_description_gets_one(reviewed, client) -> None:
    from toolkit.tracking.store import NOTE_TAG, experiment_id_for

    created = client.create_experiment("made-by-hand")
    assert experiment_id_for("made-by-hand", "about it") == created
    assert client.get_experiment(created).tags[NOTE_TAG] == "about it"
    client.set_experiment_tag(created, NOTE_TAG, "edited")
    experiment_id_for("made-by-hand", "about it")
    assert client.get_experiment(created).tags[NOTE_TAG] == "edited", "a description someone wrote is kept"


def test_model_versions_show_their_metrics_and_models_a_description(reviewed, client) -> None:
    first, second = reviewed["versions"]
    version = client.get_model_version("review-topic", str(first.version))
    run = client.get_run(reviewed["runs"][2].run_id)
    for key in ("validation_macro_f1", "test_macro_f1", "test_accuracy", "test_ece"):
        assert version.tags[key] == f"{run.data.metrics[key]:.4f}", "rounded for display"
        assert f"| {key} | {run.data.metrics[key]:.4f} |" in version.description
    assert "from run `tfidf C=4 chars=none`" in version.description
    assert client.get_registered_model("review-topic").description == "written by a person"
    # registered from the run's logged model, whose page (the version's "Source model") lists the metrics
    assert version.source.startswith("models:/m-") and version.run_id == run.info.run_id
    logged = client.get_logged_model(version.source.removeprefix("models:/"))
    assert {m.key: m.value for m in logged.metrics}["test_macro_f1"] == run.data.metrics["test_macro_f1"]
    history = client.get_metric_history(run.info.run_id, "test_macro_f1")
    assert len(history) == 1, "linking the metrics to the model adds no point to the run's history"


def test_a_new_registered_model_gets_a_description(reviewed, client) -> None:
    from toolkit.tracking.registry import register

    register(reviewed["runs"][1].run_id, "review-fresh")
    description = client.get_registered_model("review-fresh").description
    assert description.startswith("Topic classifiers registered by the toolkit")
    assert "models:/review-fresh@champion" in description


# --- Figures and tables -----------------------------------------------------------------------------------


def test_each_split_logs_the_review_figures(trained) -> None:
    import mlflow

    client = mlflow.MlflowClient(trained["uri"])
    for task, extra in (("topic", []), ("stance", ["per_target_f1"])):
        run_id = trained[task].run_id
        names = {Path(a.path).name for a in client.list_artifacts(run_id, "evaluation")}
        for split in ("validation", "test"):
            for figure in ["confusion_matrix", "precision_recall", "reliability", *extra]:
                assert f"{split}_{figure}.png" in names, (task, split, figure)
            assert 0.0 <= client.get_run(run_id).data.metrics[f"{split}_ece"] <= 1.0
    local = Path(client.download_artifacts(trained["topic"].run_id, "evaluation/test_confusion_matrix.png"))
    width, height = png_size(local)
    assert width > 1.4 * height, "counts and the normalised matrix side by side"


def test_the_misclassified_table_reads_text_first(trained) -> None:
    import mlflow

    client = mlflow.MlflowClient(trained["uri"])
    for task, columns in (
        ("topic", ["text", "gold", "predicted", "p", "p_gold", "id"]),
        ("stance", ["text", "gold", "predicted", "p", "p_gold", "target", "id"]),
    ):
        local = client.download_artifacts(trained[task].run_id, "evaluation/test_misclassified.json")
        assert json.loads(Path(local).read_text())["columns"] == columns


def test_misclassified_rows_are_the_surest_mistakes_first() -> None:
    from toolkit.evaluate import misclassified_rows

    examples = Examples(texts=["a", "b", "c", "d"], labels=["x", "y", "x", "y"], ids=["1", "2", "3", "4"])
    probabilities = np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8], [0.3, 0.7]])
    rows = misclassified_rows(examples, ["x", "x", "y", "y"], probabilities, ["x", "y"], limit=5)
    assert [row["text"] for row in rows] == ["c", "b"]
    assert list(rows[0]) == ["text", "gold", "predicted", "p", "p_gold", "target", "id"]
    assert rows[0] | {} == {
        "text": "c",
        "gold": "x",
        "predicted": "y",
        "p": 0.8,
        "p_gold": 0.2,
        "target": "",
        "id": "3",
    }
    assert len(misclassified_rows(examples, ["x", "x", "y", "y"], probabilities, ["x", "y"], limit=1)) == 1


def test_reliability_bins_and_ece() -> None:
    from toolkit.metrics import reliability_bins

    bins = reliability_bins([0.95, 0.95, 0.55, 0.55], [1, 1, 1, 0])
    assert bins["counts"][9] == 2 and bins["counts"][5] == 2
    assert bins["accuracy"][9] == 1.0 and bins["accuracy"][5] == 0.5
    assert bins["ece"] == pytest.approx((2 * 0.05 + 2 * 0.05) / 4)
    assert reliability_bins([1.0, 0.0], [1, 0])["ece"] == pytest.approx(0.0)


def test_per_target_scores() -> None:
    from toolkit.metrics import per_target_scores

    gold = ["favor", "against", "favor", "none"]
    scores = per_target_scores(
        gold, ["favor", "against", "against", "none"], ["against", "favor", "none"], ["a", "a", "b", "b"]
    )
    assert scores["a"] == {"rows": 2.0, "macro_f1": 1.0, "f_avg": 1.0}
    assert scores["b"]["rows"] == 2.0 and scores["b"]["macro_f1"] == pytest.approx(1 / 3)


def test_figures_are_drawn_from_any_labels(tmp_path: Path) -> None:
    from toolkit.plots import evaluation_figures

    rng = np.random.default_rng(0)
    labels = [f"label with a long name {i}" for i in range(15)]
    gold = list(rng.choice(labels, 200))
    predicted = list(rng.choice(labels, 200))
    probabilities = rng.dirichlet(np.ones(len(labels)), 200)
    targets = list(rng.choice(["t1", "t2", "t3"], 200))
    paths, measured = evaluation_figures(tmp_path, "test", "title", gold, predicted, labels, probabilities, targets)
    assert [p.name for p in paths] == [
        "test_confusion_matrix.png",
        "test_precision_recall.png",
        "test_reliability.png",
        "test_per_target_f1.png",
    ]
    assert all(png_size(p)[0] > 300 for p in paths) and 0.0 <= measured["ece"] <= 1.0
