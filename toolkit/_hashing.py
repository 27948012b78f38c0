"""sha256 of a file, read in blocks: how data sources, prepared datasets and model files are fingerprinted.

A neutral module: data preparation, the backends and the model folder all hash files, and none of them
should import another layer for it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
