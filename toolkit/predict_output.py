"""What `toolkit predict` adds to its records and how it writes them: the K most probable labels, answers
marked "uncertain" below a chosen probability, and one flat row per file x model x target (CSV, JSONL,
Parquet, or a plain tab-separated table for a pipe).

Plain functions on the records of `toolkit.predict.predict_files`, usable from a notebook. `is_uncertain` is
the one rule for "uncertain": `predict`, `score` (its `uncertain` column) and `serve` all call it. pandas and
pyarrow are imported only to write Parquet.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from toolkit.errors import ConfigError

OUTPUT_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".parquet": "parquet"}
LEADING = ("file", "task", "target", "label", "probability", "uncertain")
"""The first columns of a flat row, in this order; the top-k columns, the warning and the model follow."""
NESTED = ("probabilities", "top_k", "predictions")


def is_uncertain(probability: float, min_probability: float) -> bool:
    """An answer is uncertain when its probability is below the threshold (the label is kept, only marked)."""
    return float(probability) < min_probability


def check_min_probability(min_probability: float | None) -> None:
    """A threshold is a probability strictly between 0 and 1 (0 or 1 would mark nothing or everything)."""
    if min_probability is not None and not 0 < min_probability < 1:
        raise ConfigError(f"--min-probability {min_probability} must be between 0 and 1 (e.g. 0.6)")


def check_top_k(top_k: int | None) -> None:
    if top_k is not None and top_k < 1:
        raise ConfigError(f"--top-k {top_k} must be at least 1")


def output_format(path: Path) -> str:
    """csv, jsonl or parquet, from the file's extension; any other extension is refused."""
    fmt = OUTPUT_FORMATS.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(OUTPUT_FORMATS)
        raise ConfigError(f"--output {path}: unknown extension '{path.suffix}'; use one of {known}")
    return fmt


def check_output(path: Path, inputs: Sequence[str] = ()) -> str:
    """The output's format, checked before any model loads: a known extension, not a folder, not an input."""
    fmt = output_format(path)
    if path.is_dir():
        raise ConfigError(f"--output {path} is a folder; pass a file name ending in {', '.join(OUTPUT_FORMATS)}")
    if path.exists() and any(name != "-" and Path(name).exists() and path.samefile(name) for name in inputs):
        raise ConfigError(f"--output {path} is one of the articles to predict; write it elsewhere")
    return fmt


def check_options(
    top_k: int | None, min_probability: float | None, output: Path | None, inputs: Sequence[str] = ()
) -> None:
    """Every option of `toolkit predict` that can be wrong, checked before a model loads or an article is read."""
    check_top_k(top_k)
    check_min_probability(min_probability)
    if output is not None:
        check_output(output, inputs)


def top_labels(probabilities: dict[str, float], k: int) -> list[dict[str, Any]]:
    """The k most probable labels, most probable first (ties keep the model's label order)."""
    ranked = sorted(probabilities.items(), key=lambda item: -item[1])[:k]
    return [{"label": label, "probability": probability} for label, probability in ranked]


def add_answer_fields(
    record: dict[str, Any], top_k: int | None = None, min_probability: float | None = None
) -> dict[str, Any]:
    """`record` (one model's answer for one text) with `top_k` and `uncertain` added when asked for."""
    if top_k is not None:
        record["top_k"] = top_labels(record["probabilities"], top_k)
    if min_probability is not None:
        record["uncertain"] = is_uncertain(record["probability"], min_probability)
    return record


def add_answers(
    rows: list[dict[str, Any]], top_k: int | None = None, min_probability: float | None = None
) -> list[dict[str, Any]]:
    """Every record of `predict_files` rows with `top_k` and `uncertain` added when asked for."""
    check_top_k(top_k)
    check_min_probability(min_probability)
    for row in rows:
        for record in row["predictions"]:
            add_answer_fields(record, top_k, min_probability)
    return rows


def flat_rows(rows: list[dict[str, Any]], full: bool = True) -> list[dict[str, Any]]:
    """One flat row per file x model x target, every row with the same columns (None where a row has no
    value): file, task, target, label, probability, uncertain, label_1, p_1, ..., warning, model; `full` adds
    the record's other fields (e.g. unseen_target) and prob_<label> for every label (as `toolkit score` names them)."""
    flat = []
    for row in rows:
        for record in row["predictions"]:
            item: dict[str, Any] = {"file": row["file"], "task": record["task"], "target": record.get("target")}
            item.update({key: record[key] for key in LEADING[3:] if key in record})
            for rank, entry in enumerate(record.get("top_k", []), start=1):
                item[f"label_{rank}"], item[f"p_{rank}"] = entry["label"], entry["probability"]
            item["warning"] = record.get("warning")
            item["model"] = record.get("model")
            if full:
                item.update({key: value for key, value in record.items() if key not in item and key not in NESTED})
                item.update({f"prob_{label}": p for label, p in record["probabilities"].items()})
            flat.append(item)
    seen = list(dict.fromkeys(key for item in flat for key in item))
    columns = sorted(seen, key=lambda key: _column_rank(key, seen.index(key)))
    return [{key: item.get(key) for key in columns} for item in flat]


def _column_rank(key: str, seen: int) -> tuple[int, int, int]:
    """Where a column goes: LEADING, label_1/p_1, label_2/p_2, ..., warning, model, the rest, prob_<label>."""
    if key in LEADING:
        return (0, LEADING.index(key), 0)
    name, _, rank = key.rpartition("_")
    if name in ("label", "p") and rank.isdigit():
        return (1, int(rank), name == "p")
    if key in ("warning", "model"):
        return (2, key == "model", 0)
    return (4, seen, 0) if key.startswith("prob_") else (3, seen, 0)


def plain_table(rows: list[dict[str, Any]]) -> str:
    """Tab-separated lines with a header (no probabilities per label): for a pipe, `cut` or a spreadsheet.
    A tab or line break inside a value becomes a space, so every answer stays one line."""
    flat = flat_rows(rows, full=False)
    if not flat:
        return ""
    columns = list(flat[0])
    lines = ["\t".join(columns)]
    for item in flat:
        lines.append("\t".join(_cell(item[key]) for key in columns))
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.4f}"
    return " ".join(str(value).split())


def write_predictions(rows: list[dict[str, Any]], path: Path) -> int:
    """Write the flat rows to `path` (format by extension) and return how many. The file is written under a
    temporary name and renamed: an existing file is replaced whole, and only once the new one is complete."""
    from toolkit._atomic import write_atomic

    fmt = check_output(path)
    flat = flat_rows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, lambda tmp: WRITERS[fmt](flat, tmp))
    return len(flat)


def _write_csv(flat: list[dict[str, Any]], path: Path) -> None:
    import csv

    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(flat[0]) if flat else list(LEADING))
        writer.writeheader()
        writer.writerows(flat)


def _write_jsonl(flat: list[dict[str, Any]], path: Path) -> None:
    import json

    with path.open("w", encoding="utf-8") as handle:
        for item in flat:
            handle.write(json.dumps(item, ensure_ascii=False) + "\n")


def _write_parquet(flat: list[dict[str, Any]], path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(flat), path)


WRITERS = {"csv": _write_csv, "jsonl": _write_jsonl, "parquet": _write_parquet}
