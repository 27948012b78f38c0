"""transformer_gpu.py's speed stages: inference docs/s and training samples/s of the backend, side by side
with a plain `Trainer` on the same data and device, and where the time goes (GPU-only, ablations, a profile)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from experiments.benchmarks.transformer_baseline import timed, trainer_fit, trainer_predict
from experiments.benchmarks.transformer_gpu_common import (
    Split,
    accuracy_and_macro_f1,
    backend_params,
    fit_and_predict,
    free_memory,
)


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

    from toolkit.backends.transformer.windows import plain_ids

    texts, targets = dev.examples.texts, dev.examples.targets
    n = len(texts)
    model.predict_proba(texts[:1024], targets[:1024])  # warm-up: kernels, allocator, the bf16 copy
    result: dict[str, Any] = {
        "docs": n,
        "distinct_bodies": len(set(texts)),
        "eval_batch_size": model.settings.eval_batch_size,
    }
    stats: list[Any] = []  # each call's window counts (predict_proba's work, with its WindowStats kept)
    mean_runs = repeat_seconds(lambda: stats.append(model.predict_with_stats(texts, targets)[1]), 3)
    result["predict_seconds"] = mean_runs
    result["predict_docs_per_s"] = round(n / min(mean_runs), 1)
    result["windows"], result["texts_windowed"] = stats[-1].windows, stats[-1].windowed
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

    from toolkit.backends.transformer import inference
    from toolkit.backends.transformer import model as transformer

    if not torch.cuda.is_available():
        return {}
    from torch.nn.attention import SDPBackend, sdpa_kernel

    class MaskAlways(inference.DeviceWindows):
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


class SpeedStages:
    """The speed stages, mixed into transformer_gpu.Run (which provides args, results, bundle(), quality(),
    fnc_fit() and the FNC seed-0 model)."""

    args: argparse.Namespace
    results: dict[str, Any]
    fnc_model: Any
    fnc_dev: Split | None
    bundle: Callable[[str], dict[str, Any]]
    quality: Callable[..., None]
    fnc_fit: Callable[[], None]

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
        cap = self.args.max_rows
        return bundle, subset, Split(subset, "0", "train", cap), Split(subset, "0", "dev", cap)

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

    def fresh_fnc_model(self) -> tuple[Any, Split]:
        """The FNC-1 config's model with a fresh head (speed does not depend on the weights), and the dev split."""
        from toolkit.backends.transformer.model import TransformerModel, load_pretrained

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
        stats: list[Any] = []  # each call's window counts
        summary["every_window_docs_per_s"] = round(
            len(dev) / min(repeat_seconds(lambda: stats.append(model.predict_with_stats(texts, targets)[1]), times)), 1
        )
        summary["windows"] = stats[-1].windows
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

        from toolkit.backends.transformer import model as transformer

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
