"""Backend registry: short stable names mapped to import paths, imported only when used.

Adding a backend means adding one line here (or an entry point in the `toolkit.backends` group of
another package) and one module that implements `toolkit.backends.base.Backend`.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from toolkit.errors import ConfigError

if TYPE_CHECKING:
    from toolkit.backends.base import Backend

BUILTIN_BACKENDS: dict[str, str] = {
    "tfidf": "toolkit.backends.tfidf.model:TfidfBackend",
    "transformer": "toolkit.backends.transformer.model:TransformerBackend",
    "ensemble": "toolkit.backends.ensemble.model:EnsembleBackend",
}


def available_backends() -> dict[str, str]:
    """Built-in backends plus those other packages register under the `toolkit.backends` group."""
    found = dict(BUILTIN_BACKENDS)
    for entry in entry_points(group="toolkit.backends"):
        found.setdefault(entry.name, entry.value)
    return found


def get_backend(name: str) -> type[Backend]:
    """The backend class registered as `name`; imports its module now, not before."""
    registry = available_backends()
    if name not in registry:
        raise ConfigError(f"unknown backend '{name}'; available: {', '.join(sorted(registry))}")
    module_name, _, attribute = registry[name].partition(":")
    module = importlib.import_module(module_name)
    backend: type[Backend] = getattr(module, attribute)
    return backend
