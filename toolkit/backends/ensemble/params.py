"""The ensemble backend's parameters: its members (each another backend's name and params) and how they combine.

Each member's params are validated by that member backend's own `Params` when the config loads, so a typo in
a member is reported with its dotted key (`backend.params.members.1.params.C`) before any data is read.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError
from pydantic_core.core_schema import ValidationInfo

from toolkit.errors import ConfigError
from toolkit.schema import StrictModel

ENSEMBLE = "ensemble"


class MemberConfig(StrictModel):
    """One member: a registered backend (not an ensemble), its params, and optionally a fixed weight."""

    name: str = Field(min_length=1, description="a registered backend, e.g. tfidf or transformer")
    params: dict[str, Any] = Field(default_factory=dict, description="that backend's params (its defaults if empty)")
    weight: float | None = Field(
        None, ge=0, description="fixed weight in weighted_average (set on every member or on none: none = learned)"
    )

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
        "0: learn it on the validation split's predictions instead (one fit per member, e.g. for transformers)",
    )
    calibration: Literal["temperature", "none"] = Field(
        "temperature", description="temperature: each member's probabilities get a fitted softmax temperature first"
    )
    stacker_C: float = Field(1.0, gt=0, description="stacker: inverse regularisation strength")

    @field_validator("folds")
    @classmethod
    def _not_one(cls, folds: int) -> int:
        if folds == 1:
            raise PydanticCustomError("folds", "folds must be 0 (learn on the validation split) or at least 2")
        return folds

    @model_validator(mode="after")
    def _consistent(self) -> EnsembleParams:
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
