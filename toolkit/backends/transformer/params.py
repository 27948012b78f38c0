"""The transformer backend's parameters: what a config, `--set` or a tuning space may set, validated by pydantic.

A module of its own so loading and training code can name the type without importing the backend (no import
cycle), and so the schema loads without torch.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from toolkit.backends.transformer.windows import Aggregation
from toolkit.schema import StrictModel

MAX_POSITIONS = 131_072
"""No encoder has more positions; a larger max_length is a typo (the model's own limit is checked on load)."""


class TransformerParams(StrictModel):
    """Parameters of the transformer backend (the names used in configs, `--set` and MLflow)."""

    model_name_or_path: str = Field(
        "sentence-transformers/all-MiniLM-L6-v2",
        min_length=1,
        description="a local model folder, or a hub id when online",
    )
    init_from: str | None = Field(
        None,
        min_length=1,
        description="fine-tune a saved transformer model of the same task instead of model_name_or_path: a model "
        "folder, runs:/ID/model or models:/NAME@ALIAS; its network, tokenizer, labels, max_length and pooling are "
        "kept (the run's max_length and pooling are ignored), the training data's labels must be among its labels",
    )
    max_length: int = Field(
        256, ge=16, le=MAX_POSITIONS, description="tokens per window (at most the model's positions)"
    )
    stride: int = Field(64, ge=0, description="tokens shared by consecutive windows of a long text")
    window_aggregation: Aggregation = Field(
        "mean",
        description="a long text's windows -> one row: mean or max of their probabilities, or first (its opening only)",
    )
    train_windows: Literal["first", "all"] = Field(
        "first", description="train on each long text's first window, or on all its windows"
    )
    epochs: int = Field(3, ge=1)
    batch_size: int = Field(16, ge=1)
    eval_batch_size: int = Field(64, ge=1, description="windows per inference batch")
    gradient_accumulation_steps: int = Field(1, ge=1)
    learning_rate: float = Field(5e-5, gt=0)
    weight_decay: float = Field(0.01, ge=0)
    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    max_grad_norm: float = Field(1.0, gt=0)
    class_weight: Literal["balanced"] | None = "balanced"
    early_stopping_patience: int | None = Field(
        2, ge=1, description="epochs without a better validation macro-F1 before stopping (null: never)"
    )
    keep_best_epoch: bool = Field(
        True,
        description="restore the weights of the epoch with the best validation macro-F1; false keeps the epoch "
        "training ended on (e.g. with early_stopping_patience: null when the validation split is the one you report)",
    )
    group_by_length: bool = True
    bf16: Literal["auto"] | bool = Field("auto", description="bf16 autocast for training: auto = on a GPU that has it")
    inference_precision: Literal["auto", "fp32"] = Field(
        "auto", description="auto: bf16 (else fp16) autocast on GPU, fp32 on CPU"
    )
    pooling: Literal["model", "mean"] = Field(
        "model",
        description="model: the checkpoint's own classification head (BERT: its [CLS] pooler); mean: a linear layer "
        "on the mean of the window's token states (how sentence encoders such as all-MiniLM-L6-v2 are trained)",
    )
    torch_compile: bool = False
    attn_implementation: Literal["sdpa", "eager"] = "sdpa"
    device: Literal["auto", "cpu", "cuda"] = "auto"


INHERITED = ("max_length", "pooling")
"""Settings a fine-tuned saved model keeps: the window size its classifier learned on and its head's layout."""


def adapted_params(run: TransformerParams, saved: TransformerParams) -> tuple[TransformerParams, list[str]]:
    """The params for fine-tuning a saved model (`init_from`): the run's, except the saved model's `INHERITED`
    settings and its `model_name_or_path` (recorded: the encoder it descends from). Also a note for each run
    value so ignored (a config's max_length cannot be told apart from the default, so a difference is no error)."""
    keep = (*INHERITED, "model_name_or_path")
    notes = [
        f"init_from: {name}={getattr(run, name)} ignored, the saved model's {name}={getattr(saved, name)} is kept"
        for name in INHERITED
        if getattr(run, name) != getattr(saved, name)
    ]
    return run.model_copy(update={name: getattr(saved, name) for name in keep}), notes
