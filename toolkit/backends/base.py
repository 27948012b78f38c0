"""The one backend interface: a Backend fits a FittedModel; a FittedModel predicts and saves itself.

Shaped after scikit-learn's estimators: the constructor stores parameters and does no work; `fit`
learns; `predict_proba` returns an (n, n_labels) array whose rows sum to 1, columns in `labels` order.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from toolkit.data.types import EpochLog, Examples, Progress
from toolkit.schema import StrictModel

if TYPE_CHECKING:
    import numpy as np

    from toolkit.data.targets import TargetScope


@dataclass(frozen=True)
class ModelTags:
    """What a model needs to run, declared on its class (as scikit-learn's estimator tags), so callers such as
    batch scoring ask the model instead of checking backend names.

    `single_process`: it batches on one accelerator and keeps its weights there, so it scores in one process
    rather than one per core. `uses_device`: it can run on a GPU (`device` in its params).
    """

    single_process: bool = False
    uses_device: bool = False


class FittedModel(ABC):
    """A trained model: label names travel with it; files are plain and non-executable."""

    backend_name: ClassVar[str]
    tags: ClassVar[ModelTags] = ModelTags()
    target_scope: TargetScope | None = None
    """For a loaded stance model: the targets it was trained on (set from its manifest by the loader)."""

    def __init__(self, task: str, labels: Sequence[str], params: dict[str, Any]) -> None:
        self.task = task
        self.labels = list(labels)
        self.params = params

    @abstractmethod
    def predict_proba(self, texts: Sequence[str], targets: Sequence[str] | None = None) -> np.ndarray:
        """Class probabilities, shape (len(texts), len(labels)), columns in `self.labels` order."""

    def predict(self, texts: Sequence[str], targets: Sequence[str] | None = None) -> list[str]:
        """The most probable label for each text."""
        probabilities = self.predict_proba(texts, targets)
        return [self.labels[i] for i in probabilities.argmax(axis=1)]

    def unknown_text_mask(self, texts: Sequence[str]) -> np.ndarray | None:
        """True where the model saw nothing it knows in a text (a guess, not a prediction); None if n/a."""
        return None

    def predict_with_unknown(
        self, texts: Sequence[str], targets: Sequence[str] | None = None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """`predict_proba` and `unknown_text_mask` together; a backend that can share the work overrides it."""
        return self.predict_proba(texts, targets), self.unknown_text_mask(texts)

    def truncated_tokens(self, texts: Sequence[str], targets: Sequence[str] | None = None) -> list[int] | None:
        """Per text, how many tokens were cut off to fit the model (0: none); None for backends that read
        every token (tfidf). Predictions report it, so a cut is never silent."""
        return None

    def fit_summary(self) -> dict[str, float]:
        """Numbers the fit learned that a reader of the run should see (an ensemble's member weights); train logs
        them as `fit_<name>` metrics. Most models have none."""
        return {}

    def requirements(self) -> list[str]:
        """Distributions a serving environment needs for this model beyond the toolkit's core (pip names)."""
        return []

    @abstractmethod
    def save(self, folder: Path) -> list[str]:
        """Write the backend's files into `folder`; return their names (hashed into the manifest)."""

    @classmethod
    @abstractmethod
    def load(cls, folder: Path, manifest: dict[str, Any]) -> FittedModel:
        """Rebuild the model from files written by `save`, never executing code from them."""

    @classmethod
    def files_read(cls, folder: Path, manifest: dict[str, Any]) -> list[str] | None:
        """The files `load` reads, each of which the manifest must list (so hash); called once the listed files'
        hashes are verified. None: any loadable file in the folder, for loaders that find files by name."""
        return None

    @classmethod
    def tags_for(cls, manifest: dict[str, Any]) -> ModelTags:
        """The tags of the saved model `manifest` describes, known before loading it (batch scoring picks its
        process count from them); the class's own tags unless they depend on the model (an ensemble's members)."""
        return cls.tags


class Backend(ABC):
    """A learning algorithm with its own parameter schema (`Params`), registered by `name`."""

    name: ClassVar[str]
    Params: ClassVar[type[StrictModel]]
    model_class: ClassVar[type[FittedModel]]

    def __init__(self, params: StrictModel, task: str, seed: int = 0) -> None:
        self.params = params
        self.task = task
        self.seed = seed

    @abstractmethod
    def fit(
        self,
        train: Examples,
        validation: Examples | None = None,
        progress: Progress | None = None,
        on_epoch: EpochLog | None = None,
    ) -> FittedModel:
        """Learn from `train` (and `validation` where the backend uses it, e.g. early stopping). A backend that
        trains in epochs hands each epoch's metrics to `on_epoch`; the others ignore it."""

    def import_libraries(self) -> None:
        """Import the heavy libraries `fit` uses, so a timed fit measures learning, not module loading
        (the CLI imports them lazily; a cold scikit-learn or torch import takes seconds)."""
        return None
