"""A model's predictions as a table: what the MLflow pyfunc wrapper and `mlflow models serve` return."""

from __future__ import annotations

from typing import TYPE_CHECKING

from toolkit.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

    from toolkit.backends.base import FittedModel


def predict_frame(model: FittedModel, frame: pd.DataFrame) -> pd.DataFrame:
    """Pyfunc-style prediction: a DataFrame with `text` (and `target`) in, label + probabilities out."""
    import pandas as pd

    if "text" not in frame.columns:
        raise DataError(f"input needs a 'text' column; got {list(frame.columns)}")
    texts = frame["text"].astype(str).tolist()
    targets = None
    if model.task == "stance":
        if "target" not in frame.columns:
            raise DataError("a stance model needs a 'target' column")
        targets = frame["target"].astype(str).tolist()
    probabilities = model.predict_proba(texts, targets)
    out = pd.DataFrame(
        {"label": [model.labels[i] for i in probabilities.argmax(axis=1)], "probability": probabilities.max(axis=1)}
    )
    for j, label in enumerate(model.labels):
        out[f"prob_{label}"] = probabilities[:, j]
    return out
