"""`toolkit serve`: the HTTP JSON service (POST /predict, GET /health, docs at /docs)."""

from __future__ import annotations

from typing import Annotated

import typer

from toolkit.cli._app import _fill, app, err, examples


@app.command(
    epilog=examples(
        "toolkit serve                                        # newest topic and stance models on 127.0.0.1:8000",
        "toolkit serve -m models:/topic@champion --port 9000",
        "curl -s localhost:8000/predict -H 'content-type: application/json' -d '{\"text\": \"...\"}'",
    )
)
def serve(
    model: Annotated[
        list[str] | None,
        typer.Option("--model", "-m", help="Model REF (repeatable); default: newest topic and stance runs."),
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0: every interface, no auth!).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on (0: any free port).")] = 8000,
    max_request_bytes: Annotated[int, typer.Option(min=1, help="Larger request bodies get 413.")] = 4 * 1024 * 1024,
    max_texts: Annotated[int, typer.Option(min=1, help="Most texts one request may send (more: 413).")] = 256,
    batch_wait_ms: Annotated[
        float | None,
        typer.Option(min=0, help="How long a batch waits for more requests (default: 2 ms transformer, 0 tfidf)."),
    ] = None,
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = True,
) -> None:
    """Serve models over HTTP. POST /predict answers with the fields of `predict --json`; GET /health; docs at
    /docs."""
    from toolkit.serving.run import LOOPBACK, ServeOptions, load_models
    from toolkit.serving.run import serve as run_server

    options = _fill(ServeOptions, locals())
    models = load_models(model or [])
    for loaded in models:
        err.print(f"✔ loaded {loaded.ref} ({loaded.model.task}, {loaded.model.backend_name})", markup=False)
    if host not in LOOPBACK:
        err.print(f"[yellow]⚠[/yellow] listening on {host}: other machines can reach it, and it has no authentication")

    def announce(url: str) -> None:
        err.print(f"✔ POST {url}/predict; docs at {url}/docs; Ctrl+C stops", markup=False)

    run_server(models, options, announce)
