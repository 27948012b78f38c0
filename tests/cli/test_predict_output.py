"""`toolkit predict` for daily use: honest --target help, a plain table when piped, --output CSV/JSONL/Parquet,
--top-k, and --min-probability marking answers "uncertain" (never dropping them)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import CliResult, make_rows
from tests.reliability.reliability_helpers import fit_model_folder

LONG_NAME = "a-very-long-article-file-name-that-a-wrapped-table-used-to-break-in-the-middle-of-a-word-" * 2 + ".txt"


@pytest.fixture
def cli(cli, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN001 - the shared fixture of tests/conftest.py
    """The shared in-process `toolkit ARGS`, with no colour forced: stdout is not a terminal, as in a pipe."""
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
    return cli


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("predict-models")
    return {task: str(fit_model_folder(root / task, task)) for task in ("topic", "stance")}


@pytest.fixture
def articles(tmp_path: Path) -> list[str]:
    rows = make_rows(6, seed=3)
    (tmp_path / "short.txt").write_text(rows[0]["text"], encoding="utf-8")
    (tmp_path / LONG_NAME).write_text(rows[4]["text"], encoding="utf-8")
    return [str(tmp_path / "short.txt"), str(tmp_path / LONG_NAME)]


def both(models: dict[str, str]) -> list[str]:
    return ["-m", models["topic"], "-m", models["stance"]]


def records_of(cli, articles: list[str], models: dict[str, str], *extra: str) -> list[dict]:
    result = cli("predict", *articles, *both(models), "--json", *extra)
    assert result.code == 0, result.stderr
    return [dict(record, file=row["file"]) for row in json.loads(result.stdout) for record in row["predictions"]]


def assert_one_line_error(result: CliResult, *fragments: str) -> None:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.code == 2 and len(lines) == 1 and lines[0].startswith("error: "), (result.code, result.stderr)
    assert all(fragment in lines[0] for fragment in fragments), lines[0]


# --target: the help says what happens without it, and it happens.


def test_target_help_says_every_training_target_is_asked(cli, articles, models) -> None:
    helped = cli("predict", "--help")
    assert helped.code == 0
    text = " ".join(helped.stdout.split())
    assert "each target the stance model was trained on" in text and "the model's)" not in text
    stance = [r for r in records_of(cli, articles[:1], models) if r["task"] == "stance"]
    assert [r["target"] for r in stance] == ["arms control talks", "nuclear energy"]


# Plain output for pipes, and JSON that stays JSON.


def test_piped_table_is_tab_separated_one_line_per_answer(cli, articles, models) -> None:
    result = cli("predict", *articles, *both(models))
    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    header = lines[0].split("\t")
    assert header[:5] == ["file", "task", "target", "label", "probability"]
    assert len(lines) == 1 + 2 * 3  # two files x (one topic answer + two stance targets)
    assert all(len(line.split("\t")) == len(header) for line in lines)
    assert [line.split("\t")[0] for line in lines[1:]] == [articles[0]] * 3 + [articles[1]] * 3  # never cut
    assert not any(mark in result.stdout for mark in "┃│━─")


def test_piped_table_from_a_real_pipe(articles, models) -> None:
    env = {key: value for key, value in os.environ.items() if key not in ("FORCE_COLOR", "TTY_COMPATIBLE")}
    command = [sys.executable, "-m", "toolkit", "predict", articles[1], "-m", models["topic"], "--top-k", "2"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    header, line = done.stdout.splitlines()
    assert header.split("\t")[5:9] == ["label_1", "p_1", "label_2", "p_2"]
    assert line.split("\t")[0] == articles[1]


def test_json_with_a_long_file_name_is_valid_json(cli, articles, models) -> None:
    result = cli("predict", articles[1], "-m", models["topic"], "--json")
    assert json.loads(result.stdout)[0]["file"] == articles[1]


def test_terminal_table_shows_uncertain_and_runners_up(cli, articles, models, monkeypatch) -> None:
    from toolkit.cli._app import out

    monkeypatch.setattr(out, "_force_terminal", True)
    monkeypatch.setattr(out, "_width", 200)
    result = cli("predict", articles[0], *both(models), "--top-k", "2", "--min-probability", "0.99")
    assert result.code == 0, result.stderr
    assert "runners-up" in result.stdout and "uncertain" in result.stdout and "┃" in result.stdout


# --output FILE


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_output_file_holds_one_flat_row_per_file_model_and_target(cli, articles, models, tmp_path, suffix) -> None:
    import pandas as pd

    expected = records_of(cli, articles, models)
    path = tmp_path / "out" / f"predictions{suffix}"
    result = cli("predict", *articles, *both(models), "--output", str(path))
    assert result.code == 0, result.stderr
    assert "6 rows written to" in result.stdout
    readers = {".csv": pd.read_csv, ".jsonl": lambda p: pd.read_json(p, lines=True), ".parquet": pd.read_parquet}
    frame = readers[suffix](path)
    columns = list(frame.columns)
    assert columns[:5] == ["file", "task", "target", "label", "probability"]
    assert {"warning", "model", "prob_sports", "prob_against"} <= set(columns)
    assert list(frame["file"]) == [r["file"] for r in expected]
    assert list(frame["label"]) == [r["label"] for r in expected]
    assert list(frame["probability"]) == pytest.approx([r["probability"] for r in expected])
    stance = frame[frame["task"] == "stance"]
    assert list(stance["target"]) == [r["target"] for r in expected if r["task"] == "stance"]
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_output_with_json_prints_where_it_went(cli, articles, models, tmp_path) -> None:
    path = tmp_path / "p.jsonl"
    result = cli("predict", articles[0], "-m", models["topic"], "-o", str(path), "--json")
    assert json.loads(result.stdout) == {"output": str(path), "rows": 1}
    assert json.loads(path.read_text(encoding="utf-8"))["file"] == articles[0]


def test_output_with_an_unknown_extension_is_refused_before_anything_loads(cli, articles, tmp_path) -> None:
    result = cli("predict", articles[0], "-m", str(tmp_path / "no-such-model"), "-o", str(tmp_path / "p.xlsx"))
    assert_one_line_error(result, "unknown extension '.xlsx'", ".csv, .jsonl, .parquet")
    assert not (tmp_path / "p.xlsx").exists()


def test_output_refuses_a_folder_and_an_input_file(cli, articles, models, tmp_path) -> None:
    (tmp_path / "dir.csv").mkdir()
    assert_one_line_error(cli("predict", articles[0], "-m", models["topic"], "-o", str(tmp_path / "dir.csv")), "folder")
    article = tmp_path / "article.csv"
    article.write_text("the team won the final match", encoding="utf-8")
    result = cli("predict", str(article), "-m", models["topic"], "-o", str(article))
    assert_one_line_error(result, "is one of the articles")
    assert article.read_text(encoding="utf-8") == "the team won the final match"


def test_output_replaces_an_old_file_only_when_the_new_one_is_complete(cli, articles, models, tmp_path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("old\n", encoding="utf-8")
    failed = cli("predict", articles[0], str(tmp_path / "missing.txt"), "-m", models["topic"], "-o", str(path))
    assert failed.code == 2 and path.read_text(encoding="utf-8") == "old\n"
    assert cli("predict", articles[0], "-m", models["topic"], "-o", str(path)).code == 0
    assert path.read_text(encoding="utf-8").startswith("file,task,target,label,probability")


def test_csv_output_imports_neither_pandas_nor_pyarrow(articles, models, tmp_path) -> None:
    argv = ["toolkit", "predict", articles[0], "-m", models["topic"], "-o", str(tmp_path / "p.csv")]
    code = (
        f"import sys\nfrom toolkit.cli import main\nsys.argv = {argv!r}\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print([m for m in ('pandas', 'pyarrow', 'sklearn') if m in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stderr


# --top-k K


def test_top_k_lists_the_most_probable_labels_in_order(cli, articles, models, tmp_path) -> None:
    records = records_of(cli, articles, models, "--top-k", "2")
    for record in records:
        ranked = sorted(record["probabilities"].values(), reverse=True)
        assert [e["probability"] for e in record["top_k"]] == ranked[:2]
        assert record["top_k"][0]["label"] == record["label"]
    assert all(len(r["top_k"]) == 3 for r in records_of(cli, articles[:1], models, "--top-k", "10"))
    path = tmp_path / "k.csv"
    assert cli("predict", *articles, *both(models), "--top-k", "2", "-o", str(path)).code == 0
    header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header[5:9] == ["label_1", "p_1", "label_2", "p_2"]


@pytest.mark.parametrize("value", ["0", "-1"])
def test_top_k_below_one_is_refused(cli, articles, models, value) -> None:
    assert_one_line_error(cli("predict", articles[0], "-m", models["topic"], "--top-k", value), "--top-k")


# --min-probability P


def test_min_probability_marks_answers_uncertain_and_keeps_every_row(cli, articles, models, tmp_path) -> None:
    plain = records_of(cli, articles, models)
    probabilities = sorted(r["probability"] for r in plain)
    threshold = (probabilities[0] + probabilities[-1]) / 2
    marked = records_of(cli, articles, models, "--min-probability", str(threshold))
    assert [r["label"] for r in marked] == [r["label"] for r in plain]  # labels kept, nothing dropped
    assert [r["uncertain"] for r in marked] == [r["probability"] < threshold for r in plain]
    assert {True, False} == {r["uncertain"] for r in marked}
    path = tmp_path / "u.parquet"
    assert cli("predict", *articles, *both(models), "--min-probability", str(threshold), "-o", str(path)).code == 0
    import pandas as pd

    assert list(pd.read_parquet(path)["uncertain"]) == [r["uncertain"] for r in marked]
    piped = cli("predict", *articles, *both(models), "--min-probability", str(threshold)).stdout.splitlines()
    assert piped[0].split("\t")[5] == "uncertain"
    assert [line.split("\t")[5] for line in piped[1:]] == [str(r["uncertain"]).lower() for r in marked]


@pytest.mark.parametrize("value", ["0", "1", "1.5", "-0.2"])
def test_min_probability_outside_zero_to_one_is_refused(cli, articles, models, value) -> None:
    result = cli("predict", articles[0], "-m", models["topic"], "--min-probability", value)
    assert_one_line_error(result, "--min-probability", "between 0 and 1")
