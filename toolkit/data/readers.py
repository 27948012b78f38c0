"""Read any supported source into a table of strings, with a report of what was odd about it.

Every value is read as text: "NA", "null" or "nan" in a file are words, not missing values. Encodings are
detected (UTF-8 first, then a charset guess) and what was used is reported, never assumed in silence.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolkit.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

    from toolkit.config import DataConfig

SUFFIX_FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".txt": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
DELIMITERS = ",\t;|"
# Share of U+FFFD replacements below which a file is read as UTF-8 with a few broken bytes.
BROKEN_UTF8_TOLERANCE = 0.001


@dataclass
class SourceReport:
    """What reading one file found: its hash, encoding, and anything that was not as expected."""

    path: str
    sha256: str = ""
    bytes: int = 0
    format: str = ""
    encoding: str | None = None
    replaced_bytes: int = 0
    delimiter: str | None = None
    rows: int = 0
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def detect_format(source: str, declared: str) -> str:
    """The reader to use: the declared one, a folder of .txt files, or the file's suffix."""
    if declared != "auto":
        return declared
    path = Path(source)
    if path.is_dir():
        return "txt_folder"
    if not path.exists():
        raise DataError(f"input not found: {source}")
    fmt = SUFFIX_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise DataError(f"{source}: unknown file type '{path.suffix}'; set format (csv, tsv, jsonl, parquet, hf)")
    return fmt


def decode_bytes(raw: bytes, encoding: str | None, report: SourceReport) -> str:
    """Decode a file's bytes with the given codec, or detect one; record what was done in `report`."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw, encoding = raw[3:], encoding or "utf-8"
        report.notes.append("skipped a UTF-8 byte-order mark")
    if encoding:
        try:
            text = raw.decode(encoding)
        except LookupError as exc:
            raise DataError(f"{report.path}: unknown encoding '{encoding}'") from exc
        except UnicodeDecodeError as exc:
            text = _decode_tolerant(raw, encoding, report, exc)
        report.encoding = encoding
        return text
    try:
        report.encoding = "utf-8"
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return _guess_encoding(raw, report, exc)
    if "\ufffd" in text:
        report.notes.append(
            f"valid UTF-8, but holds {text.count(chr(0xFFFD))} U+FFFD replacement character(s): "
            "bytes were already lost before this file was written"
        )
    return text


def _decode_tolerant(raw: bytes, encoding: str, report: SourceReport, exc: UnicodeDecodeError) -> str:
    """Accept a few undecodable bytes (replaced by U+FFFD and counted); refuse a wrong codec."""
    text = raw.decode(encoding, errors="replace")
    replaced = text.count("\ufffd") - raw.decode(encoding, errors="ignore").count("\ufffd")
    if replaced > max(1, BROKEN_UTF8_TOLERANCE * len(text)):
        raise DataError(
            f"{report.path}: cannot be read as {encoding} ({replaced} undecodable bytes, first at byte "
            f"{exc.start}); pass the right --encoding"
        )
    report.replaced_bytes = replaced
    report.notes.append(f"{replaced} undecodable byte(s) in {encoding} replaced by U+FFFD (first at byte {exc.start})")
    return text


def _guess_encoding(raw: bytes, report: SourceReport, exc: UnicodeDecodeError) -> str:
    """Not valid UTF-8: either UTF-8 with a few broken bytes, or another codec found by charset detection."""
    lenient = raw.decode("utf-8", errors="replace")
    replaced = lenient.count("\ufffd")
    if replaced <= BROKEN_UTF8_TOLERANCE * len(lenient) and replaced <= _valid_multibyte(lenient):
        report.replaced_bytes = replaced
        report.notes.append(
            f"not valid UTF-8: read as UTF-8 with {replaced} undecodable byte(s) replaced by U+FFFD "
            f"(first at byte {exc.start})"
        )
        return lenient
    try:  # Windows-1252 is by far the most common legacy encoding of English and Western text
        text = raw.decode("cp1252")
        guessed = "cp1252"
    except UnicodeDecodeError:
        from charset_normalizer import from_bytes

        best = from_bytes(raw).best()
        if best is None or best.encoding is None:
            raise DataError(f"{report.path}: cannot detect the text encoding; pass --encoding") from exc
        guessed, text = best.encoding, raw.decode(best.encoding, errors="replace")
    report.encoding = guessed
    report.notes.append(
        f"not valid UTF-8 (first bad byte at {exc.start}): read as {guessed}; pass --encoding if the text looks wrong"
    )
    return text


def _valid_multibyte(text: str) -> int:
    """Non-ASCII characters that decoded as valid UTF-8: a UTF-8 file with a few broken bytes has many,
    a mostly-ASCII Windows-1252 file has (almost) none, so its few bad bytes are not 'broken UTF-8'."""
    return sum(1 for char in text if ord(char) > 127 and char != "\ufffd")


def sniff_delimiter(text: str, fmt: str, declared: str | None, expected: list[str] | None = None) -> str:
    """The declared delimiter, a tab for TSV, the one whose header row holds the `expected` column
    names, or the most plausible one found in the first lines."""
    if declared:
        return declared
    if fmt == "tsv":
        return "\t"
    sample = text[:65536]
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        first_line = sample.splitlines()[0] if sample else ""
        sniffed = max(DELIMITERS, key=first_line.count) if any(d in first_line for d in DELIMITERS) else ","
    if expected:  # texts full of ';' or '|' can fool the sniffer; the header row cannot
        for candidate in dict.fromkeys(sniffed + DELIMITERS):
            if set(expected) <= set(_first_record(sample, candidate)):
                return candidate
    return sniffed


def _first_record(sample: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader(io.StringIO(sample), delimiter=delimiter), [])
    except csv.Error:
        return []


def read_delimited(text: str, fmt: str, cfg: DataConfig, report: SourceReport) -> pd.DataFrame:
    """Parse CSV/TSV text with quoted multi-line fields; every cell stays a string."""
    import pandas as pd

    columns = cfg.columns
    expected = [c for c in (columns.text, columns.label, columns.title, columns.target, columns.id) if c]
    delimiter = sniff_delimiter(
        text[_line_offset(text, cfg.skip_rows) :],
        fmt,
        cfg.delimiter,
        expected if cfg.header and cfg.column_names is None else None,
    )
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
    # Only "\n" ends a JSON line: str.splitlines() would also cut at U+2028, U+0085 or \x1c, which
    # json.dumps(ensure_ascii=False) leaves raw inside strings.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{report.path}:{number}: not valid JSON ({exc.msg})") from exc
        if not isinstance(record, dict):
            raise DataError(f"{report.path}:{number}: each line must be a JSON object")
        records.append({key: _as_text(value) for key, value in record.items()})
    return pd.DataFrame.from_records(records)


def _as_text(value: Any) -> str:
    """JSON scalars as the text a user wrote; a JSON null becomes the empty string (reported as empty)."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def as_strings(frame: pd.DataFrame) -> pd.DataFrame:
    """Every cell as text; a real missing value (None/NaN/NA in Parquet or Arrow) becomes "" so that it is
    counted as empty, never the word "None" or "nan"."""
    return frame.astype(object).where(frame.notna(), "").astype(str)


def read_txt_folder(root: Path, encoding: str | None, report: SourceReport) -> pd.DataFrame:
    """root/LABEL/*.txt -> rows (id = relative path, text, label = folder name)."""
    import pandas as pd

    rows = []
    for path in sorted(root.glob("*/*.txt")):
        file_report = SourceReport(path=str(path))
        text = decode_bytes(path.read_bytes(), encoding, file_report)
        report.replaced_bytes += file_report.replaced_bytes
        report.notes.extend(f"{path.name}: {note}" for note in file_report.notes if "U+FFFD" in note)
        rows.append({"id": str(path.relative_to(root)), "text": text, "label": path.parent.name})
    if not rows:
        raise DataError(f"{root}: no LABEL/*.txt files found (expected one subfolder of .txt files per label)")
    return pd.DataFrame.from_records(rows)


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
    import pandas as pd

    from toolkit.models.folder import sha256_file

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
        report.sha256, report.bytes = sha256_file(path), path.stat().st_size
        if fmt == "parquet":
            try:
                frame = as_strings(pd.read_parquet(path))
            except Exception as exc:
                raise DataError(f"{source}: not a readable Parquet file ({exc})") from exc
        else:
            raw = path.read_bytes()
            if b"\x00" in raw[:8192] and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
                raise DataError(f"{source}: looks like a binary file, not text")
            text = decode_bytes(raw, encoding, report)
            frame = read_jsonl(text, report) if fmt == "jsonl" else read_delimited(text, fmt, cfg, report)
    report.rows = len(frame)
    return frame, report
