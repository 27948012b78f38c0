"""Batch scoring: `api.score` dispatches to the `local` or `spark` engine; both build on `core` (options,
summary, the model, row scoring), `input` (streaming readers) and `output` (the output folder), never on
each other."""
