"""The columnar readers of `toolkit score`: CSV/TSV through pyarrow's streaming reader, and Parquet.

A row that cannot be scored (undecodable bytes, a malformed CSV line, a null or non-text cell) stays in
the stream with a `reason`; a file that cannot be read at all (a text column of list or struct type, a
needed column missing or repeated in the first file) is a DataError before any row is read.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolkit.data.readers.core import seekable_data, sniff_delimiter
from toolkit.data.readers.transcode import open_utf8
from toolkit.errors import DataError
from toolkit.scoring.rows import InputSpec, Rows, match_columns, row_batch, sniff_encoding

CSV_BLOCK_BYTES = 1 << 20
# pyarrow needs a whole CSV row inside one block: a bigger row restarts the file with blocks this much larger.
BLOCK_GROWTH = 16
MAX_BLOCK_BYTES = 1 << 30


@dataclass
class _Emitted:
    """Rows of a CSV file already yielded (valid rows and malformed lines apart), and how many of each the
    current pass has met: a pass restarted with larger blocks skips what was yielded before."""

    valid: int = 0
    invalid: int = 0
    seen_valid: int = 0
    seen_invalid: int = 0

    @property
    def position(self) -> int:
        return self.valid + self.invalid


def read_csv(
    path: Path, name: str, fmt: str, spec: InputSpec, batch_rows: int, first: bool
) -> Iterator[tuple[Rows, float]]:
    """CSV/TSV through pyarrow's streaming reader: cells read as bytes and decoded here, so a row with
    undecodable bytes becomes an error row; a line with the wrong number of fields becomes one too. A row
    bigger than a block (an article of several MB) restarts the file with larger blocks, skipping the rows
    already yielded, so the rows and their order do not depend on the block size that worked."""
    import pyarrow as pa

    encoding, head = sniff_encoding(path, spec)
    delimiter = sniff_delimiter(head, fmt, spec.delimiter)
    emitted, block = _Emitted(), CSV_BLOCK_BYTES
    while True:
        emitted.seen_valid = emitted.seen_invalid = 0
        try:
            yield from _csv_pass(path, name, spec, first, (encoding, delimiter, block), emitted)
            return
        except pa.ArrowInvalid as exc:
            if "straddl" not in str(exc) or block >= MAX_BLOCK_BYTES:
                raise DataError(f"{path}: cannot read as {fmt} ({str(exc).splitlines()[0]})") from exc
            block = min(block * BLOCK_GROWTH, MAX_BLOCK_BYTES)
        except OSError as exc:
            raise DataError(f"{path}: cannot read as {fmt} ({str(exc).splitlines()[0]})") from exc


def _csv_pass(
    path: Path, name: str, spec: InputSpec, first: bool, settings: tuple[str, str, int], emitted: _Emitted
) -> Iterator[tuple[Rows, float]]:
    """One read of the file with one block size; raises pyarrow's error when a row straddles two blocks."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    encoding, delimiter, block = settings
    invalid: list[Any] = []

    def on_invalid(row: Any) -> str:
        invalid.append(row)
        return "skip"

    def open_reader(handle: Any, convert: Any = None) -> Any:
        return pacsv.open_csv(
            handle,
            read_options=pacsv.ReadOptions(use_threads=False, block_size=block),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter, newlines_in_values=True, invalid_row_handler=on_invalid
            ),
            convert_options=convert,
        )

    size = max(path.stat().st_size, 1)
    with open_utf8(path) as handle:
        names = open_reader(handle).schema.names
    wanted, file_reason = match_columns(spec, names, path, first)
    present = {role: col for role, col in wanted.items() if col is not None and names.count(col) == 1}
    present = present or {"_": names[0]}
    convert = pacsv.ConvertOptions(
        column_types={col: pa.binary() for col in present.values()},
        include_columns=list(present.values()),
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
        null_values=[],
    )
    invalid.clear()  # the schema read above saw the first block; it is parsed again below
    with open_utf8(path) as handle:
        for batch in open_reader(handle, convert):
            yield (
                _csv_rows(name, batch, present, encoding, invalid, emitted, file_reason),
                min(handle.tell() / size, 1.0),
            )
        if invalid:  # malformed lines after the last batch
            yield _csv_rows(name, None, present, encoding, invalid, emitted, file_reason), 1.0


def _csv_rows(
    name: str,
    batch: Any,
    present: dict[str, str],
    encoding: str,
    invalid: list[Any],
    emitted: _Emitted,
    file_reason: str | None,
) -> Rows:
    """Rows of one pyarrow batch, preceded by the malformed lines the reader skipped while parsing it; rows
    an earlier pass yielded are skipped."""
    rows = Rows()
    for bad in invalid:
        emitted.seen_invalid += 1
        if emitted.seen_invalid <= emitted.invalid:
            continue
        reason = f"malformed line {bad.number}: expected {bad.expected_columns} fields, got {bad.actual_columns}"
        rows.extend(
            Rows(ids=[f"{name}:{emitted.position}"], texts=[None], targets=[None], reasons=[reason], sources=[name])
        )
        emitted.invalid += 1
    invalid.clear()
    if batch is None:
        return rows
    skip = min(batch.num_rows, max(emitted.valid - emitted.seen_valid, 0))
    emitted.seen_valid += batch.num_rows
    batch = batch.slice(skip)
    columns: dict[str, list[str | None]] = {}
    reasons: list[str | None] = [None] * batch.num_rows
    for role, col in present.items():
        if role != "_":
            columns[role] = _decode_column(batch.column(col), encoding, reasons, col)
    rows.extend(row_batch(name, emitted.position, columns, reasons, file_reason))
    emitted.valid += batch.num_rows
    return rows


def _decode_column(column: Any, encoding: str, reasons: list[str | None], col: str) -> list[str | None]:
    """Decode a column of bytes; fast vectorised path for valid UTF-8, per-cell otherwise (a null stays None)."""
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
            values.append(None if raw is None else raw.decode(encoding))
        except UnicodeDecodeError as exc:
            values.append(None)
            reasons[i] = reasons[i] or f"undecodable bytes in column {col!r} (as {encoding}, byte {exc.start})"
    return values


def read_parquet(
    path: Path, name: str, fmt: str, spec: InputSpec, batch_rows: int, first: bool
) -> Iterator[tuple[Rows, float]]:
    """Parquet row groups in batches; only the needed columns are read; a null cell is an error row, a
    binary cell that is not valid text (UTF-8 or --encoding) too. A needed column of list, struct or map
    type holds no text: a wrong --text-col in the first file, error rows in a later one."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(seekable_data(path))
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(f"{path}: not a readable Parquet file ({exc})") from exc
    schema = parquet.schema_arrow
    names = schema.names
    wanted, file_reason = match_columns(spec, names, path, first)
    present = {role: col for role, col in wanted.items() if col is not None and names.count(col) == 1}
    nested = {col: schema.field(col).type for col in present.values() if pa.types.is_nested(schema.field(col).type)}
    if nested and file_reason is None:
        col, kind = next(iter(nested.items()))
        file_reason = f"column {col!r} holds {kind}, not text"
        if first:
            raise DataError(f"{path}: {file_reason}; choose a text column with --text-col")
    present = {role: col for role, col in present.items() if col not in nested}
    total, start = max(parquet.metadata.num_rows, 1), 0
    for batch in parquet.iter_batches(batch_size=batch_rows, columns=list(present.values()) or [names[0]]):
        reasons: list[str | None] = [None] * batch.num_rows
        columns = {role: _text_column(batch.column(col), spec, reasons, col) for role, col in present.items()}
        for role in ("text", "target"):
            for i, value in enumerate(columns.get(role, [])):
                if value is None:
                    reasons[i] = reasons[i] or f"missing value in column {wanted[role]!r}"
        yield row_batch(name, start, columns, reasons, file_reason), (start + batch.num_rows) / total
        start += batch.num_rows


def _text_column(column: Any, spec: InputSpec, reasons: list[str | None], col: str) -> list[str | None]:
    """A Parquet column as text: bytes decoded cell by cell (a bad cell is an error row), anything else cast."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type.value_type if pa.types.is_dictionary(column.type) else column.type
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind) or pa.types.is_fixed_size_binary(kind):
        return _decode_column(column, spec.encoding or "utf-8", reasons, col)
    return list(pc.cast(column, pa.string()).to_pylist())
