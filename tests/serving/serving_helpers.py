"""Real HTTP calls to a running `toolkit serve` (urllib: no client library needed)."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit


def call(
    url: str, body: Any = None, *, method: str | None = None, content_type: str = "application/json"
) -> tuple[int, Any]:
    """(status, decoded JSON body or text) of one request; `body` bytes are sent as is, others as JSON."""
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method or ("GET" if data is None else "POST"))
    if data is not None:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, _decode(response.read(), response.headers.get_content_type())
    except urllib.error.HTTPError as error:
        return error.code, _decode(error.read(), error.headers.get_content_type())


def _decode(raw: bytes, content_type: str) -> Any:
    return json.loads(raw) if content_type == "application/json" else raw.decode()


def post_chunked(url: str, chunks: list[bytes]) -> tuple[int, Any]:
    """POST a body with Transfer-Encoding: chunked (no Content-Length: the limit must count as it streams)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.putrequest("POST", parts.path)
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Transfer-Encoding", "chunked")
        connection.endheaders()
        for chunk in chunks:
            connection.send(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        connection.send(b"0\r\n\r\n")
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def assert_one_line_error(status: int, answer: Any, expected: int, *fragments: str) -> None:
    """The contract for a refused request: the status, `{"detail": "one line"}`, no traceback."""
    assert status == expected, (status, answer)
    assert isinstance(answer, dict) and set(answer) == {"detail"}, answer
    detail = answer["detail"]
    assert isinstance(detail, str) and detail and "\n" not in detail and "Traceback" not in detail, detail
    for fragment in fragments:
        assert fragment in detail, (fragment, detail)
