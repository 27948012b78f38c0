"""`toolkit score --min-probability P`: an `uncertain` column beside the label (true below P, the same rule as
`toolkit predict` and `serve`), every row kept; a threshold outside (0, 1) is refused before anything is written."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.helpers import make_rows, write_csv
from tests.reliability.reliability_helpers import fit_model_folder
from toolkit.errors import ConfigError, DataError
from toolkit.scoring.api import InputSpec, ScoreOptions, score

ROWS = make_rows(12, seed=5)


@pytest.fixture(scope="module")
def topic_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fit_model_folder(tmp_path_factory.mktemp("score-models") / "topic", "topic")


def run(source: Path, model: Path, out: Path, **options: object) -> object:
    return score(InputSpec(path=source), ScoreOptions(model=str(model), output=out, workers=1, **options))


def threshold_between(frame: pd.DataFrame) -> float:
    return float((frame["topic_probability"].min() + frame["topic_probability"].max()) / 2)


def test_uncertain_column_marks_rows_below_the_threshold_and_keeps_all(topic_model: Path, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "in.csv", ROWS)
    run(source, topic_model, tmp_path / "plain")
    plain = pd.read_parquet(tmp_path / "plain")
    assert "uncertain" not in plain.columns  # unchanged output without the option
    threshold = threshold_between(plain)
    summary = run(source, topic_model, tmp_path / "marked", min_probability=threshold, output_format="csv")
    marked = pd.read_csv(next((tmp_path / "marked").glob("part-*.csv")))
    assert summary.scored == len(ROWS) == len(marked)
    columns = list(marked.columns)
    assert columns[columns.index("topic_probability") + 1] == "uncertain"
    assert list(marked["uncertain"]) == list(plain["topic_probability"] < threshold)
    assert {True, False} == set(marked["uncertain"])
    assert list(marked["topic"]) == list(plain["topic"])


def test_uncertain_agrees_with_predict(topic_model: Path, tmp_path: Path) -> None:
    from toolkit.predict import load_ref, predict_records
    from toolkit.predict_output import add_answer_fields

    source = write_csv(tmp_path / "in.csv", ROWS)
    records = predict_records(load_ref(str(topic_model)), [row["text"] for row in ROWS])
    threshold = sorted(r["probability"] for r in records)[len(records) // 2]  # equal to one: not uncertain
    run(source, topic_model, tmp_path / "out", min_probability=threshold)
    scored = pd.read_parquet(tmp_path / "out").set_index("id").loc[[row["id"] for row in ROWS]]
    expected = [add_answer_fields(record, min_probability=threshold)["uncertain"] for record in records]
    assert list(scored["uncertain"]) == expected


def test_another_threshold_is_another_job(topic_model: Path, tmp_path: Path) -> None:
    source = write_csv(tmp_path / "in.csv", ROWS)
    run(source, topic_model, tmp_path / "out", min_probability=0.5)
    with pytest.raises(DataError, match="min_probability"):
        run(source, topic_model, tmp_path / "out", min_probability=0.7)
    run(source, topic_model, tmp_path / "out", min_probability=0.7, overwrite=True)
    assert "uncertain" in pd.read_parquet(tmp_path / "out").columns


@pytest.mark.parametrize("value", [0.0, 1.0, 2.0, -0.5])
def test_threshold_outside_zero_to_one_is_refused_and_nothing_written(
    topic_model: Path, tmp_path: Path, value: float
) -> None:
    source = write_csv(tmp_path / "in.csv", ROWS)
    with pytest.raises(ConfigError, match="between 0 and 1") as caught:
        run(source, topic_model, tmp_path / "out", min_probability=value)
    assert caught.value.exit_code == 2 and not (tmp_path / "out").exists()


def test_cli_option(topic_model: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from toolkit.cli import app

    source = write_csv(tmp_path / "in.csv", ROWS)
    args = ["score", str(source), "-m", str(topic_model), "-o", str(tmp_path / "o"), "--workers", "1"]
    result = CliRunner().invoke(app, [*args, "--min-probability", "0.6", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["scored"] == len(ROWS)
    assert pd.read_parquet(tmp_path / "o")["uncertain"].dtype == bool
    assert "--min-probability" in CliRunner().invoke(app, ["score", "--help"]).stdout
