"""The FastAPI app: POST /predict, GET /health, OpenAPI docs at /docs and /openapi.json.

FastAPI is imported inside `build_app` only (it is the optional `serve` extra, and `toolkit --help` must stay
fast). Every error answer is `{"detail": "one line"}`: 413 for a body over the limit (refused before it is
parsed), 422 for bad JSON, missing or inconsistent fields and a stance model without a target, 500 when a
model fails; tracebacks go to the server log, never into a response.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from toolkit import __version__
from toolkit.errors import ToolkitError
from toolkit.predict import LoadedModel
from toolkit.serving.schema import ErrorBody, Health, PredictRequest, PredictResponse
from toolkit.serving.service import BatchSettings, Service, http_status

DEFAULT_MAX_REQUEST_BYTES = 4 * 1024 * 1024
Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": why}
    for status, why in (
        (413, "The body is over --max-request-bytes or holds more than --max-texts texts."),
        (422, "Bad JSON, missing or inconsistent fields, an unknown model, or a stance model without a target."),
        (500, "A model failed on a valid request."),
    )
}


def build_app(
    models: Sequence[LoadedModel],
    settings: BatchSettings | None = None,
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
) -> Any:
    """A FastAPI app answering with `models` (already loaded through the safe loader)."""
    from contextlib import asynccontextmanager

    from toolkit._deps import require

    fastapi = require("fastapi", "serve")
    from fastapi.exceptions import RequestValidationError

    service = Service(models, settings)

    @asynccontextmanager
    async def lifespan(_app: Any) -> Any:
        service.start()
        try:
            yield
        finally:
            await service.stop()

    app = fastapi.FastAPI(
        title="toolkit",
        version=__version__,
        summary="Topic and stance of news articles, from toolkit models.",
        lifespan=lifespan,
    )
    app.state.service = service

    @app.post("/predict", response_model=PredictResponse, response_model_exclude_none=True, responses=ERRORS)
    async def predict(request: PredictRequest) -> PredictResponse:
        """Predict one text or many with every served model (or those named in `models`)."""
        return await service.predict(request)

    @app.get("/health", response_model=Health, response_model_exclude_none=True)
    async def health() -> Health:
        """The server is up and these models are loaded."""
        return Health(status="ok", models=service.infos)

    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(ToolkitError, _toolkit_error)
    app.add_exception_handler(Exception, _unexpected_error)  # answered as JSON; uvicorn logs the traceback
    app.add_middleware(BodyLimit, max_bytes=max_request_bytes)
    return app


def _error(status: int, detail: str) -> Any:
    from fastapi.responses import JSONResponse

    return JSONResponse({"detail": detail}, status_code=status)


async def _toolkit_error(_request: Any, exc: Exception) -> Any:
    assert isinstance(exc, ToolkitError)
    return _error(http_status(exc), str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)


async def _unexpected_error(_request: Any, exc: Exception) -> Any:
    return _error(500, f"internal error: {type(exc).__name__}")


async def _validation_error(_request: Any, exc: Exception) -> Any:
    return _error(422, validation_detail(list(exc.errors())))  # type: ignore[attr-defined]


def validation_detail(errors: list[dict[str, Any]], shown: int = 3) -> str:
    """pydantic's errors as one line: 'texts[0]: Input should be a valid string; ...'."""
    parts = []
    for error in errors[:shown]:
        kind, loc = error.get("type"), [p for p in error.get("loc", ()) if p != "body"]
        if kind == "json_invalid":
            return f"the request body is not valid JSON ({error.get('ctx', {}).get('error', 'decode error')})"
        if kind == "missing" and not loc:
            return 'the request body is missing: send JSON such as {"texts": ["..."]}'
        if kind in {"model_attributes_type", "dict_type"} and not loc:
            return 'the request body must be a JSON object (Content-Type: application/json) such as {"texts": ["..."]}'
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    more = f" (and {len(errors) - shown} more)" if len(errors) > shown else ""
    return "; ".join(parts) + more if parts else "invalid request"


class BodyLimit:
    """ASGI middleware: refuse a body over `max_bytes` with 413 before anything parses it (by its declared
    Content-Length, or while it streams in), and hand the app the body it buffered."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(send, 413 if declared.isdigit() else 400)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                await self._refuse(send, 413)
                return
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(bytes(body), receive), send)

    async def _refuse(self, send: Send, status: int) -> None:
        detail = (
            f"the request body is over the limit of {self.max_bytes:,} bytes (--max-request-bytes)"
            if status == 413
            else "the Content-Length header is not a number"
        )
        payload = json.dumps({"detail": detail}, separators=(",", ":")).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": [*headers, (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": payload})


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the buffered body once, then defers to the server's (e.g. for a disconnect)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed
