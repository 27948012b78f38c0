"""The main job: prepare, train, evaluate, predict; plus doctor and backends."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from toolkit.cli._app import (
    ConfigOpt,
    JsonOpt,
    QuietOpt,
    SetOpt,
    _data_flags,
    _label_map,
    _load,
    _progress,
    app,
    out,
)
from toolkit.cli.display import print_doctor, print_metrics, print_predictions, print_prepare, print_training


@app.command()
def prepare(
    sources: Annotated[list[str] | None, typer.Argument(help="Raw files or folders (default: the config's).")] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Prepared dataset folder.")] = None,
    task: Annotated[str | None, typer.Option(help="topic or stance.")] = None,
    text_col: Annotated[str | None, typer.Option(help="Column with the article text.")] = None,
    label_col: Annotated[str | None, typer.Option(help="Column with the label.")] = None,
    title_col: Annotated[str | None, typer.Option(help="Optional title column, joined before the text.")] = None,
    target_col: Annotated[str | None, typer.Option(help="Stance target column.")] = None,
    id_col: Annotated[str | None, typer.Option(help="Row id column.")] = None,
    split_col: Annotated[str | None, typer.Option(help="Column with your own train/validation/test split.")] = None,
    target: Annotated[str | None, typer.Option(help="One fixed stance target for every row.")] = None,
    label_map: Annotated[list[str] | None, typer.Option(help="Rename a label: --label-map 1=World")] = None,
    encoding: Annotated[str | None, typer.Option(help="Text encoding (default: detect).")] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="auto, csv, tsv, jsonl, parquet, txt_folder, hf")] = None,
    delimiter: Annotated[str | None, typer.Option(help="CSV delimiter (default: sniffed).")] = None,
    skip_rows: Annotated[int | None, typer.Option(help="Junk lines before the header.")] = None,
    name: Annotated[str | None, typer.Option(help="Dataset name (used in paths and MLflow).")] = None,
    seed: Annotated[int | None, typer.Option(help="Split seed.")] = None,
    validation_size: Annotated[float | None, typer.Option(help="Validation fraction.")] = None,
    test_size: Annotated[float | None, typer.Option(help="Test fraction.")] = None,
    json_: JsonOpt = False,
) -> None:
    """Read raw labeled files, clean them (reported), split, and save a prepared dataset + manifest."""
    from toolkit.data.prepare import prepare_dataset

    flags = _data_flags(**locals())  # every data option above, by its name
    if sources:
        flags.append(f"data.source={json.dumps(sources)}")
    run_config = _load(config, flags + (set_ or []), _label_map(label_map))
    report = prepare_dataset(run_config.data, run_config.task, output)
    if json_:
        out.print_json(data=report.__dict__)
        return
    print_prepare(report)


@app.command()
def train(config: ConfigOpt = None, set_: SetOpt = None, quiet: QuietOpt = False, json_: JsonOpt = False) -> None:
    """Train a model from a config (default: topic on the built-in sample) and log it to MLflow."""
    from toolkit.train import train as run_training

    run_config = _load(config, set_ or [])
    with _progress(quiet or json_) as progress:
        result = run_training(run_config, progress=progress)
    if json_:
        out.print_json(data={key: value for key, value in result.__dict__.items() if key != "model"})
        return
    print_training(result)


@app.command()
def evaluate(
    data: Annotated[str, typer.Option("--data", "-d", help="Prepared dataset folder or a labeled file.")],
    model: Annotated[
        str | None,
        typer.Option(
            "--model", "-m", help="Model folder, runs:/ID/model or models:/NAME@ALIAS (default: newest of the task)."
        ),
    ] = None,
    split: Annotated[str, typer.Option(help="Split of a prepared dataset.")] = "test",
    config: ConfigOpt = None,
    set_: SetOpt = None,
    text_col: Annotated[str | None, typer.Option(help="Text column of a raw file.")] = None,
    label_col: Annotated[str | None, typer.Option(help="Label column of a raw file.")] = None,
    target_col: Annotated[str | None, typer.Option(help="Target column of a raw file.")] = None,
    target: Annotated[str | None, typer.Option(help="One stance target for every row of a raw file.")] = None,
    log: Annotated[bool, typer.Option(help="Log the evaluation as an MLflow run.")] = True,
    json_: JsonOpt = False,
) -> None:
    """Evaluate any model on any labeled data; print (and log) the same metrics as training."""
    from toolkit.evaluate import evaluate_model

    overrides = _data_flags(text_col=text_col, label_col=label_col, target_col=target_col, target=target)
    run_config = _load(config, overrides + (set_ or []))
    result = evaluate_model(model, data, split=split, data_config=run_config.data, task=run_config.task, log=log)
    if json_:
        out.print_json(data={"split": result.split, "metrics": result.metrics})
        return
    print_metrics({result.split: result.metrics})
    out.print(result.report)


@app.command()
def predict(
    files: Annotated[list[str], typer.Argument(help="Article files (.txt); '-' reads stdin.")],
    model: Annotated[
        list[str] | None,
        typer.Option("--model", "-m", help="Model REF (repeatable); default: newest topic and stance runs."),
    ] = None,
    target: Annotated[str | None, typer.Option(help="Stance target (default: the model's).")] = None,
    json_: JsonOpt = False,
) -> None:
    """Predict the topic and the stance of articles."""
    from toolkit.predict import load_default_models, load_ref, predict_files

    models = [load_ref(ref) for ref in model] if model else load_default_models()
    rows = predict_files(files, models, target)
    if json_:
        out.print(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    print_predictions(rows)


@app.command()
def doctor(
    fix: Annotated[bool, typer.Option("--fix", help="Mark runs whose process is gone as KILLED.")] = False,
    json_: JsonOpt = False,
) -> None:
    """Check the MLflow store and find runs left RUNNING by a process that died (e.g. SIGKILL)."""
    from toolkit.tracking.status import doctor as check_runs

    report = check_runs(fix)
    if json_:
        out.print_json(data=report.__dict__)
        return
    print_doctor(report)


@app.command()
def backends() -> None:
    """List the registered backends."""
    from toolkit.backends import available_backends

    for backend_name, location in sorted(available_backends().items()):
        out.print(f"{backend_name}\t{location}")
