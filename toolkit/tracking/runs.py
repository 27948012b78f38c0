"""Runs and their lifecycle: a run whose final status is always set, its tags, and named run look-ups.

Every toolkit run records who runs it (`status.owner_tags`), so a run left RUNNING by a killed process
can be found and ended later (`toolkit doctor`).
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from toolkit import __version__
from toolkit.tracking.names import TAG_BACKEND, TAG_RUN_KIND, TAG_TASK
from toolkit.tracking.status import owner_tags
from toolkit.tracking.store import client, experiment_id_for, mlflow_module

if TYPE_CHECKING:
    from toolkit.config import RunConfig


def git_commit() -> str:
    """The working folder's git commit (with '-dirty' when it has changes), or 'unknown'."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if commit.returncode != 0:
        return "unknown"
    return commit.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


@contextmanager
def tracked_run(
    experiment: str,
    run_name: str,
    tags: dict[str, str],
    description: str | None = None,
    parent_run_id: str | None = None,
    run_id: str | None = None,
    number_repeats: bool = False,
) -> Iterator[Any]:
    """An MLflow run whose final status is set here: FINISHED, FAILED on an error, KILLED on Ctrl-C/SIGTERM.

    `parent_run_id` makes it a nested child of that (active) run, as a tuning trial is; `run_id` resumes an
    existing run instead of starting a new one, as a resumed tuning study does with its parent run;
    `number_repeats` names a new run `NAME (2)`, `NAME (3)`... when the experiment already has runs named NAME.
    A new experiment gets a description (see `experiment_note`).
    """
    mlflow = mlflow_module()
    active = mlflow.active_run()
    if active is not None and parent_run_id is None and run_id is None:
        # inside another run (an experiment's parent run): become its child, in its experiment
        parent_run_id, experiment_id = active.info.run_id, active.info.experiment_id
    else:
        experiment_id = experiment_id_for(experiment, experiment_note(tags))
        mlflow.set_experiment(experiment_id=experiment_id)
    nested = parent_run_id is not None
    if number_repeats and run_id is None:
        run_name = numbered(experiment_id, run_name)
    run = mlflow.start_run(
        run_id=run_id,
        experiment_id=experiment_id,
        run_name=None if run_id else run_name,
        tags=tags | owner_tags(),
        description=description,
        nested=nested,
        parent_run_id=parent_run_id,
    )

    def on_sigterm(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt("SIGTERM")

    previous = signal.signal(signal.SIGTERM, on_sigterm) if _main_thread() else None
    try:
        yield run
    except KeyboardInterrupt:
        mlflow.end_run(status="KILLED")
        raise
    except BaseException:
        mlflow.end_run(status="FAILED")
        raise
    else:
        mlflow.end_run(status="FINISHED")
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def numbered(experiment_id: str, name: str) -> str:
    """`name`, or `name (N)` with the first N from 2 that no run of the experiment has: runs of one config (named
    by what they set) stay apart in the runs table and in `toolkit compare`. Run names hold no quote."""
    found = client().search_runs(
        [experiment_id], filter_string=f"attributes.run_name LIKE '{name.replace(chr(39), '')}%'", max_results=5000
    )
    taken = {run.info.run_name for run in found}
    number = 2
    while name in taken and f"{name} ({number})" in taken:
        number += 1
    return f"{name} ({number})" if name in taken else name


def experiment_note(tags: dict[str, str]) -> str:
    """The description a new experiment gets (the MLflow UI shows it above its runs), from its first run's tags."""
    task, dataset = tags.get(TAG_TASK), tags.get("toolkit.dataset")
    if "toolkit.experiment_spec" in tags or not task:
        return (
            f"Benchmark `{tags.get('toolkit.experiment_spec', '?')}` (`toolkit experiment run`): a parent run per "
            "session, with a child run per system and seed; the parent's artifacts hold the results table."
        )
    if tags.get(TAG_RUN_KIND) == "evaluation":
        return (
            f"Evaluations of {task} models (`toolkit evaluate`): one run per model and data, named after the data; "
            "the tag `toolkit.model_ref` says which model. Each run holds the metrics, the confusion matrices, "
            "precision-recall and reliability plots and the misclassified examples under Artifacts > evaluation."
        )
    on = f" on the dataset `{dataset}`" if dataset else ""
    return (
        f"{task.capitalize()} classifiers trained by the toolkit{on}. Runs are named by backend and the settings "
        "that differ from its defaults (the tag `toolkit.run_detail` has them all); a tuning study is one parent run "
        "with a child run per trial. Compare runs with `toolkit compare`; register the best with "
        "`toolkit models register RUN_ID --name NAME`."
    )


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def base_tags(config: RunConfig) -> dict[str, str]:
    """Tags every training run carries."""
    return {
        TAG_TASK: config.task,
        TAG_BACKEND: config.backend.name,
        "toolkit.version": __version__,
        "toolkit.dataset": config.data.name,
        "mlflow.source.git.commit": git_commit(),
    }


def active_run_id() -> str:
    """The id of the run this process is logging to; a programming error when there is none."""
    run = mlflow_module().active_run()
    if run is None:
        raise RuntimeError("no active MLflow run")
    return str(run.info.run_id)


def active_run_tags() -> dict[str, str]:
    """The tags of the active run as the store holds them now (including those set by earlier sessions)."""
    return dict(client().get_run(active_run_id()).data.tags)


def run_exists(run_id: str) -> bool:
    """Whether the store still holds the run (it may have been deleted since it was recorded)."""
    try:
        client().get_run(run_id)
    except Exception:
        return False
    return True


def set_run_tag(run_id: str, key: str, value: str) -> None:
    """Tag a run that is not the active one (e.g. a finished tuning trial)."""
    client().set_tag(run_id, key, value)


@contextmanager
def resumed_run(run_id: str) -> Iterator[None]:
    """Log to an existing run again (nested under the active one), e.g. a figure measured after it ended."""
    with mlflow_module().start_run(run_id=run_id, nested=True):
        yield


def finished_runs(experiment: str, order_by: str, max_results: int = 1000) -> list[Any]:
    """FINISHED runs of one experiment, ordered by `order_by` (MLflow's syntax); DataError-free: an unknown
    experiment raises LookupError naming the experiments that exist."""
    store = client()
    found = store.get_experiment_by_name(experiment)
    if found is None:
        names = sorted(e.name for e in store.search_experiments())
        raise LookupError(", ".join(names) or "none yet")
    return list(
        store.search_runs(
            [found.experiment_id],
            filter_string="attributes.status = 'FINISHED'",
            order_by=[order_by],
            max_results=max_results,
        )
    )
