"""`toolkit score`: input formats, error rows, reconciliation, resume after SIGKILL, atomic parts, Spark."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.helpers import ROOT, make_rows, write_csv
from toolkit.errors import DataError
from toolkit.scoring.api import InputSpec, ScoreOptions, score


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A tiny topic and stance tfidf model saved as model folders (no MLflow needed)."""
    from toolkit.backends.tfidf.model import TfidfBackend, TfidfParams
    from toolkit.data.types import Examples
    from toolkit.models.folder import save_model

    root, rows = tmp_path_factory.mktemp("models"), make_rows(90)
    folders = {}
    for task in ("topic", "stance"):
        data = Examples(
            [r["text"] for r in rows],
            [r[task] for r in rows],
            [r["target"] for r in rows] if task == "stance" else None,
        )
        folders[task] = root / task
        save_model(TfidfBackend(TfidfParams(char_ngrams=None), task).fit(data), folders[task])
    return folders


def run(source: Path, model: Path, out: Path, **options: object) -> object:
    spec_keys = {"fmt", "text_col", "id_col", "target_col", "encoding", "delimiter"}
    spec = InputSpec(path=source, **{k: v for k, v in options.items() if k in spec_keys})
    rest = {k: v for k, v in options.items() if k not in spec_keys}
    return score(spec, ScoreOptions(model=str(model), output=out, **{"workers": 1, **rest}))


def errors_of(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "_errors.jsonl").read_text(encoding="utf-8").splitlines()]


def write_inputs(folder: Path, rows: list[dict[str, str]]) -> dict[str, Path]:
    """The same rows as CSV, TSV, JSONL, Parquet, a folder of two files, and a folder of .txt articles."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"csv": write_csv(folder / "a.csv", rows), "tsv": write_csv(folder / "a.tsv", rows, "\t")}
    paths["jsonl"] = folder / "a.jsonl"
    paths["jsonl"].write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    paths["parquet"] = folder / "a.parquet"
    pd.DataFrame(rows).to_parquet(paths["parquet"])
    paths["folder"] = folder / "mixed"
    paths["folder"].mkdir()
    write_csv(paths["folder"] / "1.csv", rows[:7])
    pd.DataFrame(rows[7:]).to_parquet(paths["folder"] / "2.parquet")
    paths["txt"] = folder / "articles"
    paths["txt"].mkdir()
    for row in rows:
        (paths["txt"] / f"{row['id']}.txt").write_text(row["text"], encoding="utf-8")
    return paths


def test_every_input_format_gives_the_same_scores(models: dict[str, Path], tmp_path: Path) -> None:
    rows = make_rows(20, seed=3)
    rows[4]["text"] = "NA"  # a word, not a missing value
    results = {}
    for fmt, path in write_inputs(tmp_path / "in", rows).items():
        summary = run(path, models["topic"], tmp_path / f"out-{fmt}", chunk_size=6)
        frame = pd.read_parquet(tmp_path / f"out-{fmt}")
        assert (summary.rows_in, summary.scored, summary.errors, summary.chunks) == (20, 20, 0, 4), fmt
        frame["id"] = frame["id"].str.removesuffix(".txt")
        results[fmt] = frame.sort_values("id").reset_index(drop=True)
    expected = results.pop("csv")
    assert expected["id"].tolist() == sorted(r["id"] for r in rows)
    assert set(expected.columns) >= {
        "topic",
        "topic_probability",
        "prob_sports",
        "unknown_words",
        "model",
        "toolkit_version",
    }
    assert bool(expected.loc[expected["id"] == rows[4]["id"], "unknown_words"].item())
    for fmt, frame in results.items():
        pd.testing.assert_frame_equal(frame.drop(columns="model"), expected.drop(columns="model"), obj=fmt)


def test_bad_rows_go_to_the_errors_file_and_counts_reconcile(models: dict[str, Path], tmp_path: Path) -> None:
    # a UTF-8 file (valid multi-byte text around) with one bad byte: broken UTF-8, not another encoding
    csv_bytes = (
        "id,text\nok1,match goal team coach caf\u00e9 na\u00efve \u00fcber\n".encode()
        + b"empty,\nbroken,market \xff bank\n"
        b'short\nlong,a,b\nok2,"vaccine\nclinic"\n' + b"ok3," + b"match " * 400 + b"\n"
    )
    (tmp_path / "in.csv").write_bytes(csv_bytes)
    summary = run(tmp_path / "in.csv", models["topic"], tmp_path / "out", chunk_size=2)
    reasons = {e["id"]: e["reason"] for e in errors_of(tmp_path / "out")}
    assert set(pd.read_parquet(tmp_path / "out")["id"]) == {"ok1", "ok2", "ok3"}
    assert reasons["empty"] == "empty text" and "undecodable" in reasons["broken"]
    assert sorted(r for r in reasons.values() if r.startswith("malformed")) == [
        "malformed line 5: expected 2 fields, got 1",
        "malformed line 6: expected 2 fields, got 3",
    ]
    assert (summary.rows_in, summary.scored, summary.errors) == (7, 3, 4)

    lines = [
        '{"id": "j1", "text": "match goal"}',
        "not json",
        "[1, 2]",
        '{"id": "j4"}',
        '{"id": "j5", "text": null}',
    ]
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    summary = run(tmp_path / "in.jsonl", models["topic"], tmp_path / "out2")
    reasons = [e["reason"] for e in errors_of(tmp_path / "out2")]
    assert reasons == [
        "line 2: not valid JSON (Expecting value)",
        "line 3: not a JSON object",
        "missing column 'text'",
        "empty text",
    ]
    assert summary.rows_in == summary.scored + summary.errors == 5


def test_stance_targets_and_usage_errors(models: dict[str, Path], tmp_path: Path) -> None:
    rows = make_rows(12, seed=4)
    rows[2]["target"] = ""
    source = write_csv(tmp_path / "in.csv", rows)
    summary = run(source, models["stance"], tmp_path / "col", target_col="target")
    frame = pd.read_parquet(tmp_path / "col")
    assert summary.errors == 1 and errors_of(tmp_path / "col")[0]["reason"] == "empty target"
    assert frame["target"].tolist() == [r["target"] for r in rows if r["target"]]
    run(source, models["stance"], tmp_path / "fixed", target="nuclear energy", output_format="jsonl")
    records = [json.loads(line) for line in (tmp_path / "fixed" / "part-00000.jsonl").read_text().splitlines()]
    assert len(records) == 12 and {r["target"] for r in records} == {"nuclear energy"} and "stance" in records[0]
    with pytest.raises(DataError, match="is a stance model: pass --target"):
        run(source, models["stance"], tmp_path / "none")
    with pytest.raises(DataError, match="inside the input folder"):
        run(tmp_path, models["topic"], tmp_path / "scores")
    with pytest.raises(DataError, match="no column 'body'"):
        run(source, models["topic"], tmp_path / "body", text_col="body")
    with pytest.raises(DataError, match="holds another scoring job .*pass --overwrite"):
        run(source, models["topic"], tmp_path / "col")
    assert run(source, models["topic"], tmp_path / "col", overwrite=True, output_format="csv").scored == 12
    assert (
        not list((tmp_path / "col").glob("*.parquet")) and len(pd.read_csv(tmp_path / "col" / "part-00000.csv")) == 12
    )


def test_a_full_disk_fails_the_job_and_a_rerun_finishes_it(
    models: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import toolkit.scoring.local as score_module

    source = write_csv(tmp_path / "in.csv", make_rows(50, seed=5))
    real_write, calls = score_module.write_table, []

    def full_disk(table, path, fmt):  # the third part file hits a full disk halfway through
        calls.append(path)
        real_write(table, path, fmt)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(score_module, "write_table", full_disk)
    with pytest.raises(OSError, match="No space left"):
        run(source, models["topic"], tmp_path / "out", chunk_size=10)
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith("_")) == [
        "part-00000.parquet",
        "part-00001.parquet",
    ]
    committed = {p.name: p.stat().st_mtime_ns for p in out.glob("part-*")}
    monkeypatch.setattr(score_module, "write_table", real_write)
    summary = run(source, models["topic"], out, chunk_size=10)
    assert (summary.rows_in, summary.scored, summary.chunks, summary.chunks_resumed) == (50, 50, 5, 2)
    assert all(out.joinpath(name).stat().st_mtime_ns == mtime for name, mtime in committed.items())


@pytest.mark.slow
def test_resume_after_sigkill_mid_chunk_loses_and_duplicates_nothing(models: dict[str, Path], tmp_path: Path) -> None:
    """A real `toolkit score` process with a worker pool, killed with SIGKILL while it scores, then rerun."""
    rows = make_rows(10_000, seed=6)
    source, out = write_csv(tmp_path / "in.csv", rows), tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "toolkit",
        "score",
        str(source),
        "-m",
        str(models["topic"]),
        "-o",
        str(out),
        "--chunk-size",
        "250",
        "--workers",
        "2",
        "--quiet",
        "--json",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    job = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while len(list((out / "_chunks").glob("*.json"))) < 3 and time.monotonic() < deadline and job.poll() is None:
        time.sleep(0.01)
    job.send_signal(signal.SIGKILL)
    job.wait()
    committed = {p.name: p.stat().st_mtime_ns for p in out.glob("part-*")}
    assert 3 <= len(committed) < 40, "the kill must land while the job runs"
    assert not (out / "_summary.json").exists()
    pd.read_parquet(out)  # whatever is visible is complete Parquet (temporaries are hidden)
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["chunks_resumed"] >= 3 and summary["rows_in"] == summary["scored"] == 10_000
    ids = pd.read_parquet(out)["id"]
    assert len(ids) == 10_000 and ids.is_unique and set(ids) == {r["id"] for r in rows}
    assert all(
        out.joinpath(name).stat().st_mtime_ns == mtime
        for name, mtime in committed.items()
        if (out / "_chunks" / name.replace(".parquet", ".json")).exists()
    )
    assert not list(out.glob(".*tmp*"))
    serial = run(source, models["topic"], tmp_path / "serial", chunk_size=250)
    assert serial.scored == 10_000
    pd.testing.assert_frame_equal(pd.read_parquet(out), pd.read_parquet(tmp_path / "serial"))


def test_cli_score_prints_a_json_summary_and_rejects_bad_usage(models: dict[str, Path], tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from toolkit.cli import app

    source = write_csv(tmp_path / "in.csv", make_rows(9, seed=7))
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "score",
            str(source),
            "-m",
            str(models["topic"]),
            "-o",
            str(tmp_path / "o"),
            "--workers",
            "1",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows_in"] == 9
    result = runner.invoke(app, ["score", str(source), "-m", str(models["stance"]), "-o", str(tmp_path / "s")])
    # main() turns this into one line on stderr and exit code 2 (CliRunner calls the app directly)
    assert isinstance(result.exception, DataError) and result.exception.exit_code == 2


def _spark_missing() -> str | None:
    import importlib.util

    if importlib.util.find_spec("pyspark") is None:
        return "pyspark is not installed (pip install 'toolkit[spark]')"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "Java is not installed (Spark needs a JVM)"
    return None


@pytest.mark.slow
@pytest.mark.spark
@pytest.mark.skipif(_spark_missing() is not None, reason=str(_spark_missing()))
def test_spark_engine_writes_what_the_local_engine_writes(
    models: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a JVM that only uses its quick JIT tier starts about twice as fast; plenty for a 30-row job
    monkeypatch.setenv("PYSPARK_SUBMIT_ARGS", "--driver-java-options -XX:TieredStopAtLevel=1 pyspark-shell")
    rows = make_rows(30, seed=8)
    rows[3]["text"] = ""
    rows[5]["id"] = ""  # gets a generated NAME:ROW id in both engines
    pd.DataFrame(rows).to_parquet(tmp_path / "in.parquet")
    local = run(tmp_path / "in.parquet", models["topic"], tmp_path / "local")
    spark = run(tmp_path / "in.parquet", models["topic"], tmp_path / "spark", engine="spark", spark_master="local[1]")
    assert (spark.rows_in, spark.scored, spark.errors) == (local.rows_in, local.scored, local.errors) == (30, 29, 1)
    by_id = {
        name: pd.read_parquet(tmp_path / name).sort_values("id").reset_index(drop=True) for name in ("local", "spark")
    }
    pd.testing.assert_frame_equal(by_id["spark"], by_id["local"])
    assert "in.parquet:5" in set(by_id["spark"]["id"])
    assert [(e["id"], e["reason"]) for e in errors_of(tmp_path / "spark")] == [("r0003", "empty text")]


def test_score_takes_an_mlflow_run_reference(trained, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", trained["uri"])
    monkeypatch.setenv("TOOLKIT_CACHE", str(tmp_path / "cache"))
    ref = trained["topic"].model_uri
    source = write_csv(tmp_path / "in.csv", make_rows(6, seed=9))
    summary = score(InputSpec(path=source), ScoreOptions(model=ref, output=tmp_path / "out", workers=1))
    frame = pd.read_parquet(tmp_path / "out")
    assert summary.scored == 6 and set(frame["model"]) == {ref}
    assert frame["topic"].tolist() == [r["topic"] for r in make_rows(6, seed=9)]
