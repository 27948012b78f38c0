"""configs/stance_general.yaml end to end in seconds: its five sources replaced by tiny files of the same
shape (format, header, columns, join, compression, raw label names) written here, its encoder by the tiny
random BERT. What the real config reads is exercised; what it learns is the benchmark's business."""

from __future__ import annotations

import csv
import gzip
import json
import random
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import ROOT, STANCE_WORDS, TINY_TRANSFORMER, tiny_encoder_path
from toolkit.config import read_yaml, validate_tree

TOPICS = ["arms control talks", "nuclear energy", "chip export rules", "school meals", "city parks", "rail fares"]


def tiny_rows(source: dict[str, Any], n: int, rng: random.Random) -> list[dict[str, str]]:
    """Rows with the source's own column names and raw label names (its label_map's keys)."""
    columns, raw_labels = source["columns"], list(source["label_map"])
    rows = []
    for i in range(n):
        raw = raw_labels[i % len(raw_labels)]
        words = rng.choices(STANCE_WORDS[source["label_map"][raw]], k=8)
        topic = TOPICS[(i // len(raw_labels)) % len(TOPICS)]
        row = {columns["text"]: " ".join([*words, *topic.split()]), columns["label"]: raw, columns["target"]: topic}
        if columns.get("id"):
            row[columns["id"]] = f"{source['name']}-{i}"
        rows.append(row)
    return rows


def write_source(source: dict[str, Any], folder: Path, rng: random.Random) -> dict[str, Any]:
    """Write one tiny source shaped as the config says and return the source with its paths replaced."""
    rows, name = tiny_rows(source, 36, rng), source["name"]
    source = dict(source)
    delimiter = "\t" if source.get("format") == "tsv" else ","
    if "join" in source:  # rows reference a second file by key (FNC-1: stances -> bodies)
        key, text = source["join"]["key"], source["columns"]["text"]
        bodies = folder / f"{name}_bodies.csv"
        with bodies.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows([[key, text], *[[str(i), row[text]] for i, row in enumerate(rows)]])
        source["join"] = {**source["join"], "source": str(bodies)}
        names = source["column_names"]
        table = [
            [row[source["columns"]["target"]], str(i), row[source["columns"]["label"]]] for i, row in enumerate(rows)
        ]
        assert names[1] == key
    else:
        names = list(rows[0])
        table = [list(row.values()) for row in rows]
    lines = [["header"]] * source.get("skip_rows", 0) + ([names] if source.get("header", True) else []) + table
    first = source["source"][0] if isinstance(source["source"], list) else source["source"]
    path = folder / f"{name}{''.join(Path(first).suffixes)}"
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", newline="", encoding="utf-8") as handle:
        csv.writer(handle, delimiter=delimiter).writerows(lines)
    source["source"] = str(path)
    return source


def test_the_general_config_trains_and_answers_for_any_target(store: Path, tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    from toolkit.predict import load_ref, predict_files
    from toolkit.train import train

    tree = read_yaml(ROOT / "configs" / "stance_general.yaml")
    rng = random.Random(0)
    tree["data"]["sources"] = [write_source(source, tmp_path, rng) for source in tree["data"]["sources"]]
    tree["backend"]["params"] |= {**TINY_TRANSFORMER, "model_name_or_path": tiny_encoder_path(), "epochs": 2}
    tree["backend"]["params"] |= {"early_stopping_patience": None, "keep_best_epoch": False}
    result = train(validate_tree(tree, "stance_general.yaml (tiny)"))

    loaded = load_ref(result.model_uri)
    assert loaded.manifest["stance_scope"] == "general" and loaded.manifest["dataset"] == "stance-general"
    assert loaded.manifest["labels"] == ["against", "favor", "none"]
    article = tmp_path / "article.txt"
    article.write_text("The negotiators deserve backing: support the arms control talks.", encoding="utf-8")
    [row] = predict_files([str(article)], [loaded], "sanctions on chip exports")
    record = row["predictions"][0]
    assert record["target"] == "sanctions on chip exports" and record["unseen_target"] is False
    assert record["label"] in {"against", "favor", "none"} and "warning" not in record


def test_every_source_of_the_general_config_is_read(tmp_path: Path) -> None:
    """Each of the five sources lands in the prepared data with its rows and its mapped labels."""
    from toolkit.data.prepare import prepare_dataset

    tree = read_yaml(ROOT / "configs" / "stance_general.yaml")
    rng = random.Random(1)
    tree["data"]["sources"] = [write_source(source, tmp_path, rng) for source in tree["data"]["sources"]]
    config = validate_tree(tree, "stance_general.yaml (tiny)")
    report = prepare_dataset(config.data, "stance", tmp_path / "prepared")
    summary = json.loads((tmp_path / "prepared" / "manifest.json").read_text())["sources_summary"]
    assert list(summary) == ["vast", "fnc1", "emergent", "ibm", "semeval"]
    assert all(sum(counts["rows"].values()) >= 36 for counts in summary.values())
    assert report.labels == ["against", "favor", "none"]
