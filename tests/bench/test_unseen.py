"""`toolkit experiment run` with `unseen:`: folds of held-out targets, evaluation sets, relevance, few-shot."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import STANCE_WORDS, TINY_TRANSFORMER, tiny_encoder_path
from toolkit.errors import ConfigError, DataError

SOURCES = {"alpha": 3, "beta": 6}  # alpha: as many targets as folds (left-one-target-out)
LABELS = ["against", "favor", "none"]


def write_rows(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def stance_rows(prefix: str, targets: int, per_target: int, rng: random.Random) -> list[dict[str, str]]:
    """Rows whose stance words say the label whatever the target (so unseen targets are learnable)."""
    rows = []
    for t in range(targets):
        for i in range(per_target):
            label = LABELS[i % 3]
            words = rng.choices(STANCE_WORDS[label], k=6) + [f"{prefix}{t}", "topic"]
            rows.append({"text": " ".join(words), "label": label, "target": f"{prefix} subject {t}"})
    return rows


def write_spec(root: Path, toolkit_backend: dict[str, Any], **unseen: Any) -> Path:
    rng = random.Random(0)
    sources = [
        {
            "name": name,
            "source": str(write_rows(root / f"{name}.csv", stance_rows(name, n, 12, rng))),
            "columns": {"text": "text", "label": "label", "target": "target"},
        }
        for name, n in SOURCES.items()
    ]
    dev = [{**row, "seen?": "0"} for row in stance_rows("fresh", 2, 9, rng)]
    dev += [{**row, "seen?": "1"} for row in stance_rows("beta", 2, 6, rng)]
    write_rows(root / "dev.csv", dev)
    config = {
        "task": "stance",
        "stance_scope": "general",
        "data": {"name": "tiny-general", "sources": sources, "split": {"validation": 0.0, "test": 0.0}},
        "backend": toolkit_backend,
        "tracking": {"figures": False},
    }
    (root / "general.yaml").write_text(yaml.safe_dump(config))
    evaluation = {"source": str(root / "dev.csv"), "columns": {"text": "text", "label": "label", "target": "target"}}
    spec = {
        "name": "tiny_unseen",
        "config": str(root / "general.yaml"),
        "seeds": [0],
        "baselines": ["tfidf_lr"],
        "output": str(root / "results"),
        "unseen": {
            "folds": 3,
            "rotate": {"alpha": "f_avg_per_target", "beta": "macro_f1"},
            "evaluation_sets": [
                {"name": "dev_zero_shot", **evaluation, "where": {"seen?": "0"}, "per_source_model": "beta"},
                {"name": "dev_few_shot", **evaluation, "where": {"seen?": "1"}, "unseen": False},
            ],
            "per_source": str(root / "per_source.yaml"),
        }
        | unseen,
    }
    per_source = {"task": "stance", "data": {"columns": {"target": "target"}}, "backend": TFIDF}
    (root / "per_source.yaml").write_text(yaml.safe_dump(per_source))
    path = root / "tiny_unseen.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


TFIDF = {"name": "tfidf", "params": {"char_ngrams": None}}


@pytest.mark.slow
def test_every_target_is_held_out_once_and_never_trained_on(store: Path) -> None:
    from toolkit.bench.runner import run_experiment
    from toolkit.bench.unseen_report import summary
    from toolkit.data.prepare import load_prepared
    from toolkit.data.targets import normalize_target

    result = run_experiment(write_spec(store, TFIDF, trainer=False))
    payload = json.loads((store / "results" / "results.json").read_text())
    folds = payload["folds"]
    assert [fold["fold"] for fold in folds] == [0, 1, 2]
    held = [set(fold["held_out_targets"]) for fold in folds]
    alpha = {f"alpha subject {t}" for t in range(3)}
    assert [len(h & alpha) for h in held] == [1, 1, 1]  # left-one-target-out
    beta = {f"beta subject {t}" for t in range(6)}
    assert set.union(*held) >= alpha | beta and sum(len(h & beta) for h in held) == 6
    for fold in folds:
        prepared = load_prepared(Path(f"data/processed/tiny-general-stance-tiny_unseen-fold{fold['fold']}-seed0"))
        trained_on = {normalize_target(t) for t in prepared.splits["train"].targets or []}
        assert not trained_on & set(fold["held_out_targets"])
        assert {normalize_target(t) for t in prepared.splits["test"].targets or []} == set(fold["held_out_targets"])
        # every held-out row of both sources is scored, each against its own target
        toolkit = fold["rows"]["toolkit"]
        assert sum(sum(map(sum, (r.values() for r in c.values()))) for c in toolkit["beta"].values()) == 12 * len(
            set(fold["held_out_targets"]) & beta
        )
        assert toolkit["relevance"]["rows"] == len(prepared.splits["test"])
    figures = summary(payload)
    assert set(figures) == {"toolkit", "tfidf_lr", "per-source models (tfidf)"}
    # stance words carry over to unseen targets: the toolkit model reads them on every held-out source
    assert figures["toolkit"]["beta"] > 0.8 and figures["toolkit"]["alpha"] > 0.8
    assert figures["toolkit"]["dev_zero_shot"] > 0.8
    assert "dev_few_shot" not in folds[0]["rows"]["per-source models (tfidf)"]  # no per_source_model named for it
    markdown = Path(result.results_path).read_text()
    assert "| toolkit |" in markdown and "## alpha: each target held out once" in markdown
    assert "relevance (share none)" in markdown


@pytest.mark.slow
def test_zero_shot_targets_present_in_training_are_held_out_of_every_fold(store: Path) -> None:
    from toolkit.bench.runner import run_experiment

    spec = write_spec(store, TFIDF, trainer=False, folds=2, rotate={"alpha": "macro_f1"})
    rows = list(csv.DictReader((store / "dev.csv").open()))
    rows[0]["target"] = "Beta  Subject 5"  # a zero-shot row whose topic a training source has
    write_rows(store / "dev.csv", rows)
    run_experiment(spec)
    folds = json.loads((store / "results" / "results.json").read_text())["folds"]
    assert all("beta subject 5" in fold["held_out_targets"] for fold in folds)


@pytest.mark.slow
def test_trainer_row_and_few_shot_curve_with_a_tiny_encoder(store: Path) -> None:
    pytest.importorskip("transformers")
    from toolkit.bench.runner import run_experiment
    from toolkit.bench.unseen_report import few_shot_table

    params = {**TINY_TRANSFORMER, "model_name_or_path": tiny_encoder_path(), "epochs": 3}
    adapt = {"task": "stance", "data": {"columns": {"target": "target"}}, "backend": {"name": "transformer"}}
    adapt["backend"]["params"] = {**params, "epochs": 2}
    (store / "adapt.yaml").write_text(yaml.safe_dump(adapt))
    few_shot = {"ks": [2, 4], "min_eval_rows": 4, "max_eval_rows": 4, "config": str(store / "adapt.yaml")}
    run_experiment(write_spec(store, {"name": "transformer", "params": params}, folds=2, few_shot=few_shot))
    payload = json.loads((store / "results" / "results.json").read_text())
    fold = payload["folds"][0]
    assert "plain Trainer cross-encoder" in fold["rows"]
    points = fold["few_shot"]
    assert [p["k"] for p in points] == [2, 4]
    for point in points:  # zero-shot, adapted and scratch all scored on the same 4 rows
        sides = ("zero_shot", "adapted", "scratch")
        assert {sum(sum(r.values()) for r in point[side].values()) for side in sides} == {4}
    assert Path("data/processed/tiny-general-stance-tiny_unseen-fold0-seed0-model/manifest.json").is_file()
    table, every_point = few_shot_table(payload), [p for f in payload["folds"] for p in f["few_shot"]]
    assert table[2].startswith("| 2 | 2 |") and table[3].startswith("| 4 | 2 |")  # k, targets (one per fold)
    assert len(table) == 7 + len(every_point)


def test_spec_errors_name_the_problem(store: Path) -> None:
    from toolkit.bench.runner import run_experiment
    from toolkit.bench.spec import load_spec

    path = write_spec(store, TFIDF, trainer=False, rotate={"gamma": "macro_f1"})
    with pytest.raises(ConfigError, match="source 'gamma' is not one of the config's sources: alpha, beta"):
        run_experiment(path)
    with pytest.raises(ConfigError, match="fewer than 4 folds"):
        run_experiment(write_spec(store, TFIDF, trainer=False, folds=4))
    with pytest.raises(ConfigError, match="variants and cv do not apply"):
        path = write_spec(store, TFIDF)
        tree = yaml.safe_load(path.read_text()) | {"variants": {"x": ["seed=1"]}}
        path.write_text(yaml.safe_dump(tree))
        load_spec(path)
    path = write_spec(store, TFIDF, trainer=False)
    tree = yaml.safe_load(path.read_text())
    tree["unseen"]["evaluation_sets"][0]["where"] = {"seen": "0"}
    path.write_text(yaml.safe_dump(tree))
    with pytest.raises(DataError, match="where column 'seen' not in"):
        run_experiment(path)


def test_few_shot_rows_are_balanced_nested_and_disjoint_from_the_scored_rows() -> None:
    from toolkit.bench.unseen_data import few_shot_rows

    labels = ["favor"] * 30 + ["against"] * 6 + ["none"] * 4
    shots, scored = few_shot_rows(labels, [3, 6, 12], max_eval=20, seed=0)
    assert len(scored) == 20 and not set(scored) & set(shots[-1])
    assert shots[0] == shots[1][:3] == shots[2][:3]
    assert sorted(labels[i] for i in shots[0]) == ["against", "favor", "none"]
    counts = {label: sum(labels[i] == label for i in shots[2]) for label in set(labels)}
    assert counts["favor"] >= counts["against"] >= 1 and sum(counts.values()) == 12


def test_figures_come_from_the_confusion_counts() -> None:
    from toolkit.bench.unseen_data import confusion, f_avg, macro_f1

    gold = ["favor", "favor", "against", "against", "none"]
    predicted = ["favor", "against", "against", "against", "favor"]
    counts = confusion(gold, predicted)
    from sklearn.metrics import f1_score

    assert macro_f1(counts) == pytest.approx(f1_score(gold, predicted, average="macro"))
    both = f1_score(gold, predicted, labels=["favor", "against"], average=None)
    assert f_avg(counts) == pytest.approx(both.mean())


def test_a_held_out_text_that_is_another_rows_target_is_held_out_too() -> None:
    """FNC-1 was built from Emergent: an Emergent headline (text) is an FNC-1 headline (target)."""
    from toolkit.bench.spec import ExperimentSpec
    from toolkit.bench.unseen import texts_as_targets
    from toolkit.data.types import Examples

    spec = ExperimentSpec.model_validate({"name": "x", "config": "c", "unseen": {"rotate": {"emergent": "macro_f1"}}})
    rows = Examples(
        texts=["Pope Bans Phones", "another headline", "a body about the pope", "unrelated body"],
        labels=["favor", "none", "favor", "none"],
        targets=["claim one", "claim two", "pope bans  PHONES", "some headline"],
        ids=["e1", "e2", "f1", "f2"],
        sources=["emergent", "emergent", "fnc1", "fnc1"],
    )
    assert texts_as_targets(spec, rows, {"claim one"}) == {"pope bans phones"}
    assert texts_as_targets(spec, rows, {"claim two"}) == set()
