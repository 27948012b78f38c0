"""Property-based tests: arbitrary unicode, control characters and CSV quoting never crash the readers or
prepare, and no row is lost without being reported."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from toolkit.config import DataConfig
from toolkit.errors import DataError

# Any character but NUL (a NUL makes a file read as binary, refused with its own message; tested apart)
# and lone surrogates (not encodable as UTF-8). Control characters, U+2028, U+0085, BOMs all included.
CELL = st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), max_size=40)
LABELS = st.sampled_from(["NA", "null", "None", "n/a", "nan", "sports", "économie", "a,b", 'say "hi"', " "])
ROWS = st.lists(st.tuples(CELL, LABELS), min_size=1, max_size=25)
DIALECTS = st.fixed_dictionaries(
    {
        "delimiter": st.sampled_from([",", ";", "\t", "|"]),
        "quoting": st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]),
        "lineterminator": st.sampled_from(["\n", "\r\n"]),
    }
)
CONFIG = DataConfig(columns={"text": "text", "label": "label"})
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def write_rows(path: Path, rows: list[tuple[str, str]], dialect: dict) -> None:
    """Write a valid CSV. Python < 3.12's writer leaves a bare '\r' unquoted (other readers, rightly, take
    it for a line break), so such rows are written with every field quoted."""
    if any("\r" in cell for row in rows for cell in row):
        dialect = {**dialect, "quoting": csv.QUOTE_ALL}
    buffer = io.StringIO()
    writer = csv.writer(buffer, **dialect)
    writer.writerow(["text", "label"])
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode("utf-8"))


@FAST
@given(rows=ROWS, dialect=DIALECTS)
@example(
    rows=[("a;b;c|d;e", "n/a"), ("f;g", "NA")],
    dialect={"delimiter": ",", "quoting": 0, "lineterminator": "\n"},
)
def test_csv_reader_returns_every_row_exactly(rows, dialect, tmp_path: Path) -> None:
    from toolkit.data.readers import read_source

    path = tmp_path / "data.csv"
    write_rows(path, rows, dialect)
    frame, report = read_source(str(path), CONFIG)
    assert report.rows == len(rows)
    assert list(zip(frame["text"], frame["label"], strict=True)) == rows


@FAST
@given(rows=ROWS)
@example(rows=[("line\u2028separator\x85next\x1cfile", "null")])
def test_jsonl_reader_returns_every_row_exactly(rows, tmp_path: Path) -> None:
    from toolkit.data.readers import read_source

    path = tmp_path / "data.jsonl"
    lines = [json.dumps({"text": text, "label": label}, ensure_ascii=False) for text, label in rows]
    path.write_bytes("\n".join(lines).encode("utf-8"))
    frame, _ = read_source(str(path), CONFIG)
    assert list(zip(frame["text"], frame["label"], strict=True)) == rows


@FAST
@given(data=st.binary(max_size=400))
def test_arbitrary_bytes_never_crash_the_reader(data: bytes, tmp_path: Path) -> None:
    from toolkit.data.readers import read_source

    path = tmp_path / "data.csv"
    path.write_bytes(b"text,label\n" + data)
    try:
        frame, report = read_source(str(path), CONFIG)
    except DataError:
        return
    assert report.rows == len(frame)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=ROWS, dialect=DIALECTS, seed=st.integers(0, 3))
def test_prepare_accounts_for_every_row(rows, dialect, seed, tmp_path: Path) -> None:
    import tempfile

    from toolkit.data.prepare import load_prepared, prepare_dataset

    example = Path(tempfile.mkdtemp(dir=tmp_path))  # tmp_path is shared by every generated example
    source = example / "data.csv"
    write_rows(source, rows, dialect)
    output = example / "prepared"
    cfg = DataConfig(
        source=[str(source)],
        columns={"text": "text", "label": "label"},
        split={"validation": 0.2, "test": 0.2, "seed": seed},
    )
    try:
        report = prepare_dataset(cfg, "topic", output)
    except DataError as exc:
        assert "no usable rows" in str(exc) or "only one label" in str(exc) or "train split is empty" in str(exc)
        assert not output.exists()
        return
    kept = sum(sum(counts.values()) for counts in report.counts.values())
    assert report.rows_read == len(rows)
    assert kept + sum(report.dropped.values()) == len(rows), (report.counts, report.dropped)
    prepared = load_prepared(output)
    texts = [text for split in prepared.splits.values() for text in split.texts]
    assert len(texts) == kept
    assert set(texts) <= {text for text, _ in rows}  # texts kept exactly as written ("NA" stays "NA")


def test_nul_character_is_refused_as_binary(tmp_path: Path) -> None:
    from toolkit.data.readers import read_source

    path = tmp_path / "data.csv"
    path.write_bytes(b"text,label\nab\x00cd,x\n")
    with pytest.raises(DataError, match="looks like a binary file"):
        read_source(str(path), CONFIG)
