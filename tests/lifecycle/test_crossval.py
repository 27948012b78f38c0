"""Cross-validation (toolkit.lifecycle.crossval) and `toolkit tune` scoring trials by it (`tune.cv`)."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest
import yaml

from tests.helpers import make_rows, tiny_config, write_csv
from toolkit.config import CVConfig, load_config
from toolkit.errors import ConfigError

SPACE = {"backend.params.C": {"type": "categorical", "choices": [0.00001, 10.0]}}
FAST = {"backend.params.classifier": "linear_svm"}  # liblinear: milliseconds per fit on these rows


def test_cross_validate_scores_each_fold_with_the_evaluation_metrics(tmp_path: Path, monkeypatch) -> None:
    from toolkit.lifecycle.crossval import cross_validate_prepared
    from toolkit.train import ensure_prepared

    monkeypatch.chdir(tmp_path)
    source = write_csv(tmp_path / "articles.csv", make_rows(120))
    config = load_config(None, tiny_config("stance", source, **FAST))
    prepared = ensure_prepared(config)
    messages: list[str] = []
    result = cross_validate_prepared(config, prepared, CVConfig(folds=3), progress=messages.append)
    assert len(result.folds) == 3 and sum(result.held_rows) == len(prepared.splits["train"]) == result.rows
    assert result.groups == len(set(prepared.splits["train"].texts))
    for name in ("macro_f1", "accuracy", "f_avg", "f1.favor"):
        values = [fold[name] for fold in result.folds]
        assert result.mean[name] == pytest.approx(statistics.fmean(values))
        assert result.std[name] == pytest.approx(statistics.stdev(values))
    assert result.mean["macro_f1"] > 0.5, "each fold's model learned something"
    assert messages[0].startswith("cross-validation fold 1/3")
    pooled = cross_validate_prepared(config, prepared, CVConfig(folds=3, on="train+validation"))
    assert pooled.rows == len(prepared.splits["train"]) + len(prepared.splits["validation"])
    again = cross_validate_prepared(config, prepared, CVConfig(folds=3))
    assert again.folds == result.folds, "the same seed gives the same folds and fits"
    assert json.loads(json.dumps(result.summary()))["per_fold"] == result.folds


def test_cross_validation_encodes_each_text_once_and_forgets_after(tmp_path: Path, monkeypatch) -> None:
    """A frozen encoder's vectors are reused across the folds (toolkit.backends.reuse), and only there."""
    from tests.helpers import tiny_encoder_path
    from toolkit.backends.tfidf.embeddings import SentenceEncoder
    from toolkit.lifecycle.crossval import cross_validate_prepared, fit_fold
    from toolkit.train import ensure_prepared

    monkeypatch.chdir(tmp_path)
    source = write_csv(tmp_path / "articles.csv", make_rows(60))
    encoder = {
        "backend.params.embeddings": tiny_encoder_path(),
        "backend.params.embedding_max_length": 16,
        "backend.params.pair_embedding_similarity": "true",
    }
    config = load_config(None, tiny_config("stance", source, **FAST, **encoder))
    prepared = ensure_prepared(config)
    sent: list[str] = []
    original = SentenceEncoder.encode_new

    def encode_new(self: SentenceEncoder, texts: list[str]) -> object:
        sent.extend(texts)
        return original(self, texts)

    monkeypatch.setattr(SentenceEncoder, "encode_new", encode_new)
    result = cross_validate_prepared(config, prepared, CVConfig(folds=3))
    assert result.mean["macro_f1"] > 0.5
    assert sent and len(sent) == len(set(sent)), "no text went through the encoder twice in one cross-validation"
    encoded = len(sent)
    fit_fold(config, prepared.splits["train"], None, None)
    assert len(sent) > encoded, "after the cross-validation nothing is kept: a later fit encodes afresh"


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"cv": {"folds": 1}}, "folds must be 0 \\(off\\) or at least 2"),
        ({"cv": {"folds": -2}}, "greater than or equal to 0"),
        ({"cv": {"folds": 3, "group_by": ["target"]}}, "group_by must be \\[text\\] or \\[text, target\\]"),
        ({"cv": {"folds": 3, "on": "test"}}, "'tune.cv.on': Input should be 'train' or 'train\\+validation'"),
        ({"cv": {"fold": 3}}, "unknown key 'tune.cv.fold' \\(did you mean 'folds'\\?\\)"),
        ({"metric": "cv_macro_f1"}, "metric 'cv_macro_f1' needs cv.folds >= 2 \\(or use validation_macro_f1\\)"),
        ({"metric": "validation_f_avg", "cv": {"folds": 3}}, "the metric is a cross-validated mean: cv_f_avg"),
    ],
)
def test_cv_section_is_validated_on_load(tmp_path: Path, section: dict, message: str) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump({"tune": {"space": SPACE} | section}))
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_with_cv_the_default_metric_is_the_cross_validated_macro_f1(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump({"tune": {"space": SPACE, "cv": {"folds": 4, "group_by": ["text", "target"]}}}))
    spec = load_config(path).tune
    assert spec is not None and spec.metric == "cv_macro_f1" and spec.cv.group_by == ["text", "target"]
    assert load_config(tmp_path / "t.yaml", ["tune.cv.folds=0", "tune.metric=validation_accuracy"]).tune.cv.folds == 0


def cv_tune_config(root: Path, source: Path, **cv: object) -> object:
    path = root / "tune.yaml"
    section = {"space": SPACE, "storage": f"sqlite:///{root / 'optuna.db'}", "cv": {"folds": 3, **cv}}
    path.write_text(yaml.safe_dump({"tune": section}))
    return load_config(path, tiny_config("topic", source, **FAST))


@pytest.mark.slow
def test_tune_with_cv_picks_the_best_cross_validated_mean_and_logs_each_fold(store: Path) -> None:
    import mlflow

    from toolkit.lifecycle.tune import tune

    source = write_csv(store / "articles.csv", make_rows(90))
    messages: list[str] = []
    result = tune(cv_tune_config(store, source), trials=2, progress=messages.append)
    assert result.metric == "cv_macro_f1"
    client = mlflow.MlflowClient()
    parent = client.get_run(result.parent_run_id)
    trial_ids = [trial["run_id"] for trial in result.trials]
    means = {}
    for run_id in trial_ids:
        run = client.get_run(run_id)
        folds = [m.value for m in client.get_metric_history(run_id, "cv_fold_macro_f1")]
        assert len(folds) == 3 and run.data.metrics["cv_macro_f1"] == pytest.approx(statistics.fmean(folds))
        assert run.data.metrics["cv_std_macro_f1"] == pytest.approx(statistics.stdev(folds))
        assert "validation_macro_f1" not in run.data.metrics, "a cv trial is scored on folds, not the dev split"
        assert run.data.params["cv.folds"] == "3" and run.data.tags["toolkit.run_kind"] == "trial"
        (store / run_id).mkdir()
        saved = json.loads(Path(client.download_artifacts(run_id, "cv/folds.json", str(store / run_id))).read_text())
        assert saved["folds"] == 3 and len(saved["per_fold"]) == 3
        means[run_id] = run.data.metrics["cv_macro_f1"]
    assert result.best_value == max(means.values())
    assert means[parent.data.tags["toolkit.tune.best_run_id"]] == result.best_value
    assert json.loads(parent.data.params["tune.cv"])["folds"] == 3
    assert "validation_macro_f1" in parent.data.metrics and result.model_uri, "the best settings trained once"
    assert any(m.startswith("trial 0: cv_macro_f1=") for m in messages)


def test_a_cv_metric_the_task_lacks_fails_before_any_trial(tmp_path: Path, monkeypatch) -> None:
    from toolkit.lifecycle.tune import check_metric
    from toolkit.train import ensure_prepared

    monkeypatch.chdir(tmp_path)
    prepared = ensure_prepared(cv_tune_config(tmp_path, write_csv(tmp_path / "articles.csv", make_rows(60))))
    check_metric("cv_f1.sports", prepared)
    with pytest.raises(ConfigError, match="'cv_f_avg' is not a cross-validated metric of this task; one of: cv_acc"):
        check_metric("cv_f_avg", prepared)  # a stance metric, on topic data
