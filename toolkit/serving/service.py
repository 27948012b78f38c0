"""What the HTTP service does, without the web framework: pick the answering models, give each its targets,
and predict through its micro-batcher with `toolkit.predict.predict_records` (the records of `predict --json`).

Errors are ToolkitErrors carrying the HTTP status they deserve; the app turns them into one-line answers.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from toolkit.errors import DataError, ToolkitError
from toolkit.predict import MAX_DEFAULT_TARGETS, LoadedModel, model_target, predict_records, target_spellings
from toolkit.predict_output import add_answer_fields
from toolkit.serving.batching import MicroBatcher, Records
from toolkit.serving.schema import ModelInfo, Prediction, PredictRequest, PredictResponse, TextResult

log = logging.getLogger("toolkit.serving")
DEVICE_BATCH_WAIT_MS = 2.0


class RequestError(DataError):
    """The request cannot be answered as sent (HTTP 4xx, by default 422)."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


class InternalError(ToolkitError):
    """The model failed on a valid request (HTTP 500); the traceback goes to the server log only."""

    status = 500


def http_status(exc: ToolkitError) -> int:
    """A request error's own status; other user-input errors (DataError, ...) 422; runtime errors 500."""
    return int(getattr(exc, "status", 422 if exc.exit_code == 2 else 500))


@dataclass(frozen=True)
class BatchSettings:
    """`wait_ms`: how long a batch waits for more requests (None: 2 ms for device models, else 0);
    `max_texts`: texts per batch; `max_request_texts`: texts one request may send."""

    wait_ms: float | None = None
    max_texts: int = 256
    max_request_texts: int = 256


def model_info(loaded: LoadedModel) -> ModelInfo:
    """The identity an answer names: ref, task, backend, labels, manifest sha256 and the run (runs:/ refs)."""
    from toolkit._hashing import sha256_file
    from toolkit.models.folder import MANIFEST

    manifest_file = loaded.folder / MANIFEST if loaded.folder is not None else None
    run_id = loaded.ref[len("runs:/") :].split("/")[0] if loaded.ref.startswith("runs:/") else None
    targets = [str(t) for t in loaded.manifest.get("targets", [])] if loaded.model.task == "stance" else None
    return ModelInfo(
        ref=loaded.ref,
        task=loaded.model.task,
        backend=str(loaded.manifest.get("backend", loaded.model.backend_name)),
        labels=list(loaded.model.labels),
        manifest_sha256=sha256_file(manifest_file) if manifest_file and manifest_file.is_file() else None,
        run_id=run_id or None,
        targets=targets,
    )


class Service:
    """The loaded models, one micro-batcher each; `predict` answers one request."""

    def __init__(self, models: Sequence[LoadedModel], settings: BatchSettings | None = None) -> None:
        if not models:
            raise ToolkitError("no model to serve")
        self.settings = settings or BatchSettings()
        self.models = list(models)
        self.infos = [model_info(loaded) for loaded in self.models]
        self.spellings = [target_spellings(loaded.manifest.get("targets") or []) for loaded in self.models]
        self.batchers = [self._batcher(loaded) for loaded in self.models]

    def _batcher(self, loaded: LoadedModel) -> MicroBatcher:
        wait = self.settings.wait_ms
        if wait is None:
            wait = DEVICE_BATCH_WAIT_MS if loaded.model.tags.uses_device else 0.0

        def predict(texts: Sequence[str], targets: Sequence[str] | None) -> Records:
            return predict_records(loaded, texts, targets)

        return MicroBatcher(predict, loaded.model.task, self.settings.max_texts, wait / 1000)

    def start(self) -> None:
        for batcher in self.batchers:
            batcher.start()

    async def stop(self) -> None:
        for batcher in self.batchers:
            await batcher.stop()

    def chosen(self, names: list[str] | None) -> list[int]:
        """Indexes of the models a request asks for: by ref or by task; all when it names none."""
        if not names:
            return list(range(len(self.models)))
        picked: list[int] = []
        for name in names:
            matches = [i for i, info in enumerate(self.infos) if name == info.ref] or [
                i for i, info in enumerate(self.infos) if name == info.task
            ]
            if not matches:
                served = ", ".join(f"{info.ref} ({info.task})" for info in self.infos)
                raise RequestError(f"no served model is '{name}'; this server answers with: {served}")
            picked += [i for i in matches if i not in picked]
        return picked

    def targets_for(self, index: int, request: PredictRequest, count: int) -> list[str] | None:
        """A stance model needs the request's target(s), each in the spelling the model was trained on (as
        `toolkit predict` asks it); a topic model ignores them."""
        info = self.infos[index]
        if info.task != "stance":
            return None
        targets = request.targets_for(count)
        if targets is None:
            known = f" (it was trained on: {', '.join(info.targets[:MAX_DEFAULT_TARGETS])})" if info.targets else ""
            others = sorted({other.task for other in self.infos if other.task != "stance"})
            skip = f', or send "models": {json.dumps(others)} to ask only those' if others else ""
            raise RequestError(
                f'{info.ref} is a stance model: send "target" (one for all texts) or "targets" (one per text)'
                f"{known}{skip}"
            )
        return [model_target(target, self.spellings[index]) for target in targets]

    async def predict(self, request: PredictRequest) -> PredictResponse:
        """Every chosen model's record for every text of the request, by text."""
        import asyncio

        texts = request.all_texts
        limit = self.settings.max_request_texts
        if len(texts) > limit:
            raise RequestError(f"{len(texts)} texts in one request; the limit is {limit} (--max-texts)", 413)
        indexes = self.chosen(request.models)
        targets = [self.targets_for(i, request, len(texts)) for i in indexes]  # every 422 before any work
        jobs = [self.batchers[i].submit(texts, asked) for i, asked in zip(indexes, targets, strict=True)]
        try:
            answers = await asyncio.gather(*jobs)
        except ToolkitError:
            raise
        except Exception as exc:
            log.exception("prediction failed")
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise InternalError(f"prediction failed: {type(exc).__name__}: {first}") from exc
        results = [TextResult(index=i, predictions=[]) for i in range(len(texts))]
        for index, records in zip(indexes, answers, strict=True):
            for result, record in zip(results, records, strict=True):
                record = add_answer_fields(dict(record), request.top_k, request.min_probability)
                result.predictions.append(Prediction(model=self.infos[index].ref, **record))
        return PredictResponse(models=[self.infos[i] for i in indexes], results=results)
