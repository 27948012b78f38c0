"""The real benchmark datasets in ../shared/datasets (read in place, never copied into the repo).

The smoke tests (marked slow: `make test` runs them, plain `pytest` does not) prepare each dataset config
exactly as a user would and sanity-check the metrics on it; the full experiments are `-m benchmark`. All skip
when the datasets are absent.
"""

from pathlib import Path

import pytest

from tests.helpers import ROOT
from toolkit.config import load_config
from toolkit.data.prepare import load_prepared, prepare_dataset
from toolkit.metrics import task_metrics

DATASETS = ROOT.parent / "shared" / "datasets"
pytestmark = [
    pytest.mark.slow,  # real data: `make test`, not the inner loop
    pytest.mark.skipif(not DATASETS.is_dir(), reason=f"real datasets not found at {DATASETS}"),
]


@pytest.fixture
def in_repo(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Configs name the data as ../shared/datasets/... relative to the repository root."""
    monkeypatch.chdir(ROOT)
    return ROOT


def prepare(config: str, tmp_path: Path):
    cfg = load_config(f"configs/{config}.yaml")
    report = prepare_dataset(cfg.data, cfg.task, tmp_path / config)
    return report, load_prepared(tmp_path / config)


def test_ag_news_prepares_every_row(in_repo: Path, tmp_path: Path) -> None:
    report, data = prepare("ag_news_tfidf", tmp_path)
    assert report.rows_read == 5600 and sum(report.dropped.values()) == 0
    assert report.labels == ["Business", "Sci/Tech", "Sports", "World"]
    validation = data.splits["validation"]
    assert len(validation) == 1120 and "\n\n" in validation.texts[0]  # title joined before the description
    majority = task_metrics(validation.labels, ["World"] * len(validation), report.labels)
    assert majority["accuracy"] == pytest.approx(0.25)


def test_semeval_is_read_as_cp1252_and_said_so(in_repo: Path, tmp_path: Path) -> None:
    report, data = prepare("semeval2016_tfidf", tmp_path)
    assert report.rows_read == 2814 and report.sources[0]["encoding"] == "cp1252"
    assert any("read as cp1252" in note for note in report.notes)
    assert len(report.targets) == 5 and report.labels == ["AGAINST", "FAVOR", "NONE"]
    validation = data.splits["validation"]
    assert "\ufffd" not in "".join(data.splits["train"].texts)
    perfect = task_metrics(validation.labels, validation.labels, report.labels, validation.targets)
    assert perfect["f_avg"] == 1.0 and perfect["f_avg_macro_over_targets"] == 1.0


def test_fnc1_two_stance_files_joined_to_bodies(in_repo: Path, tmp_path: Path) -> None:
    report, data = prepare("fnc1_tfidf", tmp_path)
    assert report.rows_read == 49972  # both parts, bogus first line skipped, no header row
    part1, part2 = report.sources
    assert part1["encoding"] == "cp1252" and part2["encoding"] == "utf-8"
    assert any("joined" in note and "Body ID" in note for note in part1["notes"])
    assert report.labels == ["agree", "disagree", "discuss", "unrelated"]
    train, validation = data.splits["train"], data.splits["validation"]
    assert not set(train.texts) & set(validation.texts), "split by Body ID: no body in both"
    assert max(len(text) for text in validation.texts) > 1000  # bodies, multi-line, not headlines
    all_unrelated = task_metrics(validation.labels, ["unrelated"] * len(validation), report.labels, validation.targets)
    share = validation.labels.count("unrelated")
    best = share * 0.25 + (len(validation) - share)
    assert all_unrelated["fnc_score"] == pytest.approx(share * 0.25 / best)


@pytest.mark.benchmark
@pytest.mark.parametrize("name", ["semeval2016", "fnc1", "ag_news"])
def test_full_experiment(name: str, in_repo: Path) -> None:
    """The whole benchmark (minutes): writes experiments/results/NAME/results.md with the measured table."""
    from toolkit.bench.runner import run_experiment

    result = run_experiment(f"experiments/specs/{name}.yaml")
    assert Path(result.results_path).is_file() and "toolkit" in result.rows


def semeval_seed0_f_avg(tmp_path: Path, *overrides: str) -> float:
    """Train the shipped SemEval config on its seed-0 dev split (as `toolkit experiment run` does) and
    return the dev F_avg."""
    from toolkit.backends import get_backend

    cfg = load_config("configs/semeval2016_tfidf.yaml", list(overrides))
    prepare_dataset(cfg.data, cfg.task, tmp_path / "semeval")
    splits = load_prepared(tmp_path / "semeval").splits
    backend_class = get_backend(cfg.backend.name)
    params = backend_class.Params.model_validate(cfg.backend.params)
    model = backend_class(params, cfg.task, seed=0).fit(splits["train"], splits["validation"])
    dev = splits["validation"]
    return task_metrics(dev.labels, model.predict(dev.texts, dev.targets), model.labels, dev.targets)["f_avg"]


@pytest.mark.slow
def test_semeval_ngram_model_beats_the_plain_baselines(in_repo: Path, tmp_path: Path) -> None:
    """Real-data quality smoke (~15 s): the n-gram model alone measured 0.688 on this split, the best plain
    baseline (per-target SVM) 0.65 on average."""
    assert semeval_seed0_f_avg(tmp_path, "backend.params.embeddings=null") >= 0.66


@pytest.mark.slow
def test_semeval_with_sentence_embeddings_reaches_the_target(in_repo: Path, tmp_path: Path) -> None:
    """Real-data quality smoke (~45 s on 2 cores): the shipped config (n-grams + frozen MiniLM embeddings)
    measured 0.713-0.753 over three seeds; the issue's target is 0.70."""
    pytest.importorskip("transformers")
    encoder = ROOT.parent / "shared" / "models" / "all-MiniLM-L6-v2"
    if not encoder.is_dir():
        pytest.skip(f"encoder not found at {encoder}")
    assert semeval_seed0_f_avg(tmp_path) >= 0.70
