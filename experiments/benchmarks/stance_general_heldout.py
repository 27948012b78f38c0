"""Held-out targets and the few-shot curve of a general stance model trained with a by-target test split.

    toolkit train -c configs/stance_general.yaml --set data.split.test=0.15 --set data.name=stance-general-heldout \\
        --set tracking.experiment=stance-general-heldout [setting overrides]
    python -m experiments.benchmarks.stance_general_heldout --model runs:/RUN_ID/model \\
        --prepared data/processed/stance-general-heldout-stance --setting "..."

The prepared dataset's test split holds whole targets of every source (split.by_target), none seen in training
(nor in validation). Measured, with nothing chosen on these figures:
- per source, macro-F1 on its held-out targets (IBM unseen motions, Emergent unseen claims, FNC-1 unseen
  headlines, SemEval/VAST targets that fell in the test split), and the relevance share (every held-out text
  paired with another held-out row's target, answered "none"), beside TF-IDF + LR fitted on the same train split;
- the few-shot curve: for held-out targets with enough rows, k labeled rows (k = 8, 16, 32, 64; seeded) of the
  one target, scored on that target's other rows: zero-shot (the general model as it is), adapted (fine-tuned
  from it on the k rows, `init_from`, the settings of configs/stance_adapt.yaml) and from scratch (the same
  encoder and settings on the same k rows, without the general model).
Writes experiments/results/stance_general_heldout/results.json; `python -m experiments.benchmarks.render
stance_general_heldout` renders results.md from it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from experiments.benchmarks.stance_general_check import relevance
from toolkit.data.targets import normalize_target
from toolkit.data.types import Examples

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "experiments" / "results" / "stance_general_heldout"
LABELS = ["against", "favor", "none"]
ADAPT = {"epochs": 4, "batch_size": 8, "learning_rate": 2.0e-5, "warmup_ratio": 0.0, "class_weight": None,
         "early_stopping_patience": None, "keep_best_epoch": False}


def subset(examples: Examples, keep: list[int]) -> Examples:
    return Examples([examples.texts[i] for i in keep], [examples.labels[i] for i in keep],
                    [examples.targets[i] for i in keep] if examples.targets else None)


def macro_f1(gold: list[str], predicted: list[str]) -> float:
    from sklearn.metrics import f1_score

    present = sorted(set(gold))  # the labels this set has (IBM has no "none")
    return round(float(f1_score(gold, predicted, labels=present, average="macro", zero_division=0)), 4)


def by_source(test: Examples) -> dict[str, list[int]]:
    rows: dict[str, list[int]] = {}
    for i, source in enumerate(test.sources or []):
        rows.setdefault(source, []).append(i)
    return rows


def held_out_figures(predict: Any, test: Examples, seed: int) -> dict[str, Any]:
    """Macro-F1 per source on its held-out targets, and the relevance share on all of them."""
    figures: dict[str, Any] = {}
    for source, keep in sorted(by_source(test).items()):
        part = subset(test, keep)
        figures[source] = {"macro_f1": macro_f1(part.labels, predict(part)), "n": len(keep),
                           "targets": len({normalize_target(t) for t in part.targets or []})}
    return figures | relevance(predict, test.texts, list(test.targets or []), seed)


def curve_targets(
    test: Examples, k_max: int, count: int, seed: int, min_eval: int = 16
) -> list[tuple[str, str, list[int]]]:
    """Held-out targets with at least k_max + min_eval rows and two labels: (source, target, row indices), spread over
    sources (round robin over sources, seeded)."""
    groups: dict[tuple[str, str], list[int]] = {}
    for i, (source, target) in enumerate(zip(test.sources or [], test.targets or [], strict=True)):
        groups.setdefault((source, normalize_target(target)), []).append(i)
    eligible = [(s, t, rows) for (s, t), rows in sorted(groups.items())
                if len(rows) >= k_max + min_eval and len({test.labels[i] for i in rows}) > 1]
    random.Random(seed).shuffle(eligible)
    chosen, sources = [], sorted({s for s, _, _ in eligible})
    while len(chosen) < count and eligible:
        for source in sources:
            pick = next((item for item in eligible if item[0] == source), None)
            if pick and len(chosen) < count:
                chosen.append(pick)
                eligible.remove(pick)
        sources = sorted({s for s, _, _ in eligible})
    return chosen


def fit_on(rows: Examples, params: dict[str, Any], seed: int) -> Any:
    from toolkit.backends.transformer.model import TransformerBackend
    from toolkit.backends.transformer.params import TransformerParams

    return TransformerBackend(TransformerParams(**params), "stance", seed).fit(rows, None)


def few_shot_curve(
    loaded: Any, folder: Path, test: Examples, ks: list[int], count: int, seed: int, min_eval: int = 16
) -> list[dict]:
    """Per chosen held-out target and k: zero-shot, adapted and from-scratch macro-F1 on its other rows."""
    base = loaded.manifest["params"]
    common = {**base, **ADAPT, "init_from": None, "device": "cpu"}
    points = []
    for source, target, rows in curve_targets(test, max(ks), count, seed, min_eval):
        order = rows[:]
        random.Random(f"{seed}-{target}").shuffle(order)
        evaluation = subset(test, order[max(ks):])  # the same scored rows for every k
        zero = macro_f1(evaluation.labels, loaded.model.predict(evaluation.texts, evaluation.targets))
        for k in ks:
            shots = subset(test, order[:k])
            adapted = fit_on(shots, {**common, "init_from": str(folder)}, seed)
            scratch = fit_on(shots, common, seed)
            points.append({
                "source": source, "target": target, "k": k, "eval_rows": len(evaluation), "zero_shot": zero,
                "adapted": macro_f1(evaluation.labels, adapted.predict(evaluation.texts, evaluation.targets)),
                "scratch": macro_f1(evaluation.labels, scratch.predict(evaluation.texts, evaluation.targets)),
                "shot_labels": dict(Counter(shots.labels)),
            })
            print(json.dumps(points[-1]), flush=True)
    return points


def curve_means(curve: list[dict], ks: list[int]) -> dict[str, dict[str, float]]:
    """Per k, the mean over targets of each side's macro-F1."""
    means = {}
    for k in ks:
        points = [p for p in curve if p["k"] == k]
        means[str(k)] = {
            side: round(sum(p[side] for p in points) / len(points), 4) if points else float("nan")
            for side in ("zero_shot", "adapted", "scratch")
        }
    return means


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="the general model trained with a by-target test split")
    parser.add_argument("--prepared", required=True, help="the prepared dataset it trained on")
    parser.add_argument("--setting", required=True, help="how the model was trained, in words (for the table)")
    parser.add_argument("--ks", type=int, nargs="+", default=[8, 16, 32, 64])
    parser.add_argument("--curve-targets", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from toolkit.bench.baselines import fit_tfidf_lr
    from toolkit.data.prepare import load_prepared
    from toolkit.predict import load_ref, model_folder

    prepared = load_prepared(args.prepared)
    test = prepared.splits["test"]
    loaded = load_ref(args.model)
    started = time.perf_counter()
    toolkit_figures = held_out_figures(lambda ex: loaded.model.predict(ex.texts, ex.targets), test, args.seed)
    baseline = held_out_figures(fit_tfidf_lr(prepared.splits["train"], args.seed), test, args.seed)
    curve = few_shot_curve(loaded, model_folder(args.model), test, args.ks, args.curve_targets, args.seed)
    results = {
        "kind": "template",
        "date": datetime.now(UTC).date().isoformat(),
        "command": "python -m experiments.benchmarks.stance_general_heldout "
        f"--model {args.model} --prepared {args.prepared} --setting '{args.setting}'",
        "machine": f"{platform.machine()}, {len(os.sched_getaffinity(0))} cores, no GPU",
        "setting": args.setting,
        "train_rows": len(prepared.splits["train"]),
        "test_rows": len(test),
        "toolkit": toolkit_figures,
        "tfidf_lr": baseline,
        "curve": curve,
        "curve_mean": curve_means(curve, args.ks),
        "seconds": round(time.perf_counter() - started, 1),
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: results[k] for k in ("toolkit", "tfidf_lr", "curve_mean")}, indent=2))


if __name__ == "__main__":
    main()
