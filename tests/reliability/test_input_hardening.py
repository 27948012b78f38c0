"""Input hardening (issue 18, cases 7-11), through the real CLI.

Every reader (prepare, evaluate, score, predict) takes BOM-marked UTF-16 (LE and BE) and UTF-8 with a BOM,
compressed or not; a bad file is one `error:` line, a bad row an `_errors.jsonl` row; a huge CSV field,
a full disk at job start, a FIFO, a symlink loop, an empty target and a duplicated column each get a
decided answer. Each table row is one case of the issue.
"""

from __future__ import annotations

import errno
import gzip
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import make_rows, write_csv
from tests.reliability.reliability_helpers import CliResult, assert_one_line_error, snapshot

ROWS = make_rows(60)
ODD = " café — naïve ‘quoted’ ő"  # every UTF-16 byte of it is also a Windows-1252 character
ODD_ROWS = [dict(row, text=row["text"] + ODD) for row in ROWS]

# name -> (byte-order mark, codec of the bytes after it)
BOMS = {
    "utf-16-le": (b"\xff\xfe", "utf-16-le"),
    "utf-16-be": (b"\xfe\xff", "utf-16-be"),
    "utf-8-bom": (b"\xef\xbb\xbf", "utf-8"),
}


def csv_text(rows: list[dict[str, str]]) -> str:
    lines = [",".join(rows[0])] + [",".join(f'"{value}"' for value in row.values()) for row in rows]
    return "\n".join(lines) + "\n"


def jsonl_text(rows: list[dict[str, str]]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def write_encoded(path: Path, text: str, bom: str) -> str:
    """`text` with a byte-order mark, gzip-compressed when the name ends in .gz."""
    mark, codec = BOMS[bom]
    data = mark + text.encode(codec)
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path.name


def score_args(source: str, model: Path, *extra: str) -> list[str]:
    return [
        "score",
        source,
        "-m",
        str(model),
        "-o",
        "scored",
        "-q",
        "--json",
        "--workers",
        "1",
        *extra,
    ]  # no pool: the readers are what is tested


def summary_of(result: CliResult) -> dict:
    assert result.code == 0, result.stderr
    assert "Traceback" not in result.stderr
    return json.loads(result.stdout)


def errors_of(folder: Path) -> list[dict]:
    path = folder / "scored" / "_errors.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


# ---------------------------------------------------------------------------------------------------------
# Case 7: a byte-order mark decides the encoding, in every reader, compressed or not.

FILE_FORMATS = {"csv": csv_text, "jsonl": jsonl_text, "csv.gz": csv_text}
ENCODED = [(command, fmt, bom) for command in ("prepare", "evaluate", "score") for fmt in FILE_FORMATS for bom in BOMS]
ENCODED += [(command, "txt", bom) for command in ("predict", "score") for bom in BOMS]


@pytest.mark.parametrize(("command", "fmt", "bom"), ENCODED, ids=["-".join(case) for case in ENCODED])
def test_byte_order_mark_decides_the_encoding(
    command: str, fmt: str, bom: str, cli, fast_store: Path, model_dirs
) -> None:
    if fmt == "txt":
        source = write_encoded(fast_store / "article.txt", ODD_ROWS[0]["text"], bom)
    else:
        source = write_encoded(fast_store / f"data.{fmt}", FILE_FORMATS[fmt](ODD_ROWS), bom)
    topic = str(model_dirs["topic"])
    if command == "prepare":
        result = cli("prepare", source, "--output", "prepared", "--name", "bom", "--json")
        assert result.code == 0, result.stderr
        from toolkit.data.prepare import load_prepared

        texts = {text for split in load_prepared(fast_store / "prepared").splits.values() for text in split.texts}
        assert (
            texts == {row["title"] + "\n\n" + row["text"] for row in ODD_ROWS}
            or texts == {row["text"] for row in ODD_ROWS}
            or all(text.endswith(ODD) for text in texts)
        ), sorted(texts)[:2]
        assert len(texts) == len(ODD_ROWS)
    elif command == "evaluate":
        result = cli("evaluate", "--data", source, "--model", topic, "--no-log", "--json")
        assert result.code == 0, result.stderr
    elif command == "predict":
        result = cli("predict", source, "--model", topic, "--json")
        assert result.code == 0, result.stderr
        assert json.loads(result.stdout)[0]["predictions"][0]["label"] in {"sports", "economy", "health"}
    else:
        summary = summary_of(cli(*score_args(source, model_dirs["topic"])))
        expected = 1 if fmt == "txt" else len(ODD_ROWS)
        assert (summary["rows_in"], summary["scored"], summary["errors"]) == (expected, expected, 0), errors_of(
            fast_store
        )


# ---------------------------------------------------------------------------------------------------------
# Case 8: a bad file stops `score` with exit 2 and nothing left behind; a bad row goes to _errors.jsonl.


def parquet_with(column: object) -> Callable[[Path], str]:
    def make(folder: Path) -> str:
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table({"id": ["a", "b", "c"], "text": column}), folder / "data.parquet")
        return "data.parquet"

    return make


def write_bytes(name: str, data: bytes) -> Callable[[Path], str]:
    def make(folder: Path) -> str:
        (folder / name).write_bytes(data)
        return name

    return make


def binary_text_column() -> object:
    import pyarrow as pa

    return pa.array([b"goal match team", b"bad \xff\xfe bytes \xc3", None], pa.binary())


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00\x00" + bytes(range(256)) * 8
DEEP = '{"id": "deep", "text": ' + "[" * 100_000 + "]" * 100_000 + "}\n"
GOOD_JSONL = jsonl_text(ROWS[:4])

# case -> (input maker, exit code, error fragment or the reasons expected in _errors.jsonl)
SCORE_CASES: dict[str, tuple[Callable[[Path], str], int, str | list[str]]] = {
    "parquet_list_text": (lambda f: parquet_with([["a"], ["b"], ["c"]])(f), 2, "column 'text' holds list<"),
    "parquet_struct_text": (
        lambda f: parquet_with([{"x": "a"}, {"x": "b"}, {"x": "c"}])(f),
        2,
        "column 'text' holds struct<",
    ),
    "parquet_binary_bad_utf8": (
        lambda f: parquet_with(binary_text_column())(f),
        0,
        ["undecodable bytes in column 'text'", "missing value in column 'text'"],
    ),
    "fifo_input": (lambda f: os.mkfifo(f / "pipe.csv") or "pipe.csv", 2, "pipe.csv: not a regular file"),
    "png_named_csv": (write_bytes("image.csv", PNG), 2, "image.csv: looks like a binary file, not text"),
    "utf16_csv": (lambda f: write_encoded(f / "utf16.csv", csv_text(ODD_ROWS), "utf-16-le"), 0, []),
    "deeply_nested_jsonl": (
        write_bytes("deep.jsonl", (GOOD_JSONL + DEEP + GOOD_JSONL).encode()),
        0,
        ["line 5: not valid JSON (nested too deeply)"],
    ),
}


@pytest.mark.parametrize("case", list(SCORE_CASES))
def test_score_bad_files_and_rows(case: str, cli, fast_store: Path, model_dirs) -> None:
    make, code, expected = SCORE_CASES[case]
    source = make(fast_store)
    before = snapshot(fast_store)
    result = cli(*score_args(source, model_dirs["topic"]))
    if code:
        assert_one_line_error(result, code, str(expected))
        assert snapshot(fast_store) == before and not (fast_store / "scored").exists()
        return
    summary = summary_of(result)
    assert summary["rows_in"] == summary["scored"] + summary["errors"]
    reasons = [e["reason"] for e in errors_of(fast_store)]
    assert len(reasons) == len(expected) and all(map(str.startswith, reasons, expected)), reasons


def test_prepare_deeply_nested_jsonl_is_one_error_line(cli, fast_store: Path) -> None:
    (fast_store / "deep.jsonl").write_text(GOOD_JSONL + DEEP, encoding="utf-8")
    assert_one_line_error(cli("prepare", "deep.jsonl", "--output", "prepared"), 2, "deep.jsonl:5: not valid JSON")


# ---------------------------------------------------------------------------------------------------------
# Case 9: a CSV field bigger than the streaming reader's block (1 MiB) is read like any other.

HUGE = " ".join(["goal match team coach"] * 200_000)  # about 4.4 MB, with quoted newlines below
HUGE_ROWS = [*ROWS[:30], dict(ROWS[30], text=HUGE.replace("coach goal", "coach\ngoal", 50)), *ROWS[31:]]


def huge_csv(folder: Path, name: str) -> str:
    text = csv_text(HUGE_ROWS[:20]) + '"bad","row"\n' + csv_text(HUGE_ROWS[20:]).split("\n", 1)[1]
    data = text.encode("utf-8")
    (folder / name).write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    return name


@pytest.mark.parametrize("name", ["huge.csv", "huge.csv.gz"])
def test_score_reads_a_field_over_the_block_size(name: str, cli, fast_store: Path, model_dirs) -> None:
    source = huge_csv(fast_store, name)
    summary = summary_of(cli(*score_args(source, model_dirs["topic"], "--chunk-size", "7")))
    assert (summary["rows_in"], summary["scored"], summary["errors"]) == (len(HUGE_ROWS) + 1, len(HUGE_ROWS), 1)
    import pandas as pd

    ids = list(pd.read_parquet(fast_store / "scored")["id"])
    assert sorted(ids) == sorted(row["id"] for row in HUGE_ROWS) and len(set(ids)) == len(ids)
    assert [e["reason"] for e in errors_of(fast_store)] == ["malformed line 22: expected 6 fields, got 2"]


def test_prepare_reads_the_same_huge_field(cli, fast_store: Path) -> None:
    source = huge_csv(fast_store, "huge.csv")
    result = cli("prepare", source, "--output", "prepared", "--name", "huge", "--json")
    assert result.code == 0, result.stderr
    from toolkit.data.prepare import load_prepared

    texts = [text for split in load_prepared(fast_store / "prepared").splits.values() for text in split.texts]
    assert len(texts) == len(HUGE_ROWS) and max(map(len, texts)) > len(HUGE)  # the short line: dropped, counted
    assert json.loads(result.stdout)["rows_read"] == len(HUGE_ROWS) + 1


# ---------------------------------------------------------------------------------------------------------
# Case 10: a disk that fills at the start of a job leaves a folder the same command (or --overwrite) accepts.


def fail_once(monkeypatch: pytest.MonkeyPatch, module: object, name: str) -> None:
    """The first call of `module.name` raises 'No space left on device'; later calls work."""
    original = getattr(module, name)
    calls = {"n": 0}

    def flaky(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, flaky)


def fill_at_job_file(monkeypatch: pytest.MonkeyPatch) -> None:
    import toolkit.scoring.output as output

    fail_once(monkeypatch, output, "write_atomic")


def fill_at_first_part(monkeypatch: pytest.MonkeyPatch) -> None:
    import toolkit.scoring.local as local

    fail_once(monkeypatch, local, "write_table")


def leave_bookkeeping(monkeypatch: pytest.MonkeyPatch) -> None:
    """What an older version left: _chunks/ and _errors/ but no _job.json."""
    (Path("scored") / "_chunks").mkdir(parents=True)
    (Path("scored") / "_errors").mkdir()
    (Path("scored") / "_chunks" / ".part-00000.json.tmp-1").write_text("")


DISK_FULL = {"job_file": fill_at_job_file, "first_part": fill_at_first_part, "leftover_folder": leave_bookkeeping}


@pytest.mark.parametrize("rerun", [[], ["--overwrite"]], ids=["same_command", "overwrite"])
@pytest.mark.parametrize("where", list(DISK_FULL))
def test_disk_full_at_job_start_then_rerun(
    where: str, rerun: list[str], cli, fast_store: Path, model_dirs, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_csv(fast_store / "good.csv", ROWS)
    args = score_args("good.csv", model_dirs["topic"], "--workers", "1")
    with monkeypatch.context() as patch:
        DISK_FULL[where](patch)
        if where != "leftover_folder":
            assert_one_line_error(cli(*args), 1, "No space left on device")
    summary = summary_of(cli(*args, *rerun))
    assert (summary["rows_in"], summary["scored"], summary["errors"]) == (len(ROWS), len(ROWS), 0)


# ---------------------------------------------------------------------------------------------------------
# Case 11: decided behaviours for odd paths, targets and headers.


def make_fifo(folder: Path) -> str:
    os.mkfifo(folder / "pipe.txt")
    return "pipe.txt"


ARTICLE = "the talks deserve our backing and we support them"

# case -> (arguments after `predict`, exit code, fragment)
PREDICT_CASES: dict[str, tuple[Callable[[Path, dict], list[str]], int, str]] = {
    "fifo": (lambda f, m: [make_fifo(f), "-m", str(m["topic"])], 2, "pipe.txt: not a regular file"),
    "dev_null": (lambda f, m: ["/dev/null", "-m", str(m["topic"])], 2, "/dev/null: not a regular file"),
    "empty_target": (lambda f, m: ["article.txt", "-m", str(m["stance"]), "--target", ""], 2, "--target is empty"),
    "blank_target": (lambda f, m: ["article.txt", "-m", str(m["stance"]), "--target", "   "], 2, "--target is empty"),
    "target_for_topic_model": (
        lambda f, m: ["article.txt", "-m", str(m["topic"]), "--target", "nuclear energy"],
        2,
        "--target is for stance models",
    ),
}


@pytest.mark.parametrize("case", list(PREDICT_CASES))
def test_predict_decided_errors(case: str, cli, fast_store: Path, model_dirs) -> None:
    (fast_store / "article.txt").write_text(ARTICLE)
    make, code, fragment = PREDICT_CASES[case]
    assert_one_line_error(cli("predict", *make(fast_store, model_dirs)), code, fragment)


SCORE_TARGETS = {"empty": "", "blank": "  "}


@pytest.mark.parametrize("target", list(SCORE_TARGETS))
def test_score_empty_target_is_an_error(target: str, cli, fast_store: Path, model_dirs) -> None:
    write_csv(fast_store / "good.csv", ROWS)
    result = cli(*score_args("good.csv", model_dirs["stance"], "--target", SCORE_TARGETS[target]))
    assert_one_line_error(result, 2, "--target is empty")
    assert not (fast_store / "scored").exists()


SPELLINGS = ["arms control talks", "Arms Control Talks ", "  ARMS   control talks", "Arms\tControl Talks"]


def test_predict_target_spellings_are_one_target(cli, fast_store: Path, model_dirs) -> None:
    (fast_store / "article.txt").write_text(ARTICLE)
    answers = []
    for spelling in SPELLINGS:
        result = cli("predict", "article.txt", "-m", str(model_dirs["stance"]), "--target", spelling, "--json")
        record = json.loads(result.stdout)[0]["predictions"][0]
        assert not record.get("unseen_target") and "warning" not in record, record
        answers.append(record["probabilities"])
    assert all(answer == answers[0] for answer in answers), answers


def test_score_target_spellings_are_one_target(cli, fast_store: Path, model_dirs) -> None:
    import pandas as pd

    rows = [{"id": f"r{i}", "text": ARTICLE, "target": spelling} for i, spelling in enumerate(SPELLINGS)]
    write_csv(fast_store / "targets.csv", rows)
    summary_of(cli(*score_args("targets.csv", model_dirs["stance"], "--target-col", "target")))
    scored = pd.read_parquet(fast_store / "scored")
    assert scored["stance_probability"].nunique() == 1 and not scored["unseen_target"].any(), scored


def duplicate_csv(folder: Path) -> str:
    (folder / "dup.csv").write_text("id,text,topic,text\n1,goal match,sports,bank rates\n2,bank,economy,goal\n")
    return "dup.csv"


def duplicate_parquet(folder: Path) -> str:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_arrays(
        [pa.array(["1", "2"]), pa.array(["a", "b"]), pa.array(["c", "d"])], ["id", "text", "text"]
    )
    pq.write_table(table, folder / "dup.parquet")
    return "dup.parquet"


DUPLICATES = [(command, make) for command in ("prepare", "evaluate", "score") for make in ("csv", "parquet")]
DUPLICATE_MAKERS = {"csv": duplicate_csv, "parquet": duplicate_parquet}


@pytest.mark.parametrize(("command", "fmt"), DUPLICATES, ids=["-".join(case) for case in DUPLICATES])
def test_duplicate_column_is_an_error(command: str, fmt: str, cli, fast_store: Path, model_dirs) -> None:
    source = DUPLICATE_MAKERS[fmt](fast_store)
    args = {
        "prepare": ["prepare", source, "--output", "prepared"],
        "evaluate": ["evaluate", "--data", source, "--model", str(model_dirs["topic"]), "--no-log"],
        "score": score_args(source, model_dirs["topic"]),
    }[command]
    before = snapshot(fast_store)
    assert_one_line_error(cli(*args), 2, "column 'text' appears 2 times")
    assert snapshot(fast_store) == before


def odd_entries(folder: Path, suffix: str) -> None:
    """A symlink loop and a FIFO beside the real files of a folder input."""
    os.symlink(f"loop{suffix}", folder / f"loop{suffix}")
    os.mkfifo(folder / f"pipe{suffix}")


def test_score_folder_reports_skipped_entries(cli, fast_store: Path, model_dirs) -> None:
    (fast_store / "in").mkdir()
    write_csv(fast_store / "in" / "good.csv", ROWS)
    odd_entries(fast_store / "in", ".csv")
    result = cli(*score_args("in", model_dirs["topic"]))
    summary = summary_of(result)
    assert summary["rows_in"] == len(ROWS)
    assert sorted(s["path"] for s in summary["skipped_files"]) == ["loop.csv", "pipe.csv"]
    assert "skipped 2 entries" in result.stderr and "loop.csv" in result.stderr


def test_prepare_txt_folder_reports_skipped_entries(cli, fast_store: Path) -> None:
    for row in ROWS:
        folder = fast_store / "articles" / row["topic"]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{row['id']}.txt").write_text(row["text"])
    odd_entries(fast_store / "articles" / "sports", ".txt")
    result = cli(
        "prepare",
        "articles",
        "--output",
        "prepared",
        "--name",
        "odd",
        "--label-col",
        "label",
        "--json",
        "--set",
        "data.columns.title=null",
    )
    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["rows_read"] == len(ROWS)
    assert any("skipped 2 entries that are not regular files" in note for note in report["notes"]), report["notes"]
