"""Stream any scoring input as batches of rows, with bounded memory and nothing dropped in silence.

A row that cannot be scored (undecodable bytes, a missing column, a malformed CSV line or JSON record)
stays in the stream with a `reason`, so the job can count it and write it to its errors file. Every value
is text: "NA", "null" or "nan" are words, never missing values. Generated row ids are `NAME:N` (the file's
path relative to the input folder, or its name, and the row's position in that file), so they are stable
across reruns of the same input.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toolkit.data.readers.core import (
    SUFFIX_FORMATS,
    UTF8_BOM,
    NotAnObject,
    SourceReport,
    as_text,
    data_suffix,
    decode_bytes,
    has_nul_bytes,
    open_data,
    parse_record,
    read_data,
    seekable_data,
    sniff_delimiter,
)
from toolkit.errors import DataError

HEAD_BYTES = 1 << 20  # enough to detect the encoding and the delimiter
CSV_BLOCK_BYTES = 1 << 20
INPUT_FORMATS = ("auto", "csv", "tsv", "jsonl", "parquet", "txt")


@dataclass(frozen=True, kw_only=True)
class InputSpec:
    """Where the rows are and which columns hold what. `id_col=None` uses an `id` column if present."""

    path: Path
    fmt: str = "auto"
    text_col: str = "text"
    id_col: str | None = None
    target_col: str | None = None
    encoding: str | None = None
    delimiter: str | None = None


@dataclass
class Rows:
    """A batch of rows as columns; `reasons[i]` is why row i cannot be scored (None when it can)."""

    ids: list[str] = field(default_factory=list)
    texts: list[str | None] = field(default_factory=list)
    targets: list[str | None] = field(default_factory=list)
    reasons: list[str | None] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)

    def extend(self, other: Rows) -> None:
        for name in ("ids", "texts", "targets", "reasons", "sources"):
            getattr(self, name).extend(getattr(other, name))

    def take(self, count: int) -> Rows:
        """Remove and return the first `count` rows."""
        head = Rows(*(getattr(self, name)[:count] for name in ("ids", "texts", "targets", "reasons", "sources")))
        for name in ("ids", "texts", "targets", "reasons", "sources"):
            del getattr(self, name)[:count]
        return head


def input_files(spec: InputSpec) -> list[tuple[Path, str]]:
    """The files to read, in a stable order, each with its format; a folder of only .txt is articles."""
    path = spec.path
    if spec.fmt not in INPUT_FORMATS:
        raise DataError(f"unknown input format '{spec.fmt}'; use one of {', '.join(INPUT_FORMATS)}")
    if not path.exists():
        raise DataError(f"input not found: {path}")
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


def _columns(spec: InputSpec, names: list[str], path: Path, first: bool) -> dict[str, str | None]:
    """Map roles (id, text, target) to the file's columns; a missing column fails the job on the first
    file (a wrong flag) and turns every row of a later file into an error row (reason: missing column)."""
    id_col = spec.id_col or ("id" if "id" in names else None)
    wanted = {"id": id_col, "text": spec.text_col, "target": spec.target_col}
    missing = [col for col in wanted.values() if col is not None and col not in names]
    if missing and first:
        raise DataError(
            f"{path}: no column {missing[0]!r}; columns are {names} (see --text-col, --id-col, --target-col)"
        )
    return wanted


def _row_batch(
    name: str,
    start: int,
    columns: dict[str, list[str | None]],
    reasons: list[str | None],
    wanted: dict[str, str | None],
) -> Rows:
    """Assemble a batch; rows lacking a wanted column get that as their reason."""
    count = len(reasons)
    ids = columns.get("id") or [None] * count
    rows = Rows(
        ids=[str(v) if v is not None and v != "" else f"{name}:{start + i}" for i, v in enumerate(ids)],
        texts=list(columns.get("text") or [None] * count),
        targets=list(columns.get("target") or [None] * count),
        reasons=list(reasons),
        sources=[name] * count,
    )
    for role, col in wanted.items():
        if col is not None and role not in columns:
            rows.reasons = [r or f"missing column {col!r}" for r in rows.reasons]
    return rows


def read_csv(
    path: Path, name: str, fmt: str, spec: InputSpec, batch_rows: int, first: bool
) -> Iterator[tuple[Rows, float]]:
    """CSV/TSV through pyarrow's streaming reader: cells read as bytes and decoded here, so a row with
    undecodable bytes becomes an error row; a line with the wrong number of fields becomes one too."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    encoding, delimiter = _sniff(path, fmt, spec)
    invalid: list[Any] = []

    def on_invalid(row: Any) -> str:
        invalid.append(row)
        return "skip"

    def open_reader(handle: Any, convert: Any = None) -> Any:
        return pacsv.open_csv(
            handle,
            read_options=pacsv.ReadOptions(use_threads=False, block_size=CSV_BLOCK_BYTES),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter, newlines_in_values=True, invalid_row_handler=on_invalid
            ),
            convert_options=convert,
        )

    size = max(path.stat().st_size, 1)
    try:
        with open_data(path) as handle:
            names = open_reader(handle).schema.names
        wanted = _columns(spec, names, path, first)
        present = {role: col for role, col in wanted.items() if col in names} or {"_": names[0]}
        convert = pacsv.ConvertOptions(
            column_types={col: pa.binary() for col in present.values()},
            include_columns=list(present.values()),
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
            null_values=[],
        )
        invalid.clear()  # the schema read above saw the first block; it is parsed again below
        with open_data(path) as handle:
            reader = open_reader(handle, convert)
            position, batch = 0, None
            for batch in reader:
                rows, position = _csv_rows(name, position, batch, present, wanted, encoding, invalid)
                yield rows, min(handle.tell() / size, 1.0)
            if invalid:  # malformed lines after the last batch
                rows, position = _csv_rows(name, position, None, present, wanted, encoding, invalid)
                yield rows, 1.0
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(f"{path}: cannot read as {fmt} ({str(exc).splitlines()[0]})") from exc


def _csv_rows(
    name: str,
    start: int,
    batch: Any,
    present: dict[str, str],
    wanted: dict[str, str | None],
    encoding: str,
    invalid: list[Any],
) -> tuple[Rows, int]:
    """Rows of one pyarrow batch, preceded by the malformed lines the reader skipped while parsing it."""
    rows = Rows()
    for bad in invalid:
        rows.extend(
            Rows(
                ids=[f"{name}:{start}"],
                texts=[None],
                targets=[None],
                sources=[name],
                reasons=[
                    f"malformed line {bad.number}: expected {bad.expected_columns} fields, got {bad.actual_columns}"
                ],
            )
        )
        start += 1
    invalid.clear()
    if batch is None:
        return rows, start
    columns: dict[str, list[str | None]] = {}
    reasons: list[str | None] = [None] * batch.num_rows
    for role, col in present.items():
        if role != "_":
            columns[role] = _decode_column(batch.column(col), encoding, reasons, col)
    rows.extend(_row_batch(name, start, columns, reasons, wanted))
    return rows, start + batch.num_rows


def _decode_column(column: Any, encoding: str, reasons: list[str | None], col: str) -> list[str | None]:
    """Decode a column of bytes; fast vectorised path for valid UTF-8, per-cell otherwise."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if encoding.replace("-", "").lower() in {"utf8", "ascii"}:
        try:
            return list(pc.cast(column, pa.string()).to_pylist())
        except pa.ArrowInvalid:
            pass
    values: list[str | None] = []
    for i, raw in enumerate(column.to_pylist()):
        try:
            values.append(raw.decode(encoding))
        except UnicodeDecodeError as exc:
            values.append(None)
            reasons[i] = reasons[i] or f"undecodable bytes in column {col!r} (as {encoding}, byte {exc.start})"
    return values


def _sniff(path: Path, fmt: str, spec: InputSpec) -> tuple[str, str]:
    """Encoding (given, or detected on the file's first MiB) and delimiter (given, tab for TSV, sniffed)."""
    with open_data(path) as handle:
        head = handle.read(HEAD_BYTES)
    if len(head) == HEAD_BYTES and b"\n" in head:
        head = head[: head.rindex(b"\n")]
    if spec.encoding:  # given: rows it cannot decode become error rows, the job goes on
        try:
            text, encoding = head.decode(spec.encoding, errors="replace"), spec.encoding
        except LookupError as exc:
            raise DataError(f"unknown encoding '{spec.encoding}'") from exc
    else:
        report = SourceReport(path=str(path))
        text = decode_bytes(head, None, report)
        encoding = report.encoding or "utf-8"
    if encoding.replace("-", "").lower().startswith(("utf16", "utf32")):
        raise DataError(f"{path}: {encoding} is not supported for streaming; convert the file to UTF-8 first")
    return encoding, sniff_delimiter(text, fmt, spec.delimiter)


def read_jsonl(
    path: Path, name: str, fmt: str, spec: InputSpec, batch_rows: int, first: bool
) -> Iterator[tuple[Rows, float]]:
    """One JSON object per line; a line that is not one is an error row with its line number. The first
    record plays the header's role: a column it lacks is a wrong flag (in the first file), later it is a
    bad row."""
    size = max(path.stat().st_size, 1)
    wanted_checked = False
    rows, count = Rows(), 0
    with open_data(path) as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            record, reason = _parse_json_line(line, number, spec.encoding or "utf-8")
            if record is not None and not wanted_checked:
                _columns(spec, list(record), path, first)
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


def read_parquet(
    path: Path, name: str, fmt: str, spec: InputSpec, batch_rows: int, first: bool
) -> Iterator[tuple[Rows, float]]:
    """Parquet row groups in batches; only the needed columns are read; a null cell is an error row."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(seekable_data(path))
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(f"{path}: not a readable Parquet file ({exc})") from exc
    names = parquet.schema_arrow.names
    wanted = _columns(spec, names, path, first)
    present = {role: col for role, col in wanted.items() if col in names}
    total, start = max(parquet.metadata.num_rows, 1), 0
    for batch in parquet.iter_batches(batch_size=batch_rows, columns=list(present.values()) or [names[0]]):
        columns = {role: list(pc.cast(batch.column(col), pa.string()).to_pylist()) for role, col in present.items()}
        reasons: list[str | None] = [None] * batch.num_rows
        for role in ("text", "target"):
            for i, value in enumerate(columns.get(role, [])):
                if value is None:
                    reasons[i] = reasons[i] or f"missing value in column {wanted[role]!r}"
        yield _row_batch(name, start, columns, reasons, wanted), (start + batch.num_rows) / total
        start += batch.num_rows


def read_txt_files(spec: InputSpec, paths: list[Path], batch_rows: int) -> Iterator[tuple[Rows, float]]:
    """A folder of articles: one row per .txt file, its id the path relative to the folder."""
    rows = Rows()
    for number, path in enumerate(paths, start=1):
        name = path.name if path == spec.path else str(path.relative_to(spec.path))
        raw, reason, text = read_data(path), None, None
        if has_nul_bytes(raw):
            reason = "binary file, not text"
        else:
            encoding = spec.encoding or "utf-8"
            try:
                text = raw.removeprefix(UTF8_BOM).decode(encoding)
            except UnicodeDecodeError as exc:
                reason = f"undecodable bytes (as {encoding}, byte {exc.start}; pass --encoding)"
            except LookupError as exc:
                raise DataError(f"unknown encoding '{encoding}'") from exc
        rows.extend(Rows(ids=[name], texts=[text], targets=[None], reasons=[reason], sources=[name]))
        if len(rows) >= batch_rows:
            yield rows, number / len(paths)
            rows = Rows()
    if len(rows):
        yield rows, 1.0
