"""Model lifecycle and benchmarks: tune, compare, the model registry, experiments."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from toolkit.cli._app import (
    ConfigOpt,
    JsonOpt,
    QuietOpt,
    SetOpt,
    _load,
    _progress,
    app,
    examples,
    out,
)
from toolkit.cli._help import ToolkitTyper
from toolkit.cli.display import print_compare, print_tune, print_versions

# --- Model lifecycle: tune, compare, and the model registry ----------------------------------------------


@app.command(
    epilog=examples(
        "toolkit tune -c configs/tune_topic_tfidf.yaml --trials 20",
        "toolkit tune -c configs/tune_topic_tfidf.yaml -n 10            # again: 10 more trials, same study",
        "toolkit tune -c configs/tune_topic_tfidf.yaml --set tune.metric=validation_accuracy --json",
    )
)
def tune(
    config: ConfigOpt = None,
    set_: SetOpt = None,
    trials: Annotated[int, typer.Option("--trials", "-n", min=0, help="Trials to add; studies resume.")] = 10,
    quiet: QuietOpt = False,
    json_: JsonOpt = False,
) -> None:
    """Search hyperparameters with Optuna. The config's `tune` section sets the space and metric; each trial is a
    child run, the best model is logged on the parent run, and running it again resumes the study."""
    from toolkit._deps import require
    from toolkit.lifecycle.tune import tune as run_tune

    require("optuna", "tune").logging.set_verbosity(40)  # ERROR: our progress and error lines replace its log
    run_config = _load(config, set_ or [])
    with _progress(quiet or json_) as progress:
        result = run_tune(run_config, trials, progress=progress)
    if json_:
        out.print_json(data=result.__dict__)
        return
    print_tune(result)


@app.command(
    epilog=examples(
        "toolkit compare                                      # the default config's experiment",
        "toolkit compare news-topic --metric test_macro_f1 --top 5",
        "toolkit compare -c configs/stance_tfidf.yaml --json",
    )
)
def compare(
    experiment: Annotated[str | None, typer.Argument(help="Experiment (default: the config's).")] = None,
    config: ConfigOpt = None,
    metric: Annotated[str, typer.Option(help="Rank the runs by this metric.")] = "validation_macro_f1",
    top: Annotated[int, typer.Option(help="How many runs to show.")] = 10,
    ascending: Annotated[bool, typer.Option("--ascending", help="Lower is better (e.g. a loss).")] = False,
    json_: JsonOpt = False,
) -> None:
    """Show the best runs of an experiment. Their headline metrics and the params that differ between them."""
    from toolkit.lifecycle.compare import compare_runs

    result = compare_runs(experiment or _load(config, []).experiment_name, metric, top, ascending)
    if json_:
        out.print_json(data=result.__dict__)
        return
    print_compare(result)


models_app = ToolkitTyper(
    help="Register, promote and list models in the MLflow model registry.",
    epilog=examples(
        "toolkit models register RUN_ID --name topic",
        "toolkit models promote topic 3 --alias champion",
        "toolkit models list topic",
    ),
    no_args_is_help=True,
)
app.add_typer(models_app, name="models")


@models_app.command("register", epilog=examples("toolkit models register RUN_ID --name topic"))
def models_register(
    ref: Annotated[str, typer.Argument(help="Run ID or runs:/RUN_ID/model.")],
    name: Annotated[str, typer.Option("--name", "-n", help="Registered model name.")],
) -> None:
    """Register a run's model as a new version of NAME."""
    from toolkit.tracking.registry import register

    info = register(ref, name)
    out.print(f"✔ registered '{info.name}' version {info.version} (run {info.run_id})")
    out.print(f"  promote it: toolkit models promote {info.name} {info.version} --alias champion")


@models_app.command(
    "promote", epilog=examples("toolkit models promote topic 3", "toolkit models promote topic 2 --alias staging")
)
def models_promote(
    name: Annotated[str, typer.Argument(help="Registered model name.")],
    version: Annotated[int, typer.Argument(help="Version to promote.")],
    alias: Annotated[str, typer.Option(help="Alias to point at it.")] = "champion",
) -> None:
    """Point an alias at a version. The alias defaults to champion; `models:/NAME@ALIAS` then loads it."""
    from toolkit.tracking.registry import promote

    info, previous = promote(name, version, alias)
    moved = f" (was version {previous})" if previous not in (None, info.version) else ""
    out.print(f"✔ {info.name}@{alias} -> version {info.version}{moved}")
    out.print(f"  use it: toolkit predict FILE --model models:/{info.name}@{alias}")


@models_app.command("list", epilog=examples("toolkit models list", "toolkit models list topic --json"))
def models_list(
    name: Annotated[str | None, typer.Argument(help="Only this registered model.")] = None,
    json_: JsonOpt = False,
) -> None:
    """List registered model versions. With their aliases, source runs and metrics."""
    from toolkit.tracking.registry import list_versions

    versions = list_versions(name)
    if json_:
        out.print_json(data=[info.__dict__ for info in versions])
        return
    print_versions(versions)


@models_app.command(
    "export",
    epilog=examples(
        "toolkit models export models:/topic@champion topic-model/",
        "toolkit models export runs:/RUN_ID/model topic-model/ --json",
    ),
)
def models_export(
    ref: Annotated[str, typer.Argument(help="Model folder, runs:/ID/model, models:/NAME@ALIAS or /VERSION.")],
    folder: Annotated[Path, typer.Argument(help="New or empty folder to copy the model folder into.")],
    json_: JsonOpt = False,
) -> None:
    """Copy the model folder behind a reference into FOLDER. Checked by sha256 like every load; the copy is the
    plain toolkit model folder that `predict -m FOLDER` and `score -m FOLDER` read, without MLflow."""
    from toolkit.export import export_model

    identity = export_model(ref, folder)
    if json_:
        out.print_json(data={"folder": str(folder), **identity.as_dict()})
        return
    out.print(f"✔ exported {identity.describe()} to {folder}", markup=False, highlight=False, soft_wrap=True)
    out.print(f"  use it: toolkit predict FILE --model {folder}", markup=False, highlight=False, soft_wrap=True)


experiment_app = ToolkitTyper(
    help="Run benchmarks from specs in experiments/specs/.",
    epilog=examples("toolkit experiment run semeval2016"),
    no_args_is_help=True,
)
app.add_typer(experiment_app, name="experiment")


@experiment_app.command(
    "run", epilog=examples("toolkit experiment run semeval2016", "toolkit experiment run my_spec.yaml --quiet")
)
def experiment_run(
    spec: Annotated[Path, typer.Argument(help="Spec path, or a name in experiments/specs/ (semeval2016).")],
    quiet: QuietOpt = False,
) -> None:
    """Run a benchmark spec and write its results.md. Prepares the data and trains every seed and the baselines
    under one MLflow parent run."""
    from toolkit.bench.runner import run_experiment

    with _progress(quiet) as progress:
        result = run_experiment(spec, progress=progress)
    out.print(Path(result.results_path).read_text(encoding="utf-8"), markup=False, highlight=False, soft_wrap=True)
    out.print(f"✔ wrote {result.results_path} (parent run {result.parent_run_id}, {result.seconds:.0f} s)")
