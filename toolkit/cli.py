"""The `toolkit` command line: each command parses options, calls one function, and prints the result.

This is the only module that prints, exits, or turns errors into messages. Heavy libraries are imported
inside the functions the commands call, so `toolkit --help` stays fast.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from toolkit import __version__
from toolkit.errors import ToolkitError

app = typer.Typer(
    help="Classify news articles by topic and detect their stance toward a target; runs tracked in MLflow.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,  # plain help: Typer's rich help imports a Markdown parser (~0.25 s)
)
out = Console()
err = Console(stderr=True, log_path=False)

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="YAML run config (see configs/).")]
SetOpt = Annotated[list[str] | None, typer.Option("--set", help="Override a config key: --set backend.params.C=4")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress display; only the result.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


def _version(value: bool) -> None:
    if value:
        out.print(f"toolkit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks for errors.")] = False,
) -> None:
    """toolkit: prepare data, train, evaluate and predict topic and stance models."""


@contextmanager
def _progress(quiet: bool) -> Iterator[Any]:
    """A spinner on stderr naming the current step, each finished step logged with its time (none with --quiet)."""
    if quiet:
        yield None
        return
    with err.status("starting", spinner="dots") as status:

        def show(message: str) -> None:
            err.log(f"[dim]{message}[/dim]")
            status.update(message)

        yield show


def _data_flags(**flags: Any) -> list[str]:
    """Turn the data flags the user gave into config overrides (one mechanism for flags and --set)."""
    keys = {
        "text_col": "data.columns.text",
        "label_col": "data.columns.label",
        "title_col": "data.columns.title",
        "target_col": "data.columns.target",
        "id_col": "data.columns.id",
        "split_col": "data.columns.split",
        "target": "data.target",
        "encoding": "data.encoding",
        "fmt": "data.format",
        "delimiter": "data.delimiter",
        "skip_rows": "data.skip_rows",
        "name": "data.name",
        "seed": "data.split.seed",
        "validation_size": "data.split.validation",
        "test_size": "data.split.test",
        "task": "task",
    }
    overrides = [f"{keys[flag]}={json.dumps(value)}" for flag, value in flags.items() if value is not None]
    if flags.get("delimiter") == "\\t":
        overrides.append('data.delimiter="\\t"')
    return overrides


def _label_map(pairs: list[str] | None) -> dict[str, str]:
    from toolkit.errors import ConfigError

    mapping = {}
    for pair in pairs or []:
        old, sep, new = pair.partition("=")
        if not sep:
            raise ConfigError(f"--label-map '{pair}' must look like OLD=NEW, e.g. 1=World")
        mapping[old.strip()] = new.strip()
    return mapping


def _load(config: Path | None, overrides: list[str], label_map: dict[str, str] | None = None) -> Any:
    from toolkit.config import load_config

    run_config = load_config(config, overrides)
    if label_map:
        run_config.data.label_map = {**run_config.data.label_map, **label_map}
    return run_config


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

    flags = _data_flags(
        text_col=text_col,
        label_col=label_col,
        title_col=title_col,
        target_col=target_col,
        id_col=id_col,
        split_col=split_col,
        target=target,
        encoding=encoding,
        fmt=fmt,
        delimiter=delimiter,
        skip_rows=skip_rows,
        name=name,
        seed=seed,
        validation_size=validation_size,
        test_size=test_size,
        task=task,
    )
    if sources:
        flags.append(f"data.source={json.dumps(sources)}")
    run_config = _load(config, flags + (set_ or []), _label_map(label_map))
    report = prepare_dataset(run_config.data, run_config.task, output)
    if json_:
        out.print_json(data=report.__dict__)
        return
    _print_prepare(report)


def _print_prepare(report: Any) -> None:
    for note in report.notes:
        err.print(f"[yellow]⚠[/yellow] {note}")
    dropped = ", ".join(f"{reason}: {count}" for reason, count in report.dropped.items())
    out.print(f"✔ read {report.rows_read} rows; dropped {sum(report.dropped.values())} ({dropped})")
    table = Table("split", *report.labels, "total")
    for split, counts in report.counts.items():
        table.add_row(split, *(str(counts.get(label, 0)) for label in report.labels), str(sum(counts.values())))
    out.print(table)
    out.print(f"✔ prepared dataset: {report.output} (fingerprint {report.fingerprint[:12]})")


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
    _print_metrics(result.metrics)
    out.print(f"✔ run {result.run_id} in experiment '{result.experiment}' (trained in {result.train_seconds:.1f} s)")
    out.print(f"✔ model: {result.model_uri}")
    out.print(f"  look at it: {result.ui}")


def _print_metrics(metrics: dict[str, dict[str, float]]) -> None:
    from toolkit.metrics import headline

    table = Table("split", *headline(next(iter(metrics.values()), {})))
    for split, values in metrics.items():
        table.add_row(split, *(f"{v:.4f}" for v in headline(values).values()))
    out.print(table)


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
    from toolkit.evaluate import evaluate_cli

    overrides = _data_flags(text_col=text_col, label_col=label_col, target_col=target_col, target=target)
    run_config = _load(config, overrides + (set_ or []))
    result = evaluate_cli(model, data, split, run_config.data, run_config.task, log=log)
    if json_:
        out.print_json(data={"split": result.split, "metrics": result.metrics})
        return
    _print_metrics({result.split: result.metrics})
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
    table = Table("file", "task", "prediction", "p", "toward target", "note")
    table.columns[0].overflow = "fold"
    for row in rows:
        for i, record in enumerate(row["predictions"]):
            table.add_row(
                row["file"] if i == 0 else "",
                record["task"],
                record["label"],
                f"{record['probability']:.2f}",
                record.get("target", ""),
                record.get("warning", ""),
                end_section=i == len(row["predictions"]) - 1,
            )
    out.print(table)


@app.command()
def doctor(
    fix: Annotated[bool, typer.Option("--fix", help="Mark runs whose process is gone as KILLED.")] = False,
    json_: JsonOpt = False,
) -> None:
    """Check the MLflow store and find runs left RUNNING by a process that died (e.g. SIGKILL)."""
    from toolkit.doctor import doctor as check_runs

    report = check_runs(fix)
    if json_:
        out.print_json(data=report.__dict__)
        return
    out.print(f"✔ tracking store {report.store} is reachable")
    for run_id in report.stale:
        out.print(
            f"✔ marked KILLED: run {run_id}" if run_id in report.fixed else f"✘ stale (process gone): run {run_id}"
        )
    for run_id in report.alive + report.unknown:
        out.print(f"• running ({'process alive' if run_id in report.alive else 'started elsewhere'}): run {run_id}")
    if report.stale and not report.fixed:
        out.print("  `toolkit doctor --fix` marks them KILLED")


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
    from toolkit.score import ScoreOptions
    from toolkit.score import score as run_score
    from toolkit.score_input import InputSpec

    spec = InputSpec(
        path=source,
        fmt=fmt,
        text_col=text_col,
        id_col=id_col,
        target_col=target_col,
        encoding=encoding,
        delimiter="\t" if delimiter == "\\t" else delimiter,
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


@app.command()
def backends() -> None:
    """List the registered backends."""
    from toolkit.backends import available_backends

    for backend_name, location in sorted(available_backends().items()):
        out.print(f"{backend_name}\t{location}")


# --- Model lifecycle: tune, compare, and the model registry ----------------------------------------------


@app.command()
def tune(
    config: ConfigOpt = None,
    set_: SetOpt = None,
    trials: Annotated[int, typer.Option("--trials", "-n", min=0, help="Trials to add; studies resume.")] = 10,
    quiet: QuietOpt = False,
    json_: JsonOpt = False,
) -> None:
    """Search hyperparameters (the config's `tune` section) with Optuna; best model on a parent run."""
    from toolkit._deps import require
    from toolkit.tune import tune as run_tune

    require("optuna", "tune").logging.set_verbosity(30)  # WARNING: our progress lines replace its log
    run_config = _load(config, set_ or [])
    with _progress(quiet or json_) as progress:
        result = run_tune(run_config, trials, progress=progress)
    if json_:
        out.print_json(data=result.__dict__)
        return
    best = ", ".join(f"{key}={_short(json.dumps(value))}" for key, value in result.best_params.items())
    out.print(
        f"✔ study '{result.study_name}': {len(result.trials)} trials; best: trial {result.best_trial} "
        f"with {result.metric}={result.best_value:.4f} ({best})"
    )
    out.print(f"✔ parent run {result.parent_run_id} in '{result.experiment}'; model: {result.model_uri}")
    out.print(f"  register it: toolkit models register {result.parent_run_id} --name NAME")


@app.command()
def compare(
    experiment: Annotated[str | None, typer.Argument(help="Experiment (default: the config's).")] = None,
    config: ConfigOpt = None,
    metric: Annotated[str, typer.Option(help="Rank the runs by this metric.")] = "validation_macro_f1",
    top: Annotated[int, typer.Option(help="How many runs to show.")] = 10,
    ascending: Annotated[bool, typer.Option("--ascending", help="Lower is better (e.g. a loss).")] = False,
    json_: JsonOpt = False,
) -> None:
    """Show the best runs of an experiment: headline metrics and the params that differ between them."""
    from toolkit.compare import compare_runs

    result = compare_runs(experiment or _load(config, []).experiment_name, metric, top, ascending)
    if json_:
        out.print_json(data=result.__dict__)
        return
    headers = [c.replace("validation_", "val ").replace("_", " ") for c in result.metric_columns]
    table = Table(
        "run",
        "kind",
        *headers,
        *(p.rsplit(".", 1)[-1] for p in result.param_columns),
        title=f"{result.experiment}: best by {result.metric}",
    )
    for row in result.rows:
        metrics = ("–" if v is None else f"{v:.4f}" for v in row["metrics"].values())
        table.add_row(
            f"{row['run_name']} {row['run_id'][:8]}",
            row["kind"],
            *metrics,
            *(_short(v) for v in row["params"].values()),
        )
    out.print(table)


def _short(value: str | None) -> str:
    """A param value for a narrow column: 0.443037524 -> 0.443."""
    try:
        return "–" if value is None else f"{float(value):.4g}"
    except ValueError:
        return value


models_app = typer.Typer(help="The MLflow model registry: register, promote, list.", no_args_is_help=True)
app.add_typer(models_app, name="models")


@models_app.command("register")
def models_register(
    ref: Annotated[str, typer.Argument(help="Run ID or runs:/RUN_ID/model.")],
    name: Annotated[str, typer.Option("--name", "-n", help="Registered model name.")],
) -> None:
    """Register a run's model as a new version of NAME."""
    from toolkit.registry import register

    info = register(ref, name)
    out.print(f"✔ registered '{info.name}' version {info.version} (run {info.run_id})")
    out.print(f"  promote it: toolkit models promote {info.name} {info.version} --alias champion")


@models_app.command("promote")
def models_promote(
    name: Annotated[str, typer.Argument(help="Registered model name.")],
    version: Annotated[int, typer.Argument(help="Version to promote.")],
    alias: Annotated[str, typer.Option(help="Alias to point at it.")] = "champion",
) -> None:
    """Point an alias (default: champion) at a version; `models:/NAME@ALIAS` then loads it."""
    from toolkit.registry import promote

    info, previous = promote(name, version, alias)
    moved = f" (was version {previous})" if previous not in (None, info.version) else ""
    out.print(f"✔ {info.name}@{alias} -> version {info.version}{moved}")
    out.print(f"  use it: toolkit predict FILE --model models:/{info.name}@{alias}")


@models_app.command("list")
def models_list(
    name: Annotated[str | None, typer.Argument(help="Only this registered model.")] = None,
    json_: JsonOpt = False,
) -> None:
    """List registered model versions with their aliases, source runs and metrics."""
    from toolkit.registry import list_versions

    versions = list_versions(name)
    if json_:
        out.print_json(data=[info.__dict__ for info in versions])
        return
    table = Table("name", "version", "aliases", "task", "run", "validation_macro_f1", "test_macro_f1")
    for info in versions:
        scores = (
            f"{info.metrics[k]:.4f}" if k in info.metrics else "–" for k in ("validation_macro_f1", "test_macro_f1")
        )
        table.add_row(
            info.name,
            str(info.version),
            ", ".join(info.aliases),
            info.task or "",
            f"{info.run_name or ''}\n{(info.run_id or '')[:8]}",
            *scores,
        )
    out.print(table if versions else "no registered models yet: toolkit models register RUN_ID --name NAME")


experiment_app = typer.Typer(help="Benchmarks: run an experiments/*.yaml spec.", no_args_is_help=True)
app.add_typer(experiment_app, name="experiment")


@experiment_app.command("run")
def experiment_run(
    spec: Annotated[Path, typer.Argument(help="Experiment spec, e.g. experiments/semeval2016.yaml.")],
    quiet: QuietOpt = False,
) -> None:
    """Prepare, train every seed and the baselines under one MLflow parent run; write results.md."""
    from toolkit.experiments import run_experiment

    with _progress(quiet) as progress:
        result = run_experiment(spec, progress=progress)
    out.print(Path(result.results_path).read_text(encoding="utf-8"), markup=False, highlight=False, soft_wrap=True)
    out.print(f"✔ wrote {result.results_path} (parent run {result.parent_run_id}, {result.seconds:.0f} s)")


def _quiet_libraries(debug: bool) -> None:
    """Keep third-party chatter (MLflow INFO logs, progress bars, library warnings) off the terminal."""
    import os
    import warnings

    if debug:
        return
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "ERROR")
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)


def main() -> None:
    """Entry point: run the app; a ToolkitError becomes one line on stderr and its exit code."""
    debug = "--debug" in sys.argv
    _quiet_libraries(debug)
    try:
        app()
    except ToolkitError as exc:
        if debug:
            raise
        err.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted", markup=False)
        sys.exit(130)
    except Exception as exc:  # never a bare traceback for a user; --debug shows it
        if debug:
            raise
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        err.print(
            f"error: {type(exc).__name__}: {message} (run with --debug for the traceback)",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(1)
