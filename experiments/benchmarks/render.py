"""Render every experiments/results/NAME/results.md from the results.json beside it.

    python -m experiments.benchmarks.render              # every results folder
    python -m experiments.benchmarks.render fnc1 score   # some
    python -m experiments.benchmarks.render --check      # exit 1 when a committed results.md differs

A results.json written by `toolkit experiment run` is rendered by toolkit.bench.report, as the run itself
did. A results.json with `"kind": "template"` is rendered through experiments/benchmarks/templates/NAME.md:
its prose is fixed, and each figure is a placeholder `{{ expression | format }}` filled from the JSON. The
expression is Python over the JSON's sections (and, as names of their own, the run ids of its "extracted"
section); lists of per-seed values do arithmetic element by element. The format is a Python format spec,
or `ms<spec>` (mean ± std of a list), `each<spec>` / `list<spec>` (every value, joined by " / " / ", "), with
a leading `u` for a typographic minus sign. No figure is typed into a template.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parents[1] / "results"
TEMPLATES = Path(__file__).resolve().parent / "templates"
PLACEHOLDER = re.compile(r"\{\{(.+?)\}\}", re.DOTALL)


class Values(tuple):  # type: ignore[type-arg]
    """Per-seed values: arithmetic element by element (or against one number), as the tables need."""

    def _apply(self, other: Any, operation: Any) -> Values:
        others = other if isinstance(other, tuple) else [other] * len(self)
        if len(others) != len(self):
            raise ValueError(f"lists of different lengths: {len(self)} and {len(others)}")
        return Values(operation(a, b) for a, b in zip(self, others, strict=True))

    def __add__(self, other: Any) -> Values:  # type: ignore[override]
        return self._apply(other, lambda a, b: a + b)

    def __sub__(self, other: Any) -> Values:
        return self._apply(other, lambda a, b: a - b)

    def __rsub__(self, other: Any) -> Values:
        return self._apply(other, lambda a, b: b - a)

    def __mul__(self, other: Any) -> Values:  # type: ignore[override]
        return self._apply(other, lambda a, b: a * b)

    def __truediv__(self, other: Any) -> Values:
        return self._apply(other, lambda a, b: a / b)

    def __rtruediv__(self, other: Any) -> Values:
        return self._apply(other, lambda a, b: b / a)


class Section(dict):  # type: ignore[type-arg]
    """A JSON object whose keys read as attributes (`run.fnc_speed.docs`)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return wrap(self[name])
        except KeyError:
            raise AttributeError(f"no figure {name!r} here; keys: {sorted(self)}") from None


def wrap(value: Any) -> Any:
    if isinstance(value, dict):
        return Section(value)
    if isinstance(value, list) and all(isinstance(item, int | float) for item in value):
        return Values(value)
    return value


FUNCTIONS = {
    "mean": lambda values: statistics.fmean(values),
    "std": lambda values: statistics.stdev(values) if len(values) > 1 else 0.0,
    "min": min,
    "max": max,
    "abs": abs,
    "len": len,
    "sum": sum,
}


def evaluate(expression: str, payload: dict[str, Any]) -> Any:
    """A placeholder's expression over the JSON (templates are part of the repository, like this code)."""
    names = {name: wrap(value) for name, value in payload.items()}
    names |= {name: wrap(value) for name, value in payload.get("extracted", {}).items()}
    return eval(expression, {"__builtins__": {}, **FUNCTIONS}, names)  # noqa: S307 - trusted templates


def formatted(value: Any, spec: str) -> str:
    """A figure as text: a format spec for one number, `ms`/`each` for per-seed values, `u` for a minus sign."""
    minus = spec.startswith("u")
    spec = spec.removeprefix("u")
    if spec.startswith("ms"):
        inner = spec.removeprefix("ms")
        text = f"{format(FUNCTIONS['mean'](value), inner)} ± {format(FUNCTIONS['std'](value), inner)}"
    elif spec.startswith("each"):
        text = " / ".join(format(item, spec.removeprefix("each")) for item in value)
    elif spec.startswith("list"):
        text = ", ".join(format(item, spec.removeprefix("list")) for item in value)
    else:
        if isinstance(value, tuple):
            if len(value) != 1:
                raise ValueError(f"{len(value)} values for one figure (use ms or each): {value}")
            value = value[0]
        text = format(value, spec)
    return text.replace("-", "−") if minus else text


def fill(template: str, payload: dict[str, Any]) -> str:
    def replace(match: re.Match[str]) -> str:
        expression, _, spec = match.group(1).partition("|")
        try:
            return formatted(evaluate(expression.strip(), payload), spec.strip())
        except Exception as exc:
            raise ValueError(f"placeholder {match.group(0)!r}: {type(exc).__name__}: {exc}") from exc

    return PLACEHOLDER.sub(replace, template)


def render(name: str) -> str:
    """results.md of experiments/results/NAME, from its results.json alone."""
    payload = json.loads((RESULTS / name / "results.json").read_text(encoding="utf-8"))
    if payload.get("kind") == "template":
        return fill((TEMPLATES / f"{name}.md").read_text(encoding="utf-8"), payload)
    from toolkit.bench.report import render_results

    return render_results(payload)


def publish(name: str, payload: dict[str, Any], out: Path | None = None) -> None:
    """A benchmark script's figures: results.json in `out` (default experiments/results/NAME) and, when that is
    the default folder, results.md rendered from it."""
    folder = out or RESULTS / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {folder / 'results.json'}")
    if folder == RESULTS / name:
        (folder / "results.md").write_text(render(name), encoding="utf-8")
        print(f"wrote {folder / 'results.md'}")


def names() -> list[str]:
    return sorted(path.parent.name for path in RESULTS.glob("*/results.json"))


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """JSON with one key per line and lists of numbers on one line (readable, and small diffs)."""
    text = json.dumps(payload, indent=1, ensure_ascii=False)
    text = re.sub(r"\[\s+([^\[\]{}]*?)\s+\]", lambda m: "[" + " ".join(m.group(1).split()) + "]", text)
    path.write_text(text + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help=f"results folders (default: all): {', '.join(names())}")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when a results.md differs")
    args = parser.parse_args()
    stale = []
    for name in args.names or names():
        text, path = render(name), RESULTS / name / "results.md"
        if args.check:
            stale += [] if path.is_file() and path.read_text(encoding="utf-8") == text else [name]
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    if stale:
        sys.exit(
            f"results.md differs from its results.json: {', '.join(stale)} (python -m experiments.benchmarks.render)"
        )


if __name__ == "__main__":
    main()
