"""A spec with `unseen:`: a stance config measured on targets no training row has, fold by fold.

Each fold holds out its share of every rotated source's targets (toolkit.bench.unseen_data.rotation) through
`data.split.test_targets`, so the held-out rows of every source land in the test split and none of their targets
occurs in training or validation; the targets of `unseen` evaluation sets (VAST's zero-shot rows) are held out of
every fold the same way. Per fold, one child run trains the toolkit model exactly as `toolkit train` does, and
beside it, on the same train split: the spec's baselines (TF-IDF + LR on "target text"), the per-source models
(one config fitted on each source alone) and a plain `transformers.Trainer` cross-encoder. Each is scored on
every source's held-out rows, on the evaluation sets and on the relevance pairs (a held-out text with another
held-out row's target: the share answered "none"), and the toolkit model is adapted to k rows of held-out
targets (`few_shot`). Confusion counts go to results.json; results.md is rendered from them alone.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolkit.bench.report import TOOLKIT_ROW, machine
from toolkit.bench.spec import ExperimentSpec, experiment_name, results_folder
from toolkit.bench.unseen_data import (
    confusion,
    few_shot_rows,
    joined,
    original_rows,
    read_evaluation_set,
    rotation,
)
from toolkit.bench.unseen_report import RELEVANCE, render_unseen, summary
from toolkit.data.folds import subset
from toolkit.data.targets import normalize_target, other_targets
from toolkit.data.types import Examples, Progress
from toolkit.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Callable

    from toolkit.bench.baselines import Predictor
    from toolkit.config import RunConfig

    Scorer = Callable[[str, Examples], list[str]]  # (set name, its rows) -> predicted labels ([]: not answered)

PER_SOURCE_ROW = "per-source models"
TRAINER_ROW = "plain Trainer cross-encoder"


@dataclass
class UnseenRun:
    """What the CLI prints after a run, as for any spec."""

    spec: ExperimentSpec
    payload: dict[str, Any] = field(default_factory=dict)
    parent_run_id: str = ""
    results_path: str = ""
    seconds: float = 0.0


def fold_config(spec: ExperimentSpec, seed: int, fold: int | None, held_out: list[str]) -> RunConfig:
    """The spec's config for one fold: its held-out targets in the test split, its own prepared folder and run."""
    from toolkit.config import load_config

    config = load_config(spec.config, [*spec.overrides, f"seed={seed}", f"data.split.seed={seed}"])
    config.data.split.test = 0.0
    config.data.split.test_targets = held_out
    suffix = "all" if fold is None else f"fold{fold}"
    config.data.output = f"data/processed/{config.data.name}-{config.task}-{spec.name}-{suffix}-seed{seed}"
    config.tracking.experiment = experiment_name(spec)
    config.tracking.run_name = f"{spec.name}-{config.backend.name}-{suffix}-seed{seed}"
    config.tracking.log_model = False  # the fold's model folder is kept locally for the few-shot step
    return config


def run_unseen(spec: ExperimentSpec, spec_path: str, progress: Progress | None = None) -> UnseenRun:
    """Every seed's folds under one parent run; results.json and results.md written; the figures returned."""
    from toolkit import tracking
    from toolkit.train import ensure_prepared

    assert spec.unseen is not None
    check_configs(spec)
    run = UnseenRun(spec)
    started = time.perf_counter()
    tracking.check_store()
    tags = {"toolkit.experiment_spec": spec.name, "toolkit.kind": "benchmark"}
    with tracking.tracked_run(experiment_name(spec), f"{spec.name}-benchmark", tags, spec.description) as parent:
        tracking.log_params({"spec": spec_path, "seeds": str(spec.seeds), "config": spec.config})
        folds = []
        for seed in spec.seeds:
            everything = ensure_prepared(uncapped(fold_config(spec, seed, None, [])), progress)
            rows = joined([everything.splits[name] for name in ("train", "validation", "test")])
            labels = sorted(set(rows.labels))
            sets = {es.name: read_evaluation_set(es, labels) for es in spec.unseen.evaluation_sets}
            always = held_everywhere(spec, sets, rows)
            for fold, held in enumerate(rotation(rows, list(spec.unseen.rotate), spec.unseen.folds, seed)):
                if progress:
                    progress(f"seed {seed}, fold {fold + 1}/{spec.unseen.folds}: {len(held)} held-out targets")
                also = texts_as_targets(spec, rows, set(held))
                folds.append(run_fold(spec, seed, fold, sorted(set(held) | also | set(always)), sets, progress))
        run.payload = {
            "spec": spec.model_dump(),
            "spec_path": spec_path,
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": machine(),
            "folds": folds,
            "seconds": time.perf_counter() - started,
        }
        figures = summary(run.payload)
        tracking.log_metrics(
            {
                f"{row}.{column}": value
                for row, columns in figures.items()
                for column, value in columns.items()
                if value == value
            },
            prefix="unseen",
        )
        run.parent_run_id = parent.info.run_id
        run.payload["parent_run_id"] = run.parent_run_id
        folder = results_folder(spec)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "results.json").write_text(json.dumps(run.payload, indent=2) + "\n", encoding="utf-8")
        (folder / "results.md").write_text(render_unseen(run.payload), encoding="utf-8")
        run.results_path = str(folder / "results.md")
        tracking.log_text((folder / "results.md").read_text(encoding="utf-8"), "results.md")
    run.seconds = time.perf_counter() - started
    return run


def uncapped(config: RunConfig) -> RunConfig:
    """The config with every source's caps lifted: each rotated target is counted and rotated, and a held-out
    text or topic is looked up in every row a fold might sample (a fold's caps never drop its held-out rows
    either: toolkit.data.sources.apply_caps)."""
    for source in config.data.sources or []:
        source.max_rows = None
        source.max_rows_per_label = None
    return config


def texts_as_targets(spec: ExperimentSpec, rows: Examples, held: set[str]) -> set[str]:
    """Texts of the held-out rows that another row has as its target: held out too. FNC-1 was built from
    Emergent's articles: an Emergent headline (a text) is an FNC-1 headline (a target) paired with the same
    story's bodies, which would otherwise stay in training while its claim is held out."""
    assert spec.unseen is not None
    targets = {normalize_target(t) for t in rows.targets or []}
    keep = [
        i
        for i in original_rows(rows)
        if (rows.sources or [])[i] in spec.unseen.rotate and normalize_target((rows.targets or [])[i]) in held
    ]
    return {normalize_target(rows.texts[i]) for i in keep} & targets


def check_configs(spec: ExperimentSpec) -> None:
    """Every config the run will read is valid before the first fold trains (a typo fails in a second)."""
    from toolkit.config import load_config

    assert spec.unseen is not None
    sources = fold_config(spec, spec.seeds[0], 0, []).data.source_names
    named = [*spec.unseen.rotate, *(es.per_source_model for es in spec.unseen.evaluation_sets if es.per_source_model)]
    unknown = [name for name in named if name not in sources]
    if unknown:
        raise ConfigError(f"unseen: source '{unknown[0]}' is not one of the config's sources: {', '.join(sources)}")
    if spec.unseen.per_source:
        load_config(spec.unseen.per_source)
    if spec.unseen.few_shot is not None:
        load_config(spec.unseen.few_shot.config, spec.unseen.few_shot.overrides)


def held_everywhere(spec: ExperimentSpec, sets: dict[str, Examples], rows: Examples) -> list[str]:
    """Targets of the `unseen` evaluation sets that the training sources also have: held out of every fold."""
    assert spec.unseen is not None
    present = {normalize_target(t) for t in rows.targets or []}
    wanted = {
        normalize_target(t) for es in spec.unseen.evaluation_sets if es.unseen for t in sets[es.name].targets or []
    }
    return sorted(wanted & present)


def run_fold(
    spec: ExperimentSpec, seed: int, fold: int, held: list[str], sets: dict[str, Examples], progress: Progress | None
) -> dict[str, Any]:
    """One fold: train the toolkit model (a child run), fit the rows beside it, score them all."""
    from toolkit import tracking
    from toolkit.train import ensure_prepared, train

    assert spec.unseen is not None
    config = fold_config(spec, seed, fold, held)
    model_dir = Path(f"{config.data.output}-model")  # beside its prepared data: the few-shot step starts from it
    trained = train(config, progress, model_dir=model_dir)
    prepared = ensure_prepared(config)
    train_rows, test = prepared.splits["train"], prepared.splits["test"]
    scored = {source: subset(test, original_rows(test, source)) for source in spec.unseen.rotate} | sets
    predictors = {TOOLKIT_ROW: anywhere(model_predictor(trained.model))}
    predictors |= side_predictors(spec, config, train_rows, progress)
    record: dict[str, Any] = {
        "seen_share": seen_share(spec, sets, train_rows),
        "seed": seed,
        "fold": fold,
        "held_out_targets": held,
        "run_id": trained.run_id,
        "train_rows": len(train_rows),
        "train_seconds": trained.train_seconds,
        "rows": {},
    }
    for row, predict in predictors.items():
        if progress:
            progress(f"fold {fold + 1}: scoring {row}")
        record["rows"][row] = score_row(spec, predict, scored, seed)
    if spec.unseen.few_shot is not None:
        record["few_shot"] = few_shot(spec, config, trained.model, model_dir, test, seed, progress)
    with tracking.resumed_run(trained.run_id):
        tracking.log_text(json.dumps(record, indent=2), "unseen/fold.json")
    return record


def seen_share(spec: ExperimentSpec, sets: dict[str, Examples], train_rows: Examples) -> dict[str, float]:
    """For each evaluation set whose targets may be trained on (few-shot rows): the share of its rows whose
    target the fold's train split has (caps and the validation split leave some out)."""
    assert spec.unseen is not None
    trained = {normalize_target(t) for t in train_rows.targets or []}
    return {
        es.name: sum(normalize_target(t) in trained for t in sets[es.name].targets or []) / len(sets[es.name])
        for es in spec.unseen.evaluation_sets
        if not es.unseen
    }


def model_predictor(model: Any) -> Predictor:
    return lambda rows: [str(label) for label in model.predict(rows.texts, rows.targets)]


def anywhere(predict: Predictor) -> Scorer:
    """A model that answers every set of rows alike."""
    return lambda name, rows: predict(rows)


def side_predictors(
    spec: ExperimentSpec, config: RunConfig, train_rows: Examples, progress: Progress | None
) -> dict[str, Scorer]:
    """The rows beside the toolkit model, fitted on the same train split: baselines, per-source, Trainer."""
    from toolkit.bench.baselines import FITTERS

    assert spec.unseen is not None
    predictors = {name: anywhere(FITTERS[name](train_rows, config.seed)) for name in spec.baselines}
    if spec.unseen.per_source:
        predictors.update(per_source_predictor(spec, config, train_rows))
    if spec.unseen.trainer:
        from toolkit.bench.trainer_baseline import fit_trainer_cross_encoder

        params = config.backend.params
        if progress:
            progress(f"training the plain Trainer cross-encoder on {len(train_rows)} rows")
        predictors[TRAINER_ROW] = anywhere(
            fit_trainer_cross_encoder(
                train_rows,
                str(params["model_name_or_path"]),
                int(params.get("max_length", 256)),
                float(params.get("epochs", 1)),
                config.seed,
            )
        )
    return predictors


def per_source_predictor(spec: ExperimentSpec, config: RunConfig, train_rows: Examples) -> dict[str, Scorer]:
    """One model per source, fitted on that source's own train rows (no relevance negatives); a set of rows is
    answered by the model of its source (an evaluation set by its `per_source_model`, else not at all)."""
    from toolkit.backends import get_backend
    from toolkit.config import load_config

    assert spec.unseen is not None and spec.unseen.per_source
    own = load_config(spec.unseen.per_source, [f"seed={config.seed}"]).backend
    backend_class = get_backend(own.name)
    owner = {name: name for name in spec.unseen.rotate}
    owner |= {es.name: es.per_source_model for es in spec.unseen.evaluation_sets if es.per_source_model}
    models = {}
    for source in sorted(set(owner.values())):
        rows = subset(train_rows, original_rows(train_rows, source))
        backend = backend_class(backend_class.Params.model_validate(own.params), "stance", config.seed)
        models[source] = backend.fit(rows, None)
    return {
        f"{PER_SOURCE_ROW} ({own.name})": lambda name, rows: (
            model_predictor(models[owner[name]])(rows) if name in owner else []
        )
    }


def score_row(spec: ExperimentSpec, predict: Scorer, scored: dict[str, Examples], seed: int) -> dict[str, Any]:
    """A row's confusion counts: per target on each rotated source, whole on each evaluation set, and relevance
    (a row that does not answer a set, e.g. a per-source model no source owns, leaves it out)."""
    assert spec.unseen is not None
    out: dict[str, Any] = {}
    for name, rows in scored.items():
        predicted = predict(name, rows)
        if predicted:
            out[name] = per_target(rows, predicted) if name in spec.unseen.rotate else confusion(rows.labels, predicted)
    if spec.unseen.relevance:
        out[RELEVANCE] = relevance(spec, predict, scored, seed)
    return out


def per_target(rows: Examples, predicted: list[str]) -> dict[str, Any]:
    groups: dict[str, list[int]] = {}
    for i, target in enumerate(rows.targets or []):
        groups.setdefault(normalize_target(target), []).append(i)
    return {t: confusion([rows.labels[i] for i in keep], [predicted[i] for i in keep]) for t, keep in groups.items()}


def relevance(spec: ExperimentSpec, predict: Scorer, scored: dict[str, Examples], seed: int) -> dict[str, int]:
    """Each held-out row of the rotated sources asked about another target no training row has (the fold's
    held-out targets and the `unseen` evaluation sets'): rows asked, rows answered none. A random pair can be
    about its target now and then, so the share is a lower bound on answering "none" rightly."""
    assert spec.unseen is not None
    parts = {name: scored[name] for name in spec.unseen.rotate if len(scored[name])}
    held = [t for rows in parts.values() for t in rows.targets or []]
    unseen_sets = {es.name for es in spec.unseen.evaluation_sets if es.unseen}
    pool = held + [t for name in sorted(unseen_sets) for t in scored[name].targets or []]
    if len({normalize_target(t) for t in pool}) < 2:
        return {"rows": 0, "none": 0}
    paired = other_targets(pool, seed)[: len(held)]
    total = answered_none = start = 0
    for name, rows in parts.items():
        asked = Examples(rows.texts, rows.labels, paired[start : start + len(rows)], rows.ids)
        start += len(rows)
        predicted = predict(name, asked)
        total += len(predicted)
        answered_none += sum(label == "none" for label in predicted)
    return {"rows": total, "none": answered_none}


def few_shot(
    spec: ExperimentSpec,
    config: RunConfig,
    model: Any,
    model_dir: Path,
    test: Examples,
    seed: int,
    progress: Progress | None,
) -> list[dict[str, Any]]:
    """Held-out targets with enough rows: zero-shot, adapted from the fold's model, and from scratch, per k."""
    from toolkit.backends import get_backend
    from toolkit.config import load_config

    assert spec.unseen is not None and spec.unseen.few_shot is not None
    shots_spec = spec.unseen.few_shot
    adapt = load_config(shots_spec.config, shots_spec.overrides).backend
    scratch = load_config(shots_spec.config, shots_spec.overrides + shots_spec.scratch_overrides).backend
    backend_class = get_backend(adapt.name)
    base = config.backend.params
    scratch_params = {
        **scratch.params,
        "init_from": None,
        "model_name_or_path": base["model_name_or_path"],
        "max_length": base.get("max_length", 256),
    }
    points = []
    for target, rows in few_shot_targets(spec, test, seed):
        shots, scored_rows = few_shot_rows(rows.labels, shots_spec.ks, shots_spec.max_eval_rows, f"{seed}-{target}")
        evaluation = subset(rows, scored_rows)
        zero = confusion(evaluation.labels, model_predictor(model)(evaluation))
        for k, chosen in zip(shots_spec.ks, shots, strict=True):
            if progress:
                progress(f"few-shot: '{target}', k = {k}")
            point: dict[str, Any] = {"source": (rows.sources or ["?"])[0], "target": target, "k": k, "zero_shot": zero}
            for side, params in (
                ("adapted", {**adapt.params, "init_from": str(model_dir)}),
                ("scratch", scratch_params),
            ):
                backend = backend_class(backend_class.Params.model_validate(params), "stance", seed)
                fitted = backend.fit(subset(rows, chosen), None)
                point[side] = confusion(evaluation.labels, model_predictor(fitted)(evaluation))
            points.append(point)
    return points


def few_shot_targets(spec: ExperimentSpec, test: Examples, seed: int) -> list[tuple[str, Examples]]:
    """Up to `targets_per_fold` held-out targets (seeded) with max(ks) + min_eval_rows rows and two labels."""
    import random

    assert spec.unseen is not None and spec.unseen.few_shot is not None
    shots_spec = spec.unseen.few_shot
    groups: dict[str, list[int]] = {}
    for i in original_rows(test):
        if (test.sources or [""] * len(test))[i] in spec.unseen.rotate:
            groups.setdefault(normalize_target((test.targets or [])[i]), []).append(i)
    eligible = sorted(
        t
        for t, keep in groups.items()
        if len(keep) >= max(shots_spec.ks) + shots_spec.min_eval_rows and len({test.labels[i] for i in keep}) > 1
    )
    random.Random(seed).shuffle(eligible)
    return [(t, subset(test, groups[t])) for t in eligible[: shots_spec.targets_per_fold]]
