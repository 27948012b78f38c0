"""`toolkit serve` on the command line: bad refs and a busy port are one-line errors before anything listens, the
CLI stays light, and (slow) the real console script serves and stops on SIGINT."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.serving.serving_helpers import call


def run_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """(exit code, stderr) of `toolkit ARGS` run in this process through the console script's entry."""
    from toolkit.cli import main

    monkeypatch.setattr(sys, "argv", ["toolkit", *args])
    capsys.readouterr()
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    return code, capsys.readouterr().err


def test_missing_model_is_a_one_line_error(monkeypatch, capsys, tmp_path: Path) -> None:
    code, stderr = run_cli(monkeypatch, capsys, "serve", "-m", str(tmp_path / "nope"), "--port", "0")
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: model not found"), stderr


def test_busy_port_is_a_one_line_error(monkeypatch, capsys, serve_models) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, stderr = run_cli(monkeypatch, capsys, "serve", "-m", str(serve_models["topic"]), "--port", str(port))
    errors = [line for line in stderr.splitlines() if line.startswith("error")]
    assert code == 1 and errors == [errors[0]] and f"cannot listen on 127.0.0.1:{port}" in errors[0], stderr
    assert "Traceback" not in stderr


def test_importing_the_cli_loads_no_web_framework() -> None:
    code = "import sys, toolkit.cli; print([m for m in ('fastapi', 'uvicorn', 'starlette') if m in sys.modules])"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"
    )


@pytest.mark.slow
def test_console_script_serves_and_stops(serve_models, tmp_path: Path) -> None:
    """The real `toolkit serve` process: binds 127.0.0.1 by default, answers, stops cleanly on Ctrl+C."""
    command = [sys.executable, "-c", "from toolkit.cli import main; main()", "serve", "-m", str(serve_models["topic"])]
    process = subprocess.Popen(
        [*command, "--port", "0", "--no-access-log"], stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=os.environ
    )
    try:
        url = None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline:
            line = process.stderr.readline()
            if "✔ POST " in line:
                url = line.split("✔ POST ", 1)[1].split("/predict", 1)[0]
        assert url is not None and url.startswith("http://127.0.0.1:")
        status, answer = call(f"{url}/predict", {"text": "a late goal in the match"})
        assert status == 200 and answer["results"][0]["predictions"][0]["task"] == "topic", answer
        assert json.dumps(call(f"{url}/health")[1]).count('"ref"') == 1
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 130  # the requests in flight finish, then the usual Ctrl+C exit code
    assert "Application shutdown complete" in process.stderr.read()


def test_the_listening_socket_sends_small_answers_at_once() -> None:
    """Regression: a socket made without IPPROTO_TCP kept asyncio from setting TCP_NODELAY, and every keep-alive
    answer waited ~40 ms for the client's delayed ACK (a single client got 22 answers/s)."""
    import socket

    from toolkit.serving.run import bind_socket

    sock = bind_socket("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    finally:
        sock.close()
