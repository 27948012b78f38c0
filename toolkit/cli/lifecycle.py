"""Model lifecycle and benchmarks: tune, compare, the model registry, experiments."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from toolkit.cli._app import (
    ConfigOpt,
    JsonOpt,
    QuietOpt,
    SetOpt,
    _load,
    _progress,
    app,
    out,
)

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
    from toolkit.lifecycle.tune import tune as run_tune

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
    from toolkit.lifecycle.compare import compare_runs

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
    from toolkit.tracking.registry import register

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
    from toolkit.tracking.registry import promote

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
    from toolkit.tracking.registry import list_versions

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
    from toolkit.bench.runner import run_experiment

    with _progress(quiet) as progress:
        result = run_experiment(spec, progress=progress)
    out.print(Path(result.results_path).read_text(encoding="utf-8"), markup=False, highlight=False, soft_wrap=True)
    out.print(f"✔ wrote {result.results_path} (parent run {result.parent_run_id}, {result.seconds:.0f} s)")
