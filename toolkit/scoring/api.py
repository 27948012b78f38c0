"""`score()`: the one entry point of batch scoring; it checks the request and hands it to an engine.

It sits above both engines (`toolkit.scoring.local`, `toolkit.scoring.spark`), which never import each
other, and re-exports what a caller needs to build a request.
"""

from __future__ import annotations

from collections.abc import Callable

from toolkit.errors import DataError, ToolkitError
from toolkit.predict_output import check_min_probability
from toolkit.scoring.core import ScoreOptions, ScoreProgress, ScoreSummary
from toolkit.scoring.input import InputSpec
from toolkit.scoring.local import score_local
from toolkit.scoring.output import CHUNKS_DIR, OUTPUT_FORMATS

__all__ = ["ENGINES", "InputSpec", "ScoreOptions", "ScoreProgress", "ScoreSummary", "score"]

ENGINES = ("local", "spark")


def score(
    spec: InputSpec, options: ScoreOptions, progress: Callable[[ScoreProgress], None] | None = None
) -> ScoreSummary:
    """Score every row of `spec` with `options.model` into `options.output` (see `toolkit.scoring.local`).

    Example:
        >>> summary = score(InputSpec(path=Path("news.csv")), ScoreOptions(model="runs:/ID/model",
        ...                 output=Path("scores")))  # doctest: +SKIP
    """
    check_request(spec, options)
    created = not options.output.exists()
    try:
        if options.engine == "spark":
            from toolkit.scoring.spark import score_spark

            return score_spark(spec, options)
        return score_local(spec, options, progress)
    except ToolkitError:
        if created and not any((options.output / CHUNKS_DIR).glob("*")):
            import shutil

            shutil.rmtree(options.output, ignore_errors=True)  # a bad input leaves no output behind
        raise


def check_request(spec: InputSpec, options: ScoreOptions) -> None:
    """Refuse a request no engine can run, before anything is read or written."""
    if options.output_format not in OUTPUT_FORMATS:
        raise DataError(f"unknown output format '{options.output_format}'; use one of {', '.join(OUTPUT_FORMATS)}")
    if options.engine not in ENGINES:
        raise DataError(f"unknown engine '{options.engine}'; use local or spark")
    check_min_probability(options.min_probability)
    if options.chunk_size < 1 or options.batch_size < 1 or (options.workers is not None and options.workers < 1):
        raise DataError("--chunk-size, --batch-size and --workers must be at least 1")
    if spec.path.is_dir() and options.output.resolve().is_relative_to(spec.path.resolve()):
        raise DataError(f"--output {options.output} is inside the input folder {spec.path}; write it elsewhere")
