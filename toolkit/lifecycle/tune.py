"""Hyperparameter search with Optuna: one MLflow parent run, a nested child run per trial, the best model
logged on the parent.

The search space is the config's `tune` section: dotted config keys with ranges, e.g.
`backend.params.C: {type: float, low: 0.1, high: 100, log: true}`. Each trial is an ordinary `train()` run
with those keys overridden, recorded as a child of the parent run (the MLflow UI nests it there). The
study lives in Optuna storage (`sqlite:///optuna.db` by default), so running the same command again resumes
it, under the same parent run while the tracking store still has that run.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolkit.config import RunConfig, SearchParam, TuneConfig, apply_override, clip, validate_tree
from toolkit.errors import ConfigError
from toolkit.tracking.names import TAG_RUN_KIND

if TYPE_CHECKING:
    from toolkit.data.prepare import PreparedData
    from toolkit.data.types import Progress

PARENT_ATTR = "mlflow_run_id"
METRIC_ATTR = "toolkit.metric"
TAG_KIND = TAG_RUN_KIND
TAG_BEST_TRIAL = "toolkit.tune.best_trial"
TAG_TRIAL = "toolkit.tune.trial"  # a trial run's number in its study (its name starts `trial N`)


@dataclass
class TuneResult:
    """What a search produced, for the CLI to print and for notebooks to use."""

    parent_run_id: str
    experiment: str
    study_name: str
    storage: str
    metric: str
    best_trial: int
    best_value: float
    best_params: dict[str, Any]
    model_uri: str | None
    trials: list[dict[str, Any]] = field(default_factory=list)
    ui: str = ""


def with_overrides(base: RunConfig, overrides: dict[str, Any], origin: str = "tune.space") -> RunConfig:
    """A copy of `base` with dotted keys set (validated like `--set`; a typo names the key)."""
    tree = base.model_dump(mode="json", exclude={"tune"})
    for key, value in overrides.items():
        apply_override(tree, key.split("."), value)
    return validate_tree(tree, origin)


def check_space(base: RunConfig, space: dict[str, SearchParam]) -> None:
    """Fail before any training when a search key does not exist or its range is not a valid value."""
    for key, param in space.items():
        for value in (param.choices or []) if param.type == "categorical" else [param.low, param.high]:
            with_overrides(base, {key: int(value) if param.type == "int" else value})


def suggest(trial: Any, space: dict[str, SearchParam]) -> dict[str, Any]:
    """Ask Optuna for one value per key. Choices that are not scalars (e.g. [2, 5]) travel as JSON text."""
    values: dict[str, Any] = {}
    for key, param in space.items():
        if param.type == "float":
            values[key] = trial.suggest_float(key, param.low, param.high, log=param.log, step=param.step)
        elif param.type == "int":
            low, high, step = int(param.low or 0), int(param.high or 0), int(param.step or 1)
            values[key] = trial.suggest_int(key, low, high, log=param.log, step=step)
        elif as_json(param):
            encoded = [json.dumps(choice) for choice in param.choices or []]
            values[key] = json.loads(trial.suggest_categorical(key, encoded))
        else:
            values[key] = trial.suggest_categorical(key, param.choices)
    return values


def as_json(param: SearchParam) -> bool:
    """Optuna's choices must be scalars; a space with lists among its choices is stored as JSON text."""
    return param.type == "categorical" and not all(
        c is None or isinstance(c, str | int | float | bool) for c in param.choices or []
    )


def metric_value(metrics: dict[str, dict[str, float]], metric: str) -> float:
    """'validation_macro_f1' -> metrics['validation']['macro_f1'], or an error listing the choices."""
    split, _, name = metric.partition("_")
    if name not in metrics.get(split, {}):
        known = [f"{s}_{n}" for s, values in metrics.items() for n in values if s == "validation"]
        raise ConfigError(f"tune.metric '{metric}' is not a metric of this run; one of: {', '.join(known)}")
    return float(metrics[split][name])


def check_metric(metric: str, prepared: PreparedData) -> None:
    """Fail before the first trial when the evaluation cannot produce `metric` (a typo used to cost a whole
    trial): the names are those `task_metrics` gives the validation split, its labels and the model's."""
    from toolkit.lifecycle.tune_cv import check_cv_metric
    from toolkit.metrics import task_metrics

    if metric.startswith("cv_"):
        return check_cv_metric(metric, prepared)
    validation, labels = prepared.splits["validation"], sorted(set(prepared.splits["train"].labels))
    if not len(validation):
        raise ConfigError(f"tune.metric '{clip(metric)}' needs a validation split; set data.split.validation above 0")
    gold = [*validation.labels, *labels]  # every label once more: the metrics a prediction of it would add
    targets = None if validation.targets is None else [*validation.targets, *[validation.targets[0]] * len(labels)]
    names = {f"validation_{name}" for name in task_metrics(gold, gold, labels, targets)}
    if metric not in names:
        overall = ", ".join(sorted(name for name in names if "." not in name))
        raise ConfigError(
            f"tune.metric '{clip(metric)}' is not a metric of this task's evaluation; one of: {overall} "
            "(or validation_f1.LABEL, validation_precision.LABEL, validation_recall.LABEL for one label)"
        )


def check_resumable(study: Any, spec: TuneConfig, parent_id: str | None) -> None:
    """A study keeps its metric: its trials' values and its parent run's params are in that metric (a study
    from before it was recorded on the study: the parent run's `tune.metric` param)."""
    from toolkit.tracking.store import client

    recorded = study.user_attrs.get(METRIC_ATTR)
    if recorded is None and parent_id is not None:
        recorded = client().get_run(parent_id).data.params.get("tune.metric")
    if recorded and recorded != spec.metric:
        raise ConfigError(
            f"study '{study.study_name}' was created for tune.metric '{recorded}', not '{clip(spec.metric)}': "
            f"resume it with tune.metric {recorded}, or set a new tune.study_name to search for {clip(spec.metric)}"
        )


@contextmanager
def parent_run(
    config: RunConfig, name: str, tags: dict[str, str], description: str, parent_id: str | None
) -> Iterator[Any]:
    """The search's parent run, new or an earlier session's. A resumed parent that had FINISHED holds that
    session's best model: a session that fails or is stopped leaves it FINISHED (the failed trial's own run
    says what failed), never FAILED or KILLED."""
    from toolkit import tracking
    from toolkit.tracking.store import client

    before = client().get_run(parent_id).info if parent_id else None
    try:
        with tracking.tracked_run(config.experiment_name, name, tags, description, run_id=parent_id) as run:
            yield run
    except BaseException:
        if before is not None and before.status == "FINISHED":
            client().set_terminated(before.run_id, "FINISHED", end_time=before.end_time)
        raise


def safe_storage(storage: str) -> str:
    """The storage URL without a password, for logging."""
    return re.sub(r"//([^:/@]+):[^@/]+@", r"//\1:***@", storage)


def open_study(spec: TuneConfig, study_name: str, seed: int) -> Any:
    """Create the Optuna study, or load it (resume) when the storage already has one by that name."""
    from toolkit._deps import require

    optuna = require("optuna", "tune")
    try:
        study = optuna.create_study(
            storage=spec.storage, study_name=study_name, direction=spec.direction, load_if_exists=True
        )
    except Exception as exc:
        raise ConfigError(f"Optuna storage {safe_storage(spec.storage)} cannot be opened: {exc}") from exc
    # seeded, yet a resumed study must not replay the suggestions of its first session
    study.sampler = optuna.samplers.TPESampler(seed=seed + len(study.trials))
    if study.direction.name.lower() != spec.direction:
        raise ConfigError(
            f"study '{study_name}' in {safe_storage(spec.storage)} was created to "
            f"{study.direction.name.lower()}; use another tune.study_name to {spec.direction}"
        )
    return study


def existing_parent(study: Any) -> str | None:
    """The parent run of an earlier session of this study, when the tracking store still has it."""
    from toolkit import tracking

    run_id = study.user_attrs.get(PARENT_ATTR)
    if not run_id:
        return None
    return str(run_id) if tracking.run_exists(run_id) else None


def tune(config: RunConfig, trials: int, progress: Progress | None = None) -> TuneResult:
    """Run `trials` more trials of the config's search (resuming its study) and log the best model.

    Example:
        >>> from toolkit.config import load_config
        >>> result = tune(load_config("configs/tune_topic_tfidf.yaml"), trials=5)  # doctest: +SKIP
    """
    from toolkit import tracking
    from toolkit.run_names import run_detail
    from toolkit.train import ensure_prepared, run_name

    if config.tune is None:
        raise ConfigError("this config has no 'tune' section (the search space); see configs/tune_topic_tfidf.yaml")
    spec, base = config.tune, with_overrides(config, {}, "config")
    check_space(base, spec.space)
    tracking.check_store()
    prepared = ensure_prepared(base, progress)
    check_metric(spec.metric, prepared)
    study_name = spec.study_name or f"{config.experiment_name}-tune"
    study = open_study(spec, study_name, config.seed)
    name = f"{run_name(base)} tune"
    fingerprint = {TAG_KIND: "tune", "toolkit.data_fingerprint": prepared.manifest["fingerprint"]}
    parent_id = existing_parent(study)
    check_resumable(study, spec, parent_id)
    detail = f"{run_detail(base, prepared.manifest['fingerprint'])}; study {study_name}"
    tags = tracking.base_tags(base) | fingerprint | {tracking.TAG_RUN_DETAIL: detail}
    with parent_run(config, name, tags, parent_description(spec, study_name), parent_id) as run:
        study.set_user_attr(PARENT_ATTR, run.info.run_id)
        study.set_user_attr(METRIC_ATTR, spec.metric)
        log_parent_settings(spec, study_name, prepared, resumed=parent_id is not None)
        workdir = Path(tempfile.mkdtemp(prefix="toolkit-tune-"))
        try:
            run_trials(study, base, spec, trials, run.info.run_id, name, workdir, progress)
            model_uri = log_best(study, base, spec, prepared, name, workdir, progress)
            complete = sum(trial.state.name == "COMPLETE" for trial in study.trials)
            tracking.log_metrics({"trials_complete": complete}, "tune")
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    return result_of(study, run, config, spec, model_uri)


def parent_description(spec: TuneConfig, study_name: str) -> str:
    """The parent run's description in the MLflow UI."""
    keys = ", ".join(f"`{key}`" for key in spec.space)
    return (
        f"Optuna study `{study_name}` ({safe_storage(spec.storage)}): {spec.direction} `{spec.metric}` "
        f"over {keys}. Each trial is a child run; this run holds the best trial's model and its "
        "evaluation."
    )


def log_parent_settings(spec: TuneConfig, study_name: str, prepared: PreparedData, resumed: bool = False) -> None:
    """The study's settings as params (logged by its first session: they never change for a study, and MLflow
    refuses a param logged again with another spelling, e.g. the storage's path) and the space as a tag."""
    from toolkit import tracking

    if not resumed:
        tracking.log_params(
            {
                "tune.metric": spec.metric,
                "tune.direction": spec.direction,
                "tune.study_name": study_name,
                "tune.storage": safe_storage(spec.storage),
                "tune.cv": json.dumps(spec.cv.model_dump(mode="json")),
            }
        )
    tracking.set_tags({"toolkit.tune.space": json.dumps(spec.model_dump(mode="json")["space"])})
    tracking.log_dataset(prepared.manifest, prepared.splits, str(prepared.path))


def run_trials(
    study: Any,
    base: RunConfig,
    spec: TuneConfig,
    trials: int,
    parent_id: str,
    name: str,
    workdir: Path,
    progress: Progress | None,
) -> None:
    """Each trial: suggested overrides -> `train()` as a child run (its model folder kept while best)."""
    from toolkit import tracking
    from toolkit.data.types import report_step
    from toolkit.lifecycle.tune_cv import cv_trial
    from toolkit.run_names import trial_name
    from toolkit.train import train

    def objective(trial: Any) -> float:
        values = suggest(trial, spec.space)
        config = with_overrides(
            base, values | {"tracking.run_name": trial_name(trial.number, values), "tracking.log_model": False}
        )
        if spec.cv.folds:  # scored by k-fold cross-validation (toolkit.lifecycle.tune_cv): no model folder kept
            result: Any = cv_trial(config, spec, parent_id, progress)
        else:
            result = train(config, parent_run_id=parent_id, model_dir=workdir / f"trial-{trial.number}")
        trial.set_user_attr("run_id", result.run_id)
        tracking.set_run_tag(result.run_id, TAG_KIND, "trial")
        tracking.set_run_tag(result.run_id, TAG_TRIAL, str(trial.number))
        value = metric_value(result.metrics, spec.metric)
        if progress:
            shown = ", ".join(
                f"{k.rsplit('.', 1)[-1]}={v:.4g}" if isinstance(v, float) else f"{k.rsplit('.', 1)[-1]}={json.dumps(v)}"
                for k, v in values.items()
            )
            progress(f"trial {trial.number}: {spec.metric}={value:.4f} ({shown})")
        return value

    def keep_only_best(study: Any, trial: Any) -> None:
        best = study.best_trial.number if study.best_trials else None
        for folder in workdir.glob("trial-*"):
            if folder.name != f"trial-{best}":
                shutil.rmtree(folder, ignore_errors=True)

    finished = iter(range(1, trials + 1))

    def count_trial(study: Any, trial: Any) -> None:
        report_step(progress, "trial", next(finished, trials), trials)

    from toolkit.backends.reuse import reusing_features

    report_step(progress, "trial", 0, trials)
    with reusing_features():  # every trial refits the same rows: frozen features are computed once
        study.optimize(objective, n_trials=trials, callbacks=[keep_only_best, count_trial])


def log_best(
    study: Any,
    base: RunConfig,
    spec: TuneConfig,
    prepared: PreparedData,
    name: str,
    workdir: Path,
    progress: Progress | None,
) -> str | None:
    """Evaluate and log the best trial's model on the parent run (refit once if its folder is gone)."""
    from toolkit import tracking
    from toolkit.models.folder import load_model
    from toolkit.train import evaluate_splits, log_trained_model, train

    if not study.best_trials:
        raise ConfigError(f"study '{study.study_name}' has no completed trial; run it with --trials 1+")
    best = study.best_trial
    tags = tracking.active_run_tags()
    if tags.get(TAG_BEST_TRIAL) == str(best.number) and tracking.TAG_MODEL_URI in tags:
        return str(tags[tracking.TAG_MODEL_URI])  # a resumed study whose best did not change
    config = with_overrides(base, best_overrides(best, spec))
    folder = workdir / f"trial-{best.number}"
    if not folder.is_dir():
        if progress:
            progress(f"fitting trial {best.number}'s settings on the train split to log its model")
        refit = with_overrides(config, {"tracking.run_name": f"trial {best.number} refit", "tracking.log_model": False})
        train(refit, parent_run_id=tracking.active_run_id(), model_dir=folder)
    if progress:
        progress(f"logging trial {best.number}'s model on the parent run")
    model = load_model(folder)
    title = f"{name} (trial {best.number})"
    evaluate_splits(model, prepared.splits, config.tracking.misclassified_rows, title, figures=config.tracking.figures)
    uri = log_trained_model(model, config, prepared, prepared.splits["train"])
    overrides = best_overrides(best, spec)
    chosen = {f"toolkit.tune.best.{key}": json.dumps(value) for key, value in overrides.items()}
    tracking.set_tags(
        chosen | {TAG_BEST_TRIAL: str(best.number), "toolkit.tune.best_run_id": best.user_attrs.get("run_id", "")}
    )
    return uri


def best_overrides(trial: Any, spec: TuneConfig) -> dict[str, Any]:
    """A trial's parameters as config values (JSON-encoded choices decoded again)."""
    return {
        key: json.loads(value) if key in spec.space and as_json(spec.space[key]) else value
        for key, value in trial.params.items()
    }


def result_of(study: Any, run: Any, config: RunConfig, spec: TuneConfig, model_uri: str | None) -> TuneResult:
    """The study's trials and best, with the parent run's IDs."""
    from toolkit import tracking

    trials = [
        {
            "number": t.number,
            "state": t.state.name,
            "value": t.value,
            "run_id": t.user_attrs.get("run_id"),
            "params": best_overrides(t, spec),
        }
        for t in study.trials
    ]
    best = study.best_trial
    return TuneResult(
        parent_run_id=run.info.run_id,
        experiment=config.experiment_name,
        study_name=study.study_name,
        storage=safe_storage(spec.storage),
        metric=spec.metric,
        best_trial=best.number,
        best_value=float(best.value),
        best_params=best_overrides(best, spec),
        model_uri=model_uri,
        trials=trials,
        ui=tracking.run_summary(run)["ui"],
    )
