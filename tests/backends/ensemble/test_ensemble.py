"""The ensemble backend: fit on held-out predictions, one hashed folder holding its members, and the CLI path."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import ROOT, STANCE, TOPIC, make_rows, tiny_config, write_csv
from toolkit.backends.calibration import log_loss
from toolkit.backends.ensemble.combine import align, learn
from toolkit.backends.ensemble.folds import held_out_folds
from toolkit.backends.ensemble.model import EnsembleBackend, EnsembleModel
from toolkit.backends.ensemble.params import EnsembleParams
from toolkit.config import load_config
from toolkit.data.types import Examples
from toolkit.errors import ConfigError, DataError, ModelLoadError
from toolkit.models.folder import MANIFEST, load_model, save_model

TWO_TFIDF = [
    {"name": "tfidf", "params": {"char_ngrams": None}},
    {"name": "tfidf", "params": {"word_ngrams": [1, 1], "char_ngrams": [2, 4], "C": 2.0}},
]


def fit(task: str, data: Examples, validation: Examples | None = None, **params: object) -> EnsembleModel:
    settings = EnsembleParams.model_validate({"members": TWO_TFIDF, **params})
    return EnsembleBackend(settings, task, seed=0).fit(data, validation)


@pytest.mark.parametrize("combiner", ["weighted_average", "stacker"])
@pytest.mark.parametrize(("task", "data"), [("topic", TOPIC), ("stance", STANCE)])
def test_saved_ensemble_predicts_exactly_as_fitted(task: str, data: Examples, combiner: str, tmp_path: Path) -> None:
    model = fit(task, data, combiner=combiner)
    probabilities = model.predict_proba(data.texts, data.targets)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    manifest = save_model(model, tmp_path / "m")
    assert {"ensemble.json", "members/0/tfidf.json", "members/1/tfidf.safetensors"} <= set(manifest["files"])
    assert ("ensemble.safetensors" in manifest["files"]) == (combiner == "stacker")
    loaded = load_model(tmp_path / "m")
    assert isinstance(loaded, EnsembleModel) and loaded.labels == model.labels and len(loaded.members) == 2
    np.testing.assert_allclose(loaded.predict_proba(data.texts, data.targets), probabilities, rtol=0, atol=1e-12)


def test_unknown_only_when_every_member_knows_no_word() -> None:
    model = fit("topic", TOPIC)
    texts = ["zzzz qqqq", "the striker scored", "xqzv"]
    _, unknown = model.predict_with_unknown(texts)
    assert unknown is not None and unknown.tolist() == [True, False, True]
    assert model.truncated_tokens(texts) is None, "tfidf members read every token"
    assert model.tags.single_process is False and model.requirements() == []


def test_batch_scoring_reads_the_members_tags_from_the_manifest() -> None:
    from toolkit.scoring.local import default_workers

    manifest = {"backend": "ensemble", "params": {"members": [{"name": "tfidf"}, {"name": "transformer"}]}}
    assert EnsembleModel.tags_for(manifest).single_process and EnsembleModel.tags_for(manifest).uses_device
    assert default_workers(manifest, "m") == 1, "a transformer member: one process"


def test_a_tampered_or_unlisted_member_file_is_refused(tmp_path: Path) -> None:
    model = fit("topic", TOPIC)
    save_model(model, tmp_path / "m")
    member_file = tmp_path / "m" / "members" / "1" / "tfidf.json"
    member_file.write_text(member_file.read_text(encoding="utf-8") + " ", encoding="utf-8")
    with pytest.raises(ModelLoadError, match=r"members/1/tfidf.json does not match its recorded sha256"):
        load_model(tmp_path / "m")
    save_model(model, tmp_path / "n")
    manifest = json.loads((tmp_path / "n" / MANIFEST).read_text(encoding="utf-8"))
    del manifest["files"]["members/0/tfidf.safetensors"]
    (tmp_path / "n" / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(ModelLoadError, match=r"does not list members/0/tfidf.safetensors"):
        load_model(tmp_path / "n")


def test_folds_keep_identical_texts_on_one_side_and_cover_every_row() -> None:
    rows = make_rows(60)
    texts = [r["text"] for r in rows] + [r["text"] for r in rows[:20]]  # 20 bodies again, with another target
    labels = [r["stance"] for r in rows] + [r["stance"] for r in rows[:20]]
    data = Examples(texts, labels, ["a"] * 60 + ["b"] * 20)
    folds = held_out_folds(data, 5, seed=0)
    assert len(folds) == 5
    assert sorted(np.concatenate(folds).tolist()) == list(range(len(data))), "each row held out exactly once"
    for held in folds:
        held_texts = {texts[i] for i in held}
        fitted_texts = {texts[i] for i in set(range(len(data))) - set(held.tolist())}
        assert not held_texts & fitted_texts
        assert len({labels[i] for i in held}) == 3, "stratified: every label in every fold"


def complementary(n: int, seed: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Two members, each sure and right except on one class it cannot tell (a different class for each)."""
    rng = np.random.default_rng(seed)
    gold = rng.integers(0, 3, n)
    members = []
    for blind in (0, 2):
        probabilities = np.full((n, 3), 0.05)
        probabilities[np.arange(n), gold] = 0.9
        lost = gold == blind
        probabilities[lost] = rng.dirichlet(np.ones(3), lost.sum())
        members.append(probabilities / probabilities.sum(axis=1, keepdims=True))
    return members, gold


@pytest.mark.parametrize("combiner", ["weighted_average", "stacker"])
def test_combination_of_complementary_members_beats_each(combiner: str) -> None:
    held, gold = complementary(600, seed=0)
    combination = learn(held, gold, EnsembleParams(members=TWO_TFIDF, combiner=combiner), seed=0)
    members, test_gold = complementary(600, seed=1)
    combined = combination.apply(members)
    losses = [log_loss(p, test_gold) for p in members]
    accuracies = [float((p.argmax(axis=1) == test_gold).mean()) for p in members]
    assert log_loss(combined, test_gold) < min(losses) <= max(losses)
    assert (combined.argmax(axis=1) == test_gold).mean() >= max(accuracies)


def test_member_columns_follow_the_ensemble_label_order() -> None:
    aligned = align(np.array([[0.2, 0.8]]), ["b", "a"], ["a", "b", "c"])
    np.testing.assert_array_equal(aligned, [[0.8, 0.2, 0.0]])


def test_fixed_weights_and_folds_zero_learn_on_the_validation_split() -> None:
    members = [dict(member, weight=w) for member, w in zip(TWO_TFIDF, (3.0, 1.0), strict=True)]
    model = EnsembleBackend(EnsembleParams(members=members, folds=0), "topic").fit(TOPIC, TOPIC)
    assert model.combination.weights == [0.75, 0.25]
    with pytest.raises(DataError, match="validation split"):
        fit("topic", TOPIC, folds=0)


def rows_fitted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many rows each member fit got, in order (fit_member spied on)."""
    import toolkit.backends.ensemble.model as ensemble_model

    sizes: list[int] = []
    real = ensemble_model.fit_member

    def spy(backend, index, train, *args, **kwargs):  # type: ignore[no-untyped-def]
        sizes.append(len(train))
        return real(backend, index, train, *args, **kwargs)

    monkeypatch.setattr(ensemble_model, "fit_member", spy)
    return sizes


def test_fit_summary_names_each_members_weight_and_temperature() -> None:
    model = fit("topic", TOPIC, folds=2)
    summary = model.fit_summary()
    assert set(summary) == {"member0.weight", "member1.weight", "member0.temperature", "member1.temperature"}
    assert summary["member0.weight"] + summary["member1.weight"] == pytest.approx(1.0)
    assert summary["member0.weight"] == model.combination.weights[0]  # type: ignore[index]
    stacked = fit("topic", TOPIC, folds=2, combiner="stacker").fit_summary()
    assert set(stacked) == {"member0.temperature", "member1.temperature"}, "a stacker has no weights to show"


@pytest.mark.parametrize("refit", [True, False])
def test_holdout_learns_on_held_out_training_rows_and_never_needs_the_validation_split(
    monkeypatch: pytest.MonkeyPatch, refit: bool
) -> None:
    rows = make_rows(60)
    data = Examples([r["text"] for r in rows], [r["topic"] for r in rows])
    sizes = rows_fitted(monkeypatch)
    model = fit("topic", data, None, folds=0, holdout=0.25, refit=refit)
    held = len(data) - sizes[0]
    assert 10 <= held <= 20 and sizes[:2] == [sizes[0]] * 2, "both members first fitted without about a quarter"
    assert sizes[2:] == ([len(data)] * 2 if refit else []), "refit: every member fitted again on all rows"
    assert model.combination.weights is not None and abs(sum(model.combination.weights) - 1) < 1e-9
    assert model.predict(data.texts[:3]) == data.labels[:3]


def test_holdout_keeps_identical_texts_on_one_side() -> None:
    from toolkit.backends.ensemble.folds import holdout_split

    rows = make_rows(40)
    texts = [r["text"] for r in rows] * 2  # every text twice
    data = Examples(texts, [r["topic"] for r in rows] * 2)
    part, held = holdout_split(data, 0.2, seed=0)
    assert len(part) + len(held) == len(data) and not set(part.texts) & set(held.texts)
    assert set(held.labels) == set(data.labels), "stratified: every label held out"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("backend.params.members.1.params.Cx=1", r"members.1.params': unknown key 'Cx' \(did you mean 'C'\?\)"),
        ("backend.params.members.0.name=ensemble", "cannot itself be an ensemble"),
        ("backend.params.members.0.weight=2", "give a weight to every member or to none"),
        ("backend.params.folds=1", r"'backend.params.folds': folds must be 0"),
        ("backend.params.holdout=0.2", "holdout is for folds: 0"),
        ("backend.params.holdout=0.7", r"'backend.params.holdout': Input should be less than or equal to 0.5"),
    ],
)
def test_member_config_errors_name_the_key(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(ROOT / "configs" / "topic_ensemble.yaml", [override])


def test_a_member_takes_the_backend_of_a_run_config_and_overrides_single_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("tuned.yaml").write_text("task: topic\nbackend:\n  name: tfidf\n  params: {C: 7.5, min_df: 2}\n")
    tree = {"members": [{"config": "tuned.yaml"}, {"config": "tuned.yaml", "params": {"C": 1.0}, "weight": 1.0}]}
    tree["members"][0]["weight"] = 3.0
    members = EnsembleParams.model_validate(tree).members
    assert [m.name for m in members] == ["tfidf", "tfidf"]
    assert (members[0].params["C"], members[0].params["min_df"]) == (7.5, 2)
    assert (members[1].params["C"], members[1].params["min_df"]) == (1.0, 2), "a given key overrides the config's"
    assert members[0].params["word_ngrams"] == [1, 2], "the rest resolved to the backend's defaults"


@pytest.mark.parametrize(
    ("member", "message"),
    [
        ({"config": "missing.yaml"}, r"members.0': config file not found: missing.yaml"),
        ({"config": "tuned.yaml", "name": "transformer"}, r"name 'transformer' differs from the backend of tuned.yaml"),
        ({"config": "tuned.yaml", "params": {"Cx": 1}}, r"members.0.params': unknown key 'Cx'"),
        ({"config": "nobackend.yaml"}, r"nobackend.yaml has no backend.name"),
    ],
)
def test_a_bad_member_config_is_named(
    member: dict[str, object], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("tuned.yaml").write_text("task: topic\nbackend:\n  name: tfidf\n")
    Path("nobackend.yaml").write_text("task: topic\n")
    Path("run.yaml").write_text("task: topic\nbackend:\n  name: ensemble\n  params:\n    members: []\n")
    with pytest.raises(ConfigError, match=message):
        load_config("run.yaml", [f"backend.params.members=[{json.dumps(member)}]"])


@pytest.mark.slow  # in `make test` (CI); the default loop keeps a faster sibling
def test_train_the_shipped_config_then_predict(cli, store: Path) -> None:
    source = write_csv(store / "articles.csv", make_rows(90))
    overrides = [o for o in tiny_config("topic", source) if not o.startswith("backend.params.")]
    sets = [arg for override in [*overrides, "backend.params.folds=3"] for arg in ("--set", override)]
    code, out, err = cli("train", "-q", "--json", "-c", str(ROOT / "configs" / "topic_ensemble.yaml"), *sets)
    assert code == 0, err
    trained = json.loads(out)
    uri = trained["model_uri"]
    import mlflow

    logged = mlflow.MlflowClient(os.environ["MLFLOW_TRACKING_URI"]).get_run(trained["run_id"]).data.metrics
    weights = [logged[f"fit_member{i}.weight"] for i in range(2)]
    assert sum(weights) == pytest.approx(1.0) and all(logged[f"fit_member{i}.temperature"] > 0 for i in range(2))
    (store / "a.txt").write_text("the central bank raised rates as inflation and prices rose", encoding="utf-8")
    code, out, err = cli("predict", "--json", "-m", uri, str(store / "a.txt"))
    assert code == 0, err
    assert json.loads(out)[0]["predictions"][0]["label"] == "economy"


@pytest.mark.slow
def test_transformer_member_makes_the_ensemble_single_process(tmp_path: Path) -> None:
    from tests.helpers import tiny_transformer_params
    from toolkit.scoring.local import default_workers

    members = [TWO_TFIDF[0], {"name": "transformer", "params": tiny_transformer_params(epochs=3)}]
    model = EnsembleBackend(EnsembleParams(members=members, folds=0), "topic").fit(TOPIC, TOPIC)
    assert model.tags.single_process and model.tags.uses_device
    assert model.predict_with_unknown(TOPIC.texts)[1] is None, "a transformer member always reads something"
    manifest = save_model(model, tmp_path / "m")
    assert EnsembleModel.tags_for(manifest) == model.tags and default_workers(manifest, "m") == 1
    loaded = load_model(tmp_path / "m")
    np.testing.assert_allclose(loaded.predict_proba(TOPIC.texts), model.predict_proba(TOPIC.texts), atol=1e-6)
