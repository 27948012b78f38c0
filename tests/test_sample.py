"""The built-in sample and the shipped default configs reach the quality the README promises."""

import pytest

from tests.helpers import ROOT
from toolkit.backends import get_backend
from toolkit.config import load_config
from toolkit.data.prepare import load_prepared, prepare_dataset
from toolkit.evaluate import evaluate_examples


@pytest.mark.parametrize(
    ("config", "metric", "floor"),
    [
        ("topic_tfidf.yaml", "macro_f1", 0.80),
        ("stance_tfidf.yaml", "macro_f1", 0.65),
    ],
)
def test_default_models_on_the_sample(config: str, metric: str, floor: float, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    run = load_config(ROOT / "configs" / config)
    prepare_dataset(run.data, run.task, tmp_path / "prepared")
    data = load_prepared(tmp_path / "prepared")
    backend_class = get_backend(run.backend.name)
    model = backend_class(backend_class.Params.model_validate(run.backend.params), run.task, run.seed).fit(
        data.splits["train"], data.splits["validation"]
    )
    result = evaluate_examples(model, data.splits["test"], "test")
    assert result.metrics[metric] >= floor
    assert sum(len(s) for s in data.splits.values()) == 510


def test_sample_examples_exist_and_are_text() -> None:
    examples = sorted((ROOT / "data" / "examples").glob("*.txt"))
    assert len(examples) >= 3
    assert all(len(path.read_text(encoding="utf-8").split()) > 80 for path in examples)
