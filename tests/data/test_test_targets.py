"""split.test_targets: stance targets held out whole for test (benchmark motions, leave-one-target-out), over
every source, whatever its own splits; the remaining rows split as without them."""

from __future__ import annotations

import csv
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import STANCE_WORDS
from toolkit.config import validate_tree
from toolkit.data.prepare import load_prepared, prepare_dataset
from toolkit.data.targets import normalize_target
from toolkit.errors import ConfigError, DataError

LABELS = ["favor", "against", "none"]
DEBATE_TARGETS = ["Nuclear Energy", "school uniforms", "a four day week", "city cycling lanes"]
NEWS_TARGETS = ["nuclear  energy", "rates rise again", "museum reopens"]
HELD = ["NUCLEAR energy", " Museum   reopens"]  # other spellings of one target of each source
HELD_KEYS = {normalize_target(t) for t in HELD}


def write_rows(path: Path, name: str, targets: list[str], n: int, seed: int = 0, skip: set[str] = frozenset()) -> Path:
    """`n` rows cycling over `targets` and the three labels, each text unique; rows of `skip` targets left out."""
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label", "target"])
        for i in range(n):
            label, target = LABELS[i % 3], targets[(i // 3) % len(targets)]
            if normalize_target(target) not in skip:
                writer.writerow([f"{name} {i} " + " ".join(rng.choices(STANCE_WORDS[label], k=6)), label, target])
    return path


def source(name: str, path: Path | None = None, **extra: Any) -> dict[str, Any]:
    columns = {"text": "text", "label": "label", "target": "target"}
    return {"name": name, **({"source": str(path)} if path else {}), "columns": columns, **extra}


def tree_of(folder: Path, skip: set[str] = frozenset(), **split: Any) -> dict[str, Any]:
    """Two sources (72 debate rows on 4 targets, 54 news rows on 3), one target spelled differently in each."""
    debates = write_rows(folder / "debates.csv", "debates", DEBATE_TARGETS, 72, skip=skip)
    news = write_rows(folder / "news.csv", "news", NEWS_TARGETS, 54, seed=1, skip=skip)
    return {
        "task": "stance",
        "data": {
            "name": "held",
            "sources": [source("debates", debates), source("news", news)],
            "split": {"validation": 0.2, "test": 0.2, "seed": 0, **split},
        },
        "backend": {"name": "tfidf", "params": {"char_ngrams": None}},
    }


def prepare(tree: dict[str, Any], output: Path) -> Any:
    config = validate_tree(tree, "test")
    return prepare_dataset(config.data, config.task, output), load_prepared(output)


def rows_of(prepared: Any) -> list[dict[str, str]]:
    return [
        {"split": split, "id": i, "text": t, "target": g, "label": lab, "source": s}
        for split, ex in prepared.splits.items()
        for i, t, g, lab, s in zip(ex.ids, ex.texts, ex.targets, ex.labels, ex.sources, strict=True)
    ]


def shape(rows: list[dict[str, str]]) -> Counter[tuple[str, str, str, str]]:
    return Counter((r["source"], r["split"], r["label"], normalize_target(r["target"])) for r in rows)


def test_held_out_targets_go_to_test_from_every_source_and_the_rest_splits_as_before(tmp_path: Path) -> None:
    report, prepared = prepare(tree_of(tmp_path, test_targets=HELD), tmp_path / "out")
    rows = rows_of(prepared)
    held = [r for r in rows if normalize_target(r["target"]) in HELD_KEYS]
    assert len(held) == 18 + 18 + 18, "'Nuclear Energy', 'nuclear  energy' and 'museum reopens': every row kept"
    assert {r["split"] for r in held} == {"test"}
    assert {r["source"] for r in held} == {"debates", "news"}
    assert not [r for r in rows if r["split"] != "test" and normalize_target(r["target"]) in HELD_KEYS]
    rest = [r for r in rows if normalize_target(r["target"]) not in HELD_KEYS]
    assert {r["split"] for r in rest} == {"train", "validation", "test"}, "the shares apply to the other rows"
    (tmp_path / "without").mkdir()
    _, without = prepare(tree_of(tmp_path / "without", skip=HELD_KEYS), tmp_path / "out-without")
    assert shape(rest) == shape(rows_of(without)), "the other rows split as if the held-out ones were not there"
    splits = list(report.counts)
    assert report.counts == {s: dict(Counter(r["label"] for r in rows if r["split"] == s)) for s in splits}
    summary = prepared.manifest["sources_summary"]
    for name in ("debates", "news"):
        assert summary[name]["rows"] == {s: sum(r["source"] == name and r["split"] == s for r in rows) for s in splits}
        assert summary[name]["dropped"] == {}, "held-out rows are test rows, not dropped"
    assert prepared.manifest["config"]["split"]["test_targets"] == HELD


def test_an_entry_that_matches_no_target_is_named(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"split.test_targets: 'schol uniforms' matches no row's target") as caught:
        prepare(tree_of(tmp_path, test_targets=["Nuclear Energy", "schol uniforms", "nope"]), tmp_path / "out")
    assert "did you mean 'school uniforms'?" in str(caught.value) and "\n" not in str(caught.value)
    assert not (tmp_path / "out").exists()


def test_blank_entry_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"split.test_targets has an empty entry"):
        validate_tree(tree_of(tmp_path, test_targets=["Nuclear Energy", "  "]), "test")


def test_topic_task_refuses_test_targets(tmp_path: Path) -> None:
    path = write_rows(tmp_path / "topics.csv", "topics", ["x"], 30)
    tree = {
        "task": "topic",
        "data": {"source": str(path), "columns": {"text": "text", "label": "label"}, "split": {"test_targets": ["x"]}},
    }
    with pytest.raises(DataError, match=r"split.test_targets holds out stance targets; task 'topic'"):
        prepare(tree, tmp_path / "out")


def test_relevance_negatives_never_pair_a_text_with_a_held_out_target(tmp_path: Path) -> None:
    tree = tree_of(tmp_path, test_targets=HELD)
    tree["data"]["relevance_negatives"] = 1.0
    report, prepared = prepare(tree, tmp_path / "out")
    rows = rows_of(prepared)
    negatives = [r for r in rows if r["id"].endswith("#negative")]
    assert len(negatives) == report.added["relevance_negatives"] > 0
    assert not [r for r in negatives if normalize_target(r["target"]) in HELD_KEYS]
    assert not [r for r in rows if r["split"] != "test" and normalize_target(r["target"]) in HELD_KEYS]


def test_a_source_with_its_own_split_files_still_sends_held_out_targets_to_test(tmp_path: Path) -> None:
    own = {}
    for split, seed in (("train", 2), ("validation", 3), ("test", 4)):
        own[split] = write_rows(tmp_path / f"own-{split}.csv", f"own {split}", DEBATE_TARGETS, 24, seed=seed)
    with own["test"].open("a", newline="", encoding="utf-8") as handle:  # one train example repeated in test
        first_train = next(csv.reader(own["train"].read_text(encoding="utf-8").splitlines()[1:2]))
        csv.writer(handle).writerow(first_train)
    news = write_rows(tmp_path / "news.csv", "news", NEWS_TARGETS, 54, seed=1)
    tree = tree_of(tmp_path, test_targets=HELD)
    tree["data"]["sources"] = [
        source("own", splits={s: str(p) for s, p in own.items()}),
        source("news", news),
    ]
    report, prepared = prepare(tree, tmp_path / "out")
    rows = rows_of(prepared)
    held = [r for r in rows if normalize_target(r["target"]) in HELD_KEYS]
    assert {r["split"] for r in held} == {"test"}
    assert Counter(r["source"] for r in held) == {"own": 18, "news": 36}, "its train and validation rows too"
    assert first_train[2] == "Nuclear Energy" and sum(r["text"] == first_train[0] for r in rows) == 1
    assert report.dropped["train_test_overlap"] == 1
    for r in rows:  # its other rows keep their own split
        if r["source"] == "own" and normalize_target(r["target"]) not in HELD_KEYS:
            assert r["text"].startswith(f"own {r['split']} ")


def test_a_group_that_holds_a_held_out_row_stays_together_in_test(tmp_path: Path) -> None:
    path = tmp_path / "pairs.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label", "target", "article"])
        for i in range(60):
            label = LABELS[i % 3]
            writer.writerow([f"pair {i} " + " ".join(STANCE_WORDS[label][:3]), label, DEBATE_TARGETS[i % 4], i // 2])
    tree = tree_of(tmp_path, test_targets=["city cycling lanes"], group="article")  # in every odd article
    tree["data"].pop("sources")
    tree["data"].update(source=str(path), columns={"text": "text", "label": "label", "target": "target"})
    _, prepared = prepare(tree, tmp_path / "out")
    splits = {}
    for row in rows_of(prepared):
        splits.setdefault(row["target"], set()).add(row["split"])
    assert splits["city cycling lanes"] == splits["a four day week"] == {"test"}, "its article mates go along"
    assert splits["Nuclear Energy"] | splits["school uniforms"] == {"train", "validation", "test"}


def test_hundreds_of_held_out_targets_are_quick(tmp_path: Path) -> None:
    targets = [f"motion number {i}" for i in range(600)]
    path = write_rows(tmp_path / "many.csv", "many", targets, 6000)
    tree = tree_of(tmp_path, test_targets=[t.upper() for t in targets[:400]])
    tree["data"].pop("sources")
    tree["data"].update(source=str(path), columns={"text": "text", "label": "label", "target": "target"})
    started = time.perf_counter()
    report, prepared = prepare(tree, tmp_path / "out")
    assert time.perf_counter() - started < 30
    assert sum(report.counts["test"].values()) >= 4000
    held = {normalize_target(t) for t in targets[:400]}
    assert not [t for s in ("train", "validation") for t in prepared.splits[s].targets if normalize_target(t) in held]


def test_caps_limit_the_training_rows_and_never_the_held_out_ones(tmp_path: Path) -> None:
    tree = tree_of(tmp_path, test_targets=["school uniforms"], validation=0.0, test=0.0)
    tree["data"]["sources"][0]["max_rows"] = 20  # debates: 72 rows, 18 of them on the held-out target
    _, prepared = prepare(tree, tmp_path / "out")
    debates = [r for r in rows_of(prepared) if r["source"] == "debates"]
    held = [r for r in debates if normalize_target(r["target"]) == "school uniforms"]
    assert len(held) == 18 and {r["split"] for r in held} == {"test"}
    assert len(debates) - len(held) == 20
