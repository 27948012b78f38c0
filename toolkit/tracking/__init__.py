"""Everything MLflow, and the only package that imports it (the CLI aside).

- `store`: where the store is, whether it answers, the client.
- `runs`: runs whose final status is always set, their tags, named look-ups.
- `status`: who owns a RUNNING run, and ending the stale ones (`toolkit doctor`).
- `records`: params, metrics, datasets, text, figures, tables.
- `models`: logging a model folder, the newest model of a task, fetching a model folder back.
- `cache`: where fetched model folders are kept: by content, reused, bounded.
- `pyfunc`: the MLflow pyfunc wrapper (imported only when a model is logged or served).
- `registry`: registered models, versions and aliases.

The names below are the package's interface; callers use them instead of MLflow's own module.
"""

from toolkit.tracking.latest import newest_from_index
from toolkit.tracking.latest import remember as remember_newest
from toolkit.tracking.models import (
    download_model_folder,
    log_model_folder,
    model_dir_inside,
    newest_model_run,
    recorded_hashes,
    resolve_model_ref,
    tag_logged_model,
)
from toolkit.tracking.names import (
    MODEL_ARTIFACT,
    MODEL_DIR_ARTIFACT,
    TAG_BACKEND,
    TAG_MODEL_SHA,
    TAG_MODEL_URI,
    TAG_RUN_DETAIL,
    TAG_RUN_KIND,
    TAG_TASK,
)
from toolkit.tracking.records import (
    headline_metrics,
    log_dataset,
    log_figure_file,
    log_metrics,
    log_params,
    log_table,
    log_text,
    safe_key,
    set_tags,
)
from toolkit.tracking.runs import (
    active_run_id,
    active_run_tags,
    base_tags,
    finished_runs,
    git_commit,
    resumed_run,
    run_exists,
    set_run_tag,
    tracked_run,
)
from toolkit.tracking.status import doctor, end_stale_runs
from toolkit.tracking.store import LOCAL_STORE, check_store, experiment_id_for, run_summary, tracking_uri

__all__ = [
    "LOCAL_STORE",
    "MODEL_ARTIFACT",
    "MODEL_DIR_ARTIFACT",
    "TAG_BACKEND",
    "TAG_MODEL_SHA",
    "TAG_MODEL_URI",
    "TAG_RUN_DETAIL",
    "TAG_RUN_KIND",
    "TAG_TASK",
    "active_run_id",
    "active_run_tags",
    "base_tags",
    "check_store",
    "doctor",
    "download_model_folder",
    "end_stale_runs",
    "experiment_id_for",
    "finished_runs",
    "git_commit",
    "headline_metrics",
    "log_dataset",
    "log_figure_file",
    "log_metrics",
    "log_model_folder",
    "newest_from_index",
    "remember_newest",
    "log_params",
    "log_table",
    "log_text",
    "model_dir_inside",
    "newest_model_run",
    "recorded_hashes",
    "resolve_model_ref",
    "resumed_run",
    "run_exists",
    "run_summary",
    "safe_key",
    "set_run_tag",
    "set_tags",
    "tag_logged_model",
    "tracked_run",
    "tracking_uri",
]
