"""Raw benchmark output, too large to read, goes to MLflow as an artifact (where MLflow is installed).

The GPU machine has no mlflow: there the JSON file the script wrote is all there is, and it travels back
by hand (then `extract_transformer` keeps the figures the tables need, and the raw file is gzipped under
experiments/results/transformer/raw/). Where mlflow is installed, the same file is logged as an artifact
of a run of its own in the tracking store (MLFLOW_TRACKING_URI, or the local store), so nothing large has
to be committed again.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path


def log_raw_output(path: Path, experiment: str, run_name: str, params: dict[str, str]) -> str | None:
    """Log `path` as artifact raw/<name> of a new run; the run id, or None (no mlflow, or no store)."""
    if importlib.util.find_spec("mlflow") is None:
        print(f"mlflow is not installed here: the raw output is only in {path}", flush=True)
        return None
    from toolkit import tracking
    from toolkit.errors import ToolkitError

    tags = {"toolkit.kind": "benchmark", "toolkit.benchmark_output": "raw"}
    try:
        tracking.check_store()
        with tracking.tracked_run(experiment, run_name, tags, f"raw output of {run_name}") as run:
            tracking.log_params(params)
            tracking.log_text(path.read_text(encoding="utf-8"), f"raw/{path.name}")
    except ToolkitError as exc:  # the file is written already: say why it is not in MLflow, lose nothing
        print(f"raw output not logged to MLflow ({exc}); it is in {path}", flush=True)
        return None
    print(f"raw output logged to MLflow: run {run.info.run_id}, artifact raw/{path.name}", flush=True)
    return str(run.info.run_id)
