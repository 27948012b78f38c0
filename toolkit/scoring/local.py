"""Batch scoring at scale: stream any input through a model into a folder of part files, resumably.

The local engine reads the input in chunks of `chunk_size` rows (chunk N is always the same rows of the
same input), scores each chunk in a worker process (one per core for CPU backends, one for backends that
batch on an accelerator) and writes it as `part-NNNNN.<format>` under a temporary name that is renamed
into place, then commits the chunk with a small marker in `_chunks/`. A rerun of the same command skips
committed chunks, so a job killed at any point (Ctrl-C, SIGKILL, a crash, a full disk) continues where it
stopped with no row lost or written twice; a rerun with another input, model or chunk size is refused
unless `overwrite=True`.

Rows that cannot be scored are never dropped: they go to `_errors.jsonl` (id, source, reason) and the
summary checks `rows_in == scored + errors` from the committed markers.

Memory is bounded by the chunk size, not the input size: the reader holds one chunk being filled, the
queue at most 2 x workers chunks, and each worker one chunk plus one `batch_size` slice of features, so
peak memory is about (3 x workers + 1) x chunk_size x the average row size, plus one model per worker.

Every file whose name starts with `_` or `.` is the job's bookkeeping, so `pandas.read_parquet(OUT)` and
Spark read the part files only. Callers go through `toolkit.scoring.api.score`, which picks this engine
or the Spark one (`engine="spark"`, `toolkit.scoring.spark`); both share `toolkit.scoring.core`.
"""

from __future__ import annotations

import json
import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolkit.errors import ToolkitError
from toolkit.identity import ModelIdentity, identify
from toolkit.scoring.core import (
    ScoreOptions,
    ScoreProgress,
    ScoreSummary,
    job_description,
    job_model,
    model_identity,
    score_rows,
)
from toolkit.scoring.input import InputSpec, Rows, chunked, iter_rows, skipped_entries
from toolkit.scoring.output import (
    CHUNKS_DIR,
    ERRORS_DIR,
    ERRORS_FILE,
    SUMMARY_FILE,
    committed_chunks,
    merge_errors,
    prepare_output,
    write_atomic,
    write_table,
)

if TYPE_CHECKING:
    from toolkit.backends.base import FittedModel


@dataclass(frozen=True)
class ChunkWriter:
    """Scores one chunk and commits its files; plain data, so it travels to worker processes."""

    output: str
    output_format: str
    model_ref: str
    target: str | None
    batch_size: int
    known_targets: tuple[str, ...] = ()
    """The model's training targets: a row's target is asked in the spelling the model learned."""
    min_probability: float | None = None

    def write(self, model: FittedModel, index: int, rows: Rows) -> dict[str, Any]:
        from toolkit.predict import model_target, target_spellings

        started = time.perf_counter()
        out = Path(self.output)
        spellings = target_spellings(self.known_targets)
        rows.targets = [None if t is None else model_target(t, spellings) for t in rows.targets]
        target = None if self.target is None else model_target(self.target, spellings)
        table, errors = score_rows(model, rows, self.model_ref, target, self.batch_size, self.min_probability)
        name = f"part-{index:05d}"
        if errors:
            lines = "".join(json.dumps({**e, "chunk": index}, ensure_ascii=False) + "\n" for e in errors)
            write_atomic(out / ERRORS_DIR / f"{name}.jsonl", lambda tmp: tmp.write_text(lines, encoding="utf-8"))
        write_atomic(out / f"{name}.{self.output_format}", lambda tmp: write_table(table, tmp, self.output_format))
        counts = {
            "chunk": index,
            "rows_in": len(rows),
            "scored": table.num_rows,
            "errors": len(errors),
            "seconds": round(time.perf_counter() - started, 3),
        }
        # The marker is written last: a chunk without one is unfinished and is scored again on resume.
        write_atomic(out / CHUNKS_DIR / f"{name}.json", lambda tmp: tmp.write_text(json.dumps(counts)))
        return counts


_WORKER_MODEL: Any = None


def _init_worker(folder: str) -> None:
    """Load the model once per worker process; Ctrl-C is the parent's to handle (it lets chunks finish),
    and a worker whose parent died (SIGKILL) exits instead of lingering as an orphan."""
    import signal
    import threading

    global _WORKER_MODEL
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from toolkit.models.folder import load_model

    _WORKER_MODEL = load_model(folder)


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.2)
    os._exit(1)  # an unfinished chunk has no marker: the rerun scores it again


def _score_in_worker(writer: ChunkWriter, index: int, rows: Rows) -> dict[str, Any]:
    return writer.write(_WORKER_MODEL, index, rows)


def run_chunks(
    todo: Iterator[tuple[int, Rows]],
    writer: ChunkWriter,
    folder: Path,
    workers: int,
    on_done: Callable[[dict[str, Any]], None],
) -> None:
    """Score chunks in this process (1 worker) or in a pool, at most 2 x workers chunks in flight."""
    if workers == 1:
        from toolkit.models.folder import load_model

        model = load_model(folder)
        for index, rows in todo:
            on_done(writer.write(model, index, rows))
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(str(folder),),
    )
    pending: deque[Any] = deque()
    try:
        for index, rows in todo:
            pending.append(pool.submit(_score_in_worker, writer, index, rows))
            while len(pending) > 2 * workers:
                on_done(pending.popleft().result())
        while pending:
            on_done(pending.popleft().result())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def default_workers(manifest: dict[str, Any], model: str) -> int:
    """One process for a model that batches on one accelerator (its tags say so), else one per core."""
    from toolkit.backends import get_backend
    from toolkit.errors import ConfigError, ModelLoadError

    try:
        tags = get_backend(str(manifest.get("backend"))).model_class.tags_for(manifest)
    except ConfigError as exc:  # the loader would refuse this folder too: say so as a model-load error
        raise ModelLoadError(f"{model}: {exc}") from exc
    if tags.single_process:
        return 1
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def score_local(
    spec: InputSpec, options: ScoreOptions, progress: Callable[[ScoreProgress], None] | None
) -> ScoreSummary:
    """The local streaming engine (see the module docstring)."""
    started = time.perf_counter()
    folder, manifest = job_model(spec, options)
    identity = identify(options.model, folder)  # the rows' `model` column: what the ref resolved to
    out = options.output
    prepare_output(out, job_description(spec, options, model_identity(folder, manifest, identity)), options.overwrite)
    done = committed_chunks(out)
    workers = options.workers or default_workers(manifest, options.model)
    known = tuple(str(t) for t in manifest.get("targets") or ())
    writer = ChunkWriter(
        str(out),
        options.output_format,
        identity.uri,
        options.target,
        options.batch_size,
        known,
        options.min_probability,
    )
    state = {"rows": 0, "errors": 0, "chunks": 0, "fraction": 0.0}

    def count(counts: dict[str, Any]) -> None:
        state["rows"] += counts["rows_in"]
        state["errors"] += counts["errors"]
        if progress:
            progress(ScoreProgress(int(state["rows"]), int(state["errors"]), float(state["fraction"])))

    def todo() -> Iterator[tuple[int, Rows]]:
        for index, (rows, fraction) in enumerate(
            chunked(iter_rows(spec, min(options.chunk_size, 10_000)), options.chunk_size)
        ):
            state["chunks"], state["fraction"] = index + 1, fraction
            if index in done:
                count(done[index])
            else:
                yield index, rows

    run_chunks(todo(), writer, folder, workers, count)
    resumed_rows = sum(int(done[i]["rows_in"]) for i in done)
    return finish(
        out,
        int(state["chunks"]),
        len(done),
        options,
        workers,
        time.perf_counter() - started,
        int(state["rows"]) - resumed_rows,
        skipped_entries(spec),
        identity,
    )


def finish(
    out: Path,
    chunks: int,
    resumed: int,
    options: ScoreOptions,
    workers: int,
    seconds: float,
    rows_this_run: int,
    skipped: list[dict[str, str]] | None = None,
    identity: ModelIdentity | None = None,
) -> ScoreSummary:
    """Reconcile the committed chunks with what was read, merge the error files, write the summary."""
    markers = committed_chunks(out)
    if sorted(markers) != list(range(chunks)):
        missing = sorted(set(range(chunks)) - set(markers))[:5]
        raise ToolkitError(f"{out}: chunks {missing} were read but not committed; run the same command again")
    rows_in = sum(m["rows_in"] for m in markers.values())
    scored = sum(m["scored"] for m in markers.values())
    errors = sum(m["errors"] for m in markers.values())
    if rows_in != scored + errors:
        raise ToolkitError(f"{out}: rows in ({rows_in}) != scored ({scored}) + errors ({errors})")
    merge_errors(out, chunks)
    summary = ScoreSummary(
        output=str(out),
        errors_file=str(out / ERRORS_FILE),
        engine="local",
        model=options.model,
        rows_in=rows_in,
        scored=scored,
        errors=errors,
        chunks=chunks,
        chunks_resumed=resumed,
        workers=workers,
        seconds=round(seconds, 3),
        rows_per_second=round(rows_this_run / seconds, 1) if seconds > 0 else 0.0,
        skipped_files=skipped or [],
        **(identity.fields() if identity else {}),
    )
    write_atomic(out / SUMMARY_FILE, lambda tmp: tmp.write_text(json.dumps(summary.as_dict(), indent=2)))
    return summary
