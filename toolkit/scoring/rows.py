"""What every streaming reader of `toolkit score` shares: the input request, a batch of rows, how roles map
to a file's columns, and how a file's encoding is found.

The readers themselves are in `toolkit.scoring.tables` (CSV/TSV and Parquet, through pyarrow) and
`toolkit.scoring.input` (JSONL, .txt articles, and the walk over an input folder).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from toolkit.data.readers.core import SourceReport, bom_of, decode_bytes, duplicated, looks_binary, open_data
from toolkit.errors import DataError

HEAD_BYTES = 1 << 20  # enough to detect the encoding and the delimiter
ROW_FIELDS = ("ids", "texts", "targets", "reasons", "sources")


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
        for name in ROW_FIELDS:
            getattr(self, name).extend(getattr(other, name))

    def take(self, count: int) -> Rows:
        """Remove and return the first `count` rows."""
        head = Rows(*(getattr(self, name)[:count] for name in ROW_FIELDS))
        for name in ROW_FIELDS:
            del getattr(self, name)[:count]
        return head


def match_columns(
    spec: InputSpec, names: list[str], path: Path, first: bool
) -> tuple[dict[str, str | None], str | None]:
    """Map roles (id, text, target) to the file's columns, with the reason the file's rows cannot be scored
    (a missing or repeated column). In the first file that is a wrong flag and fails the job; in a later
    file every row becomes an error row with that reason."""
    id_col = spec.id_col or ("id" if "id" in names else None)
    wanted = {"id": id_col, "text": spec.text_col, "target": spec.target_col}
    needed = [col for col in wanted.values() if col is not None]
    missing = [col for col in needed if col not in names]
    reason = f"missing column {missing[0]!r}" if missing else duplicated(names, needed)
    if reason and first:
        hint = f"; columns are {names} (see --text-col, --id-col, --target-col)" if missing else "; rename one"
        raise DataError(f"{path}: {reason.replace('missing column', 'no column')}{hint}")
    return wanted, reason


def row_batch(
    name: str,
    start: int,
    columns: dict[str, list[str | None]],
    reasons: list[str | None],
    file_reason: str | None = None,
) -> Rows:
    """Assemble a batch; when the file's columns do not fit (`file_reason`) every row gets that reason."""
    count = len(reasons)
    ids = columns.get("id") or [None] * count
    return Rows(
        ids=[str(v) if v is not None and v != "" else f"{name}:{start + i}" for i, v in enumerate(ids)],
        texts=list(columns.get("text") or [None] * count),
        targets=list(columns.get("target") or [None] * count),
        reasons=[file_reason or r for r in reasons],
        sources=[name] * count,
    )


def sniff_encoding(path: Path, spec: InputSpec) -> tuple[str, str]:
    """The encoding the rows are decoded with, and the text of the file's first MiB (for delimiter sniffing).

    A byte-order mark decides (the readers then open the file through `open_utf8`, so rows are UTF-8);
    else the given --encoding (rows it cannot decode become error rows); else the one detected on the head.
    A file with NUL bytes and no mark is binary: a file-level error."""
    with open_data(path) as handle:
        head = handle.read(HEAD_BYTES)
    if looks_binary(head):
        raise DataError(f"{path}: looks like a binary file, not text")
    if len(head) == HEAD_BYTES and b"\n" in head:
        head = head[: head.rindex(b"\n")]
    bom = bom_of(head)
    if bom is not None:
        codec, size = bom
        return "utf-8", head[size:].decode(codec, errors="replace")
    if spec.encoding:
        try:
            return spec.encoding, head.decode(spec.encoding, errors="replace")
        except LookupError as exc:
            raise DataError(f"unknown encoding '{spec.encoding}'") from exc
    report = SourceReport(path=str(path))
    text = decode_bytes(head, None, report)
    encoding = report.encoding or "utf-8"
    if encoding.replace("-", "").lower().startswith(("utf16", "utf32")):  # a guess, with no mark to confirm it
        raise DataError(f"{path}: looks like {encoding} without a byte-order mark; convert it to UTF-8 first")
    return encoding, text
