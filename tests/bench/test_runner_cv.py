"""A spec's `cv: {folds: k}`: cross-validated mean ± std beside the held-out figures, in results.json and .md."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest

from tests.bench.test_runner import write_spec
from toolkit.errors import ConfigError

FAST = ["backend.params.classifier=linear_svm"]  # liblinear: milliseconds per fit on these rows


@pytest.mark.slow
def test_cv_adds_cross_validated_columns_to_results(store: Path) -> None:
    import mlflow

    from toolkit.bench.report import render_results
    from toolkit.bench.runner import run_experiment

    spec = write_spec(store, overrides=FAST, cv={"folds": 3}, variants={"C tiny": ["backend.params.C=0.001"]})
    run_experiment(spec)
    saved = json.loads((store / "results" / "results.json").read_text())
    cv = saved["cv"]
    assert cv["folds"] == 3 and cv["on"] == "train" and cv["group_by"] == ["text"] and cv["baselines"] is True
    assert set(cv["rows"]) == {"toolkit", "toolkit, C tiny", "tfidf_lr"}, "toolkit rows and baselines, never masked"
    assert all(len(values) == 3 for row in cv["rows"].values() for values in row.values()), "one value per fold"
    assert set(cv["rows"]["toolkit"]) == {"f_avg", "macro_f1", "f1.against", "f1.favor", "f1.none"}
    assert set(cv["rows"]["tfidf_lr"]) == set(cv["rows"]["toolkit"]), "the baselines' folds keep every class too"
    assert sum(cv["held_rows"]["0"]) > 0
    assert sum(cv["train_rows"]["0"]) == 2 * sum(cv["held_rows"]["0"]), "each row fitted on in the other 2 folds"
    text = (store / "results" / "results.md").read_text()
    assert "| model | f_avg | macro_f1 | cv f_avg | cv macro_f1 | train_seconds | docs_per_second |" in text
    mean, std = statistics.fmean(cv["rows"]["toolkit"]["macro_f1"]), statistics.stdev(cv["rows"]["toolkit"]["macro_f1"])
    row = next(line for line in text.splitlines() if line.startswith("| toolkit | "))
    assert f"{mean:.3f} ± {std:.3f}" in row
    masked = next(line for line in text.splitlines() if line.startswith("| toolkit, target masked | "))
    assert masked.split(" | ")[3:5] == ["–", "–"], "no cv for the masked re-scoring"
    assert "cross-validated (cv columns): 3 folds of each seed's train split" in text
    assert "cross-validated vs held-out, toolkit: f_avg" in text
    gap = next(line for line in text.splitlines() if line.startswith("- cross-validated vs held-out, toolkit:"))
    assert "f1." not in gap, "per-class gaps stay out of the one-line summary"
    per_class = text.split("F1 per class (cross-validated, mean ± std over every fold):")[1]
    favor = cv["rows"]["tfidf_lr"]["f1.favor"]
    cell = f"{statistics.fmean(favor):.3f} ± {statistics.stdev(favor):.3f}"
    assert any(line.startswith("| tfidf_lr | ") and cell in line for line in per_class.splitlines())
    assert render_results(saved) == text, "results.md is rendered from results.json alone"
    client = mlflow.MlflowClient()
    child = client.get_run(find_toolkit_child(saved["parent_run_id"]))
    assert len(client.get_metric_history(child.info.run_id, "cv_fold_macro_f1")) == 3
    assert child.data.metrics["cv_macro_f1"] == pytest.approx(mean)


def find_toolkit_child(parent_id: str) -> str:
    """The seed's toolkit run: the child its cross-validation was logged on."""
    import mlflow

    client = mlflow.MlflowClient()
    children = client.search_runs(
        [client.get_run(parent_id).info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent_id}'"
    )
    return next(run.info.run_id for run in children if "cv_macro_f1" in run.data.metrics)


@pytest.mark.slow  # in `make test` (CI); the default loop keeps a faster sibling
def test_without_cv_results_keep_their_shape(store: Path) -> None:
    from toolkit.bench.runner import run_experiment

    run_experiment(write_spec(store, overrides=FAST, baselines=[]))
    assert "cv" not in json.loads((store / "results" / "results.json").read_text())
    assert "cv macro_f1" not in (store / "results" / "results.md").read_text()


def test_cv_spec_key_is_validated(store: Path) -> None:
    from toolkit.bench.spec import load_spec

    with pytest.raises(ConfigError, match="'cv.folds': folds must be 0"):
        load_spec(write_spec(store, cv={"folds": 1}))
    with pytest.raises(ConfigError, match="'cv.on'"):
        load_spec(write_spec(store, cv={"folds": 3, "on": "test"}))
    assert load_spec(write_spec(store, cv={"folds": 3, "baselines": False})).cv.baselines is False


def test_cv_line_says_claims_are_kept_apart_and_how_much_each_fold_was_fitted_on() -> None:
    from toolkit.bench.report import cv_lines

    cv = {"folds": 5, "group_by": ["text", "target"], "unlinked_label": "unrelated", "on": "train"}
    sizes = {"held_rows": {"0": [100, 100, 100, 100, 100]}, "train_rows": {"0": [300, 310, 290, 300, 300]}}
    (line,) = cv_lines(cv | sizes)
    assert "'unrelated' rows do not link" in line and "never saw a held-out target" in line
    assert "fitted on 60% of the pooled rows on average" in line
    assert "of the pooled rows" not in cv_lines(cv)[0], "no share claimed without the fold sizes"
