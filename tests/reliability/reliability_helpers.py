"""Helpers for the reliability suite: CLI results and their error contract, file snapshots, crafted models.

Its fixtures (cli, model_dirs, fast_store) are in this folder's conftest.py."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tests.helpers import CliResult, make_rows


def snapshot(root: Path, skip: tuple[str, ...] = ("mlruns", "mlruns.db", "cache")) -> dict[str, str]:
    """Every file under `root` (outside the tracking store and model cache) with its sha256."""
    files = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if relative.parts[0] in skip or not path.is_file():
            continue
        files[str(relative)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return files


def assert_one_line_error(result: CliResult, code: int, *fragments: str) -> None:
    """The contract for bad input: exit `code`, exactly one 'error: ...' line on stderr, no traceback."""
    assert result.code == code, (result.code, result.stderr, result.stdout)
    assert len(result.error_lines) == 1, result.stderr
    line = result.error_lines[0]
    assert line.startswith("error: "), line
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    for fragment in fragments:
        assert fragment in line, (fragment, line)


def fit_model_folder(folder: Path, task: str, rows: list[dict[str, str]] | None = None, **params: object) -> Path:
    """A real tfidf model folder (no MLflow), trained on the tiny synthetic corpus."""
    from toolkit.backends.tfidf.model import TfidfBackend, TfidfParams
    from toolkit.data.types import Examples
    from toolkit.models.folder import save_model

    rows = rows or make_rows(90)
    label = "stance" if task == "stance" else "topic"
    examples = Examples(
        [r["text"] for r in rows],
        [r[label] for r in rows],
        [r["target"] for r in rows] if task == "stance" else None,
    )
    settings = {"char_ngrams": None, **params}
    model = TfidfBackend(TfidfParams.model_validate(settings), task, seed=0).fit(examples)
    extra = (
        {"targets": sorted({r["target"] for r in rows}), "default_target": rows[0]["target"]}
        if task == "stance"
        else {}
    )
    save_model(model, folder, extra)
    return folder


class PicklePayload:
    """Unpickling this creates the marker file: proof that a loader ran code from the model file."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (self.marker, "w"))


class SkopsPayload:
    """skops calls __setstate__ for a trusted type: loading it with this type trusted creates the marker."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __setstate__(self, state: dict[str, str]) -> None:
        Path(state["marker"]).write_text("payload ran")
        self.__dict__.update(state)


def list_in_manifest(folder: Path, *names: str, drop: tuple[str, ...] = ()) -> None:
    """Record files in a model folder's manifest with their true sha256 (a crafted but consistent folder)."""
    import json

    from toolkit._hashing import sha256_file

    manifest = json.loads((folder / "manifest.json").read_text())
    for name in drop:
        manifest["files"].pop(name, None)
    manifest["files"].update({name: sha256_file(folder / name) for name in names})
    (folder / "manifest.json").write_text(json.dumps(manifest))
