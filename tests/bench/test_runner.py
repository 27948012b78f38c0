"""`toolkit experiment run`: one parent MLflow run, a child per seed and baseline, a results table."""

import json
from pathlib import Path

import pytest
import yaml

from tests.helpers import make_rows, write_csv
from toolkit.errors import ConfigError


def write_spec(root: Path, **extra: object) -> Path:
    source = write_csv(root / "articles.csv", make_rows(120))
    config = {
        "task": "stance",
        "data": {
            "name": "tiny",
            "source": str(source),
            "columns": {"text": "text", "label": "stance", "target": "target"},
            "split": {"validation": 0.3, "test": 0.0},
        },
        "backend": {"name": "tfidf", "params": {"char_ngrams": None}},
        "tracking": {"log_model": False},
    }
    (root / "stance.yaml").write_text(yaml.safe_dump(config))
    spec = {
        "name": "tiny",
        "config": str(root / "stance.yaml"),
        "seeds": [0],
        "baselines": ["tfidf_lr"],
        "metrics": ["f_avg", "macro_f1"],
        "output": str(root / "results"),
        "note": "test run",
    } | extra
    path = root / "tiny.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_experiment_logs_parent_and_children_and_writes_results(store: Path) -> None:
    import mlflow
    from typer.testing import CliRunner

    from toolkit.cli import app

    spec = write_spec(store)
    cli = CliRunner().invoke(app, ["experiment", "run", str(spec), "--quiet"])
    assert cli.exit_code == 0, cli.output
    assert "| toolkit | " in cli.output and "wrote" in cli.output
    saved = json.loads((store / "results" / "results.json").read_text())
    rows = saved["rows"]
    assert set(rows) == {"toolkit", "toolkit, target masked", "tfidf_lr"}
    assert all(len(values) == 1 for row in rows.values() for values in row.values())
    text = (store / "results" / "results.md").read_text()
    assert "toolkit experiment run" in text and "| toolkit | " in text and "test run" in text
    assert "toolkit vs tfidf_lr" in text and "target masking" in text
    # every class's F1 for the toolkit and the baseline (the masked re-score keeps only the spec's metrics)
    assert {"f1.favor", "f1.against", "f1.none"} <= set(rows["toolkit"]) & set(rows["tfidf_lr"])
    assert "F1 per class" in text and "| toolkit | " in text.split("F1 per class")[1]
    assert "fit" not in saved and "Learned by the fit" not in text, "a tfidf fit learns no weights to report"
    client = mlflow.MlflowClient()
    parent = saved["parent_run_id"]
    children = client.search_runs(
        [client.get_run(parent).info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent}'"
    )
    assert sorted(run.info.run_name for run in children) == ["tiny-tfidf-seed0", "tiny-tfidf_lr-seed0"]
    assert all(run.info.status == "FINISHED" for run in children)
    toolkit_child = next(run for run in children if run.info.run_name == "tiny-tfidf-seed0")
    assert "target_masked_f_avg" in toolkit_child.data.metrics and "validation_f_avg" in toolkit_child.data.metrics
    assert client.get_run(parent).data.metrics["mean_toolkit.f_avg"] == pytest.approx(rows["toolkit"]["f_avg"][0])


def test_an_ensembles_learned_weights_reach_results_json_and_the_table(store: Path) -> None:
    from toolkit.bench.runner import run_experiment

    spec = write_spec(store, baselines=[], mask_target=False)
    config = yaml.safe_load((store / "stance.yaml").read_text())
    tfidf = {"name": "tfidf", "params": {"char_ngrams": None}}
    chars = {"name": "tfidf", "params": {"word_ngrams": [1, 1], "char_ngrams": [2, 4]}}
    config["backend"] = {"name": "ensemble", "params": {"members": [tfidf, chars], "folds": 2}}
    (store / "stance.yaml").write_text(yaml.safe_dump(config))
    run_experiment(spec)
    fit = json.loads((store / "results" / "results.json").read_text())["fit"]["toolkit"]
    assert set(fit) == {"member0.weight", "member1.weight", "member0.temperature", "member1.temperature"}
    assert fit["member0.weight"][0] + fit["member1.weight"][0] == pytest.approx(1.0)
    line = next(line for line in (store / "results" / "results.md").read_text().splitlines() if "member0" in line)
    assert line.startswith("- toolkit: member0.temperature ")
    assert f"member1.weight {fit['member1.weight'][0]:.3f}" in line


def test_svm_per_target_learns_each_target_on_its_own() -> None:
    """The same words can mean opposite stances toward two targets; one SVM per target can learn that."""
    from toolkit.bench.baselines import run_baseline
    from toolkit.data.types import Examples

    texts = ["ban it now", "keep it forever", "ban it today", "keep it always"] * 3
    favor_a = ["favor", "against", "favor", "against"] * 3
    data = Examples(
        texts * 2,
        favor_a + [{"favor": "against", "against": "favor"}[label] for label in favor_a],
        ["target a"] * 12 + ["target b"] * 12,
    )
    outcome = run_baseline("svm_per_target", data, data, seed=0)
    assert outcome.predicted == data.labels
    unseen = Examples(["ban it now"], ["favor"], ["target c"])
    assert run_baseline("svm_per_target", data, unseen, seed=0).predicted[0] in {"favor", "against"}


@pytest.mark.slow  # in `make test` (CI); the default loop keeps a faster sibling
def test_variants_add_toolkit_rows_with_their_own_child_runs(store: Path) -> None:
    import mlflow

    from toolkit.bench.runner import run_experiment

    overrides = ["backend.params.pair_features=false", "backend.params.C=0.00001"]
    spec = write_spec(store, baselines=[], variants={"no pair features": overrides})
    result = run_experiment(spec)
    variant = result.rows["toolkit, no pair features"]
    assert set(variant) == {
        "f_avg",
        "macro_f1",
        "train_seconds",
        "docs_per_second",
        "f1.favor",
        "f1.against",
        "f1.none",
    }
    assert variant["f_avg"] != result.rows["toolkit"]["f_avg"], "the override reached the variant's model"
    runs = mlflow.search_runs(experiment_names=["bench-tiny"], output_format="list")
    names = {run.info.run_name for run in runs}
    assert {"tiny-tfidf-seed0", "tiny-tfidf-no-pair-features-seed0"} <= names
    text = (store / "results" / "results.md").read_text()
    assert "| toolkit, no pair features | " in text and "toolkit vs toolkit, no pair features" in text


def test_bad_variant_override_fails_before_any_run(store: Path) -> None:
    from toolkit.bench.runner import run_experiment

    with pytest.raises(ConfigError, match="backend.params"):
        run_experiment(write_spec(store, variants={"typo": ["backend.params.no_such=1"]}))
    assert not (store / "results").exists()


def test_unknown_spec_key_and_inapplicable_metric_are_errors(store: Path) -> None:
    from toolkit.bench.runner import load_spec, run_experiment

    with pytest.raises(ConfigError, match="unknown key 'seedz'"):
        load_spec(write_spec(store, seedz=[1]))
    with pytest.raises(ConfigError, match=r"metric\(s\) \['fnc_score'\] not computed"):
        run_experiment(write_spec(store, metrics=["fnc_score"]))


def test_baselines_predict_known_labels() -> None:
    from toolkit.bench.baselines import run_baseline
    from toolkit.data.types import Examples

    rows = make_rows(60)
    data = Examples([r["text"] for r in rows], [r["stance"] for r in rows], [r["target"] for r in rows])
    names = ["tfidf_lr", "svm_per_target"]
    try:
        import fasttext  # noqa: F401

        names += ["fasttext", "fasttext_epoch25"]
    except ImportError:
        pass
    for name in names:
        outcome = run_baseline(name, data, data, seed=0)
        assert set(outcome.predicted) <= set(data.labels) and len(outcome.predicted) == len(data)
        assert outcome.train_seconds > 0
