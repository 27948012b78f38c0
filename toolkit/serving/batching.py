"""Micro-batching: requests that arrive together for one model are predicted in one call, in one worker thread.

Every model gets a batcher. A batch starts with the oldest waiting request, takes every request already
queued (up to `max_texts` texts), and for models that run on a device (`tags.uses_device`, the transformer)
also waits up to `max_wait` seconds for more: one forward pass over 32 texts costs far less than 32 passes.
For tfidf the wait is 0, so a lone request is never delayed, while requests that queue up behind a running
batch still share the next one. The model runs in one dedicated thread, so it is never called
concurrently and the event loop keeps accepting requests meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

Records = list[dict[str, Any]]
PredictFn = Callable[[Sequence[str], Sequence[str] | None], Records]


@dataclass
class _Job:
    texts: list[str]
    targets: list[str] | None
    future: asyncio.Future[Records]


@dataclass
class BatchStats:
    """What the batcher did so far (the health endpoint and the tests read it)."""

    requests: int = 0
    batches: int = 0
    texts: int = 0
    largest: int = 0

    def add(self, requests: int, texts: int) -> None:
        self.requests += requests
        self.batches += 1
        self.texts += texts
        self.largest = max(self.largest, texts)


class MicroBatcher:
    """Queue requests for one model and answer them in batches; `submit` is awaited by each request."""

    def __init__(self, predict: PredictFn, name: str, max_texts: int = 256, max_wait: float = 0.0) -> None:
        self.predict = predict
        self.name = name
        self.max_texts = max_texts
        self.max_wait = max_wait
        self.stats = BatchStats()
        self._queue: asyncio.Queue[_Job] | None = None
        self._task: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None

    def start(self) -> None:
        """Start the batching loop on the running event loop (the app's startup)."""
        self._queue = asyncio.Queue()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"predict-{self.name}")
        self._task = asyncio.get_running_loop().create_task(self._loop(), name=f"batcher-{self.name}")

    async def stop(self) -> None:
        """Stop taking batches, fail what is still queued, and let the worker thread finish."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        while self._queue is not None and not self._queue.empty():
            job = self._queue.get_nowait()
            if not job.future.done():
                job.future.set_exception(RuntimeError("the server is shutting down"))
        if self._executor is not None:
            self._executor.shutdown(wait=True)

    async def submit(self, texts: list[str], targets: list[str] | None) -> Records:
        """One record per text, in order (from a batch it may share with other requests)."""
        if self._queue is None:
            raise RuntimeError("the batcher is not running (start() is called at the app's startup)")
        job = _Job(texts, targets, asyncio.get_running_loop().create_future())
        await self._queue.put(job)
        return await job.future

    async def _loop(self) -> None:
        assert self._queue is not None
        while True:
            batch = [await self._queue.get()]
            await self._gather(batch)
            await self._run(batch)

    async def _gather(self, batch: list[_Job]) -> None:
        """Add queued jobs to `batch` until it holds `max_texts` texts or `max_wait` has passed."""
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_wait
        size = len(batch[0].texts)
        while size < self.max_texts:
            try:
                job = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return
                try:
                    job = await asyncio.wait_for(self._queue.get(), remaining)
                except TimeoutError:
                    return
            batch.append(job)
            size += len(job.texts)

    async def _run(self, batch: list[_Job]) -> None:
        """Predict the batch in the worker thread; if it fails, retry each job alone, so one request's
        failure is answered to that request only."""
        live = [job for job in batch if not job.future.done()]  # a client that hung up cancels its future
        if not live:
            return
        texts = [text for job in live for text in job.texts]
        stance = live[0].targets is not None
        targets = [target for job in live for target in job.targets or []] if stance else None
        try:
            records = await self._call(texts, targets)
        except Exception as exc:
            if len(live) == 1:
                _settle(live[0], exc)
                return
            for job in live:
                try:
                    _settle(job, await self._call(job.texts, job.targets))
                except Exception as one:
                    _settle(job, one)
            return
        self.stats.add(len(live), len(texts))
        start = 0
        for job in live:
            _settle(job, records[start : start + len(job.texts)])
            start += len(job.texts)

    async def _call(self, texts: list[str], targets: list[str] | None) -> Records:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self.predict, texts, targets)


def _settle(job: _Job, outcome: Records | BaseException) -> None:
    if job.future.done():
        return
    if isinstance(outcome, BaseException):
        job.future.set_exception(outcome)
    else:
        job.future.set_result(outcome)
