"""The main job: prepare, train, evaluate, predict; plus doctor and backends."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from toolkit.cli._app import (
    ConfigOpt,
    DataFormat,
    JsonOpt,
    QuietOpt,
    SetOpt,
    TaskChoice,
    _data_flags,
    _label_map,
    _load,
    _progress,
    app,
    examples,
    out,
)
from toolkit.cli.display import (
    print_doctor,
    print_metrics,
    print_predictions,
    print_prepare,
    print_training,
    print_written,
)


@app.command(
    epilog=examples(
        "toolkit prepare news.csv --task topic --text-col body --label-col section",
        "toolkit prepare -c configs/stance_tfidf.yaml --json",
        "toolkit prepare a.jsonl b.jsonl --task stance --target-col target --label-map 1=FAVOR --label-map 0=AGAINST",
    )
)
def prepare(
    sources: Annotated[list[str] | None, typer.Argument(help="Raw files or folders (default: the config's).")] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Prepared dataset folder.")] = None,
    task: Annotated[TaskChoice | None, typer.Option(help="What the labels are (default: the config's).")] = None,
    text_col: Annotated[str | None, typer.Option(help="Column with the article text.")] = None,
    label_col: Annotated[str | None, typer.Option(help="Column with the label.")] = None,
    title_col: Annotated[str | None, typer.Option(help="Optional title column, joined before the text.")] = None,
    target_col: Annotated[str | None, typer.Option(help="Stance target column.")] = None,
    id_col: Annotated[str | None, typer.Option(help="Row id column.")] = None,
    split_col: Annotated[str | None, typer.Option(help="Column with your own train/validation/test split.")] = None,
    target: Annotated[str | None, typer.Option(help="One fixed stance target for every row.")] = None,
    label_map: Annotated[list[str] | None, typer.Option(help="Rename a label: --label-map 1=World")] = None,
    encoding: Annotated[str | None, typer.Option(help="Text encoding (default: detect).")] = None,
    fmt: Annotated[
        DataFormat | None, typer.Option("--format", help="File format (default: auto, from the name).")
    ] = None,
    delimiter: Annotated[str | None, typer.Option(help="CSV delimiter (default: sniffed).")] = None,
    skip_rows: Annotated[int | None, typer.Option(help="Junk lines before the header.")] = None,
    name: Annotated[str | None, typer.Option(help="Dataset name (used in paths and MLflow).")] = None,
    seed: Annotated[int | None, typer.Option(help="Split seed.")] = None,
    validation_size: Annotated[float | None, typer.Option(help="Validation fraction.")] = None,
    test_size: Annotated[float | None, typer.Option(help="Test fraction.")] = None,
    json_: JsonOpt = False,
) -> None:
    """Turn raw labeled files into a prepared dataset. Reads them, cleans them (every dropped row reported),
    splits them, and saves the splits with a manifest."""
    from toolkit.data.prepare import prepare_dataset

    flags = _source_flags(sources) + _data_flags(**locals())  # every data option above, by its name
    run_config = _load(config, flags + (set_ or []), _label_map(label_map))
    report = prepare_dataset(run_config.data, run_config.task, output)
    if json_:
        out.print_json(data=report.__dict__)
        return
    print_prepare(report)


def _source_flags(sources: list[str] | None) -> list[str]:
    """Sources named on the command line replace the config's, and so does the dataset name they imply
    (news.csv -> news; --name or --set data.name, applied later, still win): a new source never lands in the
    folder and MLflow experiment of the config's own data."""
    from toolkit.data.config import dataset_name

    if not sources:
        return []
    return [f"data.source={json.dumps(sources)}", f"data.name={json.dumps(dataset_name(sources))}"]


@app.command(
    epilog=examples(
        "toolkit train                                        # topic model on the built-in sample",
        "toolkit train -c configs/topic_transformer.yaml",
        "toolkit train -c configs/topic_tfidf.yaml --set backend.params.C=4 --set data.split.seed=7",
    )
)
def train(config: ConfigOpt = None, set_: SetOpt = None, quiet: QuietOpt = False, json_: JsonOpt = False) -> None:
    """Train a model and log it to MLflow. The config (-c, --set) chooses the data, backend and params; without
    one: topic on the built-in sample."""
    from toolkit.train import train as run_training

    run_config = _load(config, set_ or [])
    with _progress(quiet or json_) as progress:
        result = run_training(run_config, progress=progress)
    if json_:
        out.print_json(data={key: value for key, value in result.__dict__.items() if key != "model"})
        return
    print_training(result)


@app.command(
    epilog=examples(
        "toolkit evaluate -d data/processed/news-topic                  # newest topic model, test split",
        "toolkit evaluate -d labeled.csv -m models:/topic@champion --text-col body --no-log",
        "toolkit evaluate -d data/processed/news-topic --split validation -m runs:/RUN_ID/model --json",
    )
)
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
    """Evaluate a model on labeled data. Any model (folder, run or registry alias) on a prepared split or a raw
    labeled file; prints (and logs) the same metrics as training."""
    from toolkit.evaluate import evaluate_model

    overrides = _data_flags(text_col=text_col, label_col=label_col, target_col=target_col, target=target)
    run_config = _load(config, overrides + (set_ or []))
    result = evaluate_model(model, data, split=split, data_config=run_config.data, task=run_config.task, log=log)
    model_info = result.model.as_dict() if result.model else None  # which model: the ref and what it resolved to
    if json_:
        out.print_json(data={"model": model_info, "split": result.split, "metrics": result.metrics})
        return
    if result.model:
        out.print(f"✔ model: {result.model.describe()}", markup=False, highlight=False, soft_wrap=True)
    print_metrics({result.split: result.metrics})
    out.print(result.report)


@app.command(
    epilog=examples(
        "toolkit predict article.txt                          # newest topic and stance models",
        "cat article.txt | toolkit predict - --target 'nuclear energy'",
        "toolkit predict *.txt -m models:/topic@champion --json",
    )
)
def predict(
    files: Annotated[list[str], typer.Argument(help="Article files (.txt); '-' reads stdin.")],
    model: Annotated[
        list[str] | None,
        typer.Option("--model", "-m", help="Model REF (repeatable); default: newest topic and stance runs."),
    ] = None,
    target: Annotated[
        str | None,
        typer.Option(
            help="Stance target for every article (default: each target the stance model was trained on, up to "
            "five; else its default target)."
        ),
    ] = None,
    top_k: Annotated[
        int | None,
        typer.Option("--top-k", metavar="K", help="Also give the K most probable labels and their probabilities."),
    ] = None,
    min_probability: Annotated[
        float | None,
        typer.Option(metavar="P", help="Mark answers below probability P (0 < P < 1) uncertain; the label is kept."),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Write one row per file, model and target: .csv, .jsonl or .parquet (replaced)."
        ),
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Predict the topic and the stance of articles: a table (tab-separated when piped), JSON, or a file."""
    from toolkit.predict import load_default_models, load_ref, predict_files
    from toolkit.predict_output import add_answers, check_options, write_predictions

    check_options(top_k, min_probability, output, files)  # a wrong option fails before any model loads
    models = [load_ref(ref) for ref in model] if model else load_default_models()
    rows = add_answers(predict_files(files, models, target), top_k, min_probability)
    if output is not None:
        print_written(write_predictions(rows, output), output, json_)
    elif json_:
        out.out(json.dumps(rows, indent=2, ensure_ascii=False), highlight=False)  # never wrapped: stays JSON
    else:
        print_predictions(rows)


@app.command(epilog=examples("toolkit doctor", "toolkit doctor --fix --json"))
def doctor(
    fix: Annotated[bool, typer.Option("--fix", help="Mark runs whose process is gone as KILLED.")] = False,
    json_: JsonOpt = False,
) -> None:
    """Check the tracking store and find dead runs. A dead run was left RUNNING by a process that died (e.g.
    SIGKILL); --fix marks it KILLED."""
    from toolkit.tracking.status import doctor as check_runs

    report = check_runs(fix)
    if json_:
        out.print_json(data=report.__dict__)
        return
    print_doctor(report)


@app.command(epilog=examples("toolkit backends"))
def backends() -> None:
    """List the registered backends."""
    from toolkit.backends import available_backends

    for backend_name, location in sorted(available_backends().items()):
        out.print(f"{backend_name}\t{location}")
