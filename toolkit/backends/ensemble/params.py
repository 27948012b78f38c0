"""The ensemble backend's parameters: its members (each another backend's name and params) and how they combine.

Each member's params are validated by that member backend's own `Params` when the config loads, so a typo in
a member is reported with its dotted key (`backend.params.members.1.params.C`) before any data is read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError
from pydantic_core.core_schema import ValidationInfo

from toolkit._yaml import read_yaml
from toolkit.errors import ConfigError
from toolkit.metrics import DecisionMetric
from toolkit.schema import StrictModel

ENSEMBLE = "ensemble"


class MemberConfig(StrictModel):
    """One member: a registered backend (not an ensemble), its params, and optionally a fixed weight; or
    `config: PATH`, a run config whose backend (name and params) the member takes, `params` given beside it
    overriding single keys (so an ensemble of two tuned configs repeats none of their settings)."""

    name: str = Field(min_length=1, description="a registered backend, e.g. tfidf or transformer")
    params: dict[str, Any] = Field(default_factory=dict, description="that backend's params (its defaults if empty)")
    weight: float | None = Field(
        None, ge=0, description="fixed weight in weighted_average (set on every member or on none: none = learned)"
    )

    @model_validator(mode="before")
    @classmethod
    def _from_config(cls, data: Any) -> Any:
        """`config: PATH` replaced by that config's backend name and params (given params override theirs)."""
        if not isinstance(data, dict) or "config" not in data:
            return data
        member = dict(data)
        path = member.pop("config")
        backend = config_backend(path)
        if member.get("name", backend["name"]) != backend["name"]:
            raise PydanticCustomError(
                "member_config",
                "name '{name}' differs from the backend of {path} ('{backend}'): give one or the other",
                {"name": member["name"], "path": str(path), "backend": backend["name"]},
            )
        given = member.get("params") or {}
        if not isinstance(given, dict):
            return member | {"name": backend["name"]}  # the params validator reports it
        return member | {"name": backend["name"], "params": {**backend["params"], **given}}

    @field_validator("name")
    @classmethod
    def _registered(cls, name: str) -> str:
        from toolkit.backends import get_backend

        if name == ENSEMBLE:
            raise PydanticCustomError("member_backend", "an ensemble member cannot itself be an ensemble")
        try:
            get_backend(name)
        except ConfigError as exc:
            raise PydanticCustomError("member_backend", "{problem}", {"problem": str(exc)}) from exc
        return name

    @field_validator("params")
    @classmethod
    def _valid_for_backend(cls, params: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        """The member backend's Params, resolved to their full defaults (as `backend.params` is)."""
        from toolkit.backends import get_backend

        name = info.data.get("name")
        if name is None:  # the name itself was refused: that is the error to report
            return params
        schema = get_backend(name).Params
        try:
            return schema.model_validate(params).model_dump(mode="json")
        except ValidationError as exc:
            problem = member_problem(exc, list(schema.model_fields))
            raise PydanticCustomError("member_params", "{problem}", {"problem": problem}) from exc


def config_backend(path: Any) -> dict[str, Any]:
    """The `backend` section (name, params) of the run config at `path` (relative to the working folder, as
    data paths are); its problems as validation errors that name the member."""
    if not isinstance(path, str) or not path:
        raise PydanticCustomError("member_config", "config must be a path to a run config (a YAML file)")
    try:
        tree = read_yaml(Path(path))
    except ConfigError as exc:
        raise PydanticCustomError("member_config", "{problem}", {"problem": str(exc)}) from exc
    backend = tree.get("backend")
    if not isinstance(backend, dict) or not isinstance(backend.get("name"), str):
        raise PydanticCustomError("member_config", "{path} has no backend.name to take", {"path": path})
    params = backend.get("params") or {}
    if not isinstance(params, dict):
        raise PydanticCustomError("member_config", "{path}: backend.params is not a mapping", {"path": path})
    return {"name": backend["name"], "params": params}


def member_problem(exc: ValidationError, fields: list[str]) -> str:
    """A member's first params error as one line naming its key: `'C': Input should be a valid number (got 'x')`."""
    import difflib

    first = exc.errors(include_url=False)[0]
    key = ".".join(str(part) for part in first["loc"]) or "(top level)"
    if first["type"] == "extra_forbidden":
        close = difflib.get_close_matches(str(first["loc"][-1]), fields, n=1)
        return f"unknown key '{key}'" + (f" (did you mean '{close[0]}'?)" if close else "")
    received = first.get("input")
    shown = "" if isinstance(received, dict) else f" (got {str(received)[:80]!r})"
    return f"'{key}': {first['msg']}{shown}"


class EnsembleParams(StrictModel):
    """Parameters of the ensemble backend (the names used in configs, `--set` and MLflow)."""

    members: list[MemberConfig] = Field(min_length=1, description="the models combined, each fitted by its backend")
    combiner: Literal["weighted_average", "stacker"] = Field(
        "weighted_average",
        description="weighted_average: a weighted mean of the members' calibrated probabilities (weights on the "
        "simplex, learned or fixed); stacker: a multinomial logistic regression on their calibrated log-probabilities",
    )
    folds: int = Field(
        5,
        ge=0,
        description="out-of-fold rounds the combination is learned on (each member fitted folds extra times); "
        "0: learn it on the holdout share of the training rows if set, else on the validation split's predictions "
        "(one or two fits per member, e.g. for transformers)",
    )
    holdout: float = Field(
        0.0,
        ge=0.0,
        le=0.5,
        description="with folds: 0, the share of the training rows (stratified, identical texts together) held out "
        "of the members' first fit to learn the combination on, so the validation split stays unseen; 0: none",
    )
    refit: bool = Field(
        True,
        description="with holdout: fit the members again on all training rows once the combination is learned "
        "(two fits each); false keeps the members fitted without the held-out rows (one fit each)",
    )
    calibration: Literal["temperature", "none"] = Field(
        "temperature", description="temperature: each member's probabilities get a fitted softmax temperature first"
    )
    stacker_C: float = Field(1.0, gt=0, description="stacker: inverse regularisation strength")
    decision_metric: DecisionMetric | None = Field(
        None,
        description="per-class offsets added to the combined log-probabilities, chosen on the same held-out "
        "predictions to maximise this metric (macro_f1: a rare class the argmax overlooks is predicted more often); "
        "null: the plain argmax of the calibrated probabilities",
    )

    @field_validator("folds")
    @classmethod
    def _not_one(cls, folds: int) -> int:
        if folds == 1:
            raise PydanticCustomError("folds", "folds must be 0 (learn on the validation split) or at least 2")
        return folds

    @model_validator(mode="after")
    def _consistent(self) -> EnsembleParams:
        if self.holdout and self.folds:
            raise ValueError("holdout is for folds: 0 (with folds, every training row is held out once already)")
        weighted = [member.weight is not None for member in self.members]
        if any(weighted) and self.combiner == "stacker":
            raise ValueError("member weights are for combiner weighted_average; the stacker learns its own")
        if any(weighted) and not all(weighted):
            raise ValueError("give a weight to every member or to none (none: the weights are learned)")
        if all(weighted) and not sum(member.weight or 0.0 for member in self.members) > 0:
            raise ValueError("the member weights sum to 0")
        return self

    @property
    def fixed_weights(self) -> list[float] | None:
        """The configured weights normalised to sum 1, or None when they are to be learned."""
        weights = [member.weight for member in self.members]
        if any(weight is None for weight in weights):
            return None
        total = sum(weight or 0.0 for weight in weights)
        return [(weight or 0.0) / total for weight in weights]
