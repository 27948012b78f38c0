"""An advisory inter-process lock (POSIX flock; a no-op where flock does not exist).

Lock files live in the temp folder, keyed by what they protect, so that no lock file is ever left in
a user's data or output folders.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def file_lock(protected: Path) -> Iterator[None]:
    """Hold an exclusive lock on `protected` (a path that need not exist) for the duration of the block."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    key = hashlib.sha256(str(protected.resolve()).encode()).hexdigest()[:32]
    folder = Path(tempfile.gettempdir()) / "toolkit-locks"
    folder.mkdir(exist_ok=True)
    with (folder / f"{key}.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
