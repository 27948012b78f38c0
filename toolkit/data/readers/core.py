"""What every reader of raw text files shares, written once: formats by suffix, decoding (BOM, encoding
detection, a few broken bytes), binary-file detection, CSV delimiter sniffing, JSONL records, and
compressed files (.gz, .bz2, .xz, or a .zip holding one data file; the format is that of the name inside).

Both the whole-file reader of `prepare` (`toolkit.data.readers.frames`) and the streaming reader of
`toolkit score` (`toolkit.scoring.input`) build on these, so a file reads the same way in both.
Encodings are detected (a byte-order mark decides; else UTF-8 first, then a charset guess) and what was
used is reported, never assumed in silence.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

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
# Longest first: a UTF-32-LE mark starts with the UTF-16-LE one.
BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (UTF8_BOM, "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
BINARY_PROBE_BYTES = 8192
COMPRESSIONS = {".gz": "gzip", ".bz2": "bzip2", ".xz": "xz", ".zip": "zip"}


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
    compression: str | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def has_nul_bytes(raw: bytes) -> bool:
    """A NUL in the first 8 KiB: a binary file (or UTF-16/32 text, which callers tell apart by its BOM)."""
    return b"\x00" in raw[:BINARY_PROBE_BYTES]


def bom_of(raw: bytes) -> tuple[str, int] | None:
    """The codec a byte-order mark at the start of `raw` names, and the mark's length; None without one."""
    return next(((codec, len(mark)) for mark, codec in BOMS if raw.startswith(mark)), None)


def looks_binary(raw: bytes) -> bool:
    """NUL bytes near the start and no byte-order mark (UTF-16/32 text has NULs but starts with one)."""
    return has_nul_bytes(raw) and bom_of(raw) is None


def decode_bytes(raw: bytes, encoding: str | None, report: SourceReport) -> str:
    """Decode a file's bytes with the codec its byte-order mark names, the given one, or a detected one;
    record what was done in `report`."""
    bom = bom_of(raw)
    if bom is not None:
        codec, size = bom
        if encoding and not _same_family(encoding, codec, report):
            report.notes.append(f"--encoding {encoding} ignored: the file starts with a {codec} byte-order mark")
        raw, encoding = raw[size:], codec
        report.notes.append(f"read as {codec} (byte-order mark)")
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


def _same_family(encoding: str, codec: str, report: SourceReport) -> bool:
    """Whether a given --encoding agrees with a byte-order mark's codec (utf-16 and utf-16-le do)."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError as exc:
        raise DataError(f"{report.path}: unknown encoding '{encoding}'") from exc
    return name.replace("_", "-").startswith(codec[:6])


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
            if set(expected) <= set(first_record(sample, candidate)):
                return candidate
    return sniffed


def first_record(sample: str, delimiter: str) -> list[str]:
    """The first CSV record of `sample` (its header row), or [] when it does not parse."""
    try:
        return next(csv.reader(io.StringIO(sample), delimiter=delimiter), [])
    except csv.Error:
        return []


def duplicated(names: list[str], wanted: list[str]) -> str | None:
    """The first needed column that appears more than once in a header, worded as a reason (a reader would
    otherwise pick one of the two in silence); None when each appears once."""
    repeated = [name for name in dict.fromkeys(wanted) if names.count(name) > 1]
    return f"column {repeated[0]!r} appears {names.count(repeated[0])} times in the header" if repeated else None


def check_unique(names: list[str], wanted: list[str], path: str | Path) -> None:
    """Refuse a header in which a needed column appears twice."""
    reason = duplicated(names, wanted)
    if reason:
        raise DataError(f"{path}: {reason}; rename one")


class NotAnObject(ValueError):
    """A JSONL line that is valid JSON but not an object (a list, a string, a number)."""


def parse_record(line: str) -> dict[str, Any]:
    """One JSONL line as a record. Raises json.JSONDecodeError when it is not JSON and NotAnObject when
    it is not an object; each reader words that error for its own caller (an exception or an error row).
    Only "\\n" ends a JSON line: callers split on it, never with str.splitlines(), which would also cut at
    U+2028, U+0085 or \\x1c that json.dumps(ensure_ascii=False) leaves raw inside strings."""
    try:
        record = json.loads(line)
    except RecursionError:  # json's C parser recurses once per level of nesting
        raise json.JSONDecodeError("nested too deeply", line, 0) from None
    if not isinstance(record, dict):
        raise NotAnObject(line)
    return record


def as_text(value: Any) -> str:
    """JSON scalars as the text a user wrote; a JSON null becomes the empty string (reported as empty)."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def compression_of(path: str | Path) -> str | None:
    """gzip, bzip2, xz or zip, by the file's last suffix; None for a plain file."""
    return COMPRESSIONS.get(Path(path).suffix.lower())


def data_suffix(path: str | Path) -> str:
    """The suffix that tells the format, looking through compression: data.csv.gz -> .csv; for a .zip, the
    suffix of the one data file inside."""
    path = Path(path)
    kind = compression_of(path)
    if kind == "zip":
        import zipfile

        try:
            with zipfile.ZipFile(path) as archive:
                return Path(_zip_member(archive, path)).suffix.lower()
        except (zipfile.BadZipFile, OSError) as exc:
            raise DataError(f"{path}: not a readable zip file ({exc})") from exc
    return Path(path.stem).suffix.lower() if kind else path.suffix.lower()


def _zip_member(archive: Any, path: Path) -> str:
    """The one data file of a zip (folders and hidden or __MACOSX metadata entries do not count)."""
    names = [
        info.filename
        for info in archive.infolist()
        if not info.is_dir() and not any(part.startswith((".", "__MACOSX")) for part in Path(info.filename).parts)
    ]
    if len(names) != 1:
        shown = f": {', '.join(names[:5])}{' ...' if len(names) > 5 else ''}" if names else ""
        raise DataError(f"{path}: a .zip must hold exactly one data file; it holds {len(names)}{shown}")
    return names[0]


class DecompressedStream(io.BufferedIOBase):
    """A compressed file read as its decompressed bytes. `tell()` is the position in the file on disk, so
    that progress (tell / file size) stays a share of the file; a corrupt file raises a DataError."""

    def __init__(self, inner: IO[bytes], raw: IO[bytes], path: Path, kind: str) -> None:
        self._inner, self._raw, self._path, self._kind = inner, raw, path, kind

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        return self._guard(self._inner.read, -1 if size is None else size)

    def read1(self, size: int = -1) -> bytes:
        return self._guard(getattr(self._inner, "read1", self._inner.read), size)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def readline(self, size: int | None = -1) -> bytes:
        return self._guard(self._inner.readline, -1 if size is None else size)

    def tell(self) -> int:
        return self._raw.tell()

    def close(self) -> None:
        if not self.closed:
            try:
                self._inner.close()
            finally:
                self._raw.close()
        super().close()

    def _guard(self, method: Any, size: int) -> bytes:
        import lzma
        import zipfile
        import zlib

        try:
            return method(size)
        except (OSError, EOFError, lzma.LZMAError, zlib.error, zipfile.BadZipFile) as exc:
            raise DataError(f"{self._path}: not a readable {self._kind} file ({exc})") from exc


def open_data(path: str | Path) -> IO[bytes]:
    """Open a data file for reading bytes, decompressing .gz, .bz2, .xz and a one-file .zip on the fly."""
    path = Path(path)
    kind = compression_of(path)
    if kind is None:
        return path.open("rb")
    import bz2
    import gzip
    import lzma
    import zipfile

    raw = path.open("rb")
    try:
        inner: IO[bytes]
        if kind == "zip":
            archive = zipfile.ZipFile(raw)
            inner = archive.open(_zip_member(archive, path))
        elif kind == "gzip":
            inner = gzip.GzipFile(fileobj=raw)
        else:
            inner = bz2.BZ2File(raw) if kind == "bzip2" else lzma.LZMAFile(raw)
    except (zipfile.BadZipFile, OSError) as exc:
        raw.close()
        raise DataError(f"{path}: not a readable {kind} file ({exc})") from exc
    except DataError:
        raw.close()
        raise
    return DecompressedStream(inner, raw, path, kind)


def read_data(path: str | Path) -> bytes:
    """A data file's whole content, decompressed when it is compressed."""
    with open_data(path) as handle:
        return handle.read()


def seekable_data(path: str | Path) -> Path | io.BytesIO:
    """What a reader that needs random access (Parquet) opens: the path itself, or a compressed file's
    content in memory."""
    return Path(path) if compression_of(path) is None else io.BytesIO(read_data(path))
