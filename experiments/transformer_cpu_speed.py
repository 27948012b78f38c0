"""Inference speed of a trained transformer-backend model on this machine's CPU: docs/s on sample articles.

    python experiments/transformer_cpu_speed.py --model runs:/RUN_ID/model --rows 200
    python experiments/transformer_cpu_speed.py --model path/to/model_folder --threads 2

Reads data/sample/articles.csv (title + text, as `prepare` joins them), predicts `--rows` articles
through the model's own batched path (what `toolkit predict` and batch scoring call) and prints docs/s.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="model folder, runs:/ID/model or models:/NAME@ALIAS")
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--max-length", type=int, default=None, help="override the model's max_length")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    import torch

    from toolkit.predict import load_ref

    if args.threads:
        torch.set_num_threads(args.threads)
    loaded = load_ref(args.model)
    model = loaded.model
    if args.max_length:
        model.settings = model.settings.model_copy(update={"max_length": args.max_length})
    with (ROOT / "data/sample/articles.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))[: args.rows]
    texts = [f"{row['title']}\n\n{row['text']}" for row in rows]
    targets = [row["target"] for row in rows] if model.task == "stance" else None
    model.predict_proba(texts[:4], targets[:4] if targets else None)  # warm-up
    started = time.perf_counter()
    model.predict_proba(texts, targets)
    seconds = time.perf_counter() - started
    result = {
        "docs": len(texts),
        "seconds": round(seconds, 2),
        "docs_per_s": round(len(texts) / seconds, 2),
        "windows": model.last_stats.get("windows"),
        "windowed_texts": model.last_stats.get("windowed"),
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
