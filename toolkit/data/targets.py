"""Which stance targets a model can answer for, so an answer toward a target it never saw is not silent.

A model trained on a few targets (SemEval's five, the sample's two) learns those targets' vocabulary; asked
about another target it still returns a confident-looking label. Its manifest records the targets it was
trained on (`targets`) and its scope (`stance_scope`): `targets` models flag every unseen target, `general`
models (trained on many targets from several corpora, e.g. configs/stance_general.yaml) answer for any.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

GENERAL = "general"
TARGETS = "targets"
GENERAL_CONFIG = "configs/stance_general.yaml"


def normalize_target(target: str) -> str:
    """Targets compared as a reader would: case-folded, whitespace collapsed ("Arms Control  talks ")."""
    return " ".join(str(target).casefold().split())


@dataclass(frozen=True)
class TargetScope:
    """The targets a stance model knows; `general` models know every target."""

    general: bool
    known: frozenset[str]

    @classmethod
    def from_manifest(cls, manifest: dict[str, Any]) -> TargetScope | None:
        """Read from a model manifest; None when it records neither a scope nor training targets (a folder
        saved outside `toolkit train`): nothing is then claimed either way. Older manifests with targets but
        no `stance_scope` are target-specific."""
        if manifest.get("stance_scope") != GENERAL and not manifest.get("targets"):
            return None
        targets: Iterable[Any] = manifest.get("targets") or []
        return cls(
            general=manifest.get("stance_scope") == GENERAL,
            known=frozenset(normalize_target(t) for t in targets if isinstance(t, str)),
        )

    def is_unseen(self, target: str | None) -> bool:
        """True when a target-specific model is asked about a target it was not trained on."""
        return target is not None and not self.general and normalize_target(target) not in self.known

    def warning(self, target: str) -> str:
        """The one-line explanation shown beside an answer toward an unseen target."""
        return (
            f"target '{target}' is not one of the {len(self.known)} targets this model was trained on: the answer "
            f"is a guess; use a general stance model ({GENERAL_CONFIG})"
        )


def other_targets(targets: list[str], seed: int) -> list[str]:
    """For each row, the target of another row that differs from its own (seeded): the pairs a relevance
    check asks about, since a text is not about a target drawn at random from other texts."""
    import random

    if len({normalize_target(t) for t in targets}) < 2:
        raise ValueError("pairing with other targets needs at least two distinct targets")
    rng = random.Random(seed)
    chosen = []
    for target in targets:
        other = rng.choice(targets)
        while normalize_target(other) == normalize_target(target):
            other = rng.choice(targets)
        chosen.append(other)
    return chosen
