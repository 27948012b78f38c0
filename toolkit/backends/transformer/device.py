"""Device choice for the transformer backend: which device, which precision, which attention kernels, and
getting host arrays onto the device.

- `resolve_device`: 'auto' becomes cuda when a GPU is visible; asking for cuda without one is an error.
- precision: bf16 autocast for training where the GPU has it (`training_dtype`); bf16, else fp16, weights
  for inference on a GPU (`inference_dtype`); fp32 on CPU.
- `attention_kernels`: SDPA limited to the flash / memory-efficient kernels on a GPU (cuDNN's builds a plan
  per new input shape).
- `to_device`: one pinned, asynchronous copy of a host array.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import TYPE_CHECKING, Any

from toolkit.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np


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
