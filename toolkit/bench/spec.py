"""A benchmark spec (experiments/specs/NAME.yaml): what to run, where it is found, where its results go.

Specs live in experiments/specs/ and results in experiments/results/NAME/ (results.json + results.md), both
relative to the working folder. `toolkit experiment run` takes a path to a spec or just its name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SerializerFunctionWrapHandler, ValidationError, model_serializer, model_validator

from toolkit.bench.baselines import BASELINES
from toolkit.config import CVConfig, describe_validation_error, read_yaml
from toolkit.data.config import SourceConfig
from toolkit.errors import ConfigError
from toolkit.schema import StrictModel

SPECS_DIR = Path("experiments/specs")
RESULTS_DIR = Path("experiments/results")


class BenchCV(CVConfig):
    """`cv:` of a spec: k-fold cross-validation of each seed's pooled training rows beside the held-out figures."""

    baselines: bool = Field(True, description="cross-validate the baselines too (each fitted once per fold)")


class EvaluationSet(SourceConfig):
    """A labeled file scored by every fold's models, read like one of data.sources (VAST's dev split)."""

    where: dict[str, str] = Field(
        default_factory=dict, description="keep the rows whose column holds this value, e.g. {'seen?': '0'}"
    )
    unseen: bool = Field(
        True,
        description="its targets are held out of every fold's training (zero-shot rows); false: they may occur "
        "in training (few-shot rows)",
    )
    per_source_model: str | None = Field(
        None, description="the source whose own model answers these rows in the per-source row (e.g. vast)"
    )

    @model_validator(mode="after")
    def _no_caps(self) -> EvaluationSet:
        if self.max_rows is not None or self.max_rows_per_label:
            raise ValueError(f"evaluation set '{self.name}': caps do not apply; every row is scored")
        return self


class FewShotSpec(StrictModel):
    """`unseen.few_shot`: k labeled rows of one held-out target, a general model adapted to them."""

    ks: list[int] = Field(default_factory=lambda: [8, 16, 32, 64], min_length=1)
    targets_per_fold: int = Field(1, ge=1, description="held-out targets with enough rows, per fold")
    min_eval_rows: int = Field(16, ge=4, description="a target needs max(ks) + this many rows")
    max_eval_rows: int = Field(200, ge=4, description="scored rows per target (a seeded sample), the same for every k")
    config: str = Field("configs/stance_adapt.yaml", description="the adaptation settings (its backend params)")
    overrides: list[str] = Field(default_factory=list, description="--set overrides on that config")
    scratch_overrides: list[str] = Field(
        default_factory=list,
        description="more overrides for the from-scratch side (a fresh head needs more steps than an adapted one)",
    )

    @model_validator(mode="after")
    def _positive_ks(self) -> FewShotSpec:
        if min(self.ks) < 2:
            raise ValueError("few_shot.ks: every k must be at least 2")
        return self


class UnseenSpec(StrictModel):
    """`unseen:` of a spec: evaluate a stance config on targets no training row has (toolkit.bench.unseen)."""

    folds: int = Field(5, ge=2, le=20, description="each fold holds out its share of every rotated source's targets")
    rotate: dict[str, Literal["macro_f1", "f_avg_per_target"]] = Field(
        min_length=1,
        description="source -> its metric: the sources whose targets are spread over the folds (a source with "
        "as many targets as folds is left-one-target-out); macro_f1 is pooled over all its held-out rows",
    )
    evaluation_sets: list[EvaluationSet] = Field(default_factory=list)
    relevance: bool = Field(True, description="held-out texts paired with another held-out row's target: share 'none'")
    per_source: str | None = Field(
        "configs/stance_tfidf.yaml", description="a config whose backend is fitted on each source alone (a row)"
    )
    trainer: bool = Field(True, description="a plain transformers.Trainer cross-encoder on the same rows (a row)")
    few_shot: FewShotSpec | None = None


class ExperimentSpec(StrictModel):
    """What to run: one run config, the seeds, the baselines beside it and the metrics to tabulate."""

    name: str
    description: str = ""
    config: str = Field(description="run config (configs/...yaml), relative to the working folder")
    overrides: list[str] = Field(default_factory=list, description="--set style overrides for every run")
    seeds: list[int] = Field(default_factory=lambda: [0, 1, 2], min_length=1)
    evaluate_on: Literal["validation", "test"] = "validation"
    metrics: list[str] = Field(default_factory=lambda: ["accuracy", "macro_f1"], min_length=1)
    variants: dict[str, list[str]] = Field(
        default_factory=dict,
        description="extra toolkit rows: name -> --set overrides on top of the config (e.g. an ablation)",
    )
    baselines: list[Literal[BASELINES]] = Field(default_factory=lambda: ["tfidf_lr", "fasttext"])  # type: ignore[valid-type]
    mask_target: bool = Field(True, description="stance: re-evaluate with every target replaced by a placeholder")
    experiment: str | None = Field(None, description="MLflow experiment (default: bench-<name>)")
    output: str | None = Field(None, description="results folder (default: experiments/results/<name>)")
    note: str = Field("", description="a line for results.md about the conditions (e.g. a shared CPU)")
    settings: str = Field("", description="a line for results.md: how the config's settings were chosen, on what split")
    cv: BenchCV = Field(default_factory=BenchCV, description="folds: k adds cross-validated mean ± std columns")
    unseen: UnseenSpec | None = Field(
        None, description="stance on held-out targets, fold by fold, instead of seeds' splits"
    )

    @model_serializer(mode="wrap")
    def _without_cv_off(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """A spec without cv (or unseen) dumps as before they existed (earlier results.json still match)."""
        tree: dict[str, Any] = handler(self)
        if not self.cv.folds:
            tree.pop("cv", None)
        if self.unseen is None:
            tree.pop("unseen", None)
        return tree

    @model_validator(mode="after")
    def _unseen_alone(self) -> ExperimentSpec:
        if self.unseen is not None and (self.variants or self.cv.folds):
            raise ValueError("unseen: variants and cv do not apply (each fold is its own held-out evaluation)")
        return self


def resolve_spec(spec: str | Path) -> Path:
    """A spec file as given, else the spec of that name in experiments/specs/ (`ag_news`, `ag_news.yaml`)."""
    path = Path(spec)
    if path.is_file():
        return path
    named = SPECS_DIR / (path.name if path.suffix in (".yaml", ".yml") else f"{path.name}.yaml")
    if named.is_file():
        return named
    known = sorted(p.stem for p in SPECS_DIR.glob("*.yaml")) if SPECS_DIR.is_dir() else []
    listed = f"; specs in {SPECS_DIR}/: {', '.join(known)}" if known else f" (and no {SPECS_DIR}/ here)"
    raise ConfigError(f"experiment spec not found: {spec}{listed}")


def load_spec(path: str | Path) -> ExperimentSpec:
    """Read and validate a spec (a path or a name in experiments/specs/); errors name the key and the file."""
    found = resolve_spec(path)
    try:
        return ExperimentSpec.model_validate(read_yaml(found))
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, str(found))) from exc


def experiment_name(spec: ExperimentSpec) -> str:
    return spec.experiment or f"bench-{spec.name}"


def results_folder(spec: ExperimentSpec) -> Path:
    """Where results.md and results.json go: the spec's `output`, else experiments/results/<name>/."""
    return Path(spec.output) if spec.output else RESULTS_DIR / spec.name
