"""Run configuration: declared once as pydantic models, loaded from YAML plus `--set key=value` overrides.

Every model forbids unknown keys, so a typo is an error that names the dotted key instead of a setting
silently ignored. Backend parameters are validated against the chosen backend's own `Params` model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

from toolkit._yaml import YAMLLimitError, load_yaml
from toolkit._yaml import read_yaml as read_yaml

# The data section lives beside the code that reads it (toolkit.data.config); re-exported here.
from toolkit.data.config import ColumnsConfig as ColumnsConfig
from toolkit.data.config import DataConfig
from toolkit.data.config import JoinConfig as JoinConfig
from toolkit.data.config import SourceConfig as SourceConfig
from toolkit.data.config import SplitConfig as SplitConfig
from toolkit.errors import ConfigError
from toolkit.schema import StrictModel, Task


class BackendConfig(StrictModel):
    """The backend name and its parameters (validated by that backend's Params model)."""

    name: str = "tfidf"
    params: dict[str, Any] = Field(default_factory=dict)


class TrackingConfig(StrictModel):
    """Where and how the run is recorded in MLflow."""

    experiment: str | None = Field(None, description="default: '<task>-<data.name>'")
    run_name: str | None = None
    description: str | None = None
    log_model: bool = True
    misclassified_rows: int = Field(200, ge=0, description="rows of the misclassified-examples table")
    figures: bool = Field(
        True,
        description="evaluation figures (confusion matrices, precision-recall, reliability, per-target F1); "
        "drawing them takes about a second per run, which only matters for many tiny runs",
    )


class SearchParam(StrictModel):
    """One dimension of a hyperparameter search: a float or int range, or a list of choices."""

    type: Literal["float", "int", "categorical"]
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: list[Any] | None = Field(None, description="categorical: any YAML values, e.g. [null, [2, 5]]")

    @model_validator(mode="after")
    def _complete(self) -> SearchParam:
        if self.type == "categorical":
            if not self.choices:
                raise ValueError("a categorical search parameter needs a non-empty 'choices' list")
        elif self.low is None or self.high is None or self.low >= self.high:
            raise ValueError(f"a {self.type} search parameter needs 'low' < 'high'")
        elif self.log and (self.low <= 0 or self.step is not None):
            raise ValueError("a log-scaled search parameter needs 'low' > 0 and no 'step'")
        return self


class CVConfig(StrictModel):
    """Cross-validation over the prepared training rows (`toolkit tune` and benchmark specs): off with folds 0."""

    folds: int = Field(0, ge=0, description="0: off; else k >= 2 folds")
    group_by: list[Literal["text", "target"]] = Field(
        default_factory=lambda: ["text"],
        description="rows sharing a text (and, with 'target', a target) never sit on both sides of a fold",
    )
    on: Literal["train", "train+validation"] = Field("train", description="the prepared splits pooled; never test")
    unlinked_label: str | None = Field(
        None,
        description="with group_by [text, target]: rows of this label (FNC-1's 'unrelated' pairs) do not link "
        "their text and target; folds are then whole claims and a fold's model never saw a held-out target",
    )

    @model_serializer(mode="wrap")
    def _without_unset_label(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Without unlinked_label a cv section dumps as before it existed (earlier results.json still match)."""
        tree: dict[str, Any] = handler(self)
        if self.unlinked_label is None:
            tree.pop("unlinked_label", None)
        return tree

    @model_validator(mode="after")
    def _unlinked_needs_both_keys(self) -> CVConfig:
        if self.unlinked_label is not None and self.group_by != ["text", "target"]:
            raise ValueError("unlinked_label needs group_by: [text, target]")
        return self

    @field_validator("folds")
    @classmethod
    def _not_one(cls, folds: int) -> int:
        if folds == 1:
            raise ValueError("folds must be 0 (off) or at least 2")
        return folds

    @field_validator("group_by")
    @classmethod
    def _text_first(cls, group_by: list[str]) -> list[str]:
        if group_by not in (["text"], ["text", "target"]):
            raise ValueError("group_by must be [text] or [text, target]")
        return group_by


class TuneConfig(StrictModel):
    """Hyperparameter search (`toolkit tune`): dotted config keys to vary, the metric, the Optuna study."""

    space: dict[str, SearchParam] = Field(description="dotted key -> range, e.g. backend.params.C")
    metric: str = Field(
        "validation_macro_f1",
        pattern=r"^(validation|cv)_\w",
        description="a validation metric, or with cv the cross-validated mean (cv_macro_f1)",
    )
    direction: Literal["maximize", "minimize"] = "maximize"
    storage: str = Field("sqlite:///optuna.db", description="Optuna storage; a study there is resumed")
    study_name: str | None = Field(None, description="default: '<experiment>-tune'")
    cv: CVConfig = Field(default_factory=CVConfig, description="score each trial by k-fold cross-validation")

    @field_validator("space")
    @classmethod
    def _not_empty(cls, value: dict[str, SearchParam]) -> dict[str, SearchParam]:
        if not value:
            raise ValueError("the search space is empty; add e.g. backend.params.C: {type: float, low: 0.1, high: 100}")
        return value

    @model_validator(mode="after")
    def _metric_follows_cv(self) -> TuneConfig:
        """With cv the objective is a cross-validated mean, named cv_<metric>; the default metric follows."""
        if self.cv.folds and self.metric.startswith("validation_"):
            if "metric" in self.model_fields_set:
                raise ValueError(f"with cv.folds the metric is a cross-validated mean: cv_{self.metric[11:]}")
            self.metric = "cv_macro_f1"
        elif not self.cv.folds and self.metric.startswith("cv_"):
            raise ValueError(f"metric '{self.metric}' needs cv.folds >= 2 (or use validation_{self.metric[3:]})")
        return self


class RunConfig(StrictModel):
    """A complete training run: task, data, backend, seed and tracking (and `toolkit tune`'s search)."""

    task: Task = "topic"
    seed: int = 0
    data: DataConfig = Field(default_factory=DataConfig)
    backend: BackendConfig = Field(default_factory=BackendConfig)
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)
    tune: TuneConfig | None = Field(None, description="used only by `toolkit tune`")
    stance_scope: Literal["targets", "general"] = Field(
        "targets",
        description="stance only: 'targets' models answer for the targets they were trained on and flag any other; "
        "'general' models (trained on many targets from several sources) answer for any target",
    )

    @model_validator(mode="after")
    def _defaults_follow_task(self) -> RunConfig:
        if self.task == "stance" and self.data.columns.target is None and self.data.target is None:
            if not self.data.sources:  # each source of a multi-source config names its own target column
                raise ValueError("task 'stance' needs data.columns.target or a fixed data.target")
        for number, source in enumerate(self.data.sources or []):
            if self.task == "stance" and source.columns.target is None and source.target is None:
                raise ValueError(
                    f"task 'stance' needs data.sources.{number}.columns.target or a fixed "
                    f"data.sources.{number}.target (source '{source.name}')"
                )
        if self.task != "stance" and self.data.relevance_negatives > 0:
            raise ValueError("data.relevance_negatives needs task 'stance' (it pairs texts with other targets)")
        if self.stance_scope == "general" and self.task != "stance":
            raise ValueError("stance_scope 'general' is for task 'stance'")
        return self

    @property
    def experiment_name(self) -> str:
        return self.tracking.experiment or f"{self.task}-{self.data.name}"

    def flat(self) -> dict[str, str]:
        """The resolved config as dotted keys, the form logged as MLflow params."""
        return flatten(self.model_dump(mode="json", exclude={"tune"}))


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """{'a': {'b': 1}} -> {'a.b': '1'}; lists and scalars become their string form."""
    flat: dict[str, str] = {}
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten(value, f"{dotted}."))
        else:
            flat[dotted] = str(value)
    return flat


def parse_override(text: str) -> tuple[list[str], Any]:
    """'backend.params.C=4' -> (['backend', 'params', 'C'], 4); the value is read as YAML."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"override '{clip(text)}' must look like key.path=value")
    try:
        value = load_yaml(raw) if raw.strip() else ""
    except yaml.YAMLError as exc:
        raise ConfigError(f"override '{clip(text)}': value is not valid YAML ({exc.problem})") from exc
    except YAMLLimitError as exc:
        raise ConfigError(f"override '{clip(key)}': {exc}") from exc
    return key.strip().split("."), value


def apply_override(tree: dict[str, Any], path: list[str], value: Any) -> None:
    """Set `value` at `path` inside nested dicts, creating sections as needed; a number picks an item of a
    list (`data.sources.1.max_rows=500`)."""
    node: Any = tree
    for part in path[:-1]:
        if isinstance(node, list):
            node = node[_list_index(node, part, path)]
            continue
        node = node.setdefault(part, {})
        if not isinstance(node, dict | list):
            raise ConfigError(f"override '{clip('.'.join(path))}': '{clip(part)}' is not a section")
    if isinstance(node, list):
        node[_list_index(node, path[-1], path)] = value
    else:
        node[path[-1]] = value


def _list_index(items: list[Any], part: str, path: list[str]) -> int:
    if not part.isdigit() or int(part) >= len(items):
        raise ConfigError(
            f"override '{clip('.'.join(path))}': '{clip(part)}' is not an item of a list of {len(items)} (0..)"
        )
    return int(part)


def describe_validation_error(exc: ValidationError, origin: str, prefix: str = "") -> str:
    """One line naming the first bad dotted key, what was wrong and the value received (each cut short: a
    config may hold a huge value, and the line must stay a line)."""
    first = exc.errors(include_url=False)[0]
    location = ".".join(str(part) for part in first["loc"])
    key = clip(prefix + location if location else prefix.rstrip(".") or "(top level)")
    more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    if first["type"] == "extra_forbidden":
        return f"{origin}: unknown key '{key}'{_did_you_mean(exc, first)}{more}"
    received = first.get("input")
    shown = "" if isinstance(received, dict) else f" (got {short_repr(received)})"
    message = first["msg"].removeprefix("Value error, ")  # pydantic's prefix for a validator's ValueError
    return f"{origin}: '{key}': {clip(message, 300)}{shown}{more}"


def clip(text: str, limit: int = 200) -> str:
    """`text` cut to about `limit` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[: limit - 60]}...[{len(text) - limit + 60} more characters]...{text[-20:]}"


def short_repr(value: Any, limit: int = 200) -> str:
    """repr() of a value that may be huge, built short (reprlib stops early) and then cut to `limit`."""
    import reprlib

    brief = reprlib.Repr()  # keyword arguments only from Python 3.12
    brief.maxlevel, brief.maxlist, brief.maxtuple, brief.maxdict, brief.maxstring = 3, 8, 8, 8, limit
    brief.maxother = limit
    return clip(brief.repr(value), limit)


def _did_you_mean(exc: ValidationError, error: Any) -> str:
    """Suggest the closest valid key of the section that holds an unknown key."""
    import difflib

    model = _models_by_title().get(exc.title)
    for part in error["loc"][:-1]:
        if isinstance(part, int):  # an item of a list of sections (data.sources.1): the same model
            continue
        field = model.model_fields.get(str(part)) if model else None
        model = _section_model(field.annotation if field else None)
    if model is None:
        return ""
    close = difflib.get_close_matches(str(error["loc"][-1]), list(model.model_fields), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _section_model(annotation: Any) -> type[BaseModel] | None:
    """The model a key's annotation holds: Model, Model | None or list[Model]; None for plain values."""
    import typing

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    found = [_section_model(arg) for arg in typing.get_args(annotation)]
    return next((model for model in found if model is not None), None)


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> RunConfig:
    """Load and validate a run config; `path=None` gives the built-in default (topic on the sample)."""
    tree = read_yaml(Path(path)) if path is not None else {}
    origin = str(path) if path is not None else "config"
    for text in overrides or []:
        apply_override(tree, *parse_override(text))
    return validate_tree(tree, origin)


def validate_tree(tree: dict[str, Any], origin: str) -> RunConfig:
    """A RunConfig from a plain tree, backend params included; errors name the dotted key and `origin`."""
    try:
        config = RunConfig.model_validate(tree)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, origin)) from exc
    validate_backend_params(config, origin)
    return config


def validate_backend_params(config: RunConfig, origin: str) -> None:
    """Check backend.params against the registered backend's schema; errors name the dotted key."""
    from toolkit.backends import get_backend

    backend = get_backend(config.backend.name)
    try:
        params = backend.Params.model_validate(config.backend.params)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, origin, prefix="backend.params.")) from exc
    config.backend.params = params.model_dump(mode="json")


def _models_by_title() -> dict[str, type[BaseModel]]:
    """Every StrictModel subclass by class name (backend Params included once imported)."""
    found: dict[str, type[BaseModel]] = {}
    pending: list[type[BaseModel]] = [StrictModel]
    while pending:
        model = pending.pop()
        found[model.__name__] = model
        pending.extend(model.__subclasses__())
    return found
