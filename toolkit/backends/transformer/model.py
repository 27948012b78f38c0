"""Transformer backend: fine-tune any Hugging Face encoder (`AutoModelForSequenceClassification`).

`model_name_or_path` is a local folder or, for a user who is online, a hub id. Weights are always read
from safetensors and no code from a model repository is ever run (every `from_pretrained` call pins
`use_safetensors` on and `trust_remote_code` off), when fine-tuning from a checkpoint and when loading a
saved model.

Stance inputs are (target, text) sentence pairs, topic inputs a single text. Texts longer than
`max_length` tokens are split into overlapping windows whose probabilities are aggregated (see
`windows`); how many texts needed windows is reported, so nothing is cut silently.

Training is a plain PyTorch loop (the `transformers.Trainer` recipe without its `accelerate` dependency):
AdamW with linear warmup/decay, dynamic padding, length-grouped batches, class weights, bf16 autocast on
a GPU that has it, early stopping on validation macro-F1 (the best epoch's weights are kept), fixed seeds.
Each epoch's metrics go to the caller's `on_epoch` (toolkit.train logs them to the run).

Few-shot adaptation: with `init_from` (a saved transformer model of the same task; toolkit.train resolves an
MLflow ref to a local folder and hands it over as `init_folder`) training starts from that model's network,
tokenizer and label head instead of `model_name_or_path`. Its labels and their order are kept, so a class the
new rows lack (e.g. 'none') is still predicted; the new rows' labels must be among them. Its max_length and
pooling are kept too (the run's are ignored, with a progress note); everything else (epochs, learning_rate,
batch_size, ...) is the run's. The fitted model's `origin` names the start (ref + sha256 of its manifest), which
toolkit.train writes into the new manifest as `init_from`.

The model folder holds config.json, model.safetensors (+ head.safetensors with `pooling: mean`), the
tokenizer's JSON/text files and labels.json. Loading lives in `loading`, the parameters in `params`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolkit._deps import TRANSFORMER_DISTRIBUTIONS
from toolkit.backends.base import Backend, FittedModel, ModelTags
from toolkit.backends.transformer.device import attention_kernels, autocast, inference_dtype, resolve_device
from toolkit.backends.transformer.inference import DeviceWindows, WidthBuckets, in_background
from toolkit.backends.transformer.loading import (
    LABELS_FILE,
    load_pretrained,
    load_saved,
    quiet_transformers,
    saved_settings,
    start_folder,
)
from toolkit.backends.transformer.params import TransformerParams, adapted_params
from toolkit.backends.transformer.windows import Encoded, WindowEncoder, aggregate, check_targets
from toolkit.data.types import EpochLog, Examples, Progress
from toolkit.errors import ConfigError, DataError, ModelLoadError

if TYPE_CHECKING:
    import numpy as np

logger = logging.getLogger(__name__)
ENCODE_CHUNK_TEXTS = 2048  # texts per background tokenizer step: 1,024 and 2,048 tie on an H200 (FNC-1 dev)
FORBIDDEN = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".py")


@dataclass(frozen=True)
class WindowStats:
    """What one prediction call did with long texts: `windowed` of `texts` needed several windows, and
    `windows` windows were classified in all (one per text under `window_aggregation: first`)."""

    texts: int
    windowed: int
    windows: int


class TransformerModel(FittedModel):
    """A fine-tuned sequence classifier with its tokenizer; predicts in length-sorted batches."""

    backend_name = "transformer"
    tags = ModelTags(single_process=True, uses_device=True)

    def __init__(self, task: str, labels: Sequence[str], params: dict[str, Any], network: Any, tokenizer: Any) -> None:
        super().__init__(task, labels, params)
        self.settings = TransformerParams.model_validate(params)
        self.device = resolve_device(self.settings.device)
        self.network = network.to(self.device)
        self.tokenizer = tokenizer
        self._windows: WindowEncoder | None = None
        self.training_stats: dict[str, float] = {}
        self.origin: dict[str, str] | None = None  # with init_from: {"ref", "manifest_sha256"} of the start model
        self._compiled: Any = None
        self._inference_copy: Any = None

    @property
    def windows(self) -> WindowEncoder:
        """The window encoder for the current settings (rebuilt when max_length or stride change)."""
        settings = self.settings
        current = self._windows
        if current is None or (current.max_length, current.stride) != (settings.max_length, settings.stride):
            current = WindowEncoder(self.tokenizer, settings.max_length, settings.stride, pair=self.task == "stance")
            self._windows = current
        return current

    def encode(
        self, texts: Sequence[str], targets: Sequence[str] | None, cache: dict[str, Any] | None = None
    ) -> Encoded:
        """Token windows of the texts (with their targets for stance); see `WindowEncoder`."""
        return self.windows.encode(texts, targets if self.task == "stance" else None, cache)

    def forward(self) -> Any:
        """The network's forward, compiled once when `torch_compile` is on."""
        if not self.settings.torch_compile:
            return self.network
        if self._compiled is None:
            import torch

            self._compiled = torch.compile(self.network, dynamic=True)
        return self._compiled

    def weights_changed(self) -> None:
        """Drop the inference copy of the weights (training calls this after each epoch)."""
        self._inference_copy = None

    def inference_network(self) -> Any:
        """What runs inference: the compiled network when asked; on a GPU, a bf16/fp16 copy of the weights
        (no per-call casting as under autocast), made once and kept until the weights change; else the network."""
        import copy

        if self.settings.torch_compile or self.device == "cpu":
            return self.forward()
        dtype = inference_dtype(self.device, self.settings.inference_precision)
        if dtype is None:
            return self.network
        if self._inference_copy is None:
            self._inference_copy = copy.deepcopy(self.network).to(dtype).eval()
        return self._inference_copy

    @contextmanager
    def classifier(self) -> Iterator[Callable[[dict[str, Any]], Any]]:
        """A function from a batch's network inputs to their softmax probabilities, left on the device (no sync),
        to be called inside this block: eval mode, no gradients, reduced precision on a GPU."""
        import torch

        was_training = self.network.training
        self.network.eval()
        network = self.inference_network().eval()
        precision = inference_dtype(self.device, self.settings.inference_precision)
        amp = precision if (self.settings.torch_compile or network is self.network) else None
        try:
            with torch.inference_mode(), autocast(self.device, amp), attention_kernels(self.device):
                yield lambda inputs: torch.softmax(network(**inputs).logits.float(), dim=-1)
        finally:
            self.network.train(was_training)

    @contextmanager
    def inference(self) -> Iterator[Callable[[Encoded], Any]]:
        """A function from windows to their softmax probabilities on the device, in one length-sorted pass."""
        batch_size, labels = self.settings.eval_batch_size, len(self.labels)
        with self.classifier() as classify:
            yield lambda encoded: DeviceWindows(encoded, self.device).sorted_pass(batch_size, classify, labels)

    def window_probabilities(self, encoded: Encoded) -> np.ndarray:
        """Softmax of every window (rows as in `encoded`)."""
        with self.inference() as run:
            probabilities: np.ndarray = run(encoded).cpu().numpy()
        return probabilities

    def predict_proba(self, texts: Sequence[str], targets: Sequence[str] | None = None) -> np.ndarray:
        """Class probabilities per text (see `predict_with_stats`)."""
        probabilities, _ = self.predict_with_stats(texts, targets)
        return probabilities

    def predict_with_stats(
        self, texts: Sequence[str], targets: Sequence[str] | None = None
    ) -> tuple[np.ndarray, WindowStats]:
        """Class probabilities per text and how many windows it took: texts are tokenized in chunks by a worker
        thread while the device classifies windows in batches pooled across chunks (`WidthBuckets`); long texts'
        windows are aggregated, and how many there were is logged."""
        import numpy as np

        if self.task == "stance":
            check_targets(texts, targets)  # here, not per chunk: chunk-sized slices could hide a mismatch
        settings, chunk = self.settings, max(ENCODE_CHUNK_TEXTS, self.settings.eval_batch_size)
        cache: dict[str, Any] = {}

        def job(start: int) -> tuple[int, Encoded, int]:
            part = slice(start, start + chunk)
            encoded = self.encode(texts[part], None if targets is None else targets[part], cache)
            first_only = settings.window_aggregation == "first"
            return start, encoded.subset(encoded.first_windows()) if first_only else encoded, encoded.windowed

        owners, windowed = [np.zeros(0, dtype=np.int64)], 0
        with self.classifier() as classify:
            buckets = WidthBuckets(
                classify, self.device, settings.eval_batch_size, settings.max_length, self.windows.pad_id
            )
            jobs = ((lambda start=start: job(start)) for start in range(0, len(texts), chunk))
            for start, encoded, long_texts in in_background(jobs):
                buckets.add(encoded)
                owners.append(start + encoded.owner)  # not the token arrays
                windowed += long_texts
            owner = np.concatenate(owners)
            probabilities = buckets.finish().reshape(len(owner), len(self.labels))  # (0, 0) without texts
        out = aggregate(probabilities, owner, len(texts), settings.window_aggregation)
        stats = WindowStats(texts=len(texts), windowed=windowed, windows=len(owner))
        self.log_windows(stats)
        return out, stats

    def log_windows(self, stats: WindowStats) -> None:
        """Say how many texts did not fit in one window and what was done with them: never silent."""
        settings = self.settings
        if not stats.windowed:
            return
        if settings.window_aggregation == "first":
            done = "only their first window is used (window_aggregation: first)"
        else:
            done = f"predicted over {stats.windows} windows ({settings.window_aggregation} of window probabilities)"
        logger.warning(
            "%d of %d texts are longer than max_length=%d tokens: %s",
            stats.windowed,
            stats.texts,
            settings.max_length,
            done,
        )

    def requirements(self) -> list[str]:
        return list(TRANSFORMER_DISTRIBUTIONS)

    def save(self, folder: Path) -> list[str]:
        with quiet_transformers():
            self.network.save_pretrained(folder)
            self.tokenizer.save_pretrained(folder)
        (folder / LABELS_FILE).write_text(
            json.dumps({"task": self.task, "labels": self.labels}, ensure_ascii=False), encoding="utf-8"
        )
        names = sorted(p.name for p in folder.iterdir() if p.is_file() and p.name != "manifest.json")
        unsafe = [name for name in names if name.endswith(FORBIDDEN)]
        if unsafe:
            raise ModelLoadError(f"refusing to save executable/pickle files {unsafe}")
        return names

    @classmethod
    def load(cls, folder: Path, manifest: dict[str, Any]) -> TransformerModel:
        """The saved model for prediction: run by `light` (torch and tokenizers, no transformers import, so
        `toolkit predict` starts seconds sooner) when it supports the folder, else loaded through transformers."""
        from toolkit.backends.transformer.light import load_light

        labels, params = saved_settings(folder, manifest)
        light = load_light(folder, params, labels)
        if light is None:
            labels, params, network, tokenizer = load_saved(folder, manifest)
        else:
            network, tokenizer = light
        return cls(manifest["task"], labels, params.model_dump(mode="json"), network, tokenizer)


class TransformerBackend(Backend):
    """Fine-tunes a `TransformerModel`; see `TransformerParams` for what can be tuned."""

    name = "transformer"
    Params = TransformerParams
    model_class = TransformerModel
    init_folder: Path | None = None
    """The local folder of `params.init_from` when toolkit.train resolved an MLflow ref (None: the ref is a folder)."""

    def import_libraries(self) -> None:
        from toolkit._deps import require

        require("torch", "transformer")
        require("transformers", "transformer")

    def fit(
        self,
        train: Examples,
        validation: Examples | None = None,
        progress: Progress | None = None,
        on_epoch: EpochLog | None = None,
    ) -> TransformerModel:
        from toolkit.backends.seeding import seed_everything
        from toolkit.backends.transformer.training import train_network

        params = TransformerParams.model_validate(self.params.model_dump())
        if self.task == "stance" and train.targets is None:
            raise DataError("stance training data has no targets")
        if not len(train):
            raise DataError("no training rows")
        seed_everything(self.seed, torch=True)
        if params.init_from:
            model = self.start_model(params, train.labels, progress)
            params = model.settings
        else:
            labels = sorted(set(train.labels))
            network, tokenizer = load_pretrained(params.model_name_or_path, params, labels)
            model = TransformerModel(self.task, labels, params.model_dump(mode="json"), network, tokenizer)
        encoded = model.encode(train.texts, train.targets)
        if progress:
            progress(
                f"{encoded.windowed} of {len(train)} training texts exceed max_length={params.max_length} "
                f"tokens; training on {'all their windows' if params.train_windows == 'all' else 'their first window'}"
            )
        model.training_stats = train_network(model, encoded, train.labels, validation, self.seed, progress, on_epoch)
        return model

    def start_model(
        self, params: TransformerParams, train_labels: Sequence[str], progress: Progress | None
    ) -> TransformerModel:
        """The saved model `params.init_from` names, to be fine-tuned with the run's params (see `adapted_params`):
        its network, tokenizer and labels in their order; refused when the training rows have other labels."""
        from toolkit._hashing import sha256_file
        from toolkit.models.folder import MANIFEST

        ref = str(params.init_from)
        if self.init_folder is None and not Path(ref).is_dir():
            raise ConfigError(
                f"backend.params.init_from: '{ref}' is not a model folder (an MLflow ref is resolved by toolkit.train)"
            )
        folder = Path(self.init_folder or ref)
        manifest = start_folder(folder, self.task)
        settings, notes = adapted_params(params, TransformerParams.model_validate(manifest.get("params", {})))
        extra = sorted(set(train_labels) - set(manifest["labels"]))
        if extra:
            raise DataError(
                f"training labels {extra} are not labels of the init_from model {ref} ({', '.join(manifest['labels'])})"
            )
        labels, _, network, tokenizer = load_saved(folder, manifest, settings)
        for note in notes:
            if progress:
                progress(note)
        model = TransformerModel(self.task, labels, settings.model_dump(mode="json"), network, tokenizer)
        model.origin = {"ref": ref, "manifest_sha256": sha256_file(folder / MANIFEST)}
        return model
