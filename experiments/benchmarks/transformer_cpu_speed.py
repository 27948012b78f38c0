"""Inference speed of a trained transformer-backend model on this machine's CPU: docs/s on sample articles.

    python -m experiments.benchmarks.transformer_cpu_speed --model runs:/RUN_ID/model --rows 200
    python -m experiments.benchmarks.transformer_cpu_speed --model path/to/model_folder --threads 2
    python -m experiments.benchmarks.transformer_cpu_speed --encoder ../shared/models/all-MiniLM-L6-v2 \
        --max-length 512 --bundle .device/bundle --rows 200     # FNC-1 dev pairs, a fresh head (speed only)

Reads data/sample/articles.csv (title + text, as `prepare` joins them), predicts `--rows` articles
through the model's own batched path (what `toolkit predict` and batch scoring call) and prints docs/s.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def fresh_model(encoder: str, task: str) -> Any:
    """A pretrained encoder with a new 3-class head: the compute of a fine-tuned model, without training one."""
    from toolkit.backends.transformer.model import TransformerModel, TransformerParams, load_pretrained

    params = TransformerParams(model_name_or_path=encoder, device="cpu")
    labels = ["a", "b", "c"]
    network, tokenizer = load_pretrained(encoder, params, labels)
    return TransformerModel(task, labels, params.model_dump(mode="json"), network, tokenizer)


def sample_articles(rows: int) -> tuple[list[str], list[str]]:
    """The built-in sample articles (title + text, as `prepare` joins them) and their targets."""
    with (ROOT / "data/sample/articles.csv").open(encoding="utf-8", newline="") as handle:
        picked = list(csv.DictReader(handle))[:rows]
    return [f"{row['title']}\n\n{row['text']}" for row in picked], [row["target"] for row in picked]


def fnc_pairs(bundle: Path, rows: int) -> tuple[list[str], list[str]]:
    """The first `rows` FNC-1 dev pairs (seed 0) of a bundle: (body, headline)."""
    import gzip

    with gzip.open(bundle / "fnc1.json.gz", "rt", encoding="utf-8") as handle:
        data = json.load(handle)
    picked = data["seeds"]["0"]["dev"][:rows]
    return [data["texts"][row[0]] for row in picked], [data["targets"][row[1]] for row in picked]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", help="model folder, runs:/ID/model or models:/NAME@ALIAS")
    source.add_argument("--encoder", help="a pretrained encoder with a fresh head (speed does not depend on weights)")
    parser.add_argument("--task", choices=["stance", "topic"], default="stance", help="with --encoder")
    parser.add_argument("--bundle", type=Path, default=None, help="FNC-1 dev pairs from a transformer_bundle.py bundle")
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--max-length", type=int, default=None, help="override the model's max_length")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    import torch

    from toolkit.predict import load_ref

    if args.threads:
        torch.set_num_threads(args.threads)
    model = load_ref(args.model).model if args.model else fresh_model(args.encoder, args.task)
    if args.max_length:
        model.settings = model.settings.model_copy(update={"max_length": args.max_length})
    texts, targets = fnc_pairs(args.bundle, args.rows) if args.bundle else sample_articles(args.rows)
    targets = targets if model.task == "stance" else None
    model.predict_proba(texts[:4], targets[:4] if targets else None)  # warm-up
    started = time.perf_counter()
    _, stats = model.predict_with_stats(texts, targets)
    seconds = time.perf_counter() - started
    result = {
        "model": args.model or f"{args.encoder} (fresh head)",
        "texts": "FNC-1 dev pairs (seed 0)" if args.bundle else "data/sample/articles.csv",
        "docs": len(texts),
        "seconds": round(seconds, 2),
        "docs_per_s": round(len(texts) / seconds, 2),
        "windows": stats.windows,
        "windowed_texts": stats.windowed,
        "max_length": model.settings.max_length,
        "eval_batch_size": model.settings.eval_batch_size,
        "task": model.task,
        "threads": torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(),
        "torch": torch.__version__,
    }
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
