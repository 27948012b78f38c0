"""`toolkit serve`: an HTTP JSON service answering `POST /predict` with the records of `toolkit predict --json`.

- `schema`: the request and response bodies (pydantic; the OpenAPI schema is built from them).
- `batching`: the micro-batcher that groups concurrent requests into one predict call per model.
- `service`: choosing the answering models and their targets, predicting, errors with their HTTP status.
- `app`: the FastAPI app (`build_app`) and the request-size limit.
- `run`: binding the socket and running uvicorn, in the foreground or a background thread.

Models load through `toolkit.predict` (the safe loader: manifest, sha256 checks, no unpickling). FastAPI and
uvicorn are the optional `serve` extra, imported only when a server is built.
"""
