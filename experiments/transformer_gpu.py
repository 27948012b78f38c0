"""Transformer backend vs a plain `transformers.Trainer`, side by side on one device, on FNC-1 pairs.

Measures, on the same (headline, body) pairs and the same device:
  1. baseline: `Trainer` fine-tune (batch 32, lr 5e-5, bf16 where supported, other arguments at their
     defaults) -> training samples/s; `Trainer.predict` with default arguments -> docs/s;
  2. toolkit: `TransformerBackend.fit` -> training samples/s; `predict_proba` (length-sorted batches,
     bf16 autocast, large batches, SDPA attention, optionally torch.compile) -> docs/s;
and the quality of both (FNC score, macro-F1) on a dev split carved by body (no body in both splits),
plus a torch.profiler table of where the toolkit's inference time goes.

Self-contained on purpose: needs torch, transformers (+ accelerate for the Trainer baseline), numpy,
pydantic and pyyaml; never imports mlflow, datasets, pandas or scikit-learn.

    python experiments/transformer_gpu.py --data ../shared/datasets/fnc1 \
        --model ../shared/models/all-MiniLM-L6-v2 --out experiments/transformer/gpu.json
    # CPU smoke run: --train-rows 64 --eval-rows 64 --max-length 64
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import platform
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from toolkit.metrics import fnc_score  # noqa: E402 - pure Python, no scikit-learn needed

LABELS = ["agree", "disagree", "discuss", "unrelated"]


def read_stances(path: Path, encoding: str) -> tuple[list[list[str]], int]:
    """Rows (headline, body id, stance) of a stance part: a bogus 'header' line, no header row.
    Undecodable bytes become U+FFFD and are counted, never dropped."""
    text = path.read_bytes().decode(encoding, errors="replace")
    first, _, rest = text.partition("\n")
    if first.strip().lower() != "header":
        rest = text
    rows = [row for row in csv.reader(io.StringIO(rest, newline="")) if row]
    return rows, text.count("\ufffd")


def read_fnc(folder: Path) -> tuple[list[dict[str, str]], dict[str, int]]:
    """FNC-1 pairs joined with their bodies, and counts of what was odd."""
    with (folder / "train_bodies.csv").open(encoding="utf-8", newline="") as handle:
        bodies = {row["Body ID"]: row["articleBody"] for row in csv.DictReader(handle)}
    pairs, report = [], {"replaced_bytes": 0, "bad_rows": 0}
    for name, encoding in (("train_stances_part1.csv", "cp1252"), ("train_stances_part2.csv", "utf-8")):
        rows, replaced = read_stances(folder / name, encoding)
        report["replaced_bytes"] += replaced
        for row in rows:
            if len(row) != 3 or row[1].strip() not in bodies or row[2].strip() not in LABELS:
                report["bad_rows"] += 1
                continue
            body_id = row[1].strip()
            pairs.append({"headline": row[0], "body_id": body_id, "body": bodies[body_id], "stance": row[2].strip()})
    report["pairs"], report["bodies"] = len(pairs), len(bodies)
    return pairs, report


def carve(pairs: list[dict[str, str]], args: argparse.Namespace) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Seeded split by body (dev bodies never seen in training), then capped samples of each side."""
    rng = random.Random(args.seed)
    body_ids = sorted({p["body_id"] for p in pairs})
    rng.shuffle(body_ids)
    dev_bodies = set(body_ids[: max(1, int(len(body_ids) * args.dev_fraction))])
    train = [p for p in pairs if p["body_id"] not in dev_bodies]
    dev = [p for p in pairs if p["body_id"] in dev_bodies]
    return rng.sample(train, min(args.train_rows, len(train))), rng.sample(dev, min(args.eval_rows, len(dev)))


def quality(gold: list[str], predicted: list[str]) -> dict[str, float]:
    """Accuracy, macro-F1 over the four classes (zero_division=0) and the FNC score."""
    f1 = []
    for label in LABELS:
        hits = sum(g == p == label for g, p in zip(gold, predicted, strict=True))
        denominator = sum(g == label for g in gold) + sum(p == label for p in predicted)
        f1.append(2 * hits / denominator if denominator else 0.0)
    accuracy = sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold)
    return {"accuracy": accuracy, "macro_f1": sum(f1) / len(f1), "fnc_score": fnc_score(gold, predicted) or 0.0}


def synchronize() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def peak_memory_gib(reset: bool = True) -> float | None:
    import torch

    if not torch.cuda.is_available():
        return None
    peak = torch.cuda.max_memory_allocated() / 2**30
    if reset:
        torch.cuda.reset_peak_memory_stats()
    return round(peak, 2)


def bf16_supported() -> bool:
    import torch

    return torch.cuda.is_available() and torch.cuda.is_bf16_supported()


class PairDataset:
    """A list of tokenized pairs for the Trainer (its default collator pads each batch)."""

    def __init__(self, features: list[dict[str, Any]]) -> None:
        self.features = features

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.features[index]


def tokenize_pairs(tokenizer: Any, rows: list[dict[str, str]], max_length: int) -> PairDataset:
    encoded = tokenizer(
        [r["headline"] for r in rows], [r["body"] for r in rows], truncation=True, max_length=max_length
    )
    keys = list(encoded.keys())
    return PairDataset(
        [{**{k: encoded[k][i] for k in keys}, "labels": LABELS.index(r["stance"])} for i, r in enumerate(rows)]
    )


def run_baseline(args: argparse.Namespace, train: list[dict[str, str]], dev: list[dict[str, str]]) -> dict[str, Any]:
    """A plain Trainer fine-tune and Trainer.predict (default arguments) on the same pairs."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, Trainer, TrainingArguments

    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForSequenceClassification.from_pretrained(
        args.model,
        num_labels=len(LABELS),
        id2label=dict(enumerate(LABELS)),
        label2id={label: i for i, label in enumerate(LABELS)},
        use_safetensors=True,
        dtype=torch.float32,
    )
    started = time.perf_counter()
    train_set, dev_set = (
        tokenize_pairs(tokenizer, train, args.max_length),
        tokenize_pairs(tokenizer, dev, args.max_length),
    )
    tokenize_seconds = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as output:
        training_args = TrainingArguments(
            output_dir=output,
            per_device_train_batch_size=args.batch_size,
            learning_rate=args.lr,
            num_train_epochs=args.epochs,
            bf16=bf16_supported(),
            report_to="none",
            save_strategy="no",
            seed=args.seed,
            disable_tqdm=True,
        )
        trainer = Trainer(model=model, args=training_args, train_dataset=train_set, processing_class=tokenizer)
        started = time.perf_counter()
        hf_metrics = trainer.train().metrics
        synchronize()
        train_seconds = time.perf_counter() - started
        train_memory = peak_memory_gib()
        started = time.perf_counter()
        output_ = trainer.predict(dev_set)
        synchronize()
        predict_seconds = time.perf_counter() - started
    predicted = [LABELS[i] for i in output_.predictions.argmax(axis=-1)]
    result = {
        "train_seconds": train_seconds,
        "train_samples_per_s": len(train) * args.epochs / train_seconds,
        "hf_train_samples_per_second": hf_metrics.get("train_samples_per_second"),
        "tokenize_seconds_train_and_dev": tokenize_seconds,
        "predict_seconds": predict_seconds,
        "predict_docs_per_s": len(dev) / predict_seconds,
        "predict_batch_size": training_args.per_device_eval_batch_size,
        "peak_gib_train": train_memory,
        "peak_gib_predict": peak_memory_gib(),
        **quality([r["stance"] for r in dev], predicted),
    }
    del trainer, model
    free_memory()
    return result


def free_memory() -> None:
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def toolkit_params(args: argparse.Namespace) -> Any:
    from toolkit.backends.transformer import TransformerParams

    return TransformerParams(
        model_name_or_path=args.model,
        max_length=args.max_length,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        eval_batch_size=args.eval_batch_size,
        early_stopping_patience=None,
        class_weight=None if args.class_weight == "none" else "balanced",
        attn_implementation="sdpa",
        device="auto",
        torch_compile=False,
    )


def time_predict(model: Any, dev: list[dict[str, str]]) -> tuple[Any, float]:
    started = time.perf_counter()
    probabilities = model.predict_proba([r["body"] for r in dev], [r["headline"] for r in dev])
    synchronize()
    return probabilities, time.perf_counter() - started


def run_toolkit(
    args: argparse.Namespace, train: list[dict[str, str]], dev: list[dict[str, str]]
) -> tuple[dict[str, Any], Any]:
    """The toolkit backend's fit and batched inference on the same pairs."""
    from toolkit.backends.base import Examples
    from toolkit.backends.transformer import TransformerBackend

    examples = Examples(
        texts=[r["body"] for r in train], labels=[r["stance"] for r in train], targets=[r["headline"] for r in train]
    )
    started = time.perf_counter()
    model = TransformerBackend(toolkit_params(args), "stance", seed=args.seed).fit(examples)
    synchronize()
    fit_seconds = time.perf_counter() - started
    stats, train_memory = model.training_stats, peak_memory_gib()
    started = time.perf_counter()
    encoded = model.encode([r["body"] for r in dev], [r["headline"] for r in dev])
    encode_seconds = time.perf_counter() - started
    probabilities, seconds = time_predict(model, dev)
    result = {
        "fit_seconds_total": fit_seconds,
        "train_loop_seconds": stats["loop_seconds"],
        "train_samples_per_s": stats["samples_per_second"],
        "train_samples_per_s_incl_load_and_tokenize": len(train) * args.epochs / fit_seconds,
        "train_texts_windowed": stats["windowed"],
        "predict_seconds": seconds,
        "predict_docs_per_s": len(dev) / seconds,
        "predict_windows": len(encoded.features),
        "predict_texts_windowed": encoded.windowed,
        "predict_windows_per_s": len(encoded.features) / seconds,
        "tokenize_seconds_dev": encode_seconds,
        "predict_batch_size": args.eval_batch_size,
        "peak_gib_train": train_memory,
        "peak_gib_predict": peak_memory_gib(),
        **quality([r["stance"] for r in dev], [model.labels[i] for i in probabilities.argmax(axis=1)]),
    }
    if args.compile:
        result |= time_compiled(model, dev, args.eval_batch_size)
    return result, model


def time_compiled(model: Any, dev: list[dict[str, str]], batch_size: int) -> dict[str, Any]:
    """Inference docs/s with torch.compile (warm-up timed apart); a failure is reported, not fatal."""
    eager = model.settings
    model.settings = eager.model_copy(update={"torch_compile": True})
    try:
        started = time.perf_counter()
        time_predict(model, dev[: batch_size * 2])
        warmup = time.perf_counter() - started
        _, seconds = time_predict(model, dev)
        return {
            "compile_warmup_seconds": warmup,
            "compiled_predict_seconds": seconds,
            "compiled_predict_docs_per_s": len(dev) / seconds,
        }
    except Exception as exc:  # a compiler failure must not lose the measurements already made
        return {"compiled_predict_error": f"{type(exc).__name__}: {str(exc)[:500]}"}
    finally:
        model.settings = eager


def profile_inference(model: Any, dev: list[dict[str, str]], batches: int) -> str:
    """torch.profiler's top operators for a few inference batches of the toolkit model."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    rows = dev[: model.settings.eval_batch_size * batches]
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if torch.cuda.is_available() else [])
    with profile(activities=activities) as profiler:
        time_predict(model, rows)
    averages = profiler.key_averages()
    sorts = ["device_time_total", "cuda_time_total"] if torch.cuda.is_available() else []
    for sort in [*sorts, "cpu_time_total"]:
        try:
            return str(averages.table(sort_by=sort, row_limit=15))
        except (AttributeError, KeyError, ValueError):
            continue
    return str(averages.table(row_limit=15))


def environment() -> dict[str, Any]:
    import torch
    import transformers

    device = (
        torch.cuda.get_device_name(0)
        if torch.cuda.is_available()
        else f"CPU ({platform.processor() or platform.machine()})"
    )
    return {
        "device": device,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "cpu_threads": torch.get_num_threads(),
        "bf16": bf16_supported(),
        "python": platform.python_version(),
    }


def warm_up_device() -> None:
    """Create the CUDA context and cuBLAS handles before anything is timed."""
    import torch

    if torch.cuda.is_available():
        x = torch.randn(1024, 1024, device="cuda")
        (x @ x).sum().item()


def report(results: dict[str, Any]) -> str:
    """The printed results block."""
    lines = [
        f"== transformer benchmark on {results['environment']['device']} ==",
        f"pairs: train {results['data']['train_pairs']}, dev {results['data']['dev_pairs']}, "
        f"max_length {results['args']['max_length']}",
    ]
    for side in ("baseline", "toolkit"):
        r = results.get(side)
        if not isinstance(r, dict):
            lines.append(f"{side}: {r}")
            continue
        lines.append(
            f"{side:8s} train {r['train_samples_per_s']:9.1f} samples/s | predict {r['predict_docs_per_s']:9.1f} "
            f"docs/s (batch {r['predict_batch_size']}) | FNC {r['fnc_score']:.4f} macro-F1 {r['macro_f1']:.4f} "
            f"acc {r['accuracy']:.4f}"
        )
    for name, value in results.get("ratios", {}).items():
        lines.append(f"ratio {name}: {value:.2f}x")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="folder with the FNC-1 training files")
    parser.add_argument("--model", required=True, help="encoder folder (or hub id when online)")
    parser.add_argument("--out", type=Path, default=Path("transformer_gpu.json"))
    parser.add_argument("--train-rows", type=int, default=16000)
    parser.add_argument("--eval-rows", type=int, default=4000)
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--eval-batch-size", type=int, default=256, help="toolkit inference batch (windows)")
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--dev-fraction", type=float, default=0.1)
    parser.add_argument("--class-weight", choices=["balanced", "none"], default="balanced")
    parser.add_argument("--compile", action="store_true", help="also time toolkit inference with torch.compile")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--profile-batches", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    started = time.perf_counter()
    pairs, data_report = read_fnc(args.data)
    train, dev = carve(pairs, args)
    results: dict[str, Any] = {
        "environment": environment(),
        "args": {k: str(v) for k, v in vars(args).items()},
        "data": {**data_report, "train_pairs": len(train), "dev_pairs": len(dev)},
    }
    results["args"]["max_length"] = args.max_length
    warm_up_device()

    def checkpoint(stage: str) -> None:
        """Print and save what is measured so far, so a run stopped by a time limit still reports it."""
        print(f"[{stage}] {json.dumps(results.get(stage), default=str)}", flush=True)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")

    if args.skip_baseline:
        results["baseline"] = "skipped (--skip-baseline)"
    else:
        try:
            results["baseline"] = run_baseline(args, train, dev)
        except Exception as exc:  # e.g. no accelerate for the Trainer: report it, still measure the toolkit
            results["baseline"] = f"not run: {type(exc).__name__}: {str(exc)[:500]}"
    checkpoint("baseline")
    compile_after, args.compile = args.compile, False  # compiled timing last: a slow compile loses nothing else
    try:
        results["toolkit"], model = run_toolkit(args, train, dev)
    except Exception as exc:  # keep the baseline's figures: write them before failing
        results["toolkit"] = f"failed: {type(exc).__name__}: {str(exc)[:500]}"
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
        raise
    checkpoint("toolkit")
    if compile_after:
        results["toolkit"] |= time_compiled(model, dev, args.eval_batch_size)
        checkpoint("toolkit")
    if isinstance(results["baseline"], dict):
        base, ours = results["baseline"], results["toolkit"]
        results["ratios"] = {
            "train_samples_per_s (toolkit/baseline)": ours["train_samples_per_s"] / base["train_samples_per_s"],
            "predict_docs_per_s (toolkit/baseline)": ours["predict_docs_per_s"] / base["predict_docs_per_s"],
        }
        if "compiled_predict_docs_per_s" in ours:
            results["ratios"]["compiled predict_docs_per_s (toolkit/baseline)"] = (
                ours["compiled_predict_docs_per_s"] / base["predict_docs_per_s"]
            )
    try:
        results["profile"] = profile_inference(model, dev, args.profile_batches)
    except Exception as exc:
        results["profile"] = f"profiler failed: {type(exc).__name__}: {str(exc)[:300]}"
    results["total_seconds"] = time.perf_counter() - started
    print(results["profile"])
    print(report(results))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    print(f"wrote {args.out} ({results['total_seconds']:.0f} s in all)")


if __name__ == "__main__":
    main()
