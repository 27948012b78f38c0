"""Import optional dependencies with an actionable message instead of a bare ImportError."""

import importlib
from types import ModuleType

from toolkit.errors import MissingDependency

# What a model that runs a Hugging Face network needs installed to be served (pip names).
TRANSFORMER_DISTRIBUTIONS = ("torch", "transformers", "tokenizers")


def require(module: str, extra: str) -> ModuleType:
    """Import `module`, or raise MissingDependency naming the pip extra that provides it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependency(f"this feature needs '{module}': pip install 'toolkit[{extra}]' ({exc})") from exc
