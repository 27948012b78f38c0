"""The HTTP service's request and response bodies: the fields of `toolkit predict --json`, validated by pydantic.

Kept apart from the FastAPI app so the shapes (and the OpenAPI schema built from them) can be read and
tested without the web framework.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

EXAMPLE_TEXT = "The central bank raised interest rates again to fight inflation."


class PredictRequest(BaseModel):
    """One text (`text`) or many (`texts`), with an optional stance target for all of them (`target`) or one
    per text (`targets`), and optionally which of the served models should answer (`models`)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"texts": [EXAMPLE_TEXT], "target": "interest rates"}]},
    )

    text: str | None = Field(None, description="One article (or use `texts`).")
    texts: list[str] | None = Field(None, description="Several articles; answers come back in the same order.")
    target: str | None = Field(None, description="Stance target for every text (stance models need one).")
    targets: list[str] | None = Field(None, description="One stance target per text, instead of `target`.")
    models: list[str] | None = Field(
        None, description="Served model refs or tasks ('topic', 'stance') that should answer (default: all)."
    )
    min_probability: float | None = Field(
        None, gt=0, lt=1, description="Mark answers below this probability `uncertain: true` (as predict/score do)."
    )
    top_k: int | None = Field(None, ge=1, description="Add the K most probable labels to each answer (`top_k`).")

    @model_validator(mode="after")
    def _consistent(self) -> PredictRequest:
        if (self.text is None) == (self.texts is None):
            raise ValueError("send exactly one of 'text' (one article) or 'texts' (a list of articles)")
        if self.texts is not None and not self.texts:
            raise ValueError("'texts' is empty: send at least one article")
        for i, text in enumerate(self.all_texts):
            if not text.strip():
                raise ValueError("'text' is empty" if self.text is not None else f"texts[{i}] is empty")
        if self.target is not None and self.targets is not None:
            raise ValueError("send 'target' (one for all texts) or 'targets' (one per text), not both")
        if self.targets is not None and len(self.targets) != len(self.all_texts):
            raise ValueError(f"{len(self.targets)} targets for {len(self.all_texts)} texts: send one per text")
        for i, target in enumerate([self.target] if self.target is not None else self.targets or []):
            if not target.strip():
                raise ValueError("'target' is empty" if self.target is not None else f"targets[{i}] is empty")
        return self

    @property
    def all_texts(self) -> list[str]:
        return [self.text] if self.text is not None else list(self.texts or [])

    def targets_for(self, count: int) -> list[str] | None:
        """The target of each text, or None when the request names none."""
        if self.targets is not None:
            return list(self.targets)
        return None if self.target is None else [self.target] * count


class ModelInfo(BaseModel):
    """Which model answered: its reference, what it does, and the sha256 of its manifest (which lists the
    sha256 of every model file), so an answer can be traced to the exact files."""

    ref: str
    task: str
    backend: str
    labels: list[str]
    manifest_sha256: str | None = None
    run_id: str | None = None
    targets: list[str] | None = Field(None, description="A stance model's training targets.")


class Prediction(BaseModel):
    """One model's answer for one text: the record `toolkit predict --json` prints (a field it gains later
    passes through as is)."""

    model_config = ConfigDict(extra="allow")

    model: str
    task: str
    label: str
    probability: float
    probabilities: dict[str, float]
    target: str | None = None
    unseen_target: bool | None = None
    truncated_tokens: int | None = None
    uncertain: bool | None = Field(None, description="Below the request's `min_probability` (only when it sends one).")
    top_k: list[dict[str, str | float]] | None = None
    warning: str | None = None


class TextResult(BaseModel):
    """Every answering model's prediction for the text at `index` of the request."""

    index: int
    predictions: list[Prediction]


class PredictResponse(BaseModel):
    models: list[ModelInfo]
    results: list[TextResult]


class Health(BaseModel):
    status: str
    models: list[ModelInfo]


class ErrorBody(BaseModel):
    """Every error answer: one line, never a traceback."""

    detail: str
