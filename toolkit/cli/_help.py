"""How `--help` reads: click-style metavars (TEXT, PATH, [a|b]), one-line summaries, an Examples section.

Typer's own labels read like Python (`<list[str]>`, `<int range>`, `{files}...`) and its command list cuts
summaries with "...". Every command and group of the app is built from the classes here (`ToolkitTyper`
makes them the default), so a command added anywhere gets the same help without writing it by hand.
"""

from __future__ import annotations

import inspect
from typing import Any

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

TYPE_NAMES = {int: "INTEGER", float: "NUMBER", str: "TEXT", bool: "BOOLEAN"}
HELP_WIDTH = 120  # help uses the terminal's width up to this (click's default stops at 80)


def examples(*lines: str) -> str:
    """An epilog of example command lines, shown as an `Examples:` section and never re-wrapped."""
    return "\b\n" + "\n".join(lines)


def option_metavar(param: TyperOption) -> str | None:
    """What an option's value looks like: its choices as [a|b|c], else TEXT, INTEGER, NUMBER or PATH."""
    if param.is_flag or param.count:
        return None
    descriptor = param.type_descriptor
    if descriptor.is_choice:
        return "[" + "|".join(str(choice) for choice in descriptor.choices or ()) + "]"
    if descriptor.is_path:
        return "PATH"
    annotation = descriptor.annotation
    element = annotation.__args__[0] if descriptor.is_list else annotation
    return TYPE_NAMES.get(element, "TEXT")


def first_sentence(text: str | None) -> str | None:
    """A command's summary for the command list: the first sentence of its help, whole, without its period."""
    if not text:
        return None
    import re

    paragraph = inspect.cleandoc(text).partition("\n\n")[0].replace("\n", " ")
    return re.split(r"(?<!e\.g)(?<!i\.e)\. ", paragraph, maxsplit=1)[0].rstrip(".").strip()


def tidy(command: Any) -> None:
    """Give every option and argument a click-style metavar (unless set), mark repeatable options, and make
    the summary the first sentence (click would cut the help at the width and end it with '...')."""
    for param in command.params:
        if isinstance(param, TyperArgument) and param.metavar is None:
            param.metavar = param.name.upper()
        elif isinstance(param, TyperOption):
            param.metavar = param.metavar or option_metavar(param)
            if param.multiple and param.help and "repeat" not in param.help:
                param.help = f"{param.help.rstrip('.')} (repeatable)."
    if command.short_help is None:
        command.short_help = first_sentence(command.help)


def argument_label(param: TyperArgument) -> str:
    """FILE, [FILE], FILES... or [FILES]... as click writes arguments (Typer writes {files}...)."""
    name = param.metavar or param.name.upper()
    name = name if param.required else f"[{name}]"
    return f"{name}..." if param.nargs != 1 else name


def format_examples(command: Any, formatter: Any) -> None:
    """The epilog as an `Examples:` section at the level of `Options:`."""
    if command.epilog:
        with formatter.section("Examples"):
            formatter.write_text(inspect.cleandoc(command.epilog))


class ToolkitCommand(TyperCommand):
    """A command whose help has click-style metavars, argument names and an Examples section."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        tidy(self)

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            is_argument = isinstance(param, TyperArgument)
            pieces.extend([argument_label(param)] if is_argument else param.get_usage_pieces(ctx))
        return pieces

    def format_options(self, ctx: Any, formatter: Any) -> None:
        sections: dict[str, list[tuple[str, str]]] = {"Arguments": [], "Options": []}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            if isinstance(param, TyperArgument):
                sections["Arguments"].append((argument_label(param).replace("[", "").replace("]", ""), record[1]))
            else:
                sections["Options"].append(record)
        for title, rows in sections.items():
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)

    def format_epilog(self, ctx: Any, formatter: Any) -> None:
        format_examples(self, formatter)


class ToolkitGroup(TyperGroup):
    """A command group with the same help conventions (its command list shows whole first sentences)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        tidy(self)

    def format_epilog(self, ctx: Any, formatter: Any) -> None:
        format_examples(self, formatter)


class ToolkitTyper(typer.Typer):
    """typer.Typer whose commands and groups are ToolkitCommand/ToolkitGroup, with plain (fast) help as wide
    as the terminal allows and `-h` as well as `--help`."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("cls", ToolkitGroup)
        kwargs.setdefault("rich_markup_mode", None)  # Typer's rich help imports a Markdown parser (~0.25 s)
        settings = {"max_content_width": HELP_WIDTH, "help_option_names": ["-h", "--help"]}
        kwargs["context_settings"] = {**settings, **kwargs.get("context_settings", {})}
        super().__init__(**kwargs)

    def command(self, *args: Any, cls: Any = None, **kwargs: Any) -> Any:
        return super().command(*args, cls=cls or ToolkitCommand, **kwargs)
