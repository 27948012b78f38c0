"""Kept for MLflow models logged before the reorganisation: their pickled wrapper names this module.

MLflow stores the pyfunc wrapper by reference to its class's module, so models logged by earlier versions
load `toolkit.pyfunc.ToolkitPyfuncModel`. The wrapper itself lives in `toolkit.tracking.pyfunc`.
"""

from toolkit.tracking.pyfunc import ToolkitPyfuncModel

__all__ = ["ToolkitPyfuncModel"]
