"""The plain `transformers.Trainer` side of experiments/benchmarks/transformer_gpu.py: what a user gets today.

Splits are transformer_gpu.Split objects (`.examples` with texts and targets, `.gold` label indices).

`Trainer` with batch 32, lr 5e-5, bf16 where the GPU has it and every other argument at its default;
`Trainer.predict` with its default arguments (eval batch 8, dynamic padding, pairs truncated at max_length).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from typing import Any


def synchronize() -> None:
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
    """Tokenized pairs for the Trainer (its default collator pads each batch)."""

    def __init__(self, tokenizer: Any, split: Any, max_length: int) -> None:
        texts, targets = split.examples.texts, split.examples.targets
        encoded = tokenizer(targets, texts, truncation=True, max_length=max_length)
        keys = list(encoded.keys())
        self.rows = [{**{k: encoded[k][i] for k in keys}, "labels": split.gold[i]} for i in range(len(split))]

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.rows[index]


def trainer_for(network: Any, tokenizer: Any, output: str, train_dataset: Any = None, **training: Any) -> Any:
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
        seed=0,
        **training,
    )
    return Trainer(model=network, args=arguments, processing_class=tokenizer, train_dataset=train_dataset)


def trainer_predict(network: Any, tokenizer: Any, dev: Any, max_length: int) -> dict[str, Any]:
    """Trainer.predict with default arguments (eval batch 8, pairs truncated to max_length) on these weights."""
    dataset = PairDataset(tokenizer, dev, max_length)
    with tempfile.TemporaryDirectory() as output:
        trainer = trainer_for(network, tokenizer, output)
        output_, seconds = timed(lambda: trainer.predict(dataset))
    predicted = [int(i) for i in output_.predictions.argmax(axis=-1)]
    return {
        "predict_seconds": round(seconds, 2),
        "predict_docs_per_s": round(len(dev) / seconds, 1),
        "predict_batch_size": trainer.args.per_device_eval_batch_size,
        "predictions": predicted,
    }


def trainer_fit(
    bundle: dict[str, Any], train: Any, dev: Any, encoder: str, max_length: int, epochs: int = 1
) -> dict[str, Any]:
    """A plain Trainer fine-tune from the pretrained encoder: training samples/s, then its dev predictions."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    labels = bundle["labels"]
    tokenizer = AutoTokenizer.from_pretrained(encoder)
    network = AutoModelForSequenceClassification.from_pretrained(
        encoder,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
        use_safetensors=True,
        dtype=torch.float32,
    )
    dataset = PairDataset(tokenizer, train, max_length)
    with tempfile.TemporaryDirectory() as output:
        trainer = trainer_for(network, tokenizer, output, dataset, num_train_epochs=epochs)
        _, seconds = timed(trainer.train)
    result = {"train_seconds": round(seconds, 2), "train_samples_per_s": round(len(train) * epochs / seconds, 1)}
    return result | trainer_predict(network, tokenizer, dev, max_length)
