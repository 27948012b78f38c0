"""Short run names that say what differs between runs: the backend, the params a config set, a trial's number.

The MLflow runs table and `toolkit compare` show a name's first ~30 characters, so names like
`topic-tfidf-sample-c81d25...` (task, backend, dataset, data hash: the same for every run of a config) could not be
told apart. The task and dataset are already the experiment's name; a run is now named by its backend and the
settings that differ from that backend's defaults (`tfidf C=4`, `transformer lr=2e-5 ep=3`), a tuning trial by its
number and suggested values (`trial 7 C=4.21`). Everything, unabridged, goes to the tag `toolkit.run_detail`.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from toolkit.config import RunConfig

MAX_NAME = 40  # about what the MLflow runs table shows without a wider column
MAX_DETAIL = 5000  # MLflow tag values are capped (8000 characters); the params hold the rest
SHORT_KEYS = {
    "model_name_or_path": "model",
    "learning_rate": "lr",
    "epochs": "ep",
    "batch_size": "bs",
    "max_length": "len",
    "weight_decay": "wd",
    "warmup_ratio": "warmup",
    "gradient_accumulation_steps": "accum",
    "early_stopping_patience": "patience",
    "word_ngrams": "words",
    "char_ngrams": "chars",
    "classifier": "clf",
    "class_weight": "cw",
    "max_features": "features",
}
FIRST = ("model_name_or_path", "init_from", "classifier", "C", "learning_rate", "epochs")  # most often varied
UNSAFE = re.compile(r"[^A-Za-z0-9._/+-]")  # kept out of names: quotes would break MLflow's run_name filters


def changed_settings(config: RunConfig) -> dict[str, Any]:
    """The settings that make this run differ from a bare `backend.name` run: backend params unlike the backend's
    defaults (JSON values, as the config holds them), and the seed and stance scope when not the defaults."""
    from pydantic_core import to_jsonable_python

    from toolkit.backends import get_backend
    from toolkit.config import RunConfig

    changed: dict[str, Any] = {}
    for key, field in get_backend(config.backend.name).Params.model_fields.items():
        value = config.backend.params.get(key)
        if field.is_required() or to_jsonable_python(field.get_default(call_default_factory=True)) != value:
            changed[f"backend.params.{key}"] = value
    for key in ("seed", "stance_scope"):
        if getattr(config, key) != RunConfig.model_fields[key].default:
            changed[key] = getattr(config, key)
    return changed


def short_value(value: Any) -> str:
    """2e-05 -> 2e-5, 10.0 -> 10, [1, 3] -> 1-3, None -> none, a path -> its last part, many members -> 3x."""
    if value is None or isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return re.sub(r"e([+-])0*(\d)", r"e\1\2", f"{value:.3g}")
    if isinstance(value, list | tuple):
        scalars = all(isinstance(item, int | float | str) for item in value)
        return "-".join(short_value(item) for item in value) if scalars and len(value) <= 3 else f"{len(value)}x"
    text = str(value).rstrip("/").rsplit("/", 1)[-1]
    return UNSAFE.sub("", text)[:20] or "?"


def short_key(dotted: str) -> str:
    key = dotted.rsplit(".", 1)[-1]
    return SHORT_KEYS.get(key, key)


def name_from(head: str, settings: dict[str, Any]) -> str:
    """`head` and as many `key=value` as fit in MAX_NAME (most-varied keys first), `+N` for those left out."""
    order = sorted(settings, key=lambda k: (_rank(k), k))
    parts = [f"{short_key(key)}={short_value(settings[key])}" for key in order]
    name, shown = head, 0
    for part in parts:
        if len(name) + 1 + len(part) > MAX_NAME:
            break
        name, shown = f"{name} {part}", shown + 1
    return f"{name} +{len(parts) - shown}" if shown < len(parts) else name


def _rank(dotted: str) -> int:
    key = dotted.rsplit(".", 1)[-1]
    return FIRST.index(key) if key in FIRST else len(FIRST)


def run_name(config: RunConfig) -> str:
    """`tfidf C=4 chars=none`: the backend and what the config set (the config's own tracking.run_name wins)."""
    return config.tracking.run_name or name_from(config.backend.name, changed_settings(config))


def trial_name(number: int, values: dict[str, Any]) -> str:
    """`trial 7 C=4.21`: a tuning trial by its number and the values suggested to it."""
    return name_from(f"trial {number}", values)


def run_detail(config: RunConfig, fingerprint: str) -> str:
    """The full description the short name stands for (tag `toolkit.run_detail`): task, backend, dataset, data hash
    and every changed setting, unabridged."""
    settings = ", ".join(f"{key}={json.dumps(value)}" for key, value in changed_settings(config).items())
    head = f"{config.task}-{config.backend.name}-{config.data.name}-{fingerprint[:6]}"
    return f"{head}: {settings or 'backend defaults'}"[:MAX_DETAIL]
