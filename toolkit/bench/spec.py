"""A benchmark spec (experiments/specs/NAME.yaml): what to run, where it is found, where its results go.

Specs live in experiments/specs/ and results in experiments/results/NAME/ (results.json + results.md), both
relative to the working folder. `toolkit experiment run` takes a path to a spec or just its name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SerializerFunctionWrapHandler, ValidationError, model_serializer

from toolkit.bench.baselines import BASELINES
from toolkit.config import CVConfig, describe_validation_error, read_yaml
from toolkit.errors import ConfigError
from toolkit.schema import StrictModel

SPECS_DIR = Path("experiments/specs")
RESULTS_DIR = Path("experiments/results")


class BenchCV(CVConfig):
    """`cv:` of a spec: k-fold cross-validation of each seed's pooled training rows beside the held-out figures."""

    baselines: bool = Field(True, description="cross-validate the baselines too (each fitted once per fold)")


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

    @model_serializer(mode="wrap")
    def _without_cv_off(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """A spec without cv dumps as before it existed (results.json of earlier runs still matches its spec)."""
        tree: dict[str, Any] = handler(self)
        if not self.cv.folds:
            tree.pop("cv", None)
        return tree


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
