"""The MLflow pyfunc wrapper: it holds only a path and calls the toolkit's own safe loader.

MLflow's pyfunc loading itself unpickles this wrapper (cloudpickle), so `mlflow.pyfunc.load_model`
and `mlflow models serve` are for models from registries you trust. `toolkit predict` and
`toolkit score` never take that path: they read the model folder inside the artifacts directly.
"""

from typing import Any

import mlflow.pyfunc  # noqa: TID253 - this module is imported only where MLflow is already needed
import pandas as pd  # noqa: TID253 - MLflow reads this annotation as the model's input type

from toolkit.tracking.names import MODEL_DIR_ARTIFACT


class ToolkitPyfuncModel(mlflow.pyfunc.PythonModel):
    """Predicts a DataFrame with a `text` column (and `target` for stance models)."""

    def load_context(self, context: Any) -> None:
        from toolkit.models.folder import load_model

        self.model = load_model(context.artifacts[MODEL_DIR_ARTIFACT])

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> pd.DataFrame:
        from toolkit.models.frame import predict_frame

        return predict_frame(self.model, model_input)
