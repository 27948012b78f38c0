"""The base of every validated settings section, shared by the run config and the backends' `Params`.

It sits apart from `toolkit.config` so a backend can declare its parameters without importing the run
config (which itself looks backends up to validate `backend.params`): the arrows point one way.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

Task = Literal["topic", "stance"]
"""What a model classifies: a text's topic, or its stance toward a target (a dataset, a model and a run have one)."""


class StrictModel(BaseModel):
    """Base for config sections: unknown keys are rejected, values are validated on assignment, and a float
    must be finite (YAML's .inf and .nan pass every `gt`/`le` bound otherwise, or fail deep inside a fit)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)
