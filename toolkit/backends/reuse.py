"""Frozen features computed once across the many fits of one cross-validation, tuning study or ensemble.

A frozen encoder's vector of a text depends only on the encoder and the text, yet cross-validation refits on
the same rows fold after fold and a tuning study trial after trial (FNC-1's ~3,300 headlines and bodies take
about a minute to encode on 2 CPU cores, a fold's linear fit less). Inside `reusing_features()` a backend may
`recall` what it `keep`s under a key that names everything the value depends on. Outside it nothing is kept:
a timed prediction (a benchmark's docs/s, `toolkit predict`) pays the full cost, as a user's fresh process does.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from typing import Any

LIMIT = 200_000
"""Values kept at most (~300 MB of 384-dimension vectors); the oldest are forgotten first."""
_store: OrderedDict[Hashable, Any] = OrderedDict()
_depth = 0


@contextmanager
def reusing_features() -> Iterator[None]:
    """Keep frozen features until the outermost such block ends (nested blocks share one store)."""
    global _depth
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if not _depth:
            _store.clear()


def active() -> bool:
    return _depth > 0


def recall(key: Hashable) -> Any | None:
    """The value kept under `key` in the current block, else None."""
    return _store.get(key) if _depth else None


def keep(values: dict[Hashable, Any]) -> None:
    """Keep values for the rest of the current block (nothing outside one)."""
    if not _depth:
        return
    _store.update(values)
    while len(_store) > LIMIT:
        _store.popitem(last=False)
