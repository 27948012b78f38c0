"""The `toolkit` command line: each command parses options, calls one function, and prints the result.

This package is the only place that prints, exits, or turns errors into messages. Heavy libraries are
imported inside the functions the commands call, so `toolkit --help` stays fast. Commands live in
core.py (the main job), scoring.py, lifecycle.py and serving.py; importing them registers them on `app`. How results
look on the terminal is in display.py.
"""

from __future__ import annotations

import sys

from toolkit.cli import core, lifecycle, scoring, serving  # noqa: F401 - importing registers the commands
from toolkit.cli._app import app, err
from toolkit.cli._logs import library_logs
from toolkit.errors import ToolkitError

__all__ = ["app", "main"]


def _quiet_libraries(debug: bool) -> None:
    """Keep third-party chatter (MLflow INFO logs, progress bars, library warnings) off the terminal."""
    import os
    import warnings

    if debug:
        return
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "CRITICAL")  # the toolkit reports its errors itself
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
        with library_logs(debug):
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
