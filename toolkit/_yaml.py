"""YAML for configs and `--set` values: PyYAML's safe loader, refusing aliases that blow the document up.

An alias (`*name`) is a reference to an anchored value, so a few hundred bytes of nested aliases ("billion
laughs") stand for billions of values. PyYAML builds them as shared references, cheaply, but whatever walks
the result later expands them: validation, an error message that echoes the value, MLflow params, Optuna's
choices. So the composed node graph is measured BEFORE any Python value is built: aliases may add at most
`ALIAS_BUDGET` values to the document, an alias inside its own anchor (a cycle) is refused, and so is nesting
deeper than Python can walk. Plain documents, however large, and the usual few anchors are untouched.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from toolkit.errors import ConfigError

ALIAS_BUDGET = 10_000
"""Values that aliases may add to one document (a config has a few hundred values in all)."""


class YAMLLimitError(ValueError):
    """A document refused before it was built: too much alias expansion, a cyclic alias or too deep."""


class _ConfigLoader(yaml.SafeLoader):
    """SafeLoader that measures the composed document before constructing it."""

    def construct_document(self, node: yaml.Node) -> Any:
        check_expansion(node)
        return super().construct_document(node)


def load_yaml(text: str) -> Any:
    """`yaml.safe_load` with the limits above; YAML syntax errors still raise yaml.YAMLError."""
    try:
        return yaml.load(text, Loader=_ConfigLoader)  # noqa: S506 - a SafeLoader subclass
    except RecursionError as exc:
        raise YAMLLimitError("the YAML is nested too deeply") from exc


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def check_expansion(root: yaml.Node) -> None:
    """Count the values the document has once every alias is expanded, without expanding anything: a node
    shared by aliases is measured once (memoised by identity), walked depth-first without recursion."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            open_nodes.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in _children(node))
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            line = node.start_mark.line + 1
            raise YAMLLimitError(f"a YAML alias refers to itself (an alias inside its own anchor, line {line})")
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node))
    added = sizes[id(root)] - len(sizes)
    if added > ALIAS_BUDGET:
        raise YAMLLimitError(
            f"YAML aliases expand the document by {added} values (at most {ALIAS_BUDGET}); "
            "refused before expanding it: write the values out, or use fewer nested aliases"
        )


def read_yaml(path: Path) -> dict[str, Any]:
    """Read a YAML mapping, turning every failure into a one-line ConfigError."""
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        tree = load_yaml(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid YAML ({_yaml_problem(exc)})") from exc
    except YAMLLimitError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    if not isinstance(tree, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys")
    return tree


def _yaml_problem(exc: Exception) -> str:
    """A YAML or decoding error as one line: the problem and where (PyYAML's own text spans lines)."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"{problem}{where}"
