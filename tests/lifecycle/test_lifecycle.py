"""The model lifecycle: tune (parent + child runs, resumable), compare, register, promote, use by alias."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from tests.helpers import ROOT, make_rows, tiny_config, write_csv
from toolkit.config import load_config
from toolkit.errors import ConfigError, DataError, ModelLoadError

SPACE = {
    "backend.params.C": {"type": "float", "low": 0.01, "high": 10.0, "log": True},
    "backend.params.word_ngrams": {"type": "categorical", "choices": [[1, 1], [1, 2]]},
}


def tune_config(root: Path, source: Path, space: dict | None = None, **tune: object) -> object:
    """A tiny topic config with a `tune` section, written as YAML like a user's file."""
    path = root / "tune.yaml"
    section = {"space": space or SPACE, "storage": f"sqlite:///{root / 'optuna.db'}", **tune}
    path.write_text(yaml.safe_dump({"tune": section}))
    return load_config(
        path, [*tiny_config("topic", source), "tracking.figures=true"]
    )  # the best model logs its figures


@pytest.fixture(scope="module")
def tuned(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """One 2-trial study in its own store, shared by the tests that read it."""
    from toolkit.lifecycle.tune import tune

    root = tmp_path_factory.mktemp("tuned")
    source = write_csv(root / "articles.csv", make_rows())
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlruns.db'}")
        patch.setenv("TOOLKIT_CACHE", str(root / "cache"))
        config = tune_config(root, source)
        messages: list[str] = []
        result = tune(config, trials=2, progress=messages.append)
    return {
        "root": root,
        "source": source,
        "config": config,
        "result": result,
        "messages": messages,
        "uri": f"sqlite:///{root / 'mlruns.db'}",
    }


@pytest.fixture
def in_tuned(tuned, monkeypatch):
    """Point MLflow at the tuned store for one test."""
    import mlflow

    monkeypatch.chdir(tuned["root"])
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tuned["uri"])
    monkeypatch.setenv("TOOLKIT_CACHE", str(tuned["root"] / "cache"))
    mlflow.set_tracking_uri(tuned["uri"])
    return mlflow.MlflowClient(tuned["uri"])


def children_of(client, parent_id: str) -> list:
    runs = client.search_runs(
        [client.get_run(parent_id).info.experiment_id], filter_string=f"tags.`mlflow.parentRunId` = '{parent_id}'"
    )
    return sorted(runs, key=lambda run: run.info.run_name)


def test_tune_nests_one_child_run_per_trial_and_logs_the_best_model_on_the_parent(tuned, in_tuned) -> None:
    from toolkit.predict import load_ref, predict_records

    result, client = tuned["result"], in_tuned
    parent = client.get_run(result.parent_run_id)
    assert parent.info.status == "FINISHED" and parent.data.tags["toolkit.run_kind"] == "tune"
    children = children_of(client, result.parent_run_id)
    assert [c.info.run_name.split()[:2] for c in children] == [["trial", "0"], ["trial", "1"]]
    assert [c.data.tags["toolkit.tune.trial"] for c in children] == ["0", "1"]
    assert all(c.data.tags["toolkit.run_kind"] == "trial" for c in children)
    assert all("toolkit.model_uri" not in c.data.tags for c in children), "trials keep no model"
    scores = {c.info.run_id: c.data.metrics["validation_macro_f1"] for c in children}
    assert result.best_value == max(scores.values())
    assert parent.data.metrics["validation_macro_f1"] == result.best_value
    best_child = client.get_run(parent.data.tags["toolkit.tune.best_run_id"])
    assert best_child.data.params["backend.params.C"] == str(result.best_params["backend.params.C"])
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id, "evaluation")}
    assert "evaluation/test_confusion_matrix.png" in artifacts
    datasets = {i.dataset.name for i in parent.inputs.dataset_inputs}
    assert datasets == {"tiny-train", "tiny-validation", "tiny-test"}
    loaded = load_ref(result.model_uri)
    assert loaded.manifest["config"]["backend"]["params"]["C"] == result.best_params["backend.params.C"]
    assert predict_records(loaded, ["coach team goal match season win"])[0]["label"] == "sports"
    assert any(m.startswith("trial 1: validation_macro_f1=") for m in tuned["messages"])


@pytest.mark.slow  # an MLflow round trip of seconds: make test runs it, the inner loop leaves it out
def test_tune_resumes_its_study_under_the_same_parent_with_new_suggestions(tuned, in_tuned) -> None:
    from toolkit.lifecycle.tune import tune

    first = tuned["result"]
    again = tune(tuned["config"], trials=1)
    assert again.parent_run_id == first.parent_run_id
    assert [t["number"] for t in again.trials] == [0, 1, 2]
    earlier = {trial["params"]["backend.params.C"] for trial in first.trials}
    assert again.trials[2]["params"]["backend.params.C"] not in earlier, "a resumed sampler must not replay"
    assert len(children_of(in_tuned, first.parent_run_id)) == 3


@pytest.mark.slow  # an MLflow round trip of seconds: make test runs it, the inner loop leaves it out
def test_a_best_trial_from_an_earlier_session_is_refit_for_its_model(tuned, in_tuned) -> None:
    from toolkit.lifecycle.tune import TAG_BEST_TRIAL, tune

    parent = tuned["result"].parent_run_id
    in_tuned.delete_tag(parent, TAG_BEST_TRIAL)  # as if the best trial's model had never been logged here
    result = tune(tuned["config"], trials=0)
    refits = [run for run in children_of(in_tuned, parent) if run.info.run_name.endswith(" refit")]
    assert len(refits) == 1 and refits[0].info.run_name == f"trial {result.best_trial} refit"
    tags = in_tuned.get_run(parent).data.tags
    assert tags[TAG_BEST_TRIAL] == str(result.best_trial) and tags["toolkit.model_uri"] == result.model_uri


def test_search_space_typos_fail_before_any_run(store: Path, corpus_csv: Path) -> None:
    from toolkit.lifecycle.tune import tune

    bad = tune_config(store, corpus_csv, space={"backend.params.Cc": {"type": "float", "low": 1, "high": 2}})
    with pytest.raises(ConfigError, match=r"unknown key 'backend.params.Cc' \(did you mean 'C'\?\)"):
        tune(bad, trials=1)
    with pytest.raises(ConfigError, match="no 'tune' section"):
        tune(load_config(None, tiny_config("topic", corpus_csv)), trials=1)
    assert not (store / "mlruns.db").exists() and not (store / "optuna.db").exists()


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"space": {}}, "the search space is empty"),
        ({"space": {"seed": {"type": "int", "low": 5, "high": 1}}}, "needs 'low' < 'high'"),
        ({"space": {"seed": {"type": "categorical"}}}, "needs a non-empty 'choices' list"),
        ({"space": SPACE, "metric": "test_macro_f1"}, r"'tune.metric': String should match pattern"),
        ({"space": SPACE, "typo": 1}, "unknown key 'tune.typo'"),
    ],
)
def test_tune_section_is_validated(tmp_path: Path, section: dict, message: str) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump({"tune": section}))
    with pytest.raises(ConfigError, match=message):
        load_config(path)


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "configs").glob("tune_*.yaml")))
def test_shipped_tune_config_validates_and_its_space_applies(name: str) -> None:
    from toolkit.lifecycle.tune import check_space

    config = load_config(ROOT / "configs" / name)
    assert config.tune is not None and "backend.params.C" in config.tune.space
    assert not any(key.startswith("tune") for key in config.flat()), "tune settings are not training params"
    check_space(config, config.tune.space)


def test_register_promote_and_predict_by_alias(tuned, in_tuned) -> None:
    from toolkit.predict import load_ref
    from toolkit.tracking.registry import list_versions, promote, register

    parent = tuned["result"].parent_run_id
    first = register(parent, "lc-topic")
    second = register(f"runs:/{parent}/model", "lc-topic")
    assert (first.version, second.version) == (1, 2) and first.task == "topic"
    assert promote("lc-topic", 1)[1] is None
    info, previous = promote("lc-topic", 2, "champion")
    assert (info.aliases, previous) == (["champion"], 1)
    listed = {v.version: v for v in list_versions("lc-topic")}
    assert listed[2].aliases == ["champion"] and listed[1].aliases == []
    assert listed[2].metrics["validation_macro_f1"] == tuned["result"].best_value
    loaded = load_ref("models:/lc-topic@champion")
    assert loaded.model.labels == ["economy", "health", "sports"]


def test_registry_errors_say_what_to_do(tuned, in_tuned) -> None:
    from toolkit.tracking.registry import promote, register

    trial_run = tuned["result"].trials[0]["run_id"]
    with pytest.raises(ModelLoadError, match="logged no model; tuning trials keep none"):
        register(trial_run, "lc-none")
    with pytest.raises(ModelLoadError, match="run 0123456789abcdef0123456789abcdef not found"):
        register("0123456789abcdef0123456789abcdef", "lc-none")
    with pytest.raises(ModelLoadError, match="is not a run"):
        register("models:/x/1", "lc-none")
    register(tuned["result"].parent_run_id, "lc-err")
    with pytest.raises(ModelLoadError, match="has no version 7; its versions: 1"):
        promote("lc-err", 7)


def test_compare_ranks_runs_and_shows_the_params_that_differ(tuned, in_tuned) -> None:
    from toolkit.lifecycle.compare import compare_runs

    result = compare_runs("topic-tiny", top=3)
    values = [row["metrics"]["validation_macro_f1"] for row in result.rows]
    assert len(result.rows) == 3 and values == sorted(values, reverse=True)
    assert "backend.params.C" in result.param_columns and "task" not in result.param_columns
    assert not any(p.startswith("tracking.") for p in result.param_columns)
    with pytest.raises(DataError, match="no experiment 'nope'.*experiments: .*topic-tiny"):
        compare_runs("nope")


def test_cli_compare_and_models(tuned, in_tuned) -> None:
    from toolkit.cli import app

    runner = CliRunner()
    env = {"COLUMNS": "200", "MLFLOW_TRACKING_URI": os.environ["MLFLOW_TRACKING_URI"]}
    shown = runner.invoke(app, ["compare", "topic-tiny", "--top", "2"], env=env)
    assert shown.exit_code == 0, shown.output
    assert "best by validation_macro_f1" in shown.output and "trial " in shown.output
    parent = tuned["result"].parent_run_id
    registered = runner.invoke(app, ["models", "register", parent, "--name", "lc-cli"], env=env)
    assert registered.exit_code == 0 and "registered 'lc-cli' version 1" in registered.output
    promoted = runner.invoke(app, ["models", "promote", "lc-cli", "1"], env=env)
    assert promoted.exit_code == 0 and "lc-cli@champion -> version 1" in promoted.output
    listed = runner.invoke(app, ["models", "list", "lc-cli"], env=env)
    assert listed.exit_code == 0 and "champion" in listed.output
