"""A stance model says when it is asked about a target it was never trained on (predict and score alike)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.helpers import TARGETS, make_rows, write_csv
from toolkit.data.targets import TargetScope, normalize_target
from toolkit.errors import ConfigError, DataError

UNSEEN = "sanctions on chip exports"


def test_targets_compare_case_and_space_insensitively() -> None:
    scope = TargetScope.from_manifest({"targets": TARGETS})
    assert scope is not None and not scope.general
    assert not scope.is_unseen("  Arms Control   talks ") and scope.is_unseen(UNSEEN)
    assert normalize_target("Nuclear\tEnergy ") == "nuclear energy"
    general = TargetScope.from_manifest({"targets": TARGETS, "stance_scope": "general"})
    assert general is not None and not general.is_unseen(UNSEEN)
    assert TargetScope.from_manifest({}) is None  # a folder saved outside training claims nothing


@pytest.fixture(scope="module")
def stance_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same tiny tfidf stance model saved as a target-specific and as a general model."""
    from toolkit.backends.tfidf.model import TfidfBackend, TfidfParams
    from toolkit.data.types import Examples
    from toolkit.models.folder import save_model

    rows, root = make_rows(90), tmp_path_factory.mktemp("scoped")
    data = Examples([r["text"] for r in rows], [r["stance"] for r in rows], [r["target"] for r in rows])
    model = TfidfBackend(TfidfParams(char_ngrams=None), "stance").fit(data)
    folders = {}
    for scope in ("targets", "general"):
        folders[scope] = root / scope
        save_model(model, folders[scope], {"targets": sorted(TARGETS), "stance_scope": scope})
    return folders


def test_predict_flags_an_unseen_target_only_on_a_target_specific_model(stance_models, tmp_path: Path) -> None:
    from toolkit.predict import load_ref, predict_files

    article = tmp_path / "a.txt"
    article.write_text(make_rows(1)[0]["text"], encoding="utf-8")
    specific, general = load_ref(str(stance_models["targets"])), load_ref(str(stance_models["general"]))
    [row] = predict_files([str(article)], [specific], UNSEEN)
    record = row["predictions"][0]
    assert record["unseen_target"] is True and "not one of the 2 targets" in record["warning"]
    assert "stance_general.yaml" in record["warning"]
    [row] = predict_files([str(article)], [specific], "Nuclear Energy")
    assert row["predictions"][0]["unseen_target"] is False
    assert "not one of" not in row["predictions"][0].get("warning", "")
    [row] = predict_files([str(article)], [general], UNSEEN)
    assert row["predictions"][0]["unseen_target"] is False
    with pytest.raises(DataError, match="general stance model: pass --target"):
        predict_files([str(article)], [general], None)


def test_score_writes_an_unseen_target_column(stance_models, tmp_path: Path) -> None:
    from toolkit.scoring.api import InputSpec, ScoreOptions, score

    rows = make_rows(6)
    rows[0]["target"] = UNSEEN
    source = write_csv(tmp_path / "in.csv", rows)
    spec = InputSpec(path=source, target_col="target")
    score(spec, ScoreOptions(model=str(stance_models["targets"]), output=tmp_path / "out"))
    frame = pd.read_parquet(tmp_path / "out")
    assert frame["unseen_target"].tolist() == [r["target"] == UNSEEN for r in rows]
    score(spec, ScoreOptions(model=str(stance_models["general"]), output=tmp_path / "general"))
    assert not pd.read_parquet(tmp_path / "general")["unseen_target"].any()


def test_trained_stance_model_records_its_scope(trained) -> None:
    manifests = [json.loads(p.read_text()) for p in Path(trained["root"]).rglob("model_dir/manifest.json")]
    [stance] = [m for m in manifests if m["task"] == "stance"]
    assert stance["stance_scope"] == "targets" and stance["targets"] == sorted(TARGETS)
    assert all("stance_scope" not in m for m in manifests if m["task"] == "topic")


def test_general_scope_is_for_stance_runs_only() -> None:
    from toolkit.config import load_config

    with pytest.raises(ConfigError, match="stance_scope 'general' is for task 'stance'"):
        load_config(None, ["task=topic", "stance_scope=general"])


def test_other_targets_never_repeat_a_rows_own_target() -> None:
    from toolkit.data.targets import other_targets

    targets = ["A b", "a  B", "c", "d", "c"] * 20
    paired = other_targets(targets, seed=3)
    assert len(paired) == len(targets) and paired == other_targets(targets, seed=3)
    assert all(normalize_target(p) != normalize_target(t) for p, t in zip(paired, targets, strict=True))
    with pytest.raises(ValueError, match="two distinct targets"):
        other_targets(["x", "X "], seed=0)
