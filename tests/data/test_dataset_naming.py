"""A prepared dataset is named after its source, never replaced by other data, and a txt folder needs no columns.

Issue 17 (data and provenance): `toolkit prepare news.csv` filed every new source under "sample", each one
silently replacing the last in data/processed/sample-topic (and MLflow's topic-sample); the README's
`toolkit prepare corpus/ --format txt_folder` failed on the sample's column names.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import ROOT, make_rows, write_csv
from tests.reliability.reliability_helpers import assert_one_line_error, fit_model_folder


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    write_csv(tmp_path / "news.csv", make_rows(60))
    write_csv(tmp_path / "other.csv", make_rows(60, seed=5))
    return tmp_path


def manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


def test_prepare_names_the_dataset_after_its_source(cli, workdir: Path) -> None:
    result = cli("prepare", "news.csv", "--json")
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["output"] == str(Path("data/processed/news-topic"))
    assert manifest(workdir / "data/processed/news-topic")["name"] == "news"
    assert cli("prepare", "other.csv").code == 0  # its own folder: news-topic is left alone
    assert manifest(workdir / "data/processed/other-topic")["name"] == "other"
    assert manifest(workdir / "data/processed/news-topic")["name"] == "news"
    # with the sample's config (name: sample) too: sources on the command line bring their own name
    assert cli("prepare", "other.csv", "-c", str(ROOT / "configs/topic_tfidf.yaml"), "--json").code == 0
    assert not (workdir / "data/processed/sample-topic").exists()
    # --name still decides
    assert cli("prepare", "news.csv", "--name", "mine").code == 0
    assert manifest(workdir / "data/processed/mine-topic")["name"] == "mine"


def test_prepare_refuses_to_replace_a_dataset_of_other_sources(cli, workdir: Path) -> None:
    assert cli("prepare", "news.csv").code == 0
    before = manifest(workdir / "data/processed/news-topic")
    result = cli("prepare", "other.csv", "--name", "news")
    assert_one_line_error(result, 2, "data/processed/news-topic", "prepared from", "news.csv", "--name")
    assert manifest(workdir / "data/processed/news-topic") == before
    assert_one_line_error(cli("prepare", "other.csv", "--output", "data/processed/news-topic"), 2, "prepared from")
    write_csv(workdir / "news.csv", make_rows(60, seed=9))  # the same source, edited: prepared again in place
    assert cli("prepare", "news.csv").code == 0
    assert manifest(workdir / "data/processed/news-topic")["fingerprint"] != before["fingerprint"]


def test_training_runs_are_named_after_the_data(workdir: Path, cli) -> None:
    from toolkit.config import load_config

    assert load_config(None, ["data.source=news.csv"]).experiment_name == "topic-news"
    assert load_config(None, ["data.source=[news.csv, other.csv]"]).data.name == "news-and-1-more"
    assert load_config(None, []).experiment_name == "topic-sample"  # the built-in sample keeps its name
    assert cli("prepare", "news.csv").code == 0
    config = load_config(None, ["data.prepared=data/processed/news-topic"])
    assert (config.data.name, config.experiment_name) == ("news", "topic-news")
    pinned = load_config(ROOT / "configs/topic_tfidf.yaml", ["data.prepared=data/processed/news-topic"])
    assert pinned.experiment_name == "topic-sample"  # a config that names its experiment keeps it


def txt_corpus(root: Path) -> Path:
    for row in make_rows(60):
        folder = root / row["topic"]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{row['id']}.txt").write_text(row["text"], encoding="utf-8")
    return root


def test_a_txt_folder_needs_no_column_flags(cli, workdir: Path) -> None:
    txt_corpus(workdir / "corpus")
    result = cli("prepare", "corpus/", "--format", "txt_folder", "--json")
    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["labels"] == ["economy", "health", "sports"] and report["rows_read"] == 60
    sample_config = str(ROOT / "configs/topic_tfidf.yaml")  # its columns (title, topic, id) are for table files
    result = cli("prepare", "corpus", "-c", sample_config, "--output", "other", "--json")
    assert result.code == 0, result.stderr
    assert any("do not apply to a txt folder" in note for note in json.loads(result.stdout)["notes"])
    model = fit_model_folder(workdir / "model", "topic")
    result = cli("evaluate", "--data", "corpus", "--model", str(model), "--no-log", "--json")
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["metrics"]["macro_f1"] > 0.5
