"""What every reader of raw text files shares, written once: formats by suffix, decoding (BOM, encoding
detection, a few broken bytes), binary-file detection, CSV delimiter sniffing and JSONL records.

Both the whole-file reader of `prepare` (`toolkit.data.readers.frames`) and the streaming reader of
`toolkit score` (`toolkit.scoring.input`) build on these, so a file reads the same way in both.
Encodings are detected (UTF-8 first, then a charset guess) and what was used is reported, never assumed
in silence.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from toolkit.errors import DataError

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
UTF8_BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
BINARY_PROBE_BYTES = 8192


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


def has_nul_bytes(raw: bytes) -> bool:
    """A NUL in the first 8 KiB: a binary file (or UTF-16/32 text, which callers tell apart by its BOM)."""
    return b"\x00" in raw[:BINARY_PROBE_BYTES]


def decode_bytes(raw: bytes, encoding: str | None, report: SourceReport) -> str:
    """Decode a file's bytes with the given codec, or detect one; record what was done in `report`."""
    if raw.startswith(UTF8_BOM):
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


class NotAnObject(ValueError):
    """A JSONL line that is valid JSON but not an object (a list, a string, a number)."""


def parse_record(line: str) -> dict[str, Any]:
    """One JSONL line as a record. Raises json.JSONDecodeError when it is not JSON and NotAnObject when
    it is not an object; each reader words that error for its own caller (an exception or an error row).
    Only "\\n" ends a JSON line: callers split on it, never with str.splitlines(), which would also cut at
    U+2028, U+0085 or \\x1c that json.dumps(ensure_ascii=False) leaves raw inside strings."""
    record = json.loads(line)
    if not isinstance(record, dict):
        raise NotAnObject(line)
    return record


def as_text(value: Any) -> str:
    """JSON scalars as the text a user wrote; a JSON null becomes the empty string (reported as empty)."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
