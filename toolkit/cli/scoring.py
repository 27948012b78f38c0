"""`toolkit score`: batch scoring with a progress bar and a reconciled summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from toolkit.cli._app import (
    JsonOpt,
    QuietOpt,
    _delimiter,
    app,
    err,
    out,
)


@app.command()
def score(
    source: Annotated[
        Path, typer.Argument(help="CSV/TSV, JSONL or Parquet file, a folder of them, or a folder of .txt articles.")
    ],
    model: Annotated[str, typer.Option("--model", "-m", help="Model folder, runs:/ID/model or models:/NAME@ALIAS.")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Output folder (part files; rerun the same command to resume).")
    ],
    output_format: Annotated[str, typer.Option(help="parquet, jsonl or csv.")] = "parquet",
    text_col: Annotated[str, typer.Option(help="Column with the article text.")] = "text",
    id_col: Annotated[str | None, typer.Option(help="Row id column (default: 'id' if present, else NAME:ROW).")] = None,
    target: Annotated[str | None, typer.Option(help="Stance target for every row.")] = None,
    target_col: Annotated[str | None, typer.Option(help="Column with each row's stance target.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="Input format: auto, csv, tsv, jsonl, parquet, txt.")] = "auto",
    encoding: Annotated[str | None, typer.Option(help="Text encoding (default: detect).")] = None,
    delimiter: Annotated[str | None, typer.Option(help="CSV delimiter (default: sniffed).")] = None,
    chunk_size: Annotated[int, typer.Option(help="Rows per part file (and per unit of resume).")] = 10_000,
    batch_size: Annotated[int, typer.Option(help="Rows per predict call inside a chunk.")] = 1_000,
    workers: Annotated[int | None, typer.Option(help="Processes (default: one per core; 1 for GPU backends).")] = None,
    engine: Annotated[str, typer.Option(help="local or spark.")] = "local",
    spark_master: Annotated[str, typer.Option(help="Spark master URL for --engine spark.")] = "local[*]",
    overwrite: Annotated[bool, typer.Option(help="Replace an output folder that holds another job.")] = False,
    quiet: QuietOpt = False,
    json_: JsonOpt = False,
) -> None:
    """Score a large input in chunks: bounded memory, resumable after a kill, bad rows to _errors.jsonl."""
    from toolkit.scoring.input import InputSpec
    from toolkit.scoring.local import ScoreOptions
    from toolkit.scoring.local import score as run_score

    spec = InputSpec(
        path=source,
        fmt=fmt,
        text_col=text_col,
        id_col=id_col,
        target_col=target_col,
        encoding=encoding,
        delimiter=_delimiter(delimiter),
    )
    options = ScoreOptions(
        model=model,
        output=output,
        output_format=output_format,
        target=target,
        chunk_size=chunk_size,
        batch_size=batch_size,
        workers=workers,
        overwrite=overwrite,
        engine=engine,
        spark_master=spark_master,
    )
    with _score_display(quiet or json_) as progress:
        summary = run_score(spec, options, progress)
    if json_:
        out.print(json.dumps(summary.as_dict(), indent=2), soft_wrap=True, markup=False, highlight=False)
        return
    _print_score(summary)


def _score_display(quiet: bool) -> Any:
    """A rich progress bar on stderr (rows, rows/s, ETA from the share of input read), or nothing."""
    import contextlib

    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    if quiet:
        return contextlib.nullcontext(None)

    @contextlib.contextmanager
    def display() -> Any:
        bar = Progress(
            TextColumn("scoring"),
            BarColumn(),
            TextColumn("{task.fields[rows]:,} rows"),
            TextColumn("{task.fields[rate]:,.0f} rows/s"),
            TextColumn("{task.fields[errors]:,} errors"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=err,
            transient=True,
        )
        with bar:
            task = bar.add_task("score", total=1.0, rows=0, rate=0.0, errors=0)
            started = bar.get_time()

            def update(state: Any) -> None:
                rate = state.rows / max(bar.get_time() - started, 1e-9)
                bar.update(task, completed=state.fraction, rows=state.rows, rate=rate, errors=state.errors)

            yield update

    return display()


def _print_score(summary: Any) -> None:
    resumed = f", {summary.chunks_resumed} resumed" if summary.chunks_resumed else ""
    out.print(
        f"✔ {summary.rows_in:,} rows in: {summary.scored:,} scored + {summary.errors:,} errors "
        f"in {summary.seconds:.1f} s ({summary.rows_per_second:,.0f} rows/s, {summary.chunks} chunks{resumed}, "
        f"{summary.workers} worker(s), engine {summary.engine})"
    )
    out.print(f"✔ output: {summary.output}")
    if summary.errors:
        err.print(f"[yellow]⚠[/yellow] {summary.errors:,} rows not scored: see {summary.errors_file}")
