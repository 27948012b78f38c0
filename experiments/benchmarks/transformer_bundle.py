"""Carry benchmark splits to a GPU machine and bring its predictions back as result tables.

The GPU machine has torch and transformers but not this project's data stack (mlflow, datasets, pandas),
and no access to ../shared. So the splits are prepared here, exactly as `toolkit experiment run` prepares
them (same configs, same seeds, same dev splits as the tfidf tables), and written as a compact bundle:

    python -m experiments.benchmarks.transformer_bundle export --out .device/bundle
    # on the GPU machine:
    python -m experiments.benchmarks.transformer_gpu --bundle .device/bundle --model ... --out gpu.json
    python -m experiments.benchmarks.transformer_bundle report --bundle .device/bundle --results gpu.json

`report` scores the predictions the device sent back with toolkit.metrics (the same code as every other
table in experiments/) and prints markdown tables. The bundle holds data from ../shared: it lives in the
git-ignored .device/ folder, never in the repository.
"""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path
from typing import Any

from toolkit.bench.baselines import MASK_PLACEHOLDER as PLACEHOLDER  # what masking puts in every target

ROOT = Path(__file__).resolve().parents[2]

SPECS = {
    "fnc1": "experiments/specs/fnc1_transformer.yaml",
    "semeval2016": "experiments/specs/semeval2016_transformer.yaml",
    "ag_news": "experiments/specs/ag_news_transformer.yaml",
}


def index_of(values: list[str], table: dict[str, int]) -> list[int]:
    """Each value's position in a shared list of distinct values (appended when new)."""
    return [table.setdefault(value, len(table)) for value in values]


def export_benchmark(name: str, spec_path: str) -> dict[str, Any]:
    """Every seed's train and dev rows of one benchmark, texts and targets stored once."""
    from toolkit.backends.transformer.model import TransformerParams
    from toolkit.bench.runner import load_spec, seed_config
    from toolkit.train import ensure_prepared

    spec = load_spec(ROOT / spec_path)
    texts: dict[str, int] = {}
    targets: dict[str, int] = {}
    labels: list[str] | None = None
    seeds: dict[str, dict[str, list[list[int]]]] = {}
    params: dict[str, Any] = {}
    task = ""
    for seed in spec.seeds:
        config = seed_config(spec, seed)
        task, params = config.task, TransformerParams.model_validate(config.backend.params).model_dump(mode="json")
        prepared = ensure_prepared(config, print)
        labels = labels or sorted(set(prepared.splits["train"].labels))
        seeds[str(seed)] = {}
        for split in ("train", spec.evaluate_on):
            examples = prepared.splits[split]
            columns = [
                index_of(list(examples.texts), texts),
                index_of(list(examples.targets), targets) if examples.targets is not None else [-1] * len(examples),
                [labels.index(label) for label in examples.labels],
            ]
            seeds[str(seed)]["train" if split == "train" else "dev"] = [list(row) for row in zip(*columns, strict=True)]
    return {
        "name": name,
        "spec": spec_path,
        "task": task,
        "labels": labels,
        "metrics": spec.metrics,
        "params": params,
        "texts": list(texts),
        "targets": list(targets),
        "seeds": seeds,
    }


def export(out: Path, names: list[str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name in names:
        bundle = export_benchmark(name, SPECS[name])
        path = out / f"{name}.json.gz"
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            json.dump(bundle, handle, ensure_ascii=False)
        counts = {seed: {k: len(v) for k, v in rows.items()} for seed, rows in bundle["seeds"].items()}
        print(f"{path}: {len(bundle['texts'])} distinct texts, {len(bundle['targets'])} targets, rows {counts}")


def load_bundle(folder: Path, name: str) -> dict[str, Any]:
    with gzip.open(folder / f"{name}.json.gz", "rt", encoding="utf-8") as handle:
        bundle: dict[str, Any] = json.load(handle)
    return bundle


def score(bundle: dict[str, Any], seed: str, predicted: list[int], masked: bool = False) -> dict[str, float]:
    """The spec's metrics for one seed's dev predictions (label indices), via toolkit.metrics."""
    from toolkit.metrics import task_metrics

    rows, labels = bundle["seeds"][seed]["dev"][: len(predicted)], bundle["labels"]  # a capped smoke run: a prefix
    gold = [labels[row[2]] for row in rows]
    targets = None if bundle["task"] != "stance" else [bundle["targets"][row[1]] for row in rows]
    if masked and targets is not None:
        targets = [PLACEHOLDER] * len(targets)
    metrics = task_metrics(gold, [labels[i] for i in predicted], labels, targets)
    return {name: metrics[name] for name in bundle["metrics"]}


def cell(values: list[float]) -> str:
    """mean ± std over seeds (toolkit.bench.report's arithmetic); a single seed's value alone."""
    from toolkit.bench.report import mean_std

    mean, std = mean_std(values)
    return f"{mean:.3f}" if len(values) == 1 else f"{mean:.3f} ± {std:.3f}"


def quality_table(folder: Path, results: dict[str, Any]) -> list[str]:
    """One markdown table per benchmark: a row per prediction set the device made, mean ± std over seeds."""
    lines: list[str] = []
    for name, runs in results.get("quality", {}).items():
        bundle = load_bundle(folder, next(iter(runs.values())).get("bundle", name))
        metric_names = bundle["metrics"]
        rows: dict[str, dict[str, list[float]]] = {}
        seeds_seen: dict[str, list[str]] = {}
        for seed, run in runs.items():
            for label, predicted in run["predictions"].items():
                figures = score(bundle, seed, predicted, masked="masked" in label)
                for metric, value in figures.items():
                    rows.setdefault(label, {}).setdefault(metric, []).append(value)
                for key in ("train_seconds", "train_samples_per_s", "predict_docs_per_s"):
                    if key in run and label == "toolkit":
                        rows[label].setdefault(key, []).append(run[key])
                seeds_seen.setdefault(label, []).append(seed)
        lines += [f"### {name} (dev split, seeds {sorted({s for v in seeds_seen.values() for s in v})})", ""]
        extra = ["train_seconds", "train_samples_per_s", "predict_docs_per_s"]
        lines.append("| predictions | seeds | " + " | ".join(metric_names + extra) + " |")
        lines.append("|---" * (len(metric_names) + len(extra) + 2) + "|")
        for label, figures in rows.items():
            cells = [cell(figures[m]) if m in figures else "–" for m in metric_names + extra]
            lines.append(f"| {label} | {len(seeds_seen[label])} | " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def read_json(path: Path) -> dict[str, Any]:
    """A device run's JSON, gzipped (as kept in experiments/results/transformer/raw/) or not."""
    if path.suffix == ".gz":
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            data: dict[str, Any] = json.load(handle)
        return data
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def report(folder: Path, results_path: Path) -> None:
    results = read_json(results_path)
    print("\n".join(quality_table(folder, results)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    export_cmd = commands.add_parser("export", help="prepare the splits here and write the bundle")
    export_cmd.add_argument("--out", type=Path, default=Path(".device/bundle"))
    export_cmd.add_argument("--only", nargs="*", choices=sorted(SPECS), default=sorted(SPECS))
    report_cmd = commands.add_parser("report", help="score the device's predictions with toolkit.metrics")
    report_cmd.add_argument("--bundle", type=Path, default=Path(".device/bundle"))
    report_cmd.add_argument("--results", type=Path, required=True)
    args = parser.parse_args()
    if args.command == "export":
        export(args.out, args.only)
    else:
        report(args.bundle, args.results)


if __name__ == "__main__":
    main()
