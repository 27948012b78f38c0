"""Read a whole source into a table of strings (for prepare and evaluate), with a report of what was odd.

Every value is read as text: "NA", "null" or "nan" in a file are words, not missing values. Decoding,
delimiter sniffing and JSONL records come from `toolkit.data.readers.core`, shared with scoring's
streaming reader.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING

from toolkit.data.readers.core import (
    SUFFIX_FORMATS,
    NotAnObject,
    SourceReport,
    as_text,
    check_unique,
    compression_of,
    data_suffix,
    decode_bytes,
    first_record,
    looks_binary,
    parse_record,
    read_data,
    seekable_data,
    sniff_delimiter,
)
from toolkit.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

    from toolkit.data.config import DataConfig


def detect_format(source: str, declared: str) -> str:
    """The reader to use: the declared one, a folder of .txt files, or the file's suffix (looking through
    a compression suffix: data.csv.gz is a CSV)."""
    if declared != "auto":
        return declared
    path = Path(source)
    if path.is_dir():
        return "txt_folder"
    if not path.exists():
        raise DataError(f"input not found: {source}")
    suffix = data_suffix(path)
    fmt = SUFFIX_FORMATS.get(suffix)
    if fmt is None:
        raise DataError(
            f"{source}: unknown file type '{suffix or path.suffix}'; set format (csv, tsv, jsonl, parquet, hf)"
        )
    return fmt


def read_delimited(text: str, fmt: str, cfg: DataConfig, report: SourceReport) -> pd.DataFrame:
    """Parse CSV/TSV text with quoted multi-line fields; every cell stays a string."""
    import pandas as pd

    expected = needed_columns(cfg)
    header = text[_line_offset(text, cfg.skip_rows) :]
    named = cfg.header and cfg.column_names is None
    delimiter = sniff_delimiter(header, fmt, cfg.delimiter, expected if named else None)
    if named:  # pandas would rename a second 'text' column to 'text.1' and read the first in silence
        check_unique(first_record(header, delimiter), expected, report.path)
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skiprows=cfg.skip_rows,
            header=0 if cfg.header else None,
            names=cfg.column_names,
            skip_blank_lines=True,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, csv.Error) as exc:
        detail = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{report.path}: cannot parse as delimited text ({detail})") from exc
    if not cfg.header and cfg.column_names is None:
        frame.columns = [f"column_{i}" for i in range(frame.shape[1])]
    report.delimiter = delimiter
    return frame


def needed_columns(cfg: DataConfig) -> list[str]:
    """The columns prepare and evaluate read from a source (each must appear once)."""
    columns = cfg.columns
    return [c for c in (columns.text, columns.label, columns.title, columns.target, columns.id, columns.split) if c]


def _line_offset(text: str, lines: int) -> int:
    """Where line number `lines` (0-based) starts: the header after `skip_rows` junk lines."""
    offset = 0
    for _ in range(lines):
        found = text.find("\n", offset)
        if found < 0:
            return len(text)
        offset = found + 1
    return offset


def read_jsonl(text: str, report: SourceReport) -> pd.DataFrame:
    """One JSON object per line; a bad line is an error with its line number, never skipped."""
    import pandas as pd

    records = []
    # Only "\n" ends a JSON line (see parse_record).
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = parse_record(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{report.path}:{number}: not valid JSON ({exc.msg})") from exc
        except NotAnObject:
            raise DataError(f"{report.path}:{number}: each line must be a JSON object") from None
        records.append({key: as_text(value) for key, value in record.items()})
    return pd.DataFrame.from_records(records)


def as_strings(frame: pd.DataFrame) -> pd.DataFrame:
    """Every cell as text; a real missing value (None/NaN/NA in Parquet or Arrow) becomes "" so that it is
    counted as empty, never the word "None" or "nan"."""
    return frame.astype(object).where(frame.notna(), "").astype(str)


def read_txt_folder(root: Path, encoding: str | None, report: SourceReport) -> pd.DataFrame:
    """root/LABEL/*.txt -> rows (id = relative path, text, label = folder name)."""
    import pandas as pd

    rows, skipped = [], []
    for path in sorted(root.glob("*/*.txt")):
        if not path.is_file():  # a FIFO would block the read, a symlink loop fail it
            skipped.append(str(path.relative_to(root)))
            continue
        file_report = SourceReport(path=str(path))
        text = decode_bytes(path.read_bytes(), encoding, file_report)
        report.replaced_bytes += file_report.replaced_bytes
        report.notes.extend(f"{path.name}: {note}" for note in file_report.notes if "U+FFFD" in note)
        rows.append({"id": str(path.relative_to(root)), "text": text, "label": path.parent.name})
    if skipped:
        report.notes.append(
            f"skipped {len(skipped)} entries that are not regular files (FIFO, device, broken or looping "
            f"symlink): {', '.join(skipped[:5])}{' ...' if len(skipped) > 5 else ''}"
        )
    if not rows:
        raise DataError(f"{root}: no LABEL/*.txt files found (expected one subfolder of .txt files per label)")
    return pd.DataFrame.from_records(rows)


def read_parquet(path: Path, report: SourceReport) -> pd.DataFrame:
    """A Parquet file as strings; a column name that appears twice is an error (pyarrow cannot pick one)."""
    import pandas as pd
    import pyarrow.parquet as pq

    data = seekable_data(path)
    try:
        names = pq.ParquetFile(data).schema_arrow.names
        if not isinstance(data, Path):
            data.seek(0)
    except Exception as exc:
        raise DataError(f"{report.path}: not a readable Parquet file ({exc})") from exc
    check_unique(names, names, report.path)
    try:
        return as_strings(pd.read_parquet(data))
    except Exception as exc:
        raise DataError(f"{report.path}: not a readable Parquet file ({exc})") from exc


def read_hf(source: str, report: SourceReport) -> pd.DataFrame:
    """Anything `datasets.load_dataset` reads (a hub id for a user online, or a local path); splits kept."""
    import pandas as pd

    from toolkit._deps import require

    datasets = require("datasets", "core")
    try:
        loaded = datasets.load_dataset(source)
    except Exception as exc:
        raise DataError(f"{source}: datasets.load_dataset failed ({type(exc).__name__}: {exc})") from exc
    frames = []
    for split_name, split in loaded.items():
        frame = as_strings(split.to_pandas())
        frame["split"] = split_name
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def read_source(
    source: str, cfg: DataConfig, fmt: str | None = None, encoding: str | None = None
) -> tuple[pd.DataFrame, SourceReport]:
    """Read one source into a DataFrame of strings plus a SourceReport (hash, encoding, notes)."""
    from toolkit._hashing import sha256_file

    fmt = detect_format(source, fmt or cfg.format)
    encoding = encoding or cfg.encoding
    report = SourceReport(path=source, format=fmt)
    path = Path(source)
    if fmt == "hf":
        frame = read_hf(source, report)
    elif fmt == "txt_folder":
        frame = read_txt_folder(path, encoding, report)
    else:
        if path.is_dir():
            raise DataError(f"{source} is a folder; expected a {fmt} file")
        report.sha256, report.bytes = sha256_file(path), path.stat().st_size  # of the file on disk
        report.compression = compression_of(path)
        if fmt == "parquet":
            frame = read_parquet(path, report)
        else:
            raw = read_data(path)
            if looks_binary(raw):
                raise DataError(f"{source}: looks like a binary file, not text")
            text = decode_bytes(raw, encoding, report)
            frame = read_jsonl(text, report) if fmt == "jsonl" else read_delimited(text, fmt, cfg, report)
    report.rows = len(frame)
    return frame, report
