"""The Spark engine of `toolkit score`: the same scoring and output columns as the local engine, on a cluster.

Spark reads the Parquet input, `mapInArrow` (mapInPandas without the pandas round trip) scores each
partition, and the output is written as Parquet.
The model folder is shipped to the executors with `SparkContext.addFile` and loaded there by the toolkit's
own loader (manifest + sha256 checks, JSON + safetensors; nothing is unpickled), once per Python worker.
Rows that cannot be scored go to `_errors.jsonl` as in the local engine. Spark's output commit makes the
result all-or-nothing: a failed job is rerun whole by the same command, a finished one is not redone.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from toolkit._deps import require
from toolkit.errors import DataError
from toolkit.identity import identify
from toolkit.scoring.core import ScoreOptions, ScoreSummary, job_description, job_model, model_identity, score_rows
from toolkit.scoring.input import InputSpec, Rows, input_files
from toolkit.scoring.output import (
    ERRORS_FILE,
    SUMMARY_FILE,
    clear_output,
    output_schema,
    prepare_output,
    write_atomic,
)

if TYPE_CHECKING:
    import pyarrow as pa

STAGING = "_spark_staging"
_MODELS: dict[str, Any] = {}


def score_spark(spec: InputSpec, options: ScoreOptions) -> ScoreSummary:
    """Score `spec` (Parquet) with Spark into `options.output`; see the module docstring."""
    require("pyspark", "spark")
    started = time.perf_counter()
    if any(fmt != "parquet" for _, fmt in input_files(spec)) or options.output_format != "parquet":
        raise DataError("the spark engine reads and writes Parquet; convert the input or use --engine local")
    folder, manifest = job_model(spec, options)
    identity = identify(options.model, folder)  # the rows' `model` column: what the ref resolved to
    out = options.output
    job = job_description(spec, options, model_identity(folder, manifest, identity))
    if (out / "_job.json").is_file() and json.loads((out / "_job.json").read_text(encoding="utf-8")) == job:
        if (out / SUMMARY_FILE).is_file():  # finished before: nothing to redo
            return ScoreSummary(**json.loads((out / SUMMARY_FILE).read_text(encoding="utf-8")))
        clear_output(out)  # a failed Spark job is rerun whole (its partitioning may differ this time)
    prepare_output(out, job, options.overwrite)
    spark, owned = spark_session(options.spark_master)
    try:
        counts = run_spark_job(spark, spec, options, folder, manifest, identity.uri)
    finally:
        if owned:
            spark.stop()
    seconds = time.perf_counter() - started
    summary = ScoreSummary(
        output=str(out),
        errors_file=str(out / ERRORS_FILE),
        engine="spark",
        model=options.model,
        chunks=len(list(out.glob("part-*.parquet"))),
        chunks_resumed=0,
        workers=counts.pop("parallelism"),
        seconds=round(seconds, 3),
        rows_per_second=round(counts["rows_in"] / seconds, 1),
        **counts,
        **identity.fields(),
    )
    write_atomic(out / SUMMARY_FILE, lambda tmp: tmp.write_text(json.dumps(summary.as_dict(), indent=2)))
    return summary


def spark_session(master: str) -> tuple[Any, bool]:
    """The active session (a notebook's), or a new quiet one on `master`; True when we own it."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active, False
    session = (
        SparkSession.builder.master(master)
        .appName("toolkit score")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session, True


def spark_columns(spec: InputSpec, names: list[str]) -> dict[str, str | None]:
    """Which input column plays which role (the same rule as the local engine's Parquet reader)."""
    id_col = spec.id_col or ("id" if "id" in names else None)
    wanted = {"id": id_col, "text": spec.text_col, "target": spec.target_col}
    missing = [col for col in wanted.values() if col is not None and col not in names]
    if missing:
        raise DataError(f"{spec.path}: no column {missing[0]!r}; columns are {names}")
    return wanted


def run_spark_job(
    spark: Any, spec: InputSpec, options: ScoreOptions, folder: Path, manifest: dict[str, Any], model_uri: str
) -> dict[str, int]:
    """Score with mapInPandas, write scored rows and error rows, move them into the output folder."""
    from pyspark.sql import functions as F
    from pyspark.storagelevel import StorageLevel

    frame = spark.read.parquet(str(spec.path))
    wanted = spark_columns(spec, frame.columns)
    selected = [F.col(f"`{col}`").cast("string").alias(role) for role, col in wanted.items() if col]
    frame = frame.select(
        *selected, F.col("_metadata.file_path").alias("_file"), F.col("_metadata.row_index").alias("_row")
    )
    parallelism = spark.sparkContext.defaultParallelism
    if frame.rdd.getNumPartitions() < parallelism:  # one Parquet row group is one partition: spread it
        frame = frame.repartition(parallelism)
    spark.sparkContext.addFile(str(folder.resolve()), recursive=True)
    settings = {
        "folder": folder.resolve().name,
        "root": str(spec.path.resolve()),
        "single": spec.path.is_file(),
        "model_ref": model_uri,
        "target": options.target,
        "batch_size": options.batch_size,
        "min_probability": options.min_probability,
        "wanted": wanted,
    }
    schema = spark_schema(manifest["task"], manifest["labels"], options.min_probability is not None)
    scored = frame.mapInArrow(lambda batches: score_partition(batches, settings), schema)
    scored = scored.persist(StorageLevel.MEMORY_AND_DISK)  # scored once, written as two outputs
    staging = options.output / STAGING
    try:
        scored.filter(F.col("_reason").isNull()).drop("_reason", "_source").write.mode("overwrite").parquet(
            str(staging / "scored")
        )
        scored.filter(F.col("_reason").isNotNull()).select(
            "id", F.col("_source").alias("source"), F.col("_reason").alias("reason")
        ).coalesce(1).write.mode("overwrite").json(str(staging / "errors"))
    finally:
        scored.unpersist()
    publish(options.output, staging)
    counts = count_rows(spec, options.output)
    if counts["rows_in"] != counts["scored"] + counts["errors"]:
        raise DataError(f"rows in ({counts['rows_in']}) != scored ({counts['scored']}) + errors ({counts['errors']})")
    return {**counts, "parallelism": spark.sparkContext.defaultParallelism}


def count_rows(spec: InputSpec, out: Path) -> dict[str, int]:
    """Reconcile from the files themselves: input rows (Parquet metadata), scored rows, error lines."""
    import pyarrow.parquet as pq

    rows_in = sum(pq.ParquetFile(path).metadata.num_rows for path, _ in input_files(spec))
    scored = sum(pq.ParquetFile(path).metadata.num_rows for path in out.glob("part-*.parquet"))
    with (out / ERRORS_FILE).open("rb") as handle:
        errors = sum(1 for line in handle if line.strip())
    return {"rows_in": rows_in, "scored": scored, "errors": errors}


def publish(out: Path, staging: Path) -> None:
    """Move Spark's committed part files into the output folder and merge its error files into one."""
    for number, part in enumerate(sorted((staging / "scored").glob("part-*.parquet"))):
        os.replace(part, out / f"part-{number:05d}.parquet")

    def merge(tmp: Path) -> None:
        with tmp.open("w", encoding="utf-8") as merged:
            for part in sorted((staging / "errors").glob("part-*.json")):
                merged.write(part.read_text(encoding="utf-8"))

    write_atomic(out / ERRORS_FILE, merge)
    shutil.rmtree(staging, ignore_errors=True)


def spark_schema(task: str, labels: list[str], uncertain: bool = False) -> Any:
    """The local engine's output schema as a Spark StructType, plus the error columns."""
    from pyspark.sql.types import BooleanType, DoubleType, StringType, StructField, StructType

    types = {"string": StringType(), "double": DoubleType(), "bool": BooleanType()}
    fields = [StructField(f.name, types[str(f.type)], True) for f in output_schema(task, labels, uncertain)]
    return StructType([*fields, StructField("_source", StringType(), True), StructField("_reason", StringType(), True)])


def _model(folder_name: str) -> Any:
    """The model, loaded once per Python worker from the folder Spark shipped to this executor."""
    from pyspark import SparkFiles

    from toolkit.models.folder import load_model

    if folder_name not in _MODELS:
        _MODELS[folder_name] = load_model(SparkFiles.get(folder_name))
    return _MODELS[folder_name]


def score_partition(batches: Iterator[pa.RecordBatch], settings: dict[str, Any]) -> Iterator[pa.RecordBatch]:
    """Score one partition's Arrow batches: scored rows with `_reason` null, then its error rows."""
    import pyarrow as pa

    model = _model(settings["folder"])
    for batch in batches:
        rows = partition_rows(batch.to_pydict(), settings)
        table, errors = score_rows(
            model, rows, settings["model_ref"], settings["target"], settings["batch_size"], settings["min_probability"]
        )
        nulls = pa.nulls(table.num_rows, pa.string())
        good = table.append_column("_source", nulls).append_column("_reason", nulls)
        bad = pa.table(
            {
                "id": [e["id"] for e in errors],
                "_source": [e["source"] for e in errors],
                "_reason": [e["reason"] for e in errors],
            }
        )
        bad = pa.table(
            {f.name: bad[f.name] if f.name in bad.column_names else pa.nulls(len(errors), f.type) for f in good.schema},
            schema=good.schema,
        )
        yield from pa.concat_tables([good, bad]).to_batches()


def partition_rows(batch: dict[str, list[Any]], settings: dict[str, Any]) -> Rows:
    """Rows with the ids and reasons the local engine would give them (NAME:ROW ids, null = missing)."""
    sources = [_source_name(str(path), settings["root"], settings["single"]) for path in batch["_file"]]
    count = len(sources)
    ids = batch.get("id", [None] * count)
    texts, targets = batch["text"], batch.get("target", [None] * count)
    reasons: list[str | None] = [None] * count
    for role in ("text", "target"):
        for i, value in enumerate(batch.get(role, [])):
            if value is None:
                reasons[i] = reasons[i] or f"missing value in column {settings['wanted'][role]!r}"
    return Rows(
        ids=[
            str(v) if v not in (None, "") else f"{s}:{r}" for v, s, r in zip(ids, sources, batch["_row"], strict=True)
        ],
        texts=list(texts),
        targets=list(targets),
        reasons=reasons,
        sources=sources,
    )


def _source_name(uri: str, root: str, single: bool) -> str:
    path = unquote(urlparse(uri).path) if uri.startswith("file:") else uri
    return os.path.basename(path) if single else os.path.relpath(path, root)
