"""Extract the figures the transformer results tables need from the raw device output, into small JSONs.

The GPU runs wrote large JSON files (every dev prediction as a label index, profiler tables); they are kept
gzipped in experiments/results/transformer/raw/. This script reads them, scores every prediction set with
toolkit.metrics against the bundle's gold labels (the same splits the device used), parses the profiler
tables, copies the comparison rows of the CPU benchmarks beside them, and writes the "extracted" and
"compared" sections of experiments/results/transformer/results.json and fnc1_transformer/results.json.
The other sections of those files (runs, recorded figures) are kept as they are. Then render:

    python -m experiments.benchmarks.transformer_bundle export --out .device/bundle     # needs ../shared
    python -m experiments.benchmarks.extract_transformer --bundle .device/bundle
    python -m experiments.benchmarks.render transformer fnc1_transformer
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

from experiments.benchmarks.render import write_json
from experiments.benchmarks.transformer_bundle import load_bundle, read_json, score

RESULTS = Path(__file__).resolve().parents[1] / "results"
RAW = RESULTS / "transformer" / "raw"
# run id in the tables -> raw file; run ids are the names results.md's placeholders use
RUNS = {
    "h100_first": "gpu_h100_before_tuning.json.gz",
    "h100_a": "gpu_h100_balanced.json.gz",
    "h100_b": "gpu_h100_unweighted.json.gz",
    "h200_1": "gpu_h200_bundle.json.gz",
    "h200_2": "gpu_h200_grids.json.gz",
    "h200_3": "gpu_h200_select_train_equal_1.json.gz",
    "h200_4_per_chunk": "gpu_h200_speed_per_chunk.json.gz",
    "h200_4_pooled": "gpu_h200_speed_pooled.json.gz",
    "h200_4_train": "gpu_h200_train_equal_2.json.gz",
}
FNC1_RUNS = ("h200_1", "h200_2", "h200_4_pooled")  # what experiments/results/fnc1_transformer/ needs
COMPARED = {  # CPU benchmark -> the rows of its table the transformer tables compare with
    "fnc1": ("toolkit", "toolkit, target masked", "tfidf_lr"),
    "semeval2016": ("toolkit", "toolkit, target masked", "toolkit, n-grams only"),
    "ag_news": ("toolkit",),
    "semeval2016_transformer": ("toolkit", "toolkit, target masked"),
    "ag_news_transformer": ("toolkit",),
}
DROPPED = {"predictions", "params"}
SHORT = {  # long labels of the raw files -> short keys
    "Trainer.predict on the same weights (truncated)": "trainer_predict",
    "toolkit, the Trainer's recipe (no class weights, no length grouping, no warmup or decay)": (
        "toolkit_trainer_recipe"
    ),
    "toolkit, 3 epochs, batch 64, lr 1e-4, no class weights (the Trainer's loss)": (
        "toolkit_3_epochs_batch_64_unweighted"
    ),
    "semeval2016, chosen on inner splits: mean pooling, lr 5e-5, 10 epochs": "semeval2016_chosen",
    "fnc1, 3 epochs on 16k pairs: Trainer vs toolkit": "fnc1_train_equal",
    "fnc1, 1 epoch on 16k pairs: training variants": "fnc1_train_grid",
    "fnc1, 1 epoch on the training-speed pairs": "fnc1_train_speed",
    "[CLS] head, lr 1e-4, 5 epochs (configs/semeval2016_transformer.yaml)": "cls_head_lr_1e_4_5_epochs",
}


def key(name: str) -> str:
    """A label of the raw files as a short identifier (results.md's placeholders are Python expressions)."""
    slug = SHORT.get(name) or re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").lower()
    return slug if not slug[:1].isdigit() else f"n{slug}"


def compact(value: Any) -> Any:
    """A raw stage without predictions and settings: keys as identifiers, profiler tables parsed."""
    if isinstance(value, str) and "Self CUDA time total" in value:
        return profile_shares(value)
    if not isinstance(value, dict):
        return value
    return {key(name): compact(item) for name, item in value.items() if name not in DROPPED}


def profile_shares(table: str) -> dict[str, Any]:
    """torch.profiler's table: total CUDA ms and each aten op's share of it (ops with any CUDA time)."""
    shares: dict[str, float] = {}
    for line in table.splitlines():
        columns = re.split(r"\s{2,}", line.strip())
        if columns[0].startswith("aten::") and len(columns) > 7 and columns[7].endswith("%"):
            percent = float(columns[7].rstrip("%"))
            if percent:
                shares[key(columns[0].removeprefix("aten::"))] = percent
    total = re.search(r"Self CUDA time total: ([\d.]+)ms", table)
    return {"cuda_ms": float(total.group(1)) if total else None, "self_cuda_percent": shares}


def quality(tables: dict[str, Any], bundle_folder: Path) -> dict[str, Any]:
    """Each quality table: per-seed run figures as lists (seed order) and every prediction set's metrics."""
    out: dict[str, Any] = {}
    for table, runs in tables.items():
        seeds = sorted(runs, key=int)
        bundle = load_bundle(bundle_folder, runs[seeds[0]].get("bundle", table))
        settings = runs[seeds[0]].get("params", {})
        entry: dict[str, Any] = {"seeds": [int(seed) for seed in seeds], "params": settings, "scores": {}}
        for seed in seeds:
            for name, value in runs[seed].items():
                if isinstance(value, int | float) and not isinstance(value, bool):
                    entry.setdefault(key(name), []).append(value)
            for label, predicted in runs[seed]["predictions"].items():
                figures = score(bundle, seed, predicted, masked="masked" in label)
                for metric, number in figures.items():
                    entry["scores"].setdefault(key(label), {}).setdefault(metric, []).append(number)
        out[key(table)] = entry
    return out


def extract_run(path: Path, bundle_folder: Path) -> dict[str, Any]:
    raw = read_json(path)
    figures = compact({name: value for name, value in raw.items() if name != "quality"})
    if "quality" in raw:
        figures["quality"] = quality(raw["quality"], bundle_folder)
    return figures


def compared_rows() -> dict[str, Any]:
    """The rows of the CPU benchmark tables these runs are compared with (per-seed values, same dev splits)."""
    rows = {}
    for name, wanted in COMPARED.items():
        saved = json.loads((RESULTS / name / "results.json").read_text(encoding="utf-8"))
        rows[name] = {key(row): saved["rows"][row] for row in wanted} | {
            "date": saved["date"],
            "machine": saved["machine"],
        }
    return rows


def update(path: Path, extracted: dict[str, Any], compared: dict[str, Any]) -> None:
    """Replace the extracted and compared sections of a results.json, keep everything else."""
    payload = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {"kind": "template"}
    payload["extracted"], payload["compared"] = extracted, compared
    write_json(path, payload)
    print(f"wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", type=Path, default=Path(".device/bundle"), help="transformer_bundle export")
    args = parser.parse_args()
    extracted = {run: extract_run(RAW / file, args.bundle) for run, file in RUNS.items()}
    compared = compared_rows()
    update(RESULTS / "transformer" / "results.json", extracted, compared)
    fnc1 = {run: extracted[run] for run in FNC1_RUNS}
    update(RESULTS / "fnc1_transformer" / "results.json", fnc1, {"fnc1": compared["fnc1"]})


if __name__ == "__main__":
    main()
