"""Determinism (same config, data and seed: identical metrics and predictions) and path safety (names
from data or config never become paths unsanitised; output stays in the chosen folder)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import make_rows, tiny_config, write_csv
from tests.reliability.reliability_helpers import assert_one_line_error, snapshot


def fit_and_score(tmp_path: Path, name: str, task: str):
    """Prepare + fit + evaluate without MLflow, into its own folder: what `train` does, minus logging."""
    from toolkit.backends import get_backend
    from toolkit.config import load_config
    from toolkit.data.prepare import load_prepared, prepare_dataset
    from toolkit.evaluate import evaluate_examples
    from toolkit.models.folder import save_model
    from toolkit.train import seed_everything

    (tmp_path / name).mkdir()
    source = write_csv(tmp_path / name / "articles.csv", make_rows(120))
    config = load_config(None, tiny_config(task, source, **{"backend.params.char_ngrams": "[2, 4]"}))
    report = prepare_dataset(config.data, task, tmp_path / f"{name}-prepared")
    splits = load_prepared(tmp_path / f"{name}-prepared").splits
    backend_class = get_backend(config.backend.name)
    seed_everything(config.seed)
    model = backend_class(backend_class.Params.model_validate(config.backend.params), task, config.seed).fit(
        splits["train"], splits["validation"]
    )
    metrics = evaluate_examples(model, splits["test"], "test").metrics
    probabilities = model.predict_proba(splits["test"].texts, splits["test"].targets)
    manifest = save_model(model, tmp_path / f"{name}-model")
    return report.fingerprint, metrics, probabilities, manifest["files"]


@pytest.mark.parametrize("task", ["topic", "stance"])
def test_tfidf_same_inputs_same_outputs_exactly(task: str, tmp_path: Path) -> None:
    first = fit_and_score(tmp_path, "first", task)
    second = fit_and_score(tmp_path, "second", task)
    assert first[0] == second[0], "prepared data differ"
    assert first[1] == second[1], "metrics differ"
    assert np.array_equal(first[2], second[2]), "predictions differ"
    assert first[3] == second[3], "model files differ (sha256)"


def test_transformer_on_cpu_is_deterministic(tmp_path: Path) -> None:
    try:
        from toolkit.backends.transformer import model  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"toolkit.backends.transformer is not importable yet ({exc})")
    from tests.helpers import tiny_transformer_params
    from toolkit.backends import get_backend
    from toolkit.data.types import Examples

    backend_class = get_backend("transformer")
    rows = make_rows(24)
    train = Examples([r["text"] for r in rows], [r["topic"] for r in rows])
    params = backend_class.Params.model_validate(tiny_transformer_params(device="cpu"))
    outputs = [backend_class(params, "topic", seed=0).fit(train).predict_proba(train.texts[:8]) for _ in range(2)]
    assert np.array_equal(outputs[0], outputs[1])


@pytest.mark.parametrize("name", ["../../escaped", "/tmp/absolute", "a/b\\c", "..", "名前 with spaces"])
def test_dataset_name_never_leaves_data_processed(name: str, cli, tmp_path: Path, monkeypatch) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    source = write_csv(work / "articles.csv", make_rows(60))
    outside_before = sorted(p.name for p in tmp_path.iterdir())
    result = cli("prepare", str(source), "--name", name, "--json")
    assert result.code == 0, result.stderr
    output = Path(json.loads(result.stdout)["output"]).resolve()
    assert output.parent == (work / "data" / "processed").resolve()
    assert sorted(p.name for p in tmp_path.iterdir()) == outside_before
    assert not Path("/tmp/absolute-topic").exists()


def test_prepare_output_stays_in_the_chosen_folder(cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    source = write_csv(tmp_path / "articles.csv", make_rows(60))
    before = snapshot(tmp_path)
    assert cli("prepare", str(source), "--output", "out/prepared").code == 0
    new = set(snapshot(tmp_path)) - set(before)
    assert new and all(name.startswith("out/prepared/") for name in new), sorted(new)


def test_prepare_never_replaces_a_folder_it_did_not_write(cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    source = write_csv(tmp_path / "articles.csv", make_rows(60))
    (tmp_path / "precious").mkdir()
    (tmp_path / "precious" / "thesis.tex").write_text("years of work")
    before = snapshot(tmp_path)
    assert_one_line_error(cli("prepare", str(source), "--output", "precious"), 2, "not a prepared dataset")
    assert_one_line_error(cli("prepare", str(source), "--output", "articles.csv"), 2, "is a file")
    assert snapshot(tmp_path) == before
    assert cli("prepare", str(source), "--output", "prepared").code == 0
    assert cli("prepare", str(source), "--output", "prepared").code == 0  # its own output: replaced


LABELS = ["../../evil", "a/b", "..", "CON", "x:y*?<>|", "nul\x01ctl"]


def test_labels_and_split_names_with_path_characters(cli, fast_store: Path) -> None:
    rows = [dict(row, topic=LABELS[i % len(LABELS)]) for i, row in enumerate(make_rows(120))]
    source = write_csv(fast_store / "articles.csv", rows)
    sets = [a for o in tiny_config("topic", source, **{"tracking.misclassified_rows": 5}) for a in ("--set", o)]
    before = sorted(p.name for p in fast_store.parent.iterdir())
    trained = cli("train", "-q", "--json", *sets)
    assert trained.code == 0, trained.stderr
    uri = json.loads(trained.stdout)["model_uri"]
    evaluated = cli("evaluate", "--model", uri, "--data", str(source), "--split", "../../../escape", "--json")
    assert evaluated.code == 0, evaluated.stderr
    assert sorted(p.name for p in fast_store.parent.iterdir()) == before, "something was written outside"
    artifacts = [p for p in (fast_store / "mlruns").rglob("*") if p.is_file()]
    assert all(fast_store / "mlruns" in p.parents for p in artifacts)
    assert any(p.name.endswith("_escape_confusion_matrix.png") for p in artifacts)
