"""`toolkit score`: batch scoring with a progress bar and a reconciled summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from toolkit.cli._app import (
    Engine,
    InputFormat,
    JsonOpt,
    OutputFormat,
    QuietOpt,
    _delimiter,
    _fill,
    app,
    err,
    examples,
    out,
)
from toolkit.cli.display import print_score, score_progress


@app.command(
    epilog=examples(
        "toolkit score articles.parquet -m runs:/RUN_ID/model -o scored/",
        "toolkit score news.csv -m models:/stance@champion --target 'nuclear energy' -o out/ --output-format csv",
        "toolkit score articles/ -m model_folder/ -o scored/ --workers 4      # again after a kill: resumes",
    )
)
def score(
    source: Annotated[
        Path, typer.Argument(help="CSV/TSV, JSONL or Parquet file, a folder of them, or a folder of .txt articles.")
    ],
    model: Annotated[
        str, typer.Option("--model", "-m", metavar="REF", help="Model folder, runs:/ID/model or models:/NAME@ALIAS.")
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Output folder (part files; rerun the same command to resume).")
    ],
    output_format: Annotated[OutputFormat, typer.Option(help="Format of the part files.")] = "parquet",
    text_col: Annotated[str, typer.Option(help="Column with the article text.")] = "text",
    id_col: Annotated[str | None, typer.Option(help="Row id column (default: 'id' if present, else NAME:ROW).")] = None,
    target: Annotated[str | None, typer.Option(help="Stance target for every row.")] = None,
    target_col: Annotated[str | None, typer.Option(help="Column with each row's stance target.")] = None,
    min_probability: Annotated[
        float | None,
        typer.Option(metavar="P", help="Add an `uncertain` column: true where the probability is below P (0 < P < 1)."),
    ] = None,
    fmt: Annotated[InputFormat, typer.Option("--format", help="Input format (auto: from the file names).")] = "auto",
    encoding: Annotated[str | None, typer.Option(help="Text encoding (default: detect).")] = None,
    delimiter: Annotated[str | None, typer.Option(help="CSV delimiter (default: sniffed).")] = None,
    chunk_size: Annotated[int, typer.Option(help="Rows per part file (and per unit of resume).")] = 10_000,
    batch_size: Annotated[int, typer.Option(help="Rows per predict call inside a chunk.")] = 1_000,
    workers: Annotated[int | None, typer.Option(help="Processes (default: one per core; 1 for GPU backends).")] = None,
    engine: Annotated[Engine, typer.Option(help="Where the chunks are scored.")] = "local",
    spark_master: Annotated[str, typer.Option(help="Spark master URL for --engine spark.")] = "local[*]",
    overwrite: Annotated[bool, typer.Option(help="Replace an output folder that holds another job.")] = False,
    quiet: QuietOpt = False,
    json_: JsonOpt = False,
) -> None:
    """Score a large input in chunks. Memory stays bounded, rerunning the same command resumes after a kill,
    and rows that cannot be scored go to _errors.jsonl."""
    from toolkit.scoring.api import InputSpec, ScoreOptions
    from toolkit.scoring.api import score as run_score

    spec = _fill(InputSpec, locals(), path=source, delimiter=_delimiter(delimiter))
    options = _fill(ScoreOptions, locals())
    with score_progress(quiet or json_) as progress:
        summary = run_score(spec, options, progress)
    if summary.skipped_files:  # on stderr, so --json output stays one JSON document
        names = ", ".join(f"{s['path']} ({s['reason']})" for s in summary.skipped_files)
        err.print(f"warning: skipped {len(summary.skipped_files)} entries of {source}: {names}", markup=False)
    if json_:
        out.print(json.dumps(summary.as_dict(), indent=2), soft_wrap=True, markup=False, highlight=False)
        return
    print_score(summary)
