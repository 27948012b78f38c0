"""What both scoring engines share: a job's options and summary, its model, its identity, and how rows are scored.

The local engine (`toolkit.scoring.local`) and the Spark engine (`toolkit.scoring.spark`) build on this
module, `toolkit.scoring.input` and `toolkit.scoring.output`, never on each other, so the two produce the
same output columns, error reasons and `_job.json` for the same input and model.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolkit import __version__
from toolkit.errors import DataError
from toolkit.scoring.input import HEAD_BYTES, InputSpec, Rows, input_files
from toolkit.scoring.output import output_schema

if TYPE_CHECKING:
    import pyarrow as pa

    from toolkit.backends.base import FittedModel
    from toolkit.identity import ModelIdentity


@dataclass(frozen=True, kw_only=True)
class ScoreOptions:
    """How to score: the model, where to write, and the knobs of the engines."""

    model: str
    output: Path
    output_format: str = "parquet"
    target: str | None = None
    min_probability: float | None = None
    """Adds an `uncertain` column: True where the label's probability is below it (the row is kept)."""
    chunk_size: int = 10_000
    batch_size: int = 1_000
    workers: int | None = None
    overwrite: bool = False
    engine: str = "local"
    spark_master: str = "local[*]"


@dataclass
class ScoreProgress:
    """Where a running job is: rows done so far (scored + errors) and the share of the input read."""

    rows: int
    errors: int
    fraction: float


@dataclass
class ScoreSummary:
    """What a finished job did; `rows_in == scored + errors` always holds. `rows_per_second` counts the
    rows this run read and scored (not those of chunks resumed from an earlier run)."""

    output: str
    errors_file: str
    engine: str
    model: str
    rows_in: int
    scored: int
    errors: int
    chunks: int
    chunks_resumed: int
    workers: int
    seconds: float
    rows_per_second: float
    skipped_files: list[dict[str, str]] = field(default_factory=list)
    """Entries of an input folder that are not regular files (FIFO, broken or looping symlink), not read."""
    model_uri: str | None = None
    """What `model` resolved to (models:/NAME/VERSION, runs:/ID/model, else the ref): the rows' `model` column."""
    model_name: str | None = None
    model_version: str | None = None
    model_run_id: str | None = None
    model_sha256: str | None = None
    """sha256 of the model's manifest.json (which lists every model file's sha256)."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def job_model(spec: InputSpec, options: ScoreOptions) -> tuple[Path, dict[str, Any]]:
    """The job's model folder (resolved from its reference) and manifest, checked against the input."""
    from toolkit.models.folder import read_manifest
    from toolkit.predict import model_folder

    folder = model_folder(options.model)
    manifest = read_manifest(folder)
    stance_target(manifest, spec, options)
    return folder, manifest


def stance_target(manifest: dict[str, Any], spec: InputSpec, options: ScoreOptions) -> None:
    """A stance model needs a target for every row; a topic model takes none; an empty --target is a mistake."""
    if options.target is not None and not options.target.strip():
        raise DataError("--target is empty: pass a stance target (e.g. --target 'nuclear energy') or leave it out")
    if manifest["task"] == "stance" and not (options.target or spec.target_col):
        raise DataError(f"{options.model} is a stance model: pass --target TEXT or --target-col COLUMN")
    if manifest["task"] != "stance" and (options.target or spec.target_col):
        raise DataError(
            f"{options.model} is a {manifest['task']} model; --target and --target-col are for stance models"
        )


def model_identity(folder: Path, manifest: dict[str, Any], identity: ModelIdentity | None = None) -> dict[str, Any]:
    """What makes two models the same for resuming: the hashes of their files; and (recorded in `_job.json`)
    what the ref resolved to, so a job scored with an alias says which version it was."""
    resolved = {key: value for key, value in identity.as_dict().items() if key != "ref"} if identity else {}
    return {"backend": manifest["backend"], "task": manifest["task"], "files": manifest["files"], **resolved}


def job_description(spec: InputSpec, options: ScoreOptions, model: dict[str, Any]) -> dict[str, Any]:
    """Everything a rerun must share with the first run to continue its output (kept as `_job.json`)."""
    return {
        "input": {
            "path": str(spec.path),
            "format": spec.fmt,
            "text_col": spec.text_col,
            "id_col": spec.id_col,
            "target_col": spec.target_col,
            "encoding": spec.encoding,
            "delimiter": spec.delimiter,
            "files": fingerprint(input_files(spec)),
        },
        "model": {"ref": options.model, **model},
        "target": options.target,
        **({"min_probability": options.min_probability} if options.min_probability is not None else {}),
        "chunk_size": options.chunk_size,
        "output_format": options.output_format,
        "engine": options.engine,
        "toolkit_version": __version__,
    }


def fingerprint(files: list[tuple[Path, str]]) -> list[dict[str, Any]]:
    """Cheap identity of the input: each file's name, size, modification time and the hash of its head."""
    described = []
    for path, fmt in files:
        with path.open("rb") as handle:
            head = hashlib.sha256(handle.read(HEAD_BYTES)).hexdigest()
        stat = path.stat()
        described.append(
            {
                "path": str(path),
                "format": fmt,
                "bytes": stat.st_size,
                "mtime_ns": stat.st_mtime_ns,
                "head_sha256": head,
            }
        )
    return described


def score_rows(
    model: FittedModel,
    rows: Rows,
    model_ref: str,
    target: str | None,
    batch_size: int,
    min_probability: float | None = None,
) -> tuple[pa.Table, list[dict[str, str]]]:
    """Score the rows that can be scored, in slices of `batch_size`; the others become error records."""
    import numpy as np
    import pyarrow as pa

    from toolkit.predict_output import is_uncertain

    stance = model.task == "stance"
    targets = [target] * len(rows) if target is not None else rows.targets
    reasons = list(rows.reasons)
    for i, text in enumerate(rows.texts):
        if reasons[i] is None and (text is None or not text.strip()):
            reasons[i] = "empty text"
        elif reasons[i] is None and stance and not (targets[i] or "").strip():
            reasons[i] = "empty target"
    keep = [i for i, reason in enumerate(reasons) if reason is None]
    texts = [str(rows.texts[i]) for i in keep]
    kept_targets = [str(targets[i]) for i in keep] if stance else None
    parts = [np.zeros((0, len(model.labels)))]
    unknown: list[bool | None] = []
    for start in range(0, len(keep), batch_size):
        batch = texts[start : start + batch_size]
        batch_targets = kept_targets[start : start + batch_size] if kept_targets is not None else None
        probabilities, mask = model.predict_with_unknown(batch, batch_targets)
        parts.append(probabilities)
        unknown += [None] * len(batch) if mask is None else [bool(v) for v in mask]
    probabilities = np.vstack(parts)
    best = probabilities.argmax(axis=1) if len(keep) else np.zeros(0, dtype=int)
    columns: dict[str, Any] = {"id": [rows.ids[i] for i in keep]}
    if stance:
        columns["target"] = kept_targets
    columns[model.task] = [model.labels[j] for j in best]
    columns[f"{model.task}_probability"] = probabilities.max(axis=1) if len(keep) else []
    if min_probability is not None:
        columns["uncertain"] = [is_uncertain(p, min_probability) for p in columns[f"{model.task}_probability"]]
    for j, label in enumerate(model.labels):
        columns[f"prob_{label}"] = probabilities[:, j]
    if stance:
        scope = model.target_scope
        columns["unseen_target"] = [scope.is_unseen(t) if scope else None for t in kept_targets or []]
    columns.update(unknown_words=unknown, model=[model_ref] * len(keep), toolkit_version=[__version__] * len(keep))
    table = pa.table(columns, schema=output_schema(model.task, model.labels, min_probability is not None))
    errors = [
        {"id": rows.ids[i], "source": rows.sources[i], "reason": str(reasons[i])}
        for i, reason in enumerate(reasons)
        if reason is not None
    ]
    return table, errors
