"""Reading a JSON file that a user (or an attacker) may have edited: every way it can be unreadable becomes one
ValueError with a plain message, never a raw JSONDecodeError, UnicodeDecodeError or RecursionError.

A neutral module: the model folder, the tfidf backend and prepared datasets all read such files, and none of
them should import another layer for it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class UnreadableJson(ValueError):
    """The file is missing, not UTF-8, not JSON, or nested deeper than a parser's recursion allows."""


def read_json(path: Path) -> Any:
    """The parsed content of `path`; raises UnreadableJson with why, worded to follow the file's name
    ("manifest.json is not valid JSON (...)")."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise UnreadableJson(f"is not valid JSON (not UTF-8: {exc.reason})") from exc
    except OSError as exc:
        raise UnreadableJson(f"cannot be read ({exc.strerror or type(exc).__name__})") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UnreadableJson(f"is not valid JSON ({exc})") from exc
    except RecursionError as exc:  # "[[[[...": the decoder recurses once per level
        raise UnreadableJson("is nested too deeply to be a genuine file") from exc
