"""Getting windows onto the device and through the network fast: the transformer backend's runtime.

What keeps a GPU busy here (measured on an H100 and an H200, see experiments/transformer/results.md §0-1):
- a chunk's token arrays go to the device in one pinned, asynchronous copy, and batches are cut from them
  on the device by row index (no per-batch host padding or copies);
- a batch whose windows are all full (every window of a long text is) gets no attention mask, so SDPA
  may use its flash kernel and transformers need not inspect the mask (a device sync per batch);
- SDPA limited to the flash / memory-efficient kernels (cuDNN's builds a plan per new shape);
- widths padded to multiples of 64: few distinct shapes;
- tokenization of the next chunk runs in a worker thread while the device works on this one
  (`in_background`); results are copied back once, at the end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any, TypeVar

from toolkit.backends.transformer_data import Encoded, batch_width
from toolkit.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np

T = TypeVar("T")
PAD_MULTIPLE_GPU = 64


def resolve_device(setting: str) -> str:
    """'auto' -> cuda when a GPU is visible; asking for cuda without one is an error."""
    import torch

    if setting == "cuda" and not torch.cuda.is_available():
        raise ConfigError("backend.params.device is 'cuda' but no CUDA device is available")
    if setting == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return setting


def to_device(array: np.ndarray, device: str) -> Any:
    """A host array on `device`; pinned first on a GPU so the copy is truly asynchronous."""
    import torch

    tensor = torch.from_numpy(array)
    if device != "cpu":
        tensor = tensor.pin_memory()
    return tensor.to(device, non_blocking=True)


def attention_kernels(device: str) -> Any:
    """On a GPU, SDPA's flash / memory-efficient kernels rather than cuDNN's: cuDNN builds a plan per new
    input shape, which costs milliseconds of CPU per layer when batches vary in length."""
    if device == "cpu":
        return nullcontext()
    from torch.nn.attention import SDPBackend, sdpa_kernel

    return sdpa_kernel([SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH])


def autocast(device: str, dtype: Any) -> Any:
    """torch.autocast on `device` with `dtype`, or a no-op when dtype is None."""
    import torch

    return torch.autocast(device_type=device, dtype=dtype) if dtype is not None else nullcontext()


def inference_dtype(device: str, setting: str) -> Any:
    """bf16 (else fp16) on a GPU unless fp32 is asked for; None (fp32) on CPU."""
    import torch

    if device != "cuda" or setting == "fp32":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def training_dtype(device: str, setting: str | bool) -> Any:
    """bf16 autocast when asked (or 'auto' on a GPU with bf16); fp16 training would need loss scaling."""
    import torch

    supported = device == "cuda" and torch.cuda.is_bf16_supported()
    if setting is True and not supported:
        raise ConfigError("backend.params.bf16 is true but this device has no bf16 support")
    return torch.bfloat16 if (setting is True or (setting == "auto" and supported)) else None


class DeviceWindows:
    """An `Encoded`'s arrays on the device, cut into model inputs by row indices."""

    def __init__(self, encoded: Encoded, device: str) -> None:
        self.device = device
        self.multiple = PAD_MULTIPLE_GPU if device != "cpu" else 1
        self.host_lengths = encoded.lengths
        self.ids = to_device(encoded.ids, device)
        self.types = None if encoded.types is None else to_device(encoded.types, device)
        self.lengths = to_device(encoded.lengths, device)

    def batches(self, batches: Sequence[np.ndarray]) -> Iterator[tuple[np.ndarray, Any, dict[str, Any]]]:
        """(host rows, device rows, model inputs) per batch; every batch's row indices go over in one copy."""
        import numpy as np
        import torch

        if not batches:
            return
        rows_on_device = to_device(np.concatenate(batches).astype(np.int64), self.device)
        offsets = np.cumsum([0, *(len(rows) for rows in batches)])
        positions = torch.arange(self.ids.shape[1], device=self.device)
        for rows, start, end in zip(batches, offsets[:-1], offsets[1:], strict=True):
            index = rows_on_device[start:end]
            lengths = self.host_lengths[rows]
            width = batch_width(lengths, self.multiple, self.ids.shape[1])
            inputs = {"input_ids": self.ids[index, :width].long()}
            if self.types is not None:
                inputs["token_type_ids"] = self.types[index, :width].long()
            if int(lengths.min()) < width:  # padded rows: mask them; full batches need no mask at all
                inputs["attention_mask"] = (positions[:width] < self.lengths[index, None]).long()
            yield rows, index, inputs


def in_background(jobs: Iterable[Callable[[], T]]) -> Iterator[T]:
    """The jobs' results in order, each next job running in a worker thread while the caller uses the
    current result (tokenizing chunk k+1 while the device runs chunk k)."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="toolkit-encode") as pool:
        pending: Future[T] | None = None
        for job in jobs:
            submitted = pool.submit(job)
            if pending is not None:
                yield pending.result()
            pending = submitted
        if pending is not None:
            yield pending.result()
