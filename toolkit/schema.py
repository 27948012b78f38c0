"""The base of every validated settings section, shared by the run config and the backends' `Params`.

It sits apart from `toolkit.config` so a backend can declare its parameters without importing the run
config (which itself looks backends up to validate `backend.params`): the arrows point one way.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """Base for config sections: unknown keys are rejected, values are validated on assignment, and a float
    must be finite (YAML's .inf and .nan pass every `gt`/`le` bound otherwise, or fail deep inside a fit)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)
