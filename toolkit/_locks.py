"""An advisory inter-process lock (the `filelock` library: flock on POSIX, msvcrt locking on Windows).

Lock files live in the temp folder, keyed by what they protect, so that no lock file is ever left in
a user's data or output folders.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def lock_path(protected: Path) -> Path:
    """The lock file that stands for `protected`, in the temp folder's `toolkit-locks/`."""
    key = hashlib.sha256(str(protected.resolve()).encode()).hexdigest()[:32]
    return Path(tempfile.gettempdir()) / "toolkit-locks" / f"{key}.lock"


@contextmanager
def file_lock(protected: Path) -> Iterator[None]:
    """Hold an exclusive lock on `protected` (a path that need not exist) for the duration of the block.
    `filelock` is imported here: only the commands that write take a lock, and `toolkit predict` starts faster."""
    from filelock import FileLock

    path = lock_path(protected)
    path.parent.mkdir(exist_ok=True)
    with FileLock(path):
        yield
