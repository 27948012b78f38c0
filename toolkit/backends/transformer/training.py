"""The transformer backend's training loop: the `transformers.Trainer` recipe in plain PyTorch.

AdamW (no decay on biases and LayerNorm weights) with linear warmup and decay, gradient clipping and
accumulation, dynamic padding and length-grouped batches, optional class weights, bf16 autocast where
the device has it, and early stopping on validation macro-F1 that restores the best epoch's weights.

The loop knows nothing of where its figures go: each epoch's metrics are handed to the caller's `on_epoch`
(toolkit.train logs them to the MLflow run as `epoch_*`; a benchmark may pass nothing), progress lines to
`progress`. It trains anything shaped like `Trainee`, so it never imports the model class.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from toolkit.backends.transformer.inference import DeviceWindows, training_batches
from toolkit.backends.transformer.windows import Encoded, aggregate
from toolkit.data.types import EpochLog, Examples, Progress, report_step

if TYPE_CHECKING:
    import numpy as np

    from toolkit.backends.transformer.params import TransformerParams


class Trainee(Protocol):
    """What the loop needs of the model it trains (the backend's `TransformerModel` is one)."""

    labels: list[str]
    settings: TransformerParams
    network: Any
    device: str

    def encode(self, texts: Sequence[str], targets: Sequence[str] | None) -> Encoded:
        """Token windows of the texts (with their targets for stance)."""

    def forward(self) -> Any:
        """The network's forward as training should call it (compiled or not)."""

    def weights_changed(self) -> None:
        """Called after the weights change, so the model drops what it derived from them."""

    def window_probabilities(self, encoded: Encoded) -> np.ndarray:
        """Softmax of every window, through the model's own inference path."""


def balanced_weights(y: np.ndarray, n_labels: int) -> np.ndarray:
    """scikit-learn's 'balanced' class weights (`compute_class_weight`) for the labels in `y`; a label with no row
    in `y` (a few-shot set from `init_from` may lack some) gets 0: scikit-learn refuses it, and it has no loss term
    to weigh. The weights' common scale cancels in CrossEntropyLoss's weighted mean."""
    import numpy as np
    from sklearn.utils.class_weight import compute_class_weight

    present = np.unique(y)
    weights: np.ndarray = np.zeros(n_labels, dtype=np.float64)
    weights[present] = compute_class_weight("balanced", classes=present, y=y)
    return weights


def optimizer_for(network: Any, learning_rate: float, weight_decay: float, device: str) -> Any:
    """AdamW with weight decay on weight matrices only (the usual BERT recipe)."""
    import torch

    decay, no_decay = [], []
    for name, parameter in network.named_parameters():
        if parameter.requires_grad:
            (no_decay if parameter.ndim < 2 or "LayerNorm" in name or "norm" in name.lower() else decay).append(
                parameter
            )
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=learning_rate, fused=device == "cuda")


def training_windows(encoded: Encoded, which: str) -> Encoded:
    """Windows to train on: every window, or the first window of each text."""
    return encoded if which == "all" else encoded.subset(encoded.first_windows())


def macro_f1(model: Trainee, encoded: Encoded, gold: Sequence[str]) -> tuple[float, float]:
    """Validation macro-F1 and accuracy through the model's own (windowed) inference path.

    Computed here in NumPy (the same definition as toolkit.metrics, zero_division=0) because it runs
    every epoch and must not pull scikit-learn into a GPU benchmark's environment."""
    import numpy as np

    probabilities = aggregate(
        model.window_probabilities(encoded), encoded.owner, encoded.n_texts, model.settings.window_aggregation
    )
    index = {label: i for i, label in enumerate(model.labels)}
    truth = np.array([index.get(label, -1) for label in gold])
    predicted = probabilities.argmax(axis=1)
    f1 = []
    for k in range(len(model.labels)):
        hits = float(np.sum((predicted == k) & (truth == k)))
        denominator = float(np.sum(predicted == k) + np.sum(truth == k))
        f1.append(2 * hits / denominator if denominator else 0.0)
    return float(np.mean(f1)), float(np.mean(predicted == truth))


def run_epoch(
    model: Trainee,
    windows: DeviceWindows,
    y: Any,
    state: dict[str, Any],
    rng: np.random.Generator,
    on_batch: Callable[[int, int], None] | None = None,
) -> float:
    """One pass over the training windows (already on the device, labels `y` too); the mean training loss.
    `on_batch(done, total)` follows the batches (the CLI's progress display; it never syncs the device)."""
    import torch

    from toolkit.backends.transformer.device import attention_kernels, autocast

    settings, network, device = model.settings, model.network, model.device
    forward, accumulation = model.forward(), settings.gradient_accumulation_steps
    batches = training_batches(windows.host_lengths, settings.batch_size, rng, settings.group_by_length)
    network.train()
    total = torch.zeros((), device=device)
    state["optimizer"].zero_grad(set_to_none=True)
    for step, (_, index, inputs) in enumerate(windows.batches(batches), start=1):
        with autocast(device, state["amp"]), attention_kernels(device):
            logits = forward(**inputs).logits
        loss = state["loss"](logits.float(), y[index])
        (loss / accumulation).backward()
        if step % accumulation == 0 or step == len(batches):
            torch.nn.utils.clip_grad_norm_(network.parameters(), settings.max_grad_norm)
            state["optimizer"].step()
            state["scheduler"].step()
            state["optimizer"].zero_grad(set_to_none=True)
        total += loss.detach() * len(index)
        if on_batch:
            on_batch(step, len(batches))
    model.weights_changed()
    return float(total.item()) / len(windows.host_lengths)


def setup(model: Trainee, y: np.ndarray, n_batches: int) -> dict[str, Any]:
    """Optimizer, schedule, loss (with class weights) and autocast dtype for a run."""
    import torch
    from transformers import get_linear_schedule_with_warmup

    from toolkit.backends.transformer.device import training_dtype

    settings = model.settings
    optimizer = optimizer_for(model.network, settings.learning_rate, settings.weight_decay, model.device)
    total = steps_per_epoch(n_batches, settings.gradient_accumulation_steps) * settings.epochs
    scheduler = get_linear_schedule_with_warmup(optimizer, int(settings.warmup_ratio * total), total)
    weights = None
    if settings.class_weight == "balanced":
        weights = torch.tensor(balanced_weights(y, len(model.labels)), dtype=torch.float32, device=model.device)
    return {
        "optimizer": optimizer,
        "scheduler": scheduler,
        "loss": torch.nn.CrossEntropyLoss(weight=weights),
        "amp": training_dtype(model.device, settings.bf16),
    }


def train_network(
    model: Trainee,
    encoded: Encoded,
    labels: Sequence[str],
    validation: Examples | None,
    seed: int,
    progress: Progress | None = None,
    on_epoch: EpochLog | None = None,
) -> dict[str, float]:
    """Fine-tune `model.network` in place, handing each epoch's metrics to `on_epoch`; returns throughput and
    early-stopping figures."""
    import numpy as np

    from toolkit.backends.transformer.device import to_device

    settings = model.settings
    index = {label: i for i, label in enumerate(model.labels)}
    chosen = training_windows(encoded, settings.train_windows)
    y = np.array([index[labels[text]] for text in chosen.owner], dtype=np.int64)
    windows, y_on_device = DeviceWindows(chosen, model.device), to_device(y, model.device)
    n_windows = len(chosen)
    state = setup(model, y, -(-n_windows // settings.batch_size))
    held_out = (
        model.encode(validation.texts, validation.targets) if validation is not None and len(validation) else None
    )
    if held_out is not None and progress and held_out.windowed:
        progress(f"{held_out.windowed} of {held_out.n_texts} validation texts are predicted over several windows")
    rng = np.random.default_rng(seed)
    best_f1, best_epoch, best_state, stale, loop_seconds, epoch = -1.0, 0, None, 0, 0.0, 0
    on_batch = partial(report_step, progress, "batch") if hasattr(progress, "step") else None
    report_step(progress, "epoch", 0, settings.epochs)
    for epoch in range(1, settings.epochs + 1):
        started = time.perf_counter()
        loss = run_epoch(model, windows, y_on_device, state, rng, on_batch)
        report_step(progress, "epoch", epoch, settings.epochs)
        seconds = time.perf_counter() - started
        loop_seconds += seconds
        metrics = {"train_loss": loss, "seconds": seconds, "samples_per_second": n_windows / seconds}
        if held_out is not None:
            metrics["validation_macro_f1"], metrics["validation_accuracy"] = macro_f1(
                model, held_out, validation.labels
            )
        if on_epoch:
            on_epoch(epoch, dict(metrics))
        if progress:
            shown = ", ".join(f"{k} {v:.4g}" for k, v in metrics.items())
            progress(f"epoch {epoch}/{settings.epochs}: {shown}")
        if held_out is None:
            continue
        if metrics["validation_macro_f1"] > best_f1:
            best_f1, best_epoch, stale = metrics["validation_macro_f1"], epoch, 0
            if settings.keep_best_epoch:
                best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.network.state_dict().items()}
        else:
            stale += 1
            if settings.early_stopping_patience is not None and stale >= settings.early_stopping_patience:
                break
    if best_state is not None and best_epoch != epoch:
        model.network.load_state_dict(best_state)
        model.weights_changed()
        if progress:
            progress(f"restored the weights of epoch {best_epoch} (best validation macro-F1 {best_f1:.4f})")
    return {
        "train_rows": float(encoded.n_texts),
        "train_windows": float(n_windows),
        "windowed": float(encoded.windowed),
        "epochs_run": float(epoch),
        "best_epoch": float(best_epoch),
        "kept_epoch": float(best_epoch if best_state is not None else epoch),
        "loop_seconds": loop_seconds,
        "samples_per_second": n_windows * epoch / loop_seconds,
    }


def steps_per_epoch(n_batches: int, accumulation: int) -> int:
    return math.ceil(n_batches / accumulation)
