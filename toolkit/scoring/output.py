"""The output folder of `toolkit score`: its bookkeeping files, atomic writes, part-file formats.

Layout: `part-NNNNN.<format>` files (the scored rows), `_job.json` (what job this folder holds, so a rerun
resumes only the same job), `_chunks/part-NNNNN.json` (a chunk's commit marker, written last),
`_errors/` (per-chunk error rows) merged into `_errors.jsonl`, and `_summary.json`. Every write goes
through a hidden temporary name and a rename, so a reader never sees half a file. What goes into
`_job.json` is decided in `toolkit.scoring.core`; this module only keeps the folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolkit._atomic import write_atomic
from toolkit.errors import DataError, ToolkitError

if TYPE_CHECKING:
    import pyarrow as pa

OUTPUT_FORMATS = ("parquet", "jsonl", "csv")
JOB_FILE, CHUNKS_DIR, ERRORS_DIR = "_job.json", "_chunks", "_errors"
ERRORS_FILE, SUMMARY_FILE = "_errors.jsonl", "_summary.json"


def prepare_output(out: Path, job: dict[str, Any], overwrite: bool) -> None:
    """Create the output folder, or check that it holds this same job (to resume), or clear it."""
    job_path = out / JOB_FILE
    if out.exists() and not out.is_dir():
        raise DataError(f"--output {out} is a file; scoring writes a folder of part files")
    if job_path.is_file():
        previous = json.loads(job_path.read_text(encoding="utf-8"))
        if previous == job:
            _remove_temporaries(out)
            return
        if not overwrite:
            changed = sorted(key for key in set(job) | set(previous) if job.get(key) != previous.get(key))
            raise DataError(
                f"{out} holds another scoring job (different {', '.join(changed)}); "
                "pass --overwrite to replace it or choose another --output"
            )
        clear_output(out)
    elif out.is_dir() and any(out.iterdir()):
        if not _unstarted(out):
            raise DataError(f"{out} exists and is not a toolkit score output; choose an empty or new --output folder")
        _remove_temporaries(out)  # a start that failed (a full disk) before `_job.json` was written
    try:
        (out / CHUNKS_DIR).mkdir(parents=True, exist_ok=True)
        (out / ERRORS_DIR).mkdir(exist_ok=True)
        write_atomic(job_path, lambda tmp: tmp.write_text(json.dumps(job, indent=2), encoding="utf-8"))
    except OSError as exc:
        raise ToolkitError(f"cannot start the job in {out}: {exc.strerror or exc}; run the same command again") from exc


def _unstarted(out: Path) -> bool:
    """A folder that holds only what a job writes before `_job.json` (empty `_chunks/` and `_errors/`,
    temporary files): a start that failed, which the same command (or --overwrite) takes over."""
    for entry in out.iterdir():
        if entry.name in (CHUNKS_DIR, ERRORS_DIR) and entry.is_dir():
            if any(not child.name.startswith(".") or ".tmp-" not in child.name for child in entry.iterdir()):
                return False
        elif not (entry.name.startswith(".") and ".tmp-" in entry.name):
            return False
    return True


def clear_output(out: Path) -> None:
    """Remove only what a scoring job writes (never other files a user keeps there)."""
    import shutil

    for pattern in ("part-*", JOB_FILE, ERRORS_FILE, SUMMARY_FILE, "_SUCCESS", ".*.tmp-*", ".*.crc"):
        for path in out.glob(pattern):
            path.unlink()
    for folder in (CHUNKS_DIR, ERRORS_DIR, "_spark_staging"):
        shutil.rmtree(out / folder, ignore_errors=True)


def _remove_temporaries(out: Path) -> None:
    for path in [
        *out.glob(".*.tmp-*"),
        *out.glob(f"{CHUNKS_DIR}/.*.tmp-*"),
        *out.glob(f"{ERRORS_DIR}/.*.tmp-*"),
    ]:
        path.unlink(missing_ok=True)


def output_schema(task: str, labels: list[str], uncertain: bool = False) -> pa.Schema:
    """The columns of every scored row, the same for both engines (`uncertain` with --min-probability)."""
    import pyarrow as pa

    fields = [pa.field("id", pa.string())]
    if task == "stance":
        fields.append(pa.field("target", pa.string()))
    fields += [pa.field(task, pa.string()), pa.field(f"{task}_probability", pa.float64())]
    if uncertain:  # True: the probability is below --min-probability (toolkit.predict_output.is_uncertain)
        fields.append(pa.field("uncertain", pa.bool_()))
    fields += [pa.field(f"prob_{label}", pa.float64()) for label in labels]
    if task == "stance":  # True: the model was not trained on this row's target (its answer is a guess)
        fields.append(pa.field("unseen_target", pa.bool_()))
    fields += [
        pa.field("unknown_words", pa.bool_()),
        pa.field("model", pa.string()),
        pa.field("toolkit_version", pa.string()),
    ]
    return pa.schema(fields)


def write_table(table: pa.Table, path: Path, fmt: str) -> None:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    if fmt == "parquet":
        pq.write_table(table, path)
    elif fmt == "csv":
        pacsv.write_csv(table, path)
    else:
        with path.open("w", encoding="utf-8") as handle:
            for record in table.to_pylist():
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def committed_chunks(out: Path) -> dict[int, dict[str, Any]]:
    """The markers of the chunks already written, by chunk number."""
    markers = {}
    for path in (out / CHUNKS_DIR).glob("part-*.json"):
        counts = json.loads(path.read_text(encoding="utf-8"))
        markers[int(counts["chunk"])] = counts
    return markers


def merge_errors(out: Path, chunks: int) -> None:
    """One `_errors.jsonl` for the user, in input order, built from the per-chunk error files."""

    def write(tmp: Path) -> None:
        with tmp.open("w", encoding="utf-8") as merged:
            for index in range(chunks):
                part = out / ERRORS_DIR / f"part-{index:05d}.jsonl"
                if part.is_file():
                    merged.write(part.read_text(encoding="utf-8"))

    write_atomic(out / ERRORS_FILE, write)
