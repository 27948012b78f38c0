"""The real command line: one-line errors with exit codes, a fast --help, and the main job end to end."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

HEAVY = ("torch", "transformers", "mlflow", "datasets", "sklearn", "pandas", "pyspark", "matplotlib")


def run_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "toolkit", *args], capture_output=True, text=True, input=stdin, timeout=300
    )


def test_importing_the_cli_loads_no_heavy_library() -> None:
    code = f"import sys, toolkit.cli; print([m for m in {HEAVY!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_help_is_fast() -> None:
    started = time.perf_counter()
    result = run_cli("--help")
    elapsed = time.perf_counter() - started
    assert result.returncode == 0 and "prepare" in result.stdout
    assert elapsed < 3.0, f"--help took {elapsed:.2f}s (budget is generous for loaded CI machines)"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["train", "--set", "backend.params.Cc=1"], 2, "unknown key 'backend.params.Cc' (did you mean 'C'?)"),
        (["train", "--config", "missing.yaml"], 2, "config file not found: missing.yaml"),
        (["prepare", "nowhere.csv"], 2, "input not found: nowhere.csv"),
        (["predict", "nowhere.txt", "--model", "no/such/model"], 2, "model not found: no/such/model"),
        (["evaluate", "--model", "no/such/model", "--data", "x.csv"], 2, "model not found"),
    ],
)
def test_errors_are_one_line_with_exit_code(args, code, message, store) -> None:
    result = run_cli(*args)
    assert result.returncode == code, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_empty_and_missing_articles(store: Path) -> None:
    (store / "empty.txt").write_text("  \n")
    (store / "model").mkdir()
    result = run_cli("predict", "empty.txt", "--model", "model")
    assert result.returncode == 2 and "is not a toolkit model folder" in result.stderr
    from toolkit.errors import DataError
    from toolkit.predict import read_article

    with pytest.raises(DataError, match="the article is empty"):
        read_article(str(store / "empty.txt"))
    with pytest.raises(DataError, match="is a folder"):
        read_article(str(store))


def test_no_trained_model_yet(store: Path) -> None:
    (store / "a.txt").write_text("some article text")
    result = run_cli("predict", "a.txt")
    assert result.returncode == 2
    assert "no trained model found" in result.stderr  # and no store was created: tests/reliability/test_store_hardening


def test_debug_shows_the_traceback(store: Path) -> None:
    result = run_cli("--debug", "prepare", "nowhere.csv")
    assert result.returncode != 0 and "Traceback" in result.stderr


@pytest.mark.slow
def test_prepare_train_evaluate_predict_end_to_end(store: Path, corpus_csv: Path) -> None:
    from tests.helpers import tiny_config

    sets = [arg for override in tiny_config("stance", corpus_csv) for arg in ("--set", override)]
    prepared = run_cli("prepare", *sets, "--output", "prep", "--json")
    assert prepared.returncode == 0, prepared.stderr
    assert json.loads(prepared.stdout)["labels"] == ["against", "favor", "none"]
    trained = run_cli("train", *sets, "--set", "data.prepared=prep", "--json")
    assert trained.returncode == 0, trained.stderr
    result = json.loads(trained.stdout)
    assert result["metrics"]["test"]["macro_f1"] > 0.9
    evaluated = run_cli("evaluate", "--model", result["model_uri"], "--data", "prep", "--json")
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads(evaluated.stdout)["metrics"]["macro_f1"] == pytest.approx(result["metrics"]["test"]["macro_f1"])
    raw = run_cli(
        "evaluate",
        "--model",
        result["model_uri"],
        "--data",
        str(corpus_csv),
        "--label-col",
        "stance",
        "--target-col",
        "target",
        "--no-log",
        "--json",
    )
    assert raw.returncode == 0, raw.stderr
    predicted = run_cli("predict", "-", "--target", "nuclear energy", "--json", stdin="we oppose and reject it")
    assert predicted.returncode == 0, predicted.stderr
    record = json.loads(predicted.stdout)[0]["predictions"][0]
    assert (record["task"], record["label"], record["target"]) == ("stance", "against", "nuclear energy")


def test_unknown_label_in_evaluation_data(store: Path, trained, monkeypatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", trained["uri"])
    bad = store / "bad.csv"
    bad.write_text("id,title,text,topic\n1,t,goal match team,cricket\n")
    result = run_cli(
        "evaluate", "--model", trained["topic"].model_uri, "--data", str(bad), "--no-log", "--label-col", "topic"
    )
    assert result.returncode == 2, result.stderr
    assert "label(s) ['cricket'] that the model does not know" in result.stderr


def test_a_typed_backslash_t_means_a_tab_for_prepare_and_score() -> None:
    import yaml

    from toolkit.cli._app import _data_flags, _delimiter

    assert _delimiter("\\t") == "\t" and _delimiter(";") == ";" and _delimiter(None) is None
    (override,) = _data_flags(delimiter="\\t")
    key, _, value = override.partition("=")
    assert (key, yaml.safe_load(value)) == ("data.delimiter", "\t")
