"""Several sources merged into one dataset, as a user merging their own annotated files would.

Each source of `data.sources` is read by the single-source code with a DataConfig of its own (its files,
format, columns and label map), its rows carry the source's name in a `source` column, caps keep a large
source from drowning the others, and the manifest counts every source's rows. Relevance negatives (a text
paired with another target, labeled `none`) teach a general stance model that a text is not about every
target.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import TYPE_CHECKING, Any

from toolkit.data.splits import SPLITS
from toolkit.data.targets import normalize_target
from toolkit.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

    from toolkit.data.config import DataConfig

CAP_REASONS = ("max_rows_per_label", "max_rows")
NEGATIVE_ID_SUFFIX = "#negative"


def source_configs(cfg: DataConfig) -> list[tuple[str, DataConfig]]:
    """(name, config to read it with) for each source: a config without data.sources is one source named
    data.name; each of data.sources becomes a DataConfig of its own reading keys and the shared split."""
    from toolkit.data.config import READING_KEYS, DataConfig

    if not cfg.sources:
        return [(cfg.name, cfg)]
    return [
        (source.name, DataConfig(name=source.name, split=cfg.split, **{k: getattr(source, k) for k in READING_KEYS}))
        for source in cfg.sources
    ]


def count_dropped(by_source: dict[str, Counter[str]], rows: pd.DataFrame, mask: Any, reason: str) -> None:
    """Count the rows `mask` selects under `reason`, per source."""
    for name, count in Counter(rows.loc[mask, "source"]).items():
        by_source[name][reason] += count


def apply_caps(
    rows: pd.DataFrame, cfg: DataConfig, by_source: dict[str, Counter[str]]
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Each source's max_rows_per_label, then max_rows: a seeded random sample (seed data.split.seed) of its
    cleaned rows, in their original order; what is left out is counted per source and reason. Rows of held-out
    targets (split.test_targets) are never capped: caps limit what a source brings to training, and a held-out
    target is evaluated on all its rows."""
    import numpy as np

    from toolkit.data.splits import held_out

    keep = np.ones(len(rows), dtype=bool)
    held = held_out(rows, cfg.split.test_targets).to_numpy()
    for source in cfg.sources or []:
        rng = random.Random(cfg.split.seed)
        mine = (rows["source"].to_numpy() == source.name) & ~held
        labels = rows["label"].to_numpy()
        caps = source.max_rows_per_label or {}
        present = sorted(set(labels[mine]))
        unknown = sorted(set(caps) - set(present))
        if unknown:
            raise DataError(
                f"data.sources '{source.name}': max_rows_per_label names label {unknown[0]!r}, not one of its "
                f"labels (after label_map): {present}"
            )
        before = int(mine.sum())
        for label, cap in sorted(caps.items()):
            leave_out(np.flatnonzero(mine & (labels == label)), cap, rng, keep)
        after_labels = int((mine & keep).sum())
        if source.max_rows is not None:
            leave_out(np.flatnonzero(mine & keep), source.max_rows, rng, keep)
        by_source[source.name]["max_rows_per_label"] += before - after_labels
        by_source[source.name]["max_rows"] += after_labels - int((mine & keep).sum())
    used = {
        "max_rows_per_label": any(source.max_rows_per_label for source in cfg.sources or []),
        "max_rows": any(source.max_rows is not None for source in cfg.sources or []),
    }
    return rows[keep], {
        reason: sum(counts[reason] for counts in by_source.values()) for reason in CAP_REASONS if used[reason]
    }


def leave_out(positions: Any, cap: int, rng: random.Random, keep: Any) -> None:
    """Keep a seeded random `cap` of `positions` (all of them when there are no more than `cap`)."""
    if len(positions) > cap:
        kept = set(rng.sample(range(len(positions)), cap))
        keep[[p for i, p in enumerate(positions) if i not in kept]] = False


def add_relevance_negatives(rows: pd.DataFrame, cfg: DataConfig) -> tuple[pd.DataFrame, Counter[str]]:
    """For data.relevance_negatives of the train rows (a seeded sample), add a copy of the row whose target
    is another train target, one the text is paired with nowhere in the data, labeled data.none_label. Only
    train targets: never one held out for evaluation (split.test_targets, a by_target split's test targets).
    Returns the rows with the copies added at the end, and how many were added per source."""
    import pandas as pd

    if cfg.relevance_negatives <= 0:
        return rows, Counter()
    labels = sorted(set(rows["label"]))
    if cfg.none_label not in labels:
        raise DataError(
            f"data.none_label {cfg.none_label!r} is not one of the data's labels {labels}; relevance negatives "
            "are labeled with it (set data.none_label, or map a label to it)"
        )
    train = rows[rows["split"] == "train"]
    targets = {}
    for target in sorted(set(train["target"]) - {""}):
        targets.setdefault(normalize_target(target), target)
    if len(targets) < 2:
        raise DataError("data.relevance_negatives needs at least two distinct targets in the train split")
    paired: dict[str, set[str]] = {}
    for text, target in zip(rows["text"].str.strip(), rows["target"], strict=True):
        paired.setdefault(text, set()).add(normalize_target(target))
    rng = random.Random(cfg.split.seed)
    keys = list(targets)
    chosen = sorted(rng.sample(range(len(train)), int(round(cfg.relevance_negatives * len(train)))))
    added = []
    for row in train.iloc[chosen].itertuples(index=False):
        own = paired[row.text.strip()]
        key = next((k for k in (rng.choice(keys) for _ in range(10)) if k not in own), None)
        if key is None:  # a text paired with most targets: choose among the others
            others = [k for k in keys if k not in own]
            if not others:
                continue
            key = rng.choice(others)
        own.add(key)
        added.append(
            {**row._asdict(), "id": f"{row.id}{NEGATIVE_ID_SUFFIX}", "target": targets[key], "label": cfg.none_label}
        )
    negatives = pd.DataFrame(added, columns=rows.columns)
    return pd.concat([rows, negatives], ignore_index=True), Counter(row["source"] for row in added)


def summarize_sources(
    names: list[str], raw: pd.DataFrame, rows: pd.DataFrame, dropped: dict[str, Counter[str]], added: Counter[str]
) -> dict[str, dict[str, Any]]:
    """Per source: rows read, dropped by reason, rows per split and label (the added ones included), its
    distinct targets (those of its own rows), and the relevance negatives added (the last rows of `rows`)."""
    summary = {}
    own_rows = rows.iloc[: len(rows) - sum(added.values())]
    for name in names:
        mine = rows[rows["source"] == name]
        summary[name] = {
            "rows_read": int((raw["source"] == name).sum()),
            "dropped": {reason: count for reason, count in sorted(dropped[name].items()) if count},
            "rows": {split: int((mine["split"] == split).sum()) for split in SPLITS},
            "labels": dict(sorted(Counter(mine["label"]).items())),
            "targets": len({normalize_target(t) for t in own_rows.loc[own_rows["source"] == name, "target"]} - {""}),
        }
        if added[name]:
            summary[name]["added"] = {"relevance_negatives": added[name]}
    return summary
