"""Batching windows through the network fast: the transformer backend's inference (and training) batches.

What keeps a GPU busy here (measured on an H100 and an H200, see experiments/results/transformer/results.md §0-1):
- a chunk's token arrays go to the device in one pinned, asynchronous copy, and batches are cut from them
  on the device by row index (no per-batch host padding or copies);
- a batch whose windows are all full (every window of a long text is) gets no attention mask, so SDPA
  may use its flash kernel and transformers need not inspect the mask (a device sync per batch);
- SDPA limited to the flash / memory-efficient kernels (see `device`, with the precision choices);
- widths padded to multiples of 64: few distinct shapes;
- batches are pooled across chunks (`WidthBuckets`): windows wait in a bucket of their padded width until
  a batch fills, so batches are as even as with one global sort, and full windows make mask-free batches;
- tokenization of the next chunk runs in a worker thread while the device works on this one
  (`in_background`); results are copied back once, at the end.

Training cuts its batches from the same device arrays (`DeviceWindows`), in its own order (`training_batches`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from toolkit.backends.transformer.device import to_device
from toolkit.backends.transformer.windows import Encoded

if TYPE_CHECKING:
    import numpy as np

T = TypeVar("T")
PAD_MULTIPLE_GPU = 64
BUCKET_MULTIPLE_CPU = 8  # CPU batches pad only to their longest row; buckets this coarse keep few rows waiting
FULL = -1  # the bucket key of full windows (exactly the window width): their batches need no attention mask


def pad_multiple(device: str) -> int:
    """Batch widths are rounded up to this: 64 on a GPU (few distinct shapes), 1 on CPU (no wasted work)."""
    return PAD_MULTIPLE_GPU if device != "cpu" else 1


def batch_width(lengths: np.ndarray, multiple: int, cap: int) -> int:
    """The padded width of a batch: its longest window rounded up to `multiple` (few distinct shapes on a GPU,
    tensor-core-friendly sizes), never past `cap` (the width of the array it is cut from)."""
    return min(-(-int(lengths.max()) // multiple) * multiple, cap)


def sorted_batches(lengths: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Inference batches: windows sorted longest first, so each batch pads little and OOM shows early."""
    import numpy as np

    order = np.argsort(-np.asarray(lengths, dtype=np.int64), kind="stable")
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]


def training_batches(
    lengths: np.ndarray, batch_size: int, rng: np.random.Generator, group_by_length: bool
) -> list[np.ndarray]:
    """Shuffled training batches; with length grouping, rows of similar length share a batch
    (sorted inside shuffled mega-batches of 50 batches, the scheme of transformers' LengthGroupedSampler)."""
    import numpy as np

    order = rng.permutation(len(lengths))
    if group_by_length:
        lengths_array = np.asarray(lengths)
        mega = batch_size * 50
        chunks = [order[start : start + mega] for start in range(0, len(order), mega)]
        order = np.concatenate([chunk[np.argsort(-lengths_array[chunk], kind="stable")] for chunk in chunks])
    batches = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
    if group_by_length:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


def model_inputs(ids: Any, types: Any, lengths: Any, host_lengths: np.ndarray) -> dict[str, Any]:
    """A batch's network inputs from its rows, already cut to the batch's width: an attention mask only when a
    row is padded (a batch of full windows gets none, so SDPA may run flash attention, and transformers need
    not inspect the mask: a device sync per batch)."""
    import torch

    width = ids.shape[1]
    inputs = {"input_ids": ids.long()}
    if types is not None:
        inputs["token_type_ids"] = types.long()
    if int(host_lengths.min()) < width:
        inputs["attention_mask"] = (torch.arange(width, device=ids.device) < lengths[:, None]).long()
    return inputs


class DeviceWindows:
    """An `Encoded`'s arrays on the device, cut into model inputs by row indices."""

    def __init__(self, encoded: Encoded, device: str) -> None:
        self.device = device
        self.multiple = pad_multiple(device)
        self.host_lengths = encoded.lengths
        self.ids = to_device(encoded.ids, device)
        self.types = None if encoded.types is None else to_device(encoded.types, device)
        self.lengths = to_device(encoded.lengths, device)

    def batches(self, batches: Sequence[np.ndarray]) -> Iterator[tuple[np.ndarray, Any, dict[str, Any]]]:
        """(host rows, device rows, model inputs) per batch; every batch's row indices go over in one copy."""
        import numpy as np

        if not batches:
            return
        rows_on_device = to_device(np.concatenate(batches).astype(np.int64), self.device)
        offsets = np.cumsum([0, *(len(rows) for rows in batches)])
        for rows, start, end in zip(batches, offsets[:-1], offsets[1:], strict=True):
            index = rows_on_device[start:end]
            lengths = self.host_lengths[rows]
            width = batch_width(lengths, self.multiple, self.ids.shape[1])
            types = None if self.types is None else self.types[index, :width]
            yield rows, index, model_inputs(self.ids[index, :width], types, self.lengths[index], lengths)

    def sorted_pass(self, batch_size: int, classify: Callable[[dict[str, Any]], Any], columns: int) -> Any:
        """`classify` on every window (rows in order), in batches of one length sort; left on the device."""
        import torch

        out = torch.empty((len(self.host_lengths), columns), dtype=torch.float32, device=self.device)
        for _, index, inputs in self.batches(sorted_batches(self.host_lengths, batch_size)):
            out[index] = classify(inputs)
        return out


@dataclass
class DeviceRows:
    """Windows in device tensors of their own, with their lengths on the host and their numbers in the whole
    call: what waits in a bucket must not be a view of a chunk's arrays (it would keep the chunk alive)."""

    ids: Any
    types: Any
    lengths: Any
    host_lengths: np.ndarray
    numbers: np.ndarray

    @classmethod
    def upload(cls, encoded: Encoded, device: str, first_number: int) -> DeviceRows:
        """A chunk's windows on the device (one pinned asynchronous copy per array), numbered from `first_number`."""
        import numpy as np

        on_device = DeviceWindows(encoded, device)
        numbers = np.arange(first_number, first_number + len(encoded), dtype=np.int64)
        return cls(on_device.ids, on_device.types, on_device.lengths, encoded.lengths, numbers)

    def __len__(self) -> int:
        return len(self.numbers)

    def map(self, op: Callable[[Any], Any], host: Any) -> DeviceRows:
        """`op` applied to each device tensor, `host` (an index) to the host arrays."""
        types = None if self.types is None else op(self.types)
        return DeviceRows(op(self.ids), types, op(self.lengths), self.host_lengths[host], self.numbers[host])

    def cut(self, start: int, end: int | None = None) -> DeviceRows:
        """Rows start..end, as views."""
        return self.map(lambda tensor: tensor[start:end], slice(start, end))

    def take(self, order: np.ndarray) -> DeviceRows:
        """The rows in `order` (host indices; one copy of them to the device), gathered into new tensors."""
        import numpy as np

        index = to_device(np.asarray(order, dtype=np.int64), str(self.ids.device))
        return self.map(lambda tensor: tensor[index], order)

    def widened(self, width: int, pad_id: int) -> DeviceRows:
        """The rows at `width` columns: cut, or padded with `pad_id` (token type 0)."""
        import torch

        extra = width - self.ids.shape[1]

        def fit(tensor: Any, value: int) -> Any:
            return tensor[:, :width] if extra <= 0 else torch.nn.functional.pad(tensor, (0, extra), value=value)

        types = None if self.types is None else fit(self.types, 0)
        return DeviceRows(fit(self.ids, pad_id), types, self.lengths, self.host_lengths, self.numbers)

    def inputs(self, multiple: int) -> dict[str, Any]:
        """The network inputs of these rows as one batch (see `model_inputs`)."""
        width = batch_width(self.host_lengths, multiple, self.ids.shape[1])
        types = None if self.types is None else self.types[:, :width]
        return model_inputs(self.ids[:, :width], types, self.lengths, self.host_lengths)


def joined(parts: Sequence[DeviceRows], width: int, pad_id: int) -> DeviceRows:
    """The parts' rows one after another, at `width` columns (new tensors, unless there is one part)."""
    import numpy as np
    import torch

    parts = [part.widened(width, pad_id) for part in parts]
    if len(parts) == 1:
        return parts[0]
    types = None if parts[0].types is None else torch.cat([part.types for part in parts])
    return DeviceRows(
        torch.cat([part.ids for part in parts]),
        types,
        torch.cat([part.lengths for part in parts]),
        np.concatenate([part.host_lengths for part in parts]),
        np.concatenate([part.numbers for part in parts]),
    )


class WidthBuckets:
    """Inference batches pooled across chunks, so they are as even as with one global sort without waiting
    for all the tokenization: each chunk's windows join the bucket of their padded width (full windows a
    bucket of their own: batches without a mask, flash attention), a bucket runs `classify` on a batch as
    soon as it holds `batch_size` windows, and `finish` runs the rest sorted by length. Device memory stays
    bounded: fewer than `batch_size` windows wait per bucket, in tensors of their own; only the outputs grow."""

    def __init__(
        self, classify: Callable[[dict[str, Any]], Any], device: str, batch_size: int, full_width: int, pad_id: int
    ) -> None:
        self.device, self.batch_size, self.full_width, self.pad_id = device, batch_size, full_width, pad_id
        self.classify = classify
        self.multiple = pad_multiple(device)
        self.bucket_multiple = PAD_MULTIPLE_GPU if device != "cpu" else BUCKET_MULTIPLE_CPU
        self.waiting: dict[int, DeviceRows] = {}
        self.count = 0
        self.numbers: list[np.ndarray] = []
        self.outputs: list[Any] = []

    def keys(self, lengths: np.ndarray) -> np.ndarray:
        """Each window's bucket: its length rounded up to the bucket multiple (at most the full width), or FULL."""
        import numpy as np

        lengths = np.asarray(lengths, dtype=np.int64)
        widths = np.minimum(-(-lengths // self.bucket_multiple) * self.bucket_multiple, self.full_width)
        keys: np.ndarray = np.where(lengths == self.full_width, FULL, widths)
        return keys

    def add(self, encoded: Encoded) -> None:
        """A chunk's windows: copied over once, grouped by bucket on the device; full batches run now."""
        import numpy as np

        keys = self.keys(encoded.lengths)
        order = np.argsort(keys, kind="stable")
        grouped = DeviceRows.upload(encoded, self.device, self.count).take(order)
        self.count += len(encoded)
        bounds = [0, *(np.flatnonzero(np.diff(keys[order])) + 1), len(order)]
        for start, end in zip(bounds[:-1], bounds[1:], strict=True):
            self.fill(int(keys[order[start]]), grouped.cut(start, end))

    def fill(self, key: int, rows: DeviceRows) -> None:
        """Rows join their bucket; each full batch of it runs, the rest wait (copied: no view of the chunk)."""
        width = self.full_width if key == FULL else key
        waiting = self.waiting.get(key)
        rows = joined([rows] if waiting is None else [waiting, rows], width, self.pad_id)
        ready = len(rows) - len(rows) % self.batch_size
        self.run(rows, ready)
        self.waiting[key] = rows.cut(ready).map(lambda tensor: tensor.clone(), slice(None))

    def run(self, rows: DeviceRows, end: int) -> None:
        """Classify rows[:end] in consecutive batches of `batch_size`; the outputs stay on the device."""
        for start in range(0, end, self.batch_size):
            batch = rows.cut(start, min(start + self.batch_size, end))
            self.numbers.append(batch.numbers)
            self.outputs.append(self.classify(batch.inputs(self.multiple)))

    def finish(self) -> np.ndarray:
        """Run what still waits (all buckets' rows sorted longest first, cut into batches) and return every
        window's output in window order: one copy back from the device."""
        import numpy as np
        import torch

        waiting = [rows for rows in self.waiting.values() if len(rows)]
        self.waiting = {}
        if waiting:
            rest = joined(waiting, max(rows.ids.shape[1] for rows in waiting), self.pad_id)
            rest = rest.take(np.argsort(-rest.host_lengths.astype(np.int64), kind="stable"))
            self.run(rest, len(rest))
        if not self.outputs:
            return np.zeros((0, 0))
        outputs = torch.cat(self.outputs).cpu().numpy()
        result = np.empty_like(outputs)
        result[np.concatenate(self.numbers)] = outputs
        return result


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
