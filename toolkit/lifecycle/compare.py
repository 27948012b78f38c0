"""Compare the best runs of an experiment in the terminal: headline metrics and the params that differ."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from toolkit.errors import ConfigError, DataError

METRIC_COLUMNS = (
    "validation_accuracy",
    "validation_macro_f1",
    "test_accuracy",
    "test_macro_f1",
    "test_f_avg",
)
IGNORED_PARAM_PREFIXES = ("tracking.", "tune.")


@dataclass
class Comparison:
    """The rows of `toolkit compare`: best first by `metric`."""

    experiment: str
    metric: str
    metric_columns: list[str]
    param_columns: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)


def compare_runs(
    experiment: str, metric: str = "validation_macro_f1", top: int = 10, ascending: bool = False
) -> Comparison:
    """The `top` finished runs of `experiment` that have `metric`, best first, with differing params."""
    from toolkit import tracking

    if top < 1:
        raise ConfigError("--top must be at least 1")
    tracking.check_store()
    try:
        runs = tracking.finished_runs(experiment, f"metrics.`{metric}` {'ASC' if ascending else 'DESC'}")
    except LookupError as exc:
        raise DataError(f"no experiment '{experiment}' in {tracking.tracking_uri()}; experiments: {exc}") from exc
    runs = [run for run in runs if metric in run.data.metrics][:top]
    if not runs:
        raise DataError(f"no finished run in '{experiment}' has the metric '{metric}'")
    columns = [metric] + [c for c in METRIC_COLUMNS if c != metric and any(c in r.data.metrics for r in runs)]
    all_params = [run_params(run) for run in runs]
    params = differing_params(all_params)
    rows = [
        {
            "run_id": run.info.run_id,
            "run_name": run.info.run_name,
            "kind": run.data.tags.get("toolkit.run_kind", "train"),
            "metrics": {c: run.data.metrics.get(c) for c in columns},
            "params": {p: values.get(p) for p in params},
        }
        for run, values in zip(runs, all_params, strict=True)
    ]
    return Comparison(experiment, metric, columns, params, rows)


def run_params(run: Any) -> dict[str, str]:
    """A run's params; a tune parent's are the chosen values of its best trial (tags toolkit.tune.best.*)."""
    prefix = "toolkit.tune.best."
    chosen = {
        key.removeprefix(prefix): str(json.loads(value))
        for key, value in run.data.tags.items()
        if key.startswith(prefix)
    }
    return run.data.params | chosen


def differing_params(all_params: list[dict[str, str]]) -> list[str]:
    """Param names with more than one value among the runs that have them."""
    keys = sorted({key for params in all_params for key in params})
    return [
        key
        for key in keys
        if not key.startswith(IGNORED_PARAM_PREFIXES)
        and len({params[key] for params in all_params if key in params}) > 1
    ]
