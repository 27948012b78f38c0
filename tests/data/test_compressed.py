"""Compressed inputs: .gz, .bz2, .xz and a one-file .zip read like the file inside (format by the inner name)."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import json
import lzma
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from tests.helpers import make_rows, write_csv
from toolkit.config import load_config
from toolkit.data.prepare import prepare_dataset
from toolkit.data.readers import detect_format, read_source
from toolkit.errors import DataError

COMPRESS = {".gz": gzip.compress, ".bz2": bz2.compress, ".xz": lzma.compress}


def data_config(source: Path, *extra: str):
    return load_config(None, [f"data.source={source}", *extra]).data  # the sample's columns: id, title, text, topic


def zipped(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return path


@pytest.fixture
def plain(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "plain.csv", make_rows(30))


def test_every_compression_prepares_the_same_rows_and_hashes_the_file_on_disk(plain: Path, tmp_path: Path) -> None:
    raw = plain.read_bytes()
    rows = make_rows(30)
    jsonl = "".join(json.dumps(row) + "\n" for row in rows).encode()
    parquet = io.BytesIO()
    pd.DataFrame(rows).to_parquet(parquet)
    files = {suffix: tmp_path / f"data.csv{suffix}" for suffix in COMPRESS}
    for suffix, path in files.items():
        path.write_bytes(COMPRESS[suffix](raw))
    files["jsonl.xz"] = tmp_path / "data.jsonl.xz"
    files["jsonl.xz"].write_bytes(lzma.compress(jsonl))
    files["parquet.gz"] = tmp_path / "data.parquet.gz"
    files["parquet.gz"].write_bytes(gzip.compress(parquet.getvalue()))
    files["zip"] = zipped(tmp_path / "data.zip", {"folder/": b"", "folder/rows.tsv": raw.replace(b",", b"\t")})
    expected = prepare_dataset(data_config(plain), "topic", tmp_path / "out-plain").fingerprint
    for kind, path in files.items():
        report = prepare_dataset(data_config(path), "topic", tmp_path / f"out-{kind}")
        assert report.fingerprint == expected, kind
        [source] = report.sources
        assert source["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest(), "the hash of the file on disk"
        assert source["bytes"] == path.stat().st_size
        assert source["compression"] == {"gz": "gzip", "xz": "xz", "bz2": "bzip2", "zip": "zip"}[kind.split(".")[-1]]
    assert [detect_format(str(files[k]), "auto") for k in (".gz", "jsonl.xz", "parquet.gz", "zip")] == [
        "csv",
        "jsonl",
        "parquet",
        "tsv",
    ]


def test_a_declared_format_reads_a_compressed_file_without_an_inner_suffix(plain: Path, tmp_path: Path) -> None:
    path = tmp_path / "export.gz"
    path.write_bytes(gzip.compress(plain.read_bytes()))
    with pytest.raises(DataError, match=r"export.gz: unknown file type '.gz'; set format"):
        read_source(str(path), data_config(path))
    frame, report = read_source(str(path), data_config(path, "data.format=csv"))
    assert len(frame) == 30 and report.compression == "gzip"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("two.zip", None, r"two.zip: a .zip must hold exactly one data file; it holds 2: a.csv, b.csv"),
        ("none.zip", {}, r"none.zip: a .zip must hold exactly one data file; it holds 0"),
        ("broken.zip", b"PK not a zip", r"broken.zip: not a readable zip file"),
        ("cut.csv.gz", "cut", r"cut.csv.gz: not a readable gzip file"),
        ("junk.csv.xz", b"not xz at all", r"junk.csv.xz: not a readable xz file"),
    ],
)
def test_unreadable_archives_are_one_line_errors(plain: Path, tmp_path: Path, name, content, message) -> None:
    path = tmp_path / name
    if content is None:
        zipped(path, {"a.csv": plain.read_bytes(), "b.csv": plain.read_bytes(), "__MACOSX/._a.csv": b"x"})
    elif isinstance(content, dict):
        zipped(path, {".hidden": b"x"})
    elif content == "cut":
        path.write_bytes(gzip.compress(plain.read_bytes())[:200])
    else:
        path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        read_source(str(path), data_config(path, "data.format=csv"))
