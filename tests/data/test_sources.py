"""Several sources merged into one stance dataset: each in its own format, columns and label map, with caps,
per-source counts, a split by target, and relevance negatives (a text paired with another target: none)."""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import STANCE_WORDS
from toolkit.config import validate_tree
from toolkit.data.prepare import load_prepared, prepare_dataset
from toolkit.data.targets import normalize_target
from toolkit.errors import ConfigError, DataError

# label names as each source writes them -> the shared favor / against / none
DEBATES = {"PRO": "favor", "CON": "against"}
CLAIMS = {"for": "favor", "against": "against", "observing": "none"}
NEWS = {"agree": "favor", "disagree": "against", "discuss": "none", "unrelated": "none"}


def text(source: str, i: int, stance: str, rng: random.Random) -> str:
    return f"{source} item {i} " + " ".join(rng.choices(STANCE_WORDS[stance], k=6))


def write_sources(folder: Path) -> dict[str, Any]:
    """Three tiny sources: a CSV with its own column names (PRO/CON, 40 rows on 4 motions), a JSONL file
    (for/against/observing, 30 rows on 3 claims) and a gzipped TSV (agree/disagree/discuss/unrelated, 48 rows
    on 4 headlines; 32 of them none). One target is written differently in two sources (case and spaces)."""
    rng = random.Random(0)
    motions = ["Nuclear Energy", "school uniforms", "a four day week", "city cycling lanes"]
    with (folder / "debates.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["statement", "position", "motion"])
        for i in range(40):
            label = list(DEBATES)[i % 2]
            writer.writerow([text("debates", i, DEBATES[label], rng), label, motions[i % 4]])
    claims = ["drinking coffee helps", "the bridge will close", "robots take the jobs"]
    with (folder / "claims.jsonl").open("w", encoding="utf-8") as handle:
        for i in range(30):
            label = list(CLAIMS)[i % 3]
            record = {"headline": text("claims", i, CLAIMS[label], rng), "verdict": label, "claim": claims[i % 3]}
            handle.write(json.dumps(record) + "\n")
    headlines = ["nuclear  energy", "rates rise again", "the league expands", "museum reopens"]
    news = io.StringIO()
    writer = csv.writer(news, delimiter="\t")
    writer.writerow(["Body", "Stance", "Headline"])
    for i in range(48):
        label = ["agree", "disagree", "discuss", "unrelated", "unrelated", "unrelated"][i % 6]
        writer.writerow([text("news", i, NEWS[label], rng), label, headlines[(i // 6) % 4]])
    (folder / "news.tsv.gz").write_bytes(gzip.compress(news.getvalue().encode()))
    return {
        "task": "stance",
        "data": {
            "name": "general",
            "sources": [
                {
                    "name": "debates",
                    "source": str(folder / "debates.csv"),
                    "columns": {"text": "statement", "label": "position", "target": "motion"},
                    "label_map": DEBATES,
                },
                {
                    "name": "claims",
                    "source": str(folder / "claims.jsonl"),
                    "columns": {"text": "headline", "label": "verdict", "target": "claim"},
                    "label_map": CLAIMS,
                },
                {
                    "name": "news",
                    "source": str(folder / "news.tsv.gz"),
                    "columns": {"text": "Body", "label": "Stance", "target": "Headline"},
                    "label_map": NEWS,
                },
            ],
            "split": {"validation": 0.2, "test": 0.2, "seed": 0},
        },
        "backend": {"name": "tfidf", "params": {"char_ngrams": None}},
    }


def prepare(tree: dict[str, Any], output: Path) -> Any:
    config = validate_tree(tree, "test")
    return prepare_dataset(config.data, config.task, output), load_prepared(output)


@pytest.fixture
def tree(tmp_path: Path) -> dict[str, Any]:
    return write_sources(tmp_path)


def rows_of(prepared: Any) -> list[dict[str, str]]:
    return [
        {"split": split, "id": i, "text": t, "target": g, "label": lab, "source": s}
        for split, ex in prepared.splits.items()
        for i, t, g, lab, s in zip(ex.ids, ex.texts, ex.targets, ex.labels, ex.sources, strict=True)
    ]


def test_three_formats_and_label_maps_merge_with_counts_per_source(tree, tmp_path: Path) -> None:
    report, prepared = prepare(tree, tmp_path / "out")
    assert report.labels == ["against", "favor", "none"]
    rows = rows_of(prepared)
    assert Counter(r["source"] for r in rows) == {"debates": 40, "claims": 30, "news": 48}
    by_source = {name: Counter(r["label"] for r in rows if r["source"] == name) for name in ("debates", "claims")}
    assert by_source == {"debates": {"favor": 20, "against": 20}, "claims": {"favor": 10, "against": 10, "none": 10}}
    summary = prepared.manifest["sources_summary"]
    assert list(summary) == ["debates", "claims", "news"]
    assert summary["news"]["rows_read"] == 48 and summary["news"]["dropped"] == {}
    assert summary["news"]["labels"] == {"against": 8, "favor": 8, "none": 32}
    assert summary["claims"]["targets"] == 3
    for name, counts in summary.items():
        assert counts["rows"] == {s: sum(r["source"] == name and r["split"] == s for r in rows) for s in report.counts}
    assert prepared.manifest["sources"][2]["compression"] == "gzip"
    renamed = json.loads(json.dumps(tree).replace('"name": "news"', '"name": "wire"'))
    assert prepare(renamed, tmp_path / "renamed")[0].fingerprint != report.fingerprint, "sources count, merged"


def test_caps_are_exact_seeded_and_counted(tree, tmp_path: Path) -> None:
    sources = tree["data"]["sources"]
    sources[2]["max_rows_per_label"] = {"none": 10}
    sources[1]["max_rows"] = 20
    report, prepared = prepare(tree, tmp_path / "out")
    summary = prepared.manifest["sources_summary"]
    assert summary["news"]["labels"] == {"against": 8, "favor": 8, "none": 10}
    assert summary["news"]["dropped"] == {"max_rows_per_label": 22}
    assert sum(summary["claims"]["rows"].values()) == 20 and summary["claims"]["dropped"] == {"max_rows": 10}
    assert sum(summary["debates"]["rows"].values()) == 40, "a source without caps keeps every row"
    assert report.dropped["max_rows_per_label"] == 22 and report.dropped["max_rows"] == 10
    kept = {r["text"] for r in rows_of(prepared) if r["source"] == "news" and r["label"] == "none"}
    assert prepare(tree, tmp_path / "again")[0].fingerprint == report.fingerprint, "the sample is seeded"
    tree["data"]["split"]["seed"] = 1
    _, other = prepare(tree, tmp_path / "other")
    assert {r["text"] for r in rows_of(other) if r["source"] == "news" and r["label"] == "none"} != kept
    sources[2]["max_rows_per_label"] = {"None": 10}
    with pytest.raises(DataError, match=r"'news': max_rows_per_label names label 'None', not one of its labels"):
        prepare(tree, tmp_path / "typo")


def test_split_by_target_leaves_no_target_in_two_splits(tree, tmp_path: Path) -> None:
    tree["data"]["split"].update(by_target=True, seed=3)
    report, prepared = prepare(tree, tmp_path / "out")
    splits_of: dict[str, set[str]] = {}
    for row in rows_of(prepared):
        splits_of.setdefault(normalize_target(row["target"]), set()).add(row["split"])
    assert all(len(splits) == 1 for splits in splits_of.values()), splits_of
    assert len(splits_of) == 10, "'Nuclear Energy' and 'nuclear  energy' are one target"
    assert report.counts["train"] and report.counts["test"], "targets went to train and to test"


def test_relevance_negatives_only_in_train_with_another_target(tree, tmp_path: Path) -> None:
    _, plain = prepare(tree, tmp_path / "plain")
    tree["data"].update(relevance_negatives=0.5)
    report, prepared = prepare(tree, tmp_path / "out")
    before, after = rows_of(plain), rows_of(prepared)
    for split in ("validation", "test"):
        assert [r for r in after if r["split"] == split] == [r for r in before if r["split"] == split]
    added = [r for r in after if r not in before]
    train_rows = sum(r["split"] == "train" for r in before)
    assert len(added) == round(0.5 * train_rows) == report.added["relevance_negatives"]
    own_targets: dict[str, set[str]] = {}
    for row in before:
        own_targets.setdefault(row["text"], set()).add(normalize_target(row["target"]))
    train_targets = {r["target"] for r in before if r["split"] == "train"}
    for row in added:
        assert row["split"] == "train" and row["label"] == "none"
        assert row["target"] in train_targets and normalize_target(row["target"]) not in own_targets[row["text"]]
    summary = prepared.manifest["sources_summary"]
    assert sum(s["added"]["relevance_negatives"] for s in summary.values() if "added" in s) == len(added)
    tree["data"]["none_label"] = "neutral"
    with pytest.raises(DataError, match=r"data.none_label 'neutral' is not one of the data's labels"):
        prepare(tree, tmp_path / "bad")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["sources"][1].update(name="debates"), r"duplicate source name 'debates'"),
        (lambda d: d.update(source="x.csv"), r"data.source cannot be set beside data.sources"),
        (lambda d: d.update(label_map={"a": "b"}), r"data.label_map cannot be set beside data.sources"),
        (lambda d: d["sources"][1].update(colums={}), r"unknown key 'data.sources.1.colums' \(did you mean 'columns'"),
        (lambda d: d["sources"][0].update(name="../up"), r"'data.sources.0.name': String should match pattern"),
        (lambda d: d["sources"][2]["columns"].pop("target"), r"needs data.sources.2.columns.target"),
        (lambda d: d["split"].update(by_target=True, group="id"), r"split.by_target and split.group cannot both"),
    ],
)
def test_config_errors_name_the_key(tree, change, message) -> None:
    change(tree["data"])
    with pytest.raises(ConfigError, match=message):
        validate_tree(tree, "test")


def test_train_records_the_sources_in_mlflow(tree, store: Path) -> None:
    import mlflow
    from typer.testing import CliRunner

    from toolkit.cli import app

    tree["data"]["sources"][2]["max_rows_per_label"] = {"none": 12}
    tree["tracking"] = {"log_model": False}
    config = store / "general.yaml"
    config.write_text(yaml.safe_dump(tree), encoding="utf-8")
    result = CliRunner().invoke(app, ["prepare", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "news: read 48, dropped 20 (max_rows_per_label: 20); kept" in " ".join(result.stdout.split())
    result = CliRunner().invoke(app, ["train", "--config", str(config), "--json"])
    assert result.exit_code == 0, result.output
    trained = json.loads(result.stdout)
    run_id = trained["run_id"]
    client = mlflow.MlflowClient()
    run = client.get_run(run_id)
    summary = json.loads(Path(client.download_artifacts(run_id, "data/sources.json", str(store))).read_text())
    assert summary["news"]["labels"]["none"] == 12
    for name in ("debates", "claims", "news"):
        assert run.data.params[f"data.source_rows.{name}"] == str(summary[name]["rows"]["train"])
    assert sum(int(run.data.params[f"data.source_rows.{n}"]) for n in summary) == trained["rows"]["train"]
    [train_input] = [i for i in run.inputs.dataset_inputs if i.tags[0].value == "train"]
    assert "source" in train_input.dataset.schema
