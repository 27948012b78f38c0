"""The plain `transformers.Trainer` cross-encoder: what a user gets with a hand-rolled Hugging Face script.

It is the benchmark's yardstick for the transformer backend, so it keeps a plain script's settings: `Trainer`
with batch 32, lr 5e-5, bf16 where the GPU has it and every other argument at its default; `Trainer.predict`
with its default arguments (eval batch 8, dynamic padding). The tokenizer reads a stance row as the pair
(target, text), a topic row as its text alone, truncated at max_length (the toolkit's windows are what it
is compared against). Shared by the benchmark runner and experiments/benchmarks/transformer_gpu*.py.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any

from toolkit.data.types import Examples

# toolkit.bench.baselines.Predictor, spelled out so that baselines can import this module without a cycle.
TrainerPredictor = Callable[[Examples], list[str]]


def synchronize() -> None:
    """Drain the GPU's queue, so a timer stops when the work is done rather than when it was queued."""
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def timed(work: Callable[[], Any]) -> tuple[Any, float]:
    """work()'s result and its wall seconds, the device drained before the clock stops."""
    started = time.perf_counter()
    result = work()
    synchronize()
    return result, time.perf_counter() - started


class PairDataset:
    """Tokenized rows for the Trainer (its default collator pads each batch); `gold` label indices for
    training, none for prediction (the predictor never sees the evaluation labels)."""

    def __init__(self, tokenizer: Any, examples: Examples, max_length: int, gold: Sequence[int] | None = None):
        if examples.targets is None:
            encoded = tokenizer(examples.texts, truncation=True, max_length=max_length)
        else:
            encoded = tokenizer(examples.targets, examples.texts, truncation=True, max_length=max_length)
        keys = list(encoded.keys())
        self.rows = [{key: encoded[key][i] for key in keys} for i in range(len(examples))]
        if gold is not None:
            self.rows = [{**row, "labels": label} for row, label in zip(self.rows, gold, strict=True)]

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.rows[index]


def trainer_for(
    network: Any, tokenizer: Any, output: str, train_dataset: Any = None, seed: int = 0, **training: Any
) -> Any:
    """A plain Trainer: batch 32, lr 5e-5, bf16 where the GPU has it, everything else at its defaults."""
    import torch
    from transformers import Trainer, TrainingArguments

    bf16 = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    arguments = TrainingArguments(
        output_dir=output,
        per_device_train_batch_size=32,
        learning_rate=5e-5,
        bf16=bf16,
        report_to="none",
        save_strategy="no",
        disable_tqdm=True,
        seed=seed,
        **training,
    )
    return Trainer(model=network, args=arguments, processing_class=tokenizer, train_dataset=train_dataset)


def trainer_predict(network: Any, tokenizer: Any, examples: Examples, max_length: int) -> dict[str, Any]:
    """Trainer.predict with default arguments on these weights: predicted label indices and the speed."""
    dataset = PairDataset(tokenizer, examples, max_length)
    with tempfile.TemporaryDirectory() as output:
        trainer = trainer_for(network, tokenizer, output)
        result, seconds = timed(lambda: trainer.predict(dataset))
    return {
        "predict_seconds": round(seconds, 2),
        "predict_docs_per_s": round(len(examples) / seconds, 1),
        "predict_batch_size": trainer.args.per_device_eval_batch_size,
        "predictions": [int(i) for i in result.predictions.argmax(axis=-1)],
    }


def trainer_train(
    labels: list[str], train: Examples, encoder: str, max_length: int, epochs: float = 1, seed: int = 0
) -> tuple[Any, Any, float]:
    """Fine-tune a fresh classification head and the encoder with a plain Trainer: (network, tokenizer, seconds).

    The seed is set before the model is built, as Hugging Face's example scripts do, so the random head is
    seeded too and two fits with one seed agree."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, set_seed

    set_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(encoder)
    network = AutoModelForSequenceClassification.from_pretrained(
        encoder,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
        use_safetensors=True,
        dtype=torch.float32,
    )
    index = {label: i for i, label in enumerate(labels)}
    dataset = PairDataset(tokenizer, train, max_length, [index[label] for label in train.labels])
    with tempfile.TemporaryDirectory() as output:
        trainer = trainer_for(network, tokenizer, output, dataset, seed=seed, num_train_epochs=epochs)
        _, seconds = timed(trainer.train)
    return network, tokenizer, seconds


def trainer_fit(
    labels: list[str], train: Examples, dev: Examples, encoder: str, max_length: int, epochs: float = 1
) -> dict[str, Any]:
    """A plain Trainer fine-tune from the pretrained encoder: training samples/s, then its dev predictions."""
    network, tokenizer, seconds = trainer_train(labels, train, encoder, max_length, epochs)
    result = {"train_seconds": round(seconds, 2), "train_samples_per_s": round(len(train) * epochs / seconds, 1)}
    return result | trainer_predict(network, tokenizer, dev, max_length)


def fit_trainer_cross_encoder(
    train: Examples, encoder: str, max_length: int, epochs: float = 1, seed: int = 0
) -> TrainerPredictor:
    """The runner's plain-Trainer baseline: fit on `train`, return evaluation rows -> predicted labels."""
    labels = sorted(set(train.labels))
    network, tokenizer, _ = trainer_train(labels, train, encoder, max_length, epochs, seed)

    def predict(rows: Examples) -> list[str]:
        return [labels[i] for i in trainer_predict(network, tokenizer, rows, max_length)["predictions"]]

    return predict
