"""Unseen-target check of a trained general stance model, beside a TF-IDF + LR baseline on the same rows.

    python -m experiments.benchmarks.stance_general_check --model runs:/RUN_ID/model \\
        --prepared data/processed/stance-general-stance --setting "max_length 128, 1 epoch (CPU)"

What it measures (nothing here was used to choose a setting; the model's settings are its config's):
- VAST dev (the corpus's official dev split; none of its rows is in training): macro-F1 over favor / against /
  none on the zero-shot rows (topics that never occur in VAST train) and on the few-shot rows apart;
- relevance: every VAST dev comment paired with another row's topic (seeded): the share answered "none";
- the project's own example articles (data/examples) toward a target they argue about and one they never
  mention;
- the baseline: scikit-learn's default TfidfVectorizer + LogisticRegression on "target text", fitted on the
  train split of the same prepared dataset the model trained on.
Writes experiments/results/stance_general_check/results.json and renders results.md from it.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

from toolkit.data.targets import other_targets
from toolkit.data.types import Examples

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "experiments" / "results" / "stance_general_check"
VAST_DEV = ROOT.parent / "shared" / "datasets" / "vast" / "vast_dev.csv"
VAST_LABELS = {"0": "against", "1": "favor", "2": "none"}
EXAMPLES = [  # (file, target it argues about, expected, a target it never mentions)
    ("arms_talks_favor.txt", "arms control talks", "favor", "nuclear energy"),
    ("nuclear_plant_against.txt", "nuclear energy", "against", "arms control talks"),
]


def vast_dev(path: Path) -> dict[str, Examples]:
    """VAST dev rows as Examples, zero-shot (`seen?` 0) and few-shot (`seen?` 1) apart."""
    import pandas as pd

    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    sets = {}
    for name, seen in (("zero_shot", "0"), ("few_shot", "1")):
        rows = frame[frame["seen?"] == seen]
        sets[name] = Examples(
            texts=rows["Tweet"].tolist(),
            labels=[VAST_LABELS[s] for s in rows["Stance"]],
            targets=rows["Target"].tolist(),
        )
    return sets


def scores(gold: list[str], predicted: list[str]) -> dict[str, float]:
    from toolkit.metrics import task_metrics

    metrics = task_metrics(gold, predicted, ["against", "favor", "none"])
    return {"macro_f1": round(metrics["macro_f1"], 4), "accuracy": round(metrics["accuracy"], 4), "n": len(gold)}


def evaluate(predict, sets: dict[str, Examples], seed: int) -> dict[str, object]:  # noqa: ANN001
    """Macro-F1 per set, and the share of random-target pairs answered none."""
    figures: dict[str, object] = {name: scores(ex.labels, predict(ex)) for name, ex in sets.items()}
    texts = [t for ex in sets.values() for t in ex.texts]
    targets = [t for ex in sets.values() for t in ex.targets or []]
    return figures | relevance(predict, texts, targets, seed)


def relevance(predict, texts: list[str], targets: list[str], seed: int) -> dict[str, float | int]:  # noqa: ANN001
    """Each text paired with another row's target (seeded): the share of those pairs answered none."""
    answers = predict(Examples(texts, ["none"] * len(texts), other_targets(targets, seed)))
    return {
        "relevance_none_share": round(sum(a == "none" for a in answers) / len(answers), 4),
        "relevance_pairs": len(answers),
    }


def example_articles(loaded) -> list[dict[str, object]]:  # noqa: ANN001
    from toolkit.predict import predict_files

    rows = []
    for name, target, expected, unrelated in EXAMPLES:
        path = str(ROOT / "data" / "examples" / name)
        for asked, want in ((target, expected), (unrelated, "none")):
            record = predict_files([path], [loaded], asked)[0]["predictions"][0]
            rows.append(
                {
                    "file": name,
                    "target": asked,
                    "expected": want,
                    "label": record["label"],
                    "probability": round(record["probability"], 3),
                }
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="model ref: folder, runs:/ID/model, models:/NAME@ALIAS")
    parser.add_argument("--prepared", required=True, help="the prepared dataset the model trained on")
    parser.add_argument("--setting", required=True, help="how the model was trained, in words (for the table)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from toolkit.bench.baselines import fit_tfidf_lr
    from toolkit.data.prepare import load_prepared
    from toolkit.predict import load_ref

    sets = vast_dev(VAST_DEV)
    loaded = load_ref(args.model)
    started = time.perf_counter()
    model_figures = evaluate(lambda ex: loaded.model.predict(ex.texts, ex.targets), sets, args.seed)
    seconds = time.perf_counter() - started
    prepared = load_prepared(args.prepared)
    baseline = fit_tfidf_lr(prepared.splits["train"], args.seed)
    results = {
        "kind": "template",
        "date": datetime.now(UTC).date().isoformat(),
        "command": "python -m experiments.benchmarks.stance_general_check "
        f"--model {args.model} --prepared {args.prepared} --setting '{args.setting}'",
        "machine": f"{platform.machine()}, {len(__import__('os').sched_getaffinity(0))} cores, no GPU",
        "setting": args.setting,
        "model": {
            "ref": args.model,
            "manifest_dataset": loaded.manifest.get("dataset"),
            "train_rows": len(prepared.splits["train"]),
            "scope": loaded.manifest.get("stance_scope"),
        },
        "toolkit": model_figures,
        "toolkit_seconds": round(seconds, 1),
        "tfidf_lr": evaluate(baseline, sets, args.seed),
        "examples": example_articles(loaded),
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: results[k] for k in ("toolkit", "tfidf_lr", "examples")}, indent=2))


if __name__ == "__main__":
    main()
