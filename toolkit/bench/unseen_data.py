"""The rows of an unseen-target benchmark: which targets each fold holds out, the evaluation files, the
few-shot rows of one target, and the confusion counts every figure is computed from.

Folds rotate whole targets, source by source: each rotated source's targets are spread over the folds (the
largest first, each to the fold with the fewest of that source's rows), so every target is held out exactly
once and a source with as many targets as folds is left-one-target-out (SemEval-2016's five).
"""

from __future__ import annotations

import random
from collections import Counter
from typing import TYPE_CHECKING

from toolkit.data.sources import NEGATIVE_ID_SUFFIX
from toolkit.data.targets import normalize_target
from toolkit.data.types import Examples
from toolkit.errors import ConfigError, DataError

if TYPE_CHECKING:
    from toolkit.bench.spec import EvaluationSet

Confusion = dict[str, dict[str, int]]
"""gold label -> predicted label -> rows: enough to compute every figure again from results.json."""


def joined(parts: list[Examples]) -> Examples:
    """Several splits as one set of rows, every column kept (toolkit.data.folds.pooled drops the ids when a
    split is empty, as a prepared dataset's test split is here)."""
    return Examples(
        [t for part in parts for t in part.texts],
        [label for part in parts for label in part.labels],
        [t for part in parts for t in part.targets or []],
        [i for part in parts for i in part.ids],
        [s for part in parts for s in part.sources or []],
    )


def original_rows(examples: Examples, source: str | None = None) -> list[int]:
    """Rows read from the files (no relevance negatives), of one source when given."""
    return [
        i
        for i, row_id in enumerate(examples.ids)
        if not str(row_id).endswith(NEGATIVE_ID_SUFFIX) and (source is None or (examples.sources or [])[i] == source)
    ]


def rotation(rows: Examples, sources: list[str], folds: int, seed: int) -> list[list[str]]:
    """Per fold, the (normalized) targets it holds out: each source's targets spread over the folds."""
    held: list[list[str]] = [[] for _ in range(folds)]
    rng = random.Random(seed)
    for source in sources:
        counts = Counter(normalize_target(rows.targets[i]) for i in original_rows(rows, source))  # type: ignore[index]
        if len(counts) < folds:
            known = sorted(set(rows.sources or []))
            raise ConfigError(
                f"unseen.rotate: source '{source}' has {len(counts)} target(s), fewer than {folds} folds"
                + ("" if counts else f" (the data's sources: {', '.join(known)})")
            )
        order = sorted(counts, key=lambda t: (-counts[t], rng.random()))
        load = [0] * folds
        for target in order:
            fold = min(range(folds), key=lambda k: (load[k], k))
            held[fold].append(target)
            load[fold] += counts[target]
    return held


def read_evaluation_set(spec: EvaluationSet, labels: list[str]) -> Examples:
    """Every row of an evaluation file with a text and a label, after its `where` filter and label map (repeated
    rows are kept, as the official figures count them); its labels must be the model's."""
    import pandas as pd

    from toolkit.data.config import READING_KEYS, DataConfig
    from toolkit.data.prepare import columns_for, join_second_file, standardize
    from toolkit.data.readers.frames import read_source

    cfg = DataConfig(name=spec.name, **{key: getattr(spec, key) for key in READING_KEYS})
    frames = []
    for path in spec.source:
        frame, report = read_source(path, cfg)
        if cfg.join is not None:
            frame = join_second_file(frame, cfg, report)
        for column, value in spec.where.items():
            if column not in frame.columns:
                raise DataError(f"evaluation set '{spec.name}': where column '{column}' not in {list(frame.columns)}")
            frame = frame[frame[column].astype(str).str.strip() == value]
        frames.append(standardize(frame, columns_for(cfg, report), path))
    rows = pd.concat(frames, ignore_index=True)
    rows = rows[(rows["text"].str.strip() != "") & (rows["label"] != "")]  # duplicates stay: the official count
    if rows.empty:
        raise DataError(f"evaluation set '{spec.name}': no usable rows after its where filter {spec.where}")
    unknown = sorted(set(rows["label"]) - set(labels))
    if unknown or (rows["target"] == "").any():
        what = f"labels {unknown} are not the model's {labels}" if unknown else "rows without a target"
        raise DataError(f"evaluation set '{spec.name}': {what} (check its label_map and columns)")
    return Examples(list(rows["text"]), list(rows["label"]), list(rows["target"]), list(rows["id"]))


def few_shot_rows(
    labels: list[str], ks: list[int], max_eval: int, seed: int | str
) -> tuple[list[list[int]], list[int]]:
    """For one target's rows: the shots for each k (nested; as balanced over the labels as the rows allow, so
    a handful of rows is not all the majority label) and the scored rows, disjoint from every shot."""
    rng = random.Random(seed)
    order = list(range(len(labels)))
    rng.shuffle(order)
    scored = order[: min(max_eval, len(labels) - max(ks))]
    pool = order[len(scored) :]
    queues = {label: [i for i in pool if labels[i] == label] for label in sorted({labels[i] for i in pool})}
    balanced: list[int] = []
    while len(balanced) < max(ks):
        for queue in queues.values():
            if queue and len(balanced) < max(ks):
                balanced.append(queue.pop(0))
    return [balanced[:k] for k in ks], scored


def confusion(gold: list[str], predicted: list[str]) -> Confusion:
    counts: Confusion = {}
    for g, p in zip(gold, predicted, strict=True):
        counts.setdefault(g, {}).setdefault(p, 0)
        counts[g][p] += 1
    return counts


def merged(parts: list[Confusion]) -> Confusion:
    total: Confusion = {}
    for part in parts:
        for g, row in part.items():
            for p, n in row.items():
                total.setdefault(g, {}).setdefault(p, 0)
                total[g][p] += n
    return total


def expanded(counts: Confusion) -> tuple[list[str], list[str]]:
    """Gold and predicted labels again, one per row, from the counts."""
    gold, predicted = [], []
    for g, row in sorted(counts.items()):
        for p, n in sorted(row.items()):
            gold += [g] * n
            predicted += [p] * n
    return gold, predicted


def macro_f1(counts: Confusion) -> float:
    """Macro-F1 over the labels the rows have (IBM's claims are never 'none'; a 'none' answer is still wrong)."""
    from toolkit.metrics import classification_metrics

    gold, predicted = expanded(counts)
    return classification_metrics(gold, predicted, sorted(set(gold)))["macro_f1"] if gold else float("nan")


def f_avg(counts: Confusion) -> float:
    """SemEval-2016's F_avg (mean F1 of favor and against) of these rows."""
    from toolkit.metrics import f_avg as semeval_f_avg

    gold, predicted = expanded(counts)
    value = semeval_f_avg(gold, predicted) if gold else None
    return float("nan") if value is None else value
