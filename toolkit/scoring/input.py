"""Stream any scoring input as batches of rows, with bounded memory and nothing dropped in silence.

A row that cannot be scored (undecodable bytes, a missing column, a malformed CSV line or JSON record)
stays in the stream with a `reason`, so the job can count it and write it to its errors file. Every value
is text: "NA", "null" or "nan" are words, never missing values. Generated row ids are `NAME:N` (the file's
path relative to the input folder, or its name, and the row's position in that file), so they are stable
across reruns of the same input. Entries of an input folder that are not regular files (a FIFO, a
broken or looping symlink) are skipped and reported (`skipped_entries`), never read or dropped in silence.

The CSV and Parquet readers are in `toolkit.scoring.tables`; what all readers share (InputSpec, Rows,
column matching, encoding detection) in `toolkit.scoring.rows`, re-exported here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from toolkit.data.readers.core import (
    COMPRESSIONS,
    SUFFIX_FORMATS,
    NotAnObject,
    SourceReport,
    as_text,
    bom_of,
    data_suffix,
    decode_bytes,
    looks_binary,
    parse_record,
    read_data,
)
from toolkit.data.readers.transcode import open_utf8
from toolkit.errors import DataError
from toolkit.scoring.rows import HEAD_BYTES, InputSpec, Rows, match_columns, sniff_encoding
from toolkit.scoring.tables import read_csv, read_parquet

__all__ = ["HEAD_BYTES", "INPUT_FORMATS", "InputSpec", "Rows", "chunked", "input_files", "iter_rows", "skipped_entries"]

INPUT_FORMATS = ("auto", "csv", "tsv", "jsonl", "parquet", "txt")


def input_files(spec: InputSpec) -> list[tuple[Path, str]]:
    """The files to read, in a stable order, each with its format; a folder of only .txt is articles."""
    path = spec.path
    if spec.fmt not in INPUT_FORMATS:
        raise DataError(f"unknown input format '{spec.fmt}'; use one of {', '.join(INPUT_FORMATS)}")
    if not path.exists():
        raise DataError(f"input not found: {path}")
    if not path.is_file() and not path.is_dir():
        raise DataError(f"{path}: not a regular file (a FIFO, device or socket); pass a file or a folder")
    if path.is_file():
        suffix = data_suffix(path)  # through compression: data.csv.gz is a CSV
        fmt = spec.fmt if spec.fmt != "auto" else "txt" if suffix == ".txt" else SUFFIX_FORMATS.get(suffix)
        if fmt is None:
            raise DataError(f"{path}: unknown file type '{path.suffix}'; pass --format (csv, tsv, jsonl, parquet, txt)")
        return [(path, fmt)]
    files = sorted(p for p in path.rglob("*") if p.is_file() and not _hidden(p.relative_to(path)))
    if spec.fmt != "auto":
        suffixes = {".txt"} if spec.fmt == "txt" else {k for k, v in SUFFIX_FORMATS.items() if v == spec.fmt}
        chosen = [(p, spec.fmt) for p in files if data_suffix(p) in suffixes]
    elif files and all(p.suffix.lower() == ".txt" for p in files):
        chosen = [(p, "txt") for p in files]
    else:
        chosen = [
            (p, SUFFIX_FORMATS[data_suffix(p)])
            for p in files
            if data_suffix(p) in SUFFIX_FORMATS and data_suffix(p) != ".txt"
        ]
    if not chosen:
        raise DataError(f"{path}: no .csv, .tsv, .jsonl, .parquet or .txt files found")
    return chosen


def _hidden(relative: Path) -> bool:
    return any(part.startswith((".", "_")) for part in relative.parts)


def skipped_entries(spec: InputSpec) -> list[dict[str, str]]:
    """Entries of an input folder named like data files that are not regular files, with why: a FIFO would
    block the job, a looping or broken symlink cannot be read. They are skipped, and the job reports them."""
    if not spec.path.is_dir():
        return []
    skipped = []
    for entry in sorted(spec.path.rglob("*")):
        relative = entry.relative_to(spec.path)
        if _hidden(relative) or entry.is_file() or entry.is_dir() or not _data_name(entry):
            continue
        kind = "FIFO" if entry.is_fifo() else "not a regular file"
        skipped.append({"path": str(relative), "reason": "broken or looping symlink" if entry.is_symlink() else kind})
    return skipped


def _data_name(path: Path) -> bool:
    suffixes = [suffix.lower() for suffix in path.suffixes[-2:]]
    return bool(suffixes) and (suffixes[-1] in SUFFIX_FORMATS or suffixes[-1] in COMPRESSIONS)


def iter_rows(spec: InputSpec, batch_rows: int) -> Iterator[tuple[Rows, float]]:
    """Every row of the input in order, in batches, each with the fraction of input bytes read so far."""
    files = input_files(spec)
    sizes = [max(path.stat().st_size, 1) for path, _ in files]
    total, before = float(sum(sizes)), 0.0
    if files[0][1] == "txt":
        yield from read_txt_files(spec, [path for path, _ in files], batch_rows)
        return
    for number, ((path, fmt), size) in enumerate(zip(files, sizes, strict=True)):
        name = path.name if path == spec.path else str(path.relative_to(spec.path))
        reader = {"parquet": read_parquet, "jsonl": read_jsonl}.get(fmt, read_csv)
        for rows, fraction in reader(path, name, fmt, spec, batch_rows, number == 0):
            yield rows, (before + fraction * size) / total
        before += size


def chunked(batches: Iterator[tuple[Rows, float]], chunk_rows: int) -> Iterator[tuple[Rows, float]]:
    """Re-cut batches into chunks of exactly `chunk_rows` rows (the last may be shorter)."""
    buffer, fraction = Rows(), 0.0
    for rows, fraction in batches:
        buffer.extend(rows)
        while len(buffer) >= chunk_rows:
            yield buffer.take(chunk_rows), fraction
    if len(buffer):
        yield buffer, 1.0


def read_jsonl(
    path: Path, name: str, fmt: str, spec: InputSpec, batch_rows: int, first: bool
) -> Iterator[tuple[Rows, float]]:
    """One JSON object per line; a line that is not one is an error row with its line number. The first
    record plays the header's role: a column it lacks is a wrong flag (in the first file), later it is a
    bad row."""
    size = max(path.stat().st_size, 1)
    encoding, _ = sniff_encoding(path, spec)
    wanted_checked = False
    rows, count = Rows(), 0
    with open_utf8(path) as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            record, reason = _parse_json_line(line, number, encoding)
            if record is not None and not wanted_checked:
                match_columns(spec, list(record), path, first)
                wanted_checked = True
            id_value = record.get(spec.id_col or "id") if record else None
            rows.ids.append(as_text(id_value) if id_value not in (None, "") else f"{name}:{count}")
            rows.texts.append(as_text(record[spec.text_col]) if record and spec.text_col in record else None)
            target = record.get(spec.target_col) if record and spec.target_col else None
            rows.targets.append(as_text(target) if target is not None else None)
            if reason is None and record is not None:
                missing = [c for c in (spec.text_col, spec.target_col, spec.id_col) if c and c not in record]
                reason = f"missing column {missing[0]!r}" if missing else None
            rows.reasons.append(reason)
            rows.sources.append(name)
            count += 1
            if len(rows) >= batch_rows:
                yield rows, handle.tell() / size
                rows = Rows()
    if len(rows):
        yield rows, 1.0


def _parse_json_line(line: bytes, number: int, encoding: str) -> tuple[dict[str, Any] | None, str | None]:
    try:
        text = line.decode(encoding)
    except UnicodeDecodeError as exc:
        return None, f"undecodable bytes on line {number} (as {encoding}, byte {exc.start})"
    try:
        return parse_record(text), None
    except json.JSONDecodeError as exc:
        return None, f"line {number}: not valid JSON ({exc.msg})"
    except NotAnObject:
        return None, f"line {number}: not a JSON object"


def read_txt_files(spec: InputSpec, paths: list[Path], batch_rows: int) -> Iterator[tuple[Rows, float]]:
    """A folder of articles: one row per .txt file, its id the path relative to the folder."""
    rows = Rows()
    for number, path in enumerate(paths, start=1):
        name = path.name if path == spec.path else str(path.relative_to(spec.path))
        text, reason = _article_text(read_data(path), spec.encoding)
        rows.extend(Rows(ids=[name], texts=[text], targets=[None], reasons=[reason], sources=[name]))
        if len(rows) >= batch_rows:
            yield rows, number / len(paths)
            rows = Rows()
    if len(rows):
        yield rows, 1.0


def _article_text(raw: bytes, encoding: str | None) -> tuple[str | None, str | None]:
    """One .txt article as text, or why it cannot be read: a byte-order mark decides the codec, else the
    given --encoding or UTF-8 (strict: an article with undecodable bytes is an error row)."""
    if looks_binary(raw):
        return None, "binary file, not text"
    report = SourceReport(path="")
    if bom_of(raw) is None:
        encoding = encoding or "utf-8"
        try:
            return raw.decode(encoding), None
        except UnicodeDecodeError as exc:
            return None, f"undecodable bytes (as {encoding}, byte {exc.start}; pass --encoding)"
        except LookupError as exc:
            raise DataError(f"unknown encoding '{encoding}'") from exc
    try:
        return decode_bytes(raw, None, report), None
    except DataError as exc:
        return None, str(exc).removeprefix(": ")
