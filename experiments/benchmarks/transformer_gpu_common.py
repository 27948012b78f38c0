"""What transformer_gpu.py's stages share: bundle splits as the backend's Examples, one fit + predict, and
the device's bookkeeping. Needs torch, transformers, numpy, pydantic; never mlflow, datasets, pandas."""

from __future__ import annotations

import argparse
import platform
from typing import Any

from experiments.benchmarks.transformer_baseline import timed
from experiments.benchmarks.transformer_bundle import PLACEHOLDER


class Split:
    """One split of a bundle as the backend's Examples, with gold label indices."""

    def __init__(self, bundle: dict[str, Any], seed: str, split: str, cap: int | None) -> None:
        from toolkit.data.types import Examples

        rows = bundle["seeds"][seed][split][:cap]
        stance = bundle["task"] == "stance"
        self.gold = [row[2] for row in rows]
        self.examples = Examples(
            texts=[bundle["texts"][row[0]] for row in rows],
            labels=[bundle["labels"][row[2]] for row in rows],
            targets=[bundle["targets"][row[1]] for row in rows] if stance else None,
        )

    def __len__(self) -> int:
        return len(self.gold)


def class_f1(gold: list[int], predicted: list[int], k: int) -> float:
    """F1 of class `k` (0 when it is neither gold nor predicted): the quick looks below need no scikit-learn,
    which the GPU machine lacks; the tables are scored later with toolkit.metrics."""
    hits = sum(g == p == k for g, p in zip(gold, predicted, strict=True))
    denominator = gold.count(k) + predicted.count(k)
    return 2 * hits / denominator if denominator else 0.0


def accuracy_and_macro_f1(gold: list[int], predicted: list[int], n_labels: int) -> dict[str, float]:
    """A quick look printed during the run; the tables are scored later with toolkit.metrics."""
    macro_f1 = sum(class_f1(gold, predicted, k) for k in range(n_labels)) / n_labels
    correct = sum(g == p for g, p in zip(gold, predicted, strict=True))
    return {"accuracy": round(correct / max(len(gold), 1), 4), "macro_f1": round(macro_f1, 4)}


def backend_params(bundle: dict[str, Any], args: argparse.Namespace, **overrides: Any) -> Any:
    from toolkit.backends.transformer.model import TransformerParams

    params = dict(bundle["params"], model_name_or_path=args.model, device="auto")
    if args.max_length:
        params["max_length"] = min(args.max_length, params["max_length"])
    if args.epochs:
        params["epochs"] = args.epochs
    return TransformerParams.model_validate(params | overrides)


def fit_and_predict(
    bundle: dict[str, Any], seed: str, args: argparse.Namespace, extras: bool = True, **overrides: Any
) -> tuple[dict[str, Any], Any, Split]:
    """Fit on a seed's train split, predict its dev split (every window aggregation, and masked targets)."""
    import numpy as np

    from toolkit.backends.transformer.model import TransformerBackend
    from toolkit.backends.transformer.windows import aggregate

    train, dev = Split(bundle, seed, "train", args.max_rows), Split(bundle, seed, "dev", args.max_rows)
    params = backend_params(bundle, args, **overrides)
    model, fit_seconds = timed(lambda: TransformerBackend(params, bundle["task"], seed=int(seed)).fit(train.examples))
    texts, targets = dev.examples.texts, dev.examples.targets
    probabilities, seconds = timed(lambda: model.predict_proba(texts, targets))
    predictions = {"toolkit": [int(i) for i in probabilities.argmax(axis=1)]}
    encoded = model.encode(texts, targets)
    if encoded.windowed:
        windows = model.window_probabilities(encoded)
        for how in ("mean", "max", "first"):
            rows = aggregate(windows, encoded.owner, encoded.n_texts, how)
            predictions[f"toolkit, {how} of windows" if how != "first" else "toolkit, first window"] = [
                int(i) for i in rows.argmax(axis=1)
            ]
    if targets is not None and extras:
        masked = model.predict_proba(texts, [PLACEHOLDER] * len(texts))
        predictions["toolkit, target masked"] = [int(i) for i in np.asarray(masked).argmax(axis=1)]
    stats = model.training_stats
    result = {
        "params": params.model_dump(mode="json"),
        "train_rows": len(train),
        "dev_rows": len(dev),
        "train_seconds": round(fit_seconds, 2),
        "train_loop_seconds": round(stats["loop_seconds"], 2),
        "train_samples_per_s": round(stats["samples_per_second"], 1),
        "train_texts_windowed": stats["windowed"],
        "predict_seconds": round(seconds, 3),
        "predict_docs_per_s": round(len(dev) / seconds, 1),
        "dev_windows": len(encoded),
        "dev_texts_windowed": encoded.windowed,
        "quick_look": accuracy_and_macro_f1(dev.gold, predictions["toolkit"], len(bundle["labels"])),
        "predictions": predictions,
    }
    return result, model, dev


def inner_split(bundle: dict[str, Any], seed: str, fraction: float = 0.2) -> dict[str, Any]:
    """A bundle whose seed `seed` has `fraction` of its training rows held out as "dev" (drawn with the seed)."""
    import random

    rows = bundle["seeds"][seed]["train"]
    order = random.Random(int(seed)).sample(range(len(rows)), len(rows))
    held = set(order[: int(len(rows) * fraction)])
    split = {
        "train": [row for i, row in enumerate(rows) if i not in held],
        "dev": [row for i, row in enumerate(rows) if i in held],
    }
    return {**bundle, "seeds": {seed: split}}


def f_avg(gold: list[int], predicted: list[int], labels: list[str]) -> float:
    """SemEval-2016's F_avg: the mean F1 of FAVOR and AGAINST (selection only; tables use toolkit.metrics)."""
    upper = [label.upper() for label in labels]
    return round(sum(class_f1(gold, predicted, upper.index(name)) for name in ("FAVOR", "AGAINST")) / 2, 4)


def environment() -> dict[str, Any]:
    import torch
    import transformers

    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"CPU ({platform.machine()})"
    return {
        "device": device,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "cpu_threads": torch.get_num_threads(),
        "python": platform.python_version(),
    }


def warm_up_device() -> None:
    """Create the CUDA context and cuBLAS handles before anything is timed."""
    import torch

    if torch.cuda.is_available():
        x = torch.randn(1024, 1024, device="cuda")
        (x @ x).sum().item()


def free_memory() -> None:
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
