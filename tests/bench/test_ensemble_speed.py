"""The ensemble speed benchmark's own pieces: the config it writes is a valid ensemble config, and docs/s is
the median over interleaved rounds."""

from __future__ import annotations

from pathlib import Path

from experiments.benchmarks import ensemble_speed
from toolkit.config import load_config


def test_the_tfidf_transformer_ensemble_config_validates(tmp_path: Path) -> None:
    config = load_config(ensemble_speed.tfidf_transformer_config(tmp_path))
    members = config.backend.params["members"]
    assert [member["name"] for member in members] == ["tfidf", "transformer"]
    assert members[1]["params"]["epochs"] == 1 and config.backend.params["folds"] == 0


def test_docs_per_second_is_the_median_round_after_a_warm_up() -> None:
    calls: list[str] = []
    timings = ensemble_speed.docs_per_second({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, 10, 3)
    assert calls == ["a", "b"] * 4  # one warm-up call each, then 3 interleaved rounds
    assert set(timings) == {"a", "b"} and all(t["docs_per_s"] == 10 / t["median_s"] for t in timings.values())
