"""`--help` as a user reads it: click-style metavars, choices and defaults listed, whole summaries, an Examples
section on every command, and shell completion that installs and completes.

Every command is found by walking the app, so a command added later is checked too.
"""

from __future__ import annotations

import re
import subprocess
import sys
import typing
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from toolkit.cli import app
from toolkit.cli._help import ToolkitCommand, ToolkitGroup


def command_paths(command=None, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and group of the app, as the words that name it (() is `toolkit` itself)."""
    command = command or typer.main.get_command(app)
    paths = [path]
    for name, sub in getattr(command, "commands", {}).items():
        paths += command_paths(sub, (*path, name))
    return paths


PATHS = command_paths()


def help_of(*words: str, columns: int = 200) -> str:
    result = CliRunner().invoke(app, [*words, "--help"], prog_name="toolkit", env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, result.output
    return result.output


def section(text: str, title: str) -> list[str]:
    """The lines of one help section (`Options:`, `Examples:`, ...)."""
    lines = text.split(f"\n{title}:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    return [line for line in lines if line.strip()]


def test_the_app_has_its_commands() -> None:
    names = {" ".join(path) for path in PATHS}
    assert {"prepare", "train", "evaluate", "predict", "tune", "score", "serve", "models register"} <= names


@pytest.mark.parametrize("words", PATHS, ids=lambda words: " ".join(words) or "toolkit")
def test_help_reads_like_a_command_line_tool_not_python(words: tuple[str, ...]) -> None:
    """No `<list[str]>`, `<str>`, `<int range>` or `{files}...`: TEXT, INTEGER, PATH, FILES... as in click."""
    text = help_of(*words)
    assert not re.search(r"<\w[^>]*>", text), text
    assert "list[" not in text and "{" not in text.splitlines()[0], text
    usage = text.splitlines()[0]
    assert usage.startswith("Usage: toolkit"), usage


@pytest.mark.parametrize("words", PATHS, ids=lambda words: " ".join(words) or "toolkit")
def test_every_command_shows_examples_of_itself(words: tuple[str, ...]) -> None:
    examples = section(help_of(*words), "Examples")
    own = [line for line in examples if line.strip().startswith(" ".join(("toolkit", *words)))]
    assert own, f"no example of `toolkit {' '.join(words)}` in: {examples}"


def test_command_lists_show_whole_summaries_even_at_80_columns() -> None:
    """Click cut summaries at the width and ended them with '...'; a summary is now its first sentence."""
    for words in PATHS:
        if words and " ".join(words) not in ("models", "experiment"):
            continue
        for line in section(help_of(*words, columns=80), "Commands"):
            assert not line.rstrip().endswith("..."), line
    listed = dict(line.split(None, 1) for line in section(help_of(columns=200), "Commands"))
    assert listed["train"] == "Train a model and log it to MLflow"
    assert listed["score"] == "Score a large input in chunks"


CHOICES = [
    (("prepare",), "--task", "[topic|stance]"),
    (("prepare",), "--format", "[auto|csv|tsv|jsonl|parquet|txt_folder|hf]"),
    (("score",), "--engine", "[local|spark]"),
    (("score",), "--output-format", "[parquet|jsonl|csv]"),
    (("score",), "--format", "[auto|csv|tsv|jsonl|parquet|txt]"),
]


@pytest.mark.parametrize(("words", "option", "shown"), CHOICES)
def test_fixed_choices_are_listed(words: tuple[str, ...], option: str, shown: str) -> None:
    options = " ".join(section(help_of(*words), "Options"))
    assert f"{option} {shown}" in options, options


@pytest.mark.parametrize(("words", "option", "shown"), CHOICES)
def test_a_value_outside_the_choices_is_refused_with_them(words: tuple[str, ...], option: str, shown: str) -> None:
    result = CliRunner().invoke(app, [*words, "x", option, "nope"], prog_name="toolkit")
    assert result.exit_code == 2
    assert all(f"'{choice}'" in result.output for choice in shown.strip("[]").split("|")), result.output


def test_the_choices_are_the_ones_the_code_accepts() -> None:
    """The CLI's lists cannot drift from the domain's (a format added there must be added here)."""
    from toolkit.cli import _app
    from toolkit.config import Task
    from toolkit.data.config import SourceFormat
    from toolkit.scoring.api import ENGINES
    from toolkit.scoring.input import INPUT_FORMATS
    from toolkit.scoring.output import OUTPUT_FORMATS

    def values(choice: object) -> set[str]:
        return set(typing.get_args(choice))

    assert values(_app.TaskChoice) == values(Task)
    assert values(_app.DataFormat) == values(SourceFormat)
    assert values(_app.InputFormat) == set(INPUT_FORMATS)
    assert values(_app.OutputFormat) == set(OUTPUT_FORMATS)
    assert values(_app.Engine) == set(ENGINES)


def test_defaults_metavars_and_repeatable_options_are_shown() -> None:
    score = " ".join(" ".join(section(help_of("score"), "Options")).split())
    assert "--chunk-size INTEGER" in score and "[default: 10000]" in score
    assert "-m, --model REF" in score and "-o, --output PATH" in score
    tune = " ".join(" ".join(section(help_of("tune"), "Options")).split())
    assert "-n, --trials INTEGER" in tune and "[default: 10; x>=0]" in tune
    train = " ".join(" ".join(section(help_of("train"), "Options")).split())
    assert "-c, --config FILE" in train and "--set KEY=VALUE" in train and "(repeatable)" in train
    assert help_of("prepare").splitlines()[0] == "Usage: toolkit prepare [OPTIONS] [SOURCES]..."
    assert help_of("score").splitlines()[0] == "Usage: toolkit score [OPTIONS] SOURCE"


def test_dash_h_is_help_too() -> None:
    result = CliRunner().invoke(app, ["score", "-h"], prog_name="toolkit")
    assert result.exit_code == 0 and "Examples:" in result.output


def test_every_command_is_built_with_the_help_conventions() -> None:
    """A sub-app made with plain typer.Typer would bring back `<str>` metavars: use ToolkitTyper."""
    root = typer.main.get_command(app)
    for words in PATHS:
        command = root
        for word in words:
            command = command.commands[word]
        assert isinstance(command, ToolkitCommand | ToolkitGroup), (words, type(command))


# --- Shell completion ---------------------------------------------------------------------------------------


@pytest.fixture
def in_bash(monkeypatch: pytest.MonkeyPatch) -> None:
    """Typer completes for the shell it finds among the parent processes: under `make test` that is sh, which
    it does not support; a user types these commands in their own shell (bash here)."""
    import typer._completion_shared as shared

    monkeypatch.setattr(shared.shellingham, "detect_shell", lambda: ("bash", "/bin/bash"))


def test_show_completion_prints_a_bash_script(in_bash: None) -> None:
    result = CliRunner().invoke(app, ["--show-completion"], prog_name="toolkit")
    assert result.exit_code == 0, result.output
    assert "complete -o default -F _toolkit_completion toolkit" in result.output
    assert "_TOOLKIT_COMPLETE=complete_bash" in result.output


def complete(line: str) -> list[str]:
    """What bash completion offers for `line` (the word being typed is its last word, or '' after a space)."""
    words = line.split() + ([""] if line.endswith(" ") else [])
    env = {"_TOOLKIT_COMPLETE": "complete_bash", "COMP_WORDS": " ".join(words), "COMP_CWORD": str(len(words) - 1)}
    result = CliRunner().invoke(app, [], prog_name="toolkit", env=env)
    return result.output.split()


def test_completion_offers_commands_options_and_choices() -> None:
    assert complete("toolkit sc") == ["score"]
    assert {"register", "promote", "list"} <= set(complete("toolkit models "))
    assert "--output-format" in complete("toolkit score --out")
    assert complete("toolkit score --engine ") == ["local", "spark"]
    assert complete("toolkit prepare --task s") == ["stance"]


def test_install_completion_writes_the_script_for_the_shell(tmp_path: Path, in_bash: None) -> None:
    result = CliRunner().invoke(app, ["--install-completion"], prog_name="toolkit", env={"HOME": str(tmp_path)})
    assert result.exit_code == 0, result.output
    assert "_toolkit_completion" in "".join(p.read_text() for p in tmp_path.rglob("*") if p.is_file())
    assert "toolkit" in (tmp_path / ".bashrc").read_text()


def test_help_loads_no_progress_bars_or_heavy_libraries() -> None:
    """`toolkit --help` stays fast: the progress display is imported when a job starts."""
    code = (
        "import sys; sys.argv = ['toolkit', '--help']\n"
        "from toolkit.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print([m for m in ('rich.progress', 'rich.live', 'pydantic', 'torch', 'mlflow') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout


def example_lines() -> list[tuple[tuple[str, ...], str]]:
    """Every `toolkit ...` example line of every help page, with the page it is on."""
    lines = []
    for words in PATHS:
        for line in section(help_of(*words), "Examples"):
            if line.strip().startswith("toolkit "):
                lines.append((words, line.split("#", 1)[0].strip()))
    return lines


def test_examples_use_options_that_exist_and_files_that_ship() -> None:
    """An example that names a removed option or a config that is not in configs/ fails here, not for a user."""
    import shlex

    root = typer.main.get_command(app)
    repo = Path(__file__).resolve().parents[2]
    for _, line in example_lines():
        tokens = shlex.split(line)[1:]
        command = root
        while tokens and tokens[0] in getattr(command, "commands", {}):
            command = command.commands[tokens.pop(0)]
        if tokens[:1] == ["COMMAND"]:
            continue
        known = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)} | {"-h", "--help"}
        flags = [token.split("=", 1)[0] for token in tokens if token.startswith("-") and token != "-"]
        assert set(flags) <= known, f"{line}: unknown {set(flags) - known}"
        for token in tokens:
            if token.startswith("configs/"):
                assert (repo / token).is_file(), f"{line}: {token} is not in the repository"
