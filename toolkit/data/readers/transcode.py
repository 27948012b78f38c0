"""A data file with a byte-order mark, streamed as UTF-8 bytes, for the readers that stream (`toolkit score`).

pyarrow's CSV reader and the line-by-line JSONL reader work on UTF-8 bytes; a UTF-16 or UTF-32 file (which
says so with its byte-order mark) is transcoded on the fly, in bounded memory. A lone surrogate is passed
through as bytes that are not valid UTF-8, so the row holding it becomes an error row rather than the file
failing; a file cut in the middle of a character is a file-level error.
"""

from __future__ import annotations

import codecs
import io
from pathlib import Path
from typing import IO, Any

from toolkit.data.readers.core import bom_of, open_data
from toolkit.errors import DataError

READ_BYTES = 1 << 16


class Utf8Stream(io.BufferedIOBase):
    """`inner` (text in `codec`, its byte-order mark already read) as UTF-8 bytes. `tell()` is the position
    in `inner`, so progress stays a share of the file."""

    def __init__(self, inner: IO[bytes], codec: str, path: Path) -> None:
        self._inner, self._codec, self._path = inner, codec, path
        self._decoder = codecs.getincrementaldecoder(codec)(errors="surrogatepass")
        self._buffer = bytearray()
        self._eof = False

    def readable(self) -> bool:
        return True

    def _fill(self, size: int) -> None:
        """Decode until `size` bytes are buffered (or the end of the file; a negative size reads it all)."""
        while not self._eof and (size < 0 or len(self._buffer) < size):
            raw = self._inner.read(READ_BYTES)
            self._eof = not raw
            try:
                text = self._decoder.decode(raw, final=self._eof)
            except UnicodeDecodeError as exc:
                raise DataError(f"{self._path}: not valid {self._codec} ({exc.reason})") from exc
            self._buffer += text.encode("utf-8", "surrogatepass")

    def read(self, size: int | None = -1) -> bytes:
        size = -1 if size is None else size
        self._fill(size)
        size = len(self._buffer) if size < 0 else min(size, len(self._buffer))
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def read1(self, size: int = -1) -> bytes:
        return self.read(size if size >= 0 else READ_BYTES)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def readline(self, size: int | None = -1) -> bytes:
        searched = 0
        while (end := self._buffer.find(b"\n", searched)) < 0 and not self._eof:
            searched = len(self._buffer)
            self._fill(len(self._buffer) + READ_BYTES)
        return self.read(end + 1 if end >= 0 else len(self._buffer))

    def tell(self) -> int:
        return self._inner.tell()

    def close(self) -> None:
        if not self.closed:
            self._inner.close()
        super().close()


def open_utf8(path: str | Path) -> IO[bytes]:
    """Open a data file (decompressing it) for reading as UTF-8 when it starts with a byte-order mark: the
    mark is skipped, UTF-16/32 is transcoded. A file without a mark is returned as its bytes."""
    path = Path(path)
    with open_data(path) as probe:
        bom = bom_of(probe.read(4))
    handle = open_data(path)
    if bom is None:
        return handle
    codec, size = bom
    handle.read(size)
    return handle if codec == "utf-8" else Utf8Stream(handle, codec, path)
