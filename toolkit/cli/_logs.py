"""Library log records on the terminal: without --debug, never a traceback and never a multi-line message.

The toolkit reports every failure itself, as one `error: ...` line; a library that logs the exception it is
about to raise (MLflow logs whole SQLAlchemy tracebacks at ERROR) would print it a second time, at length.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def library_logs(debug: bool) -> Iterator[None]:
    """For the block: MLflow's logger at MLFLOW_LOGGING_LEVEL (CRITICAL unless set), and every other record cut
    to its first line without exception or stack info. --debug changes nothing."""
    if debug:
        yield
        return
    factory = logging.getLogRecordFactory()
    mlflow_logger = logging.getLogger("mlflow")
    level = mlflow_logger.level

    def one_line(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        try:
            lines = record.getMessage().strip().splitlines()
        except Exception:  # a bad format string: logging reports it at emit time, as usual
            return record
        record.msg, record.args = (lines[0] if lines else ""), ()
        return record

    logging.setLogRecordFactory(one_line)
    wanted = logging.getLevelName(os.environ.get("MLFLOW_LOGGING_LEVEL", "CRITICAL").upper())
    mlflow_logger.setLevel(wanted if isinstance(wanted, int) else logging.CRITICAL)
    try:
        yield
    finally:
        logging.setLogRecordFactory(factory)
        mlflow_logger.setLevel(level)
