"""Names the tracking records share: run tags and artifact paths (kept stable: old runs are read by them)."""

TAG_TASK = "toolkit.task"
TAG_BACKEND = "toolkit.backend"
TAG_MODEL_URI = "toolkit.model_uri"
TAG_MODEL_SHA = "toolkit.model_sha256"
TAG_RUN_KIND = "toolkit.run_kind"
TAG_RUN_DETAIL = "toolkit.run_detail"  # what a short run name stands for: task, backend, data hash, settings
MODEL_ARTIFACT = "model"
MODEL_DIR_ARTIFACT = "model_dir"
