"""Ensemble speed (issue 16): an ensemble's docs/s beside each of its members' on the same texts, in one run.
Prints every figure, writes experiments/results/ensemble_speed/results.json and renders results.md from it.

    python -m experiments.benchmarks.ensemble_speed                  # about 5 minutes on 2 cores
    python -m experiments.benchmarks.ensemble_speed --rounds 2 --skip-transformer   # a quick look

Models, trained by `toolkit train` on the project's sample corpus in a scratch folder with its own MLflow
store: `configs/topic_ensemble.yaml` as shipped (two tfidf members), and an ensemble of the tfidf member of
`configs/topic_tfidf.yaml` with the MiniLM transformer of `configs/topic_transformer.yaml` (1 epoch, the
combination learned on the validation split: only speed is measured here). Each model folder is loaded once
through the toolkit's safe loader; the members timed are the loaded ensemble's own member objects, so member
and ensemble run the same code on the same texts. Timing: `predict_with_unknown` (what `predict` and `score`
call) over every article of the sample corpus, one call per model per round, models interleaved round after
round; docs/s is the median over rounds, after one uncounted warm-up call each.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from experiments.benchmarks.interactive import SAMPLE, export, machine, train
from experiments.benchmarks.render import publish

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "experiments" / "results" / "ensemble_speed"
ENCODER = ROOT.parent / "shared" / "models" / "all-MiniLM-L6-v2"


def tfidf_transformer_config(work: Path) -> Path:
    """configs/topic_ensemble.yaml with a tfidf and a transformer member (written to the scratch folder)."""
    import yaml

    config = yaml.safe_load((ROOT / "configs" / "topic_ensemble.yaml").read_text(encoding="utf-8"))
    tfidf = yaml.safe_load((ROOT / "configs" / "topic_tfidf.yaml").read_text(encoding="utf-8"))["backend"]
    transformer = yaml.safe_load((ROOT / "configs" / "topic_transformer.yaml").read_text(encoding="utf-8"))["backend"]
    transformer["params"] |= {"model_name_or_path": str(ENCODER), "epochs": 1}
    config["backend"]["params"] |= {"folds": 0, "members": [tfidf, transformer]}
    path = work / "tfidf_transformer_ensemble.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def trained(work: Path, config: Path) -> Path:
    """The model folder `toolkit train` saves for `config` in the scratch folder (an absolute config path passes
    through interactive.train's configs/ join unchanged)."""
    return export(work, train(work, str(config)), work / f"model-{config.stem}")


def sample_texts() -> list[str]:
    import csv

    with SAMPLE.open(encoding="utf-8", newline="") as handle:
        return [row["text"] for row in csv.DictReader(handle)]


def docs_per_second(calls: dict[str, Callable[[], Any]], texts: int, rounds: int) -> dict[str, dict[str, float]]:
    """Median docs/s of each call over interleaved rounds (one uncounted warm-up call each first)."""
    for call in calls.values():
        call()
    seconds: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            started = time.perf_counter()
            call()
            seconds[name].append(time.perf_counter() - started)
    return {
        name: {"median_s": statistics.median(values), "docs_per_s": texts / statistics.median(values)}
        for name, values in seconds.items()
    }


def measure(folder: Path, texts: list[str], rounds: int) -> dict[str, Any]:
    """The ensemble and each of its members on the same texts; the ensemble's share of its slowest member."""
    from toolkit.predict import load_ref

    ensemble = load_ref(str(folder)).model
    calls: dict[str, Callable[[], Any]] = {"ensemble": lambda: ensemble.predict_with_unknown(texts)}
    names = [f"member_{index + 1}" for index in range(len(ensemble.members))]
    for name, member in zip(names, ensemble.members, strict=True):
        calls[name] = lambda member=member: member.predict_with_unknown(texts)
    timings = docs_per_second(calls, len(texts), rounds)
    slowest = min(timings[name]["docs_per_s"] for name in names)
    return {
        "members": {name: member.backend_name for name, member in zip(names, ensemble.members, strict=True)},
        "timings": timings,
        "slowest_member_docs_per_s": slowest,
        "share_of_slowest": timings["ensemble"]["docs_per_s"] / slowest,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path("/tmp/toolkit-bench-ensemble-speed"))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--skip-transformer", action="store_true")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    started = datetime.now(UTC)
    info = machine()
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    texts = sample_texts()
    configs = {"tfidf_tfidf": ROOT / "configs" / "topic_ensemble.yaml"}
    if not args.skip_transformer:
        configs["tfidf_transformer"] = tfidf_transformer_config(args.work)
    results: dict[str, Any] = {}
    for name, config in configs.items():
        results[name] = measure(trained(args.work, config), texts, args.rounds)
        print(f"{name}: {json.dumps(results[name])}", flush=True)
    payload = {
        "kind": "template",
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join(["python -m experiments.benchmarks.ensemble_speed", *sys.argv[1:]]),
        "machine": info,
        "texts": len(texts),
        "text_chars_mean": sum(map(len, texts)) / len(texts),
        "rounds": args.rounds,
        "ensembles": results,
    }
    publish("ensemble_speed", payload, args.out)


if __name__ == "__main__":
    main()
