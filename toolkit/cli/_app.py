"""The Typer app, its shared options and helpers; the commands live in the sibling modules."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import typer
from rich.console import Console

from toolkit import __version__
from toolkit.cli._help import ToolkitTyper, examples

app = ToolkitTyper(
    help="Classify news articles by topic and detect their stance toward a target; runs tracked in MLflow.",
    epilog=examples(
        "toolkit prepare data/raw/news.csv --task topic --text-col body   # clean and split a labeled file",
        "toolkit train -c configs/topic_tfidf.yaml                        # train, log the run to MLflow",
        "toolkit predict article.txt                                      # newest topic and stance models",
        "toolkit score big.parquet -m runs:/RUN_ID/model -o scored/       # batch scoring, resumable",
        "toolkit COMMAND --help                                           # options and examples of a command",
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True, log_path=False)

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", metavar="FILE", help="YAML run config (see configs/).")
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", metavar="KEY=VALUE", help="Override a config key: --set backend.params.C=4"),
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress display; only the result.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]

# Fixed choices, as Literal types: --help lists them, a typo is refused with the list, and completion offers them
# (tests/cli/test_help.py checks each against the list the domain code accepts).
TaskChoice = Literal["topic", "stance"]
DataFormat = Literal["auto", "csv", "tsv", "jsonl", "parquet", "txt_folder", "hf"]
InputFormat = Literal["auto", "csv", "tsv", "jsonl", "parquet", "txt"]
OutputFormat = Literal["parquet", "jsonl", "csv"]
Engine = Literal["local", "spark"]
T = TypeVar("T")


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
    """Each finished step logged on stderr with its time; on a terminal also a spinner naming the current step
    and bars for epochs, batches or trials with their ETA (toolkit/cli/progress.py); nothing with --quiet."""
    from toolkit.cli.progress import job_progress

    with job_progress(quiet, err) as progress:
        yield progress


# Data options of the commands -> the config key each one sets.
DATA_FLAGS = {
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


def _data_flags(**flags: Any) -> list[str]:
    """Turn the data flags the user gave into config overrides (one mechanism for flags and --set). Names
    that are not data flags are skipped, so a command can pass all its options: `_data_flags(**locals())`."""
    flags["delimiter"] = _delimiter(flags.get("delimiter"))
    given = {flag: value for flag, value in flags.items() if flag in DATA_FLAGS and value is not None}
    return [f"{DATA_FLAGS[flag]}={json.dumps(value)}" for flag, value in given.items()]


def _fill(cls: type[T], options: dict[str, Any], **overrides: Any) -> T:
    """A domain dataclass from a command's options of the same names (`overrides` for those that differ).
    Every field must be given: a renamed option fails here rather than silently taking the field's default."""
    import dataclasses

    names = [field.name for field in dataclasses.fields(cls)]  # type: ignore[arg-type]
    missing = [name for name in names if name not in overrides and name not in options]
    if missing:
        raise TypeError(f"{cls.__name__} fields without a command option of the same name: {missing}")
    return cls(**{name: overrides[name] if name in overrides else options[name] for name in names})


def _delimiter(typed: str | None) -> str | None:
    """A delimiter as typed on a command line: the two characters `\\t` mean a tab."""
    return "\t" if typed == "\\t" else typed


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
