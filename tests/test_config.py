from pathlib import Path

import pytest

from tests.helpers import ROOT
from toolkit.config import load_config
from toolkit.errors import ConfigError

CONFIGS = sorted(ROOT.joinpath("configs").glob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_every_shipped_config_validates(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # paths in a config (data, an ensemble member's config) are the working folder's
    config = load_config(path)
    assert config.task in {"topic", "stance"}
    assert config.backend.params, "backend params are resolved to their full defaults"


def test_default_config_is_topic_tfidf_on_the_sample() -> None:
    config = load_config()
    assert (config.task, config.backend.name, config.data.source) == ("topic", "tfidf", ["data/sample/articles.csv"])
    assert config.experiment_name == "topic-sample"


def test_override_sets_nested_values_as_yaml() -> None:
    config = load_config(None, ["backend.params.C=2.5", "data.split.seed=7", "backend.params.char_ngrams=null"])
    assert config.backend.params["C"] == 2.5
    assert config.backend.params["char_ngrams"] is None
    assert config.data.split.seed == 7


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("traning.seed=1", r"unknown key 'traning'"),
        ("data.colums.text=x", r"unknown key 'data.colums' \(did you mean 'columns'\?\)"),
        ("backend.params.Cx=1", r"unknown key 'backend.params.Cx' \(did you mean 'C'\?\)"),
        ("backend.params.C=abc", r"'backend.params.C': .*number.*'abc'"),
        ("task=sentiment", r"'task': Input should be 'topic' or 'stance'"),
        ("backend.name=nope", r"unknown backend 'nope'; available: .*tfidf"),
        ("seed", r"must look like key.path=value"),
    ],
)
def test_bad_overrides_name_the_key(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(None, [override])


def test_stance_without_target_is_rejected() -> None:
    with pytest.raises(ConfigError, match="needs data.columns.target"):
        load_config(None, ["task=stance"])


def test_yaml_typo_names_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("task: topic\nbackend:\n  name: tfidf\n  parms: {}\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: unknown key 'backend.parms' \(did you mean 'params'\?\)"):
        load_config(path)


def test_missing_and_malformed_config_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("task: [topic\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(broken)


def test_override_reaches_into_a_list_by_position() -> None:
    config = load_config(ROOT / "configs" / "stance_general.yaml", ["data.sources.1.max_rows_per_label.none=1500"])
    assert config.data.sources[1].name == "fnc1" and config.data.sources[1].max_rows_per_label == {"none": 1500}
    with pytest.raises(ConfigError, match="'7' is not an item of a list of 5"):
        load_config(ROOT / "configs" / "stance_general.yaml", ["data.sources.7.max_rows=3"])
