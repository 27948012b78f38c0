"""The transformer backend on a GPU: quality on the three benchmarks, and speed against a plain `Trainer`.

Reads the bundle written by `experiments/transformer_bundle.py export` (the same dev splits and seeds as
the tfidf tables) and runs, in this order, writing everything measured so far after each stage (a run
stopped by a time limit still reports what it finished):

  fnc_fit      FNC-1 seed 0: fit with configs/fnc1_transformer.yaml's parameters, predict the dev split
  fnc_speed    that model's inference on the dev pairs (max_length 512): docs/s of `predict_proba` (what
               `toolkit predict` and batch scoring call), GPU-only windows/s, tokenization alone, a
               torch.profiler table; `Trainer.predict` (default arguments) on the same pairs and weights
  train_speed  training samples/s, plain `Trainer` vs the backend, same pairs / epochs / batch / lr, and the
               dev quality each reaches
  fnc_seeds    FNC-1 seeds 1 and 2
  semeval      SemEval-2016 6A seeds 0-2 (configs/semeval2016_transformer.yaml)
  ag_news      AG News seeds 0-2 (configs/ag_news_transformer.yaml)

Predictions come back as label indices; `transformer_bundle.py report` scores them with toolkit.metrics.
Needs torch, transformers, numpy, pydantic (+ accelerate for the Trainer); never mlflow, datasets, pandas.

    python experiments/transformer_gpu.py --bundle .device/bundle --model .device/all-MiniLM-L6-v2 --out gpu.json
    # CPU smoke run of every stage: --max-rows 48 --max-length 64 --epochs 1 --train-speed-rows 32
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from transformer_baseline import timed, trainer_fit, trainer_predict  # noqa: E402 - beside this script
from transformer_bundle import PLACEHOLDER, load_bundle  # noqa: E402

STAGES = ["fnc_fit", "fnc_speed", "train_speed", "fnc_seeds", "semeval", "ag_news"]
EXTRA_STAGES = ["speed_grid", "train_grid", "semeval_select", "speed", "train_equal"]  # follow-ups, run by name

# SemEval recipes compared on an inner split of each seed's *training* rows (the dev split stays unseen);
# the best mean F_avg is then trained on the whole train split and scored on dev.
SEMEVAL_VARIANTS: dict[str, dict[str, Any]] = {
    "[CLS] head, lr 1e-4, 5 epochs (configs/semeval2016_transformer.yaml)": {},
    "mean pooling, lr 1e-4, 5 epochs": {"pooling": "mean"},
    "mean pooling, lr 5e-5, 10 epochs": {"pooling": "mean", "learning_rate": 5e-5, "epochs": 10},
}


class Split:
    """One split of a bundle as the backend's Examples, with gold label indices."""

    def __init__(self, bundle: dict[str, Any], seed: str, split: str, cap: int | None) -> None:
        from toolkit.backends.base import Examples

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


def accuracy_and_macro_f1(gold: list[int], predicted: list[int], n_labels: int) -> dict[str, float]:
    """A quick look printed during the run; the tables are scored later with toolkit.metrics."""
    f1 = []
    for k in range(n_labels):
        hits = sum(g == p == k for g, p in zip(gold, predicted, strict=True))
        denominator = gold.count(k) + predicted.count(k)
        f1.append(2 * hits / denominator if denominator else 0.0)
    correct = sum(g == p for g, p in zip(gold, predicted, strict=True))
    return {"accuracy": round(correct / max(len(gold), 1), 4), "macro_f1": round(sum(f1) / n_labels, 4)}


def backend_params(bundle: dict[str, Any], args: argparse.Namespace, **overrides: Any) -> Any:
    from toolkit.backends.transformer import TransformerParams

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

    from toolkit.backends.transformer import TransformerBackend
    from toolkit.backends.transformer_data import aggregate

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
    scores = []
    upper = [label.upper() for label in labels]
    for name in ("FAVOR", "AGAINST"):
        k = upper.index(name)
        hits = sum(g == p == k for g, p in zip(gold, predicted, strict=True))
        denominator = gold.count(k) + predicted.count(k)
        scores.append(2 * hits / denominator if denominator else 0.0)
    return round(sum(scores) / 2, 4)


def repeat_seconds(work: Callable[[], Any], times: int) -> list[float]:
    return [round(timed(work)[1], 4) for _ in range(times)]


def gpu_only_windows_per_s(model: Any, encoded: Any) -> float:
    """Windows/s of the device alone: already-tokenized windows through the network, best of two runs."""

    def gpu_only() -> Any:
        with model.inference() as run:
            return run(encoded).cpu()

    return round(len(encoded) / min(repeat_seconds(gpu_only, 2)), 1)


def inference_speed(model: Any, dev: Split, args: argparse.Namespace) -> dict[str, Any]:
    """docs/s of predict_proba, and where the time goes: GPU-only, tokenization alone, no text reuse."""
    import numpy as np

    from toolkit.backends.transformer_data import plain_ids

    texts, targets = dev.examples.texts, dev.examples.targets
    n = len(texts)
    model.predict_proba(texts[:1024], targets[:1024])  # warm-up: kernels, allocator, the bf16 copy
    result: dict[str, Any] = {
        "docs": n,
        "distinct_bodies": len(set(texts)),
        "eval_batch_size": model.settings.eval_batch_size,
    }
    mean_runs = repeat_seconds(lambda: model.predict_proba(texts, targets), 3)
    result["predict_seconds"] = mean_runs
    result["predict_docs_per_s"] = round(n / min(mean_runs), 1)
    result["windows"], result["texts_windowed"] = model.last_stats["windows"], model.last_stats["windowed"]
    encoded, encode_seconds = timed(lambda: model.encode(texts, targets))
    result["tokenize_seconds"] = round(encode_seconds, 4)
    result["gpu_only_windows_per_s"] = gpu_only_windows_per_s(model, encoded)
    for name, patch in ablations().items():
        with patch:
            result[f"gpu_only_windows_per_s_{name}"] = gpu_only_windows_per_s(model, encoded)
    first = model.settings
    model.settings = first.model_copy(update={"window_aggregation": "first"})
    first_runs = repeat_seconds(lambda: model.predict_proba(texts, targets), 2)
    model.settings = first
    result["first_window_only_docs_per_s"] = round(n / min(first_runs), 1)
    windows = model.windows
    windows.tokens = lambda items, cache=None: [
        np.asarray(ids, dtype=np.int32) for ids in plain_ids(windows.tokenizer, items)
    ]
    try:
        result["every_body_tokenized_docs_per_s"] = round(
            n / min(repeat_seconds(lambda: model.predict_proba(texts, targets), 1)), 1
        )
    finally:
        del windows.tokens
    for batch_size in args.batch_sizes:
        model.settings = first.model_copy(update={"eval_batch_size": batch_size})
        result[f"predict_docs_per_s_batch_{batch_size}"] = round(
            n / min(repeat_seconds(lambda: model.predict_proba(texts, targets), 2)), 1
        )
    model.settings = first
    return result


def ablations() -> dict[str, Any]:
    """What the runtime choices are worth, GPU-only: flash attention off (memory-efficient kernel only),
    and an all-ones attention mask on full batches (transformers then checks it: a device sync per batch)."""
    from contextlib import contextmanager
    from unittest import mock

    import torch

    from toolkit.backends import transformer, transformer_device

    if not torch.cuda.is_available():
        return {}
    from torch.nn.attention import SDPBackend, sdpa_kernel

    class MaskAlways(transformer_device.DeviceWindows):
        def batches(self, batches: Any) -> Any:
            for rows, index, inputs in super().batches(batches):
                inputs.setdefault("attention_mask", torch.ones_like(inputs["input_ids"]))
                yield rows, index, inputs

    @contextmanager
    def patched(name: str, value: Any) -> Any:
        with mock.patch.object(transformer, name, value):
            yield

    return {
        "no_flash": patched("attention_kernels", lambda device: sdpa_kernel([SDPBackend.EFFICIENT_ATTENTION])),
        "mask_on_full_batches": patched("DeviceWindows", MaskAlways),
    }


def profile_inference(model: Any, dev: Split, rows: int) -> str:
    """torch.profiler's top operators for predict_proba on the first `rows` dev pairs."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    texts, targets = dev.examples.texts[:rows], dev.examples.targets
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if torch.cuda.is_available() else [])
    with profile(activities=activities) as profiler:
        timed(lambda: model.predict_proba(texts, targets[:rows] if targets else None))
    averages = profiler.key_averages()
    for sort in ("device_time_total", "cuda_time_total", "cpu_time_total"):
        try:
            return str(averages.table(sort_by=sort, row_limit=18))
        except (AttributeError, KeyError, ValueError):
            continue
    return str(averages.table(row_limit=18))


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


class Run:
    """The stages, sharing the FNC seed-0 model; `results` is written to --out after every stage."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.results: dict[str, Any] = {
            "environment": environment(),
            "args": {k: str(v) for k, v in vars(args).items()},
        }
        self.bundles: dict[str, dict[str, Any]] = {}
        self.fnc_model: Any = None
        self.fnc_dev: Split | None = None

    def bundle(self, name: str) -> dict[str, Any]:
        if name not in self.bundles:
            self.bundles[name] = load_bundle(self.args.bundle, name)
        return self.bundles[name]

    def save(self, stage: str, seconds: float) -> None:
        self.results.setdefault("stage_seconds", {})[stage] = round(seconds, 1)
        shown = (
            {k: v for k, v in self.results.get(stage, {}).items() if k != "predictions"}
            if isinstance(self.results.get(stage), dict)
            else None
        )
        print(f"[{stage}] {seconds:.1f} s {json.dumps(shown, default=str)[:3000]}", flush=True)
        self.args.out.parent.mkdir(parents=True, exist_ok=True)
        self.args.out.write_text(json.dumps(self.results, indent=1, default=str), encoding="utf-8")

    def quality(self, name: str, seed: str, result: dict[str, Any], bundle: str | None = None) -> None:
        """Keep a seed's predictions under a table `name`, scored later against bundle `bundle` (default: name)."""
        self.results.setdefault("quality", {}).setdefault(name, {})[seed] = {"bundle": bundle or name, **result}
        shown = {k: v for k, v in result.items() if k not in ("predictions", "params")}
        print(f"  {name} seed {seed}: {json.dumps(shown)}", flush=True)

    def fnc_fit(self) -> None:
        result, self.fnc_model, self.fnc_dev = fit_and_predict(self.bundle("fnc1"), "0", self.args)
        self.quality("fnc1", "0", result)

    def fnc_speed(self) -> None:
        if self.fnc_model is None:
            self.fnc_fit()
        model, dev = self.fnc_model, self.fnc_dev
        speed = inference_speed(model, dev, self.args)
        baseline = trainer_predict(model.network, model.tokenizer, dev, model.settings.max_length)
        speed["trainer_predict"] = {k: v for k, v in baseline.items() if k != "predictions"}
        speed["ratio_predict_docs_per_s"] = round(speed["predict_docs_per_s"] / baseline["predict_docs_per_s"], 2)
        self.results["quality"]["fnc1"]["0"]["predictions"]["Trainer.predict on the same weights (truncated)"] = (
            baseline["predictions"]
        )
        self.results["fnc_speed"] = speed
        self.results["profile"] = profile_inference(model, dev, min(len(dev), 2048))
        print(self.results["profile"], flush=True)

    def training_speed_pairs(self) -> tuple[dict[str, Any], dict[str, Any], Split, Split]:
        """FNC-1 seed 0 with `--train-speed-rows` training pairs drawn at random (seeded), the whole dev split:
        the bundle, that subset as a bundle, and its train and dev splits."""
        import random

        bundle = self.bundle("fnc1")
        rows = bundle["seeds"]["0"]["train"]
        picked = sorted(random.Random(0).sample(range(len(rows)), min(self.args.train_speed_rows, len(rows))))
        subset = {**bundle, "seeds": {"0": {"train": [rows[i] for i in picked], "dev": bundle["seeds"]["0"]["dev"]}}}
        return bundle, subset, Split(subset, "0", "train", None), Split(subset, "0", "dev", self.args.max_rows)

    def train_speed(self) -> None:
        """Same pairs, 1 epoch, batch 32, lr 5e-5 on both sides."""
        bundle, subset, train, dev = self.training_speed_pairs()
        max_length = backend_params(bundle, self.args).max_length
        baseline = trainer_fit(subset, train, dev, self.args.model, max_length)
        free_memory()
        ours, _, _ = fit_and_predict(subset, "0", self.args, epochs=1, batch_size=32, learning_rate=5e-5)
        free_memory()
        self.results["train_speed"] = {
            "pairs": len(train),
            "trainer": {k: v for k, v in baseline.items() if k != "predictions"},
            "toolkit": {k: v for k, v in ours.items() if k not in ("predictions", "params")},
            "trainer_quick_look": accuracy_and_macro_f1(dev.gold, baseline["predictions"], len(bundle["labels"])),
            "ratio_train_samples_per_s": round(ours["train_samples_per_s"] / baseline["train_samples_per_s"], 2),
        }
        predictions = {
            "Trainer (1 epoch)": baseline["predictions"],
            "toolkit (1 epoch)": ours["predictions"]["toolkit"],
        }
        self.quality("fnc1, 1 epoch on the training-speed pairs", "0", {"predictions": predictions}, bundle="fnc1")

    def fnc_seeds(self) -> None:
        self.fnc_model = None
        free_memory()
        for seed in ("1", "2"):
            result, model, _ = fit_and_predict(self.bundle("fnc1"), seed, self.args)
            self.quality("fnc1", seed, result)
            del model
            free_memory()

    def fresh_fnc_model(self) -> tuple[Any, Split]:
        """The FNC-1 config's model with a fresh head (speed does not depend on the weights), and the dev split."""
        from toolkit.backends.transformer import TransformerModel, load_pretrained

        bundle = self.bundle("fnc1")
        dev = Split(bundle, "0", "dev", self.args.max_rows)
        params = backend_params(bundle, self.args, window_aggregation="mean")
        network, tokenizer = load_pretrained(params.model_name_or_path, params, bundle["labels"])
        model = TransformerModel("stance", bundle["labels"], params.model_dump(mode="json"), network, tokenizer)
        model.predict_proba(dev.examples.texts[:1024], dev.examples.targets[:1024])  # warm-up
        return model, dev

    def speed_summary(self, model: Any, dev: Split, times: int = 3) -> dict[str, Any]:
        """Every window (mean) and first window docs/s (best of `times`), GPU-only windows/s, and
        Trainer.predict on the same weights and pairs."""
        texts, targets = dev.examples.texts, dev.examples.targets
        default = model.settings
        summary: dict[str, Any] = {"docs": len(dev), "eval_batch_size": default.eval_batch_size}
        summary["every_window_docs_per_s"] = round(
            len(dev) / min(repeat_seconds(lambda: model.predict_proba(texts, targets), times)), 1
        )
        summary["windows"] = model.last_stats["windows"]
        model.settings = default.model_copy(update={"window_aggregation": "first"})
        first = repeat_seconds(lambda: model.predict_proba(texts, targets), times)
        model.settings = default
        summary["first_window_docs_per_s"] = round(len(dev) / min(first), 1)
        summary["gpu_only_windows_per_s"] = gpu_only_windows_per_s(model, model.encode(texts, targets))
        baseline = trainer_predict(model.network, model.tokenizer, dev, model.settings.max_length)
        summary["trainer_predict"] = {k: v for k, v in baseline.items() if k != "predictions"}
        for key in ("every_window", "first_window"):
            summary[f"ratio_{key}"] = round(summary[f"{key}_docs_per_s"] / baseline["predict_docs_per_s"], 2)
        return summary

    def speed(self) -> None:
        """Inference speed at the default chunk and the config's batch, side by side with Trainer.predict."""
        model, dev = self.fresh_fnc_model()
        self.results["speed"] = self.speed_summary(model, dev)
        self.results["speed_profile"] = profile_inference(model, dev, min(len(dev), 4096))
        print(self.results["speed_profile"], flush=True)

    def speed_grid(self) -> None:
        """Inference docs/s over tokenization chunk sizes x batch sizes, then the summary."""
        from unittest import mock

        from toolkit.backends import transformer

        model, dev = self.fresh_fnc_model()
        texts, targets = dev.examples.texts, dev.examples.targets
        grid: dict[str, Any] = {"docs": len(dev)}
        default = model.settings
        for chunk in (256, 512, 1024, 2048):
            for batch_size in (256, 512):
                model.settings = default.model_copy(update={"eval_batch_size": batch_size})
                with mock.patch.object(transformer, "ENCODE_CHUNK_TEXTS", chunk):
                    runs = repeat_seconds(lambda: model.predict_proba(texts, targets), 2)
                grid[f"chunk_{chunk}_batch_{batch_size}_docs_per_s"] = round(len(dev) / min(runs), 1)
        model.settings = default
        self.results["speed_grid"] = grid | self.speed_summary(model, dev)

    def train_grid(self) -> None:
        """Training samples/s on the same 16k pairs (1 epoch): the backend before and after a plain Trainer,
        with the Trainer's own recipe, and with batch 64 (lr scaled); each one's dev predictions."""
        bundle, subset, train, dev = self.training_speed_pairs()
        max_length = backend_params(bundle, self.args).max_length
        recipe = {"epochs": 1, "batch_size": 32, "learning_rate": 5e-5}
        trainer_recipe = {"class_weight": None, "group_by_length": False, "warmup_ratio": 0.0, "weight_decay": 0.0}
        variants = [
            ("toolkit, before the Trainer", recipe),
            ("Trainer", None),
            ("toolkit, after the Trainer", recipe),
            (
                "toolkit, the Trainer's recipe (no class weights, no length grouping, no warmup or decay)",
                recipe | trainer_recipe,
            ),
            ("toolkit, batch 64, lr 1e-4", recipe | {"batch_size": 64, "learning_rate": 1e-4}),
        ]
        grid: dict[str, Any] = {"pairs": len(train)}
        predictions: dict[str, list[int]] = {}
        for label, overrides in variants:
            if overrides is None:
                result = trainer_fit(subset, train, dev, self.args.model, max_length)
            else:
                result, _, _ = fit_and_predict(subset, "0", self.args, extras=False, **overrides)
                result["predictions"] = result["predictions"]["toolkit"]
            predictions[label] = result.pop("predictions")
            result.pop("params", None)
            grid[label] = result
            print(f"  {label}: {json.dumps(result)}", flush=True)
            free_memory()
        self.results["train_grid"] = grid
        self.quality("fnc1, 1 epoch on 16k pairs: training variants", "0", {"predictions": predictions}, bundle="fnc1")

    def train_equal(self) -> None:
        """Training speed at equal quality: the same 16k pairs trained to the end (3 epochs) by a plain
        Trainer (batch 32, lr 5e-5) and by the backend (its recipe; and batch 64, lr 1e-4); dev quality of each."""
        bundle, subset, train, dev = self.training_speed_pairs()
        max_length = backend_params(bundle, self.args).max_length
        epochs = self.args.epochs or 3
        recipe = {"epochs": epochs, "batch_size": 32, "learning_rate": 5e-5}
        variants = [
            (f"Trainer, {epochs} epochs", None),
            (f"toolkit, {epochs} epochs", recipe),
            (f"toolkit, {epochs} epochs, batch 64, lr 1e-4", recipe | {"batch_size": 64, "learning_rate": 1e-4}),
            (
                f"toolkit, {epochs} epochs, batch 64, lr 1e-4, no class weights (the Trainer's loss)",
                recipe | {"batch_size": 64, "learning_rate": 1e-4, "class_weight": None},
            ),
        ]
        table: dict[str, Any] = {"pairs": len(train), "epochs": epochs}
        predictions: dict[str, list[int]] = {}
        for label, overrides in variants:
            if overrides is None:
                result = trainer_fit(subset, train, dev, self.args.model, max_length, epochs)
            else:
                result, _, _ = fit_and_predict(subset, "0", self.args, extras=False, **overrides)
                result["predictions"] = result["predictions"]["toolkit"]
            predictions[label] = result.pop("predictions")
            result.pop("params", None)
            result["quick_look"] = accuracy_and_macro_f1(dev.gold, predictions[label], len(bundle["labels"]))
            table[label] = result
            print(f"  {label}: {json.dumps(result)}", flush=True)
            free_memory()
        self.results["train_equal"] = table
        self.quality(
            f"fnc1, {epochs} epochs on 16k pairs: Trainer vs toolkit", "0", {"predictions": predictions}, "fnc1"
        )

    def semeval_select(self) -> None:
        """SEMEVAL_VARIANTS on inner splits of `--select-seeds` seeds' training rows; the best mean F_avg is then
        fitted on each seed's whole train split and scored on dev (unless it is the config, already measured)."""
        import statistics

        bundle = self.bundle("semeval2016")
        seeds = sorted(bundle["seeds"])
        inner: dict[str, list[float]] = {}
        for name, overrides in SEMEVAL_VARIANTS.items():
            for seed in seeds[: self.args.select_seeds]:
                result, model, held = fit_and_predict(inner_split(bundle, seed), seed, self.args, False, **overrides)
                inner.setdefault(name, []).append(f_avg(held.gold, result["predictions"]["toolkit"], bundle["labels"]))
                print(f"  inner split, seed {seed}, {name}: F_avg {inner[name][-1]}", flush=True)
                del model
                free_memory()
        chosen = max(inner, key=lambda name: statistics.mean(inner[name]))
        self.results["semeval_select"] = {"inner_f_avg": inner, "chosen": chosen}
        self.save("semeval_select (inner)", 0.0)
        if not SEMEVAL_VARIANTS[chosen]:
            return
        for seed in seeds:
            result, model, _ = fit_and_predict(bundle, seed, self.args, **SEMEVAL_VARIANTS[chosen])
            self.quality(f"semeval2016, chosen on inner splits: {chosen}", seed, result, "semeval2016")
            del model
            free_memory()

    def seeds_of(self, name: str) -> None:
        for seed in sorted(self.bundle(name)["seeds"]):
            result, model, _ = fit_and_predict(self.bundle(name), seed, self.args)
            self.quality(name, seed, result)
            del model
            free_memory()

    def semeval(self) -> None:
        self.seeds_of("semeval2016")

    def ag_news(self) -> None:
        self.seeds_of("ag_news")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", type=Path, required=True, help="folder written by transformer_bundle.py export")
    parser.add_argument("--model", required=True, help="encoder folder (or hub id when online)")
    parser.add_argument("--out", type=Path, default=Path("transformer_gpu.json"))
    parser.add_argument("--stages", nargs="*", choices=STAGES + EXTRA_STAGES, default=STAGES)
    parser.add_argument("--max-rows", type=int, default=None, help="cap every split (smoke runs)")
    parser.add_argument("--max-length", type=int, default=None, help="cap the configs' max_length (smoke runs)")
    parser.add_argument("--epochs", type=int, default=None, help="override the configs' epochs (smoke runs)")
    parser.add_argument("--train-speed-rows", type=int, default=16000)
    parser.add_argument("--select-seeds", type=int, default=2, help="seeds whose inner splits choose a SemEval recipe")
    parser.add_argument("--batch-sizes", type=int, nargs="*", default=[256, 1024], help="extra inference batch sizes")
    args = parser.parse_args()

    warm_up_device()
    run = Run(args)
    started = time.perf_counter()
    for stage in args.stages:
        stage_started = time.perf_counter()
        try:
            getattr(run, stage)()
        except Exception as exc:  # keep what the other stages measured; say what failed
            import traceback

            traceback.print_exc()
            run.results.setdefault("errors", {})[stage] = f"{type(exc).__name__}: {str(exc)[:500]}"
        run.save(stage, time.perf_counter() - stage_started)
    run.results["total_seconds"] = round(time.perf_counter() - started, 1)
    run.save("done", 0.0)
    print(f"wrote {args.out} ({run.results['total_seconds']:.0f} s in all)")


if __name__ == "__main__":
    main()
