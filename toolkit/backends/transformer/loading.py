"""Reading encoders and saved transformer models safely: safetensors weights only, never remote code.

Every `from_pretrained` call pins `use_safetensors=True` and `trust_remote_code=False`; a saved model must
load completely (no weight silently re-initialized at random) and with the pooling it was saved with.
`load_saved` reads a saved model folder, both to predict with it and to fine-tune it further (`init_from`,
whose folder `start_folder` checks first: hashed manifest, a transformer model of the run's task).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolkit.errors import ConfigError, ModelLoadError

if TYPE_CHECKING:
    from toolkit.backends.transformer.params import TransformerParams

LABELS_FILE = "labels.json"


@contextmanager
def quiet_transformers() -> Iterator[None]:
    """transformers' own warnings and progress bars off for a block, restored afterwards."""
    from transformers.utils import logging as hf_logging

    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


def from_pretrained_safely(
    auto_class: Any, source: str, options: dict[str, Any], what: str, user: str
) -> tuple[Any, Any]:
    """The network `auto_class` loads from `source` (safetensors only, never remote code) and its fast tokenizer;
    any loading failure becomes one ModelLoadError line naming `what` was being loaded for `user`."""
    from safetensors import SafetensorError

    from toolkit._deps import require

    transformers = require("transformers", "transformer")
    try:
        with quiet_transformers():  # "newly initialized head" is the point, not news; no progress bars
            network = auto_class.from_pretrained(source, use_safetensors=True, trust_remote_code=False, **options)
            tokenizer = transformers.AutoTokenizer.from_pretrained(source, trust_remote_code=False)
    except (OSError, ValueError, KeyError, SafetensorError) as exc:  # SafetensorError: a truncated weights file
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelLoadError(
            f"cannot load {what} '{source}' (safetensors weights, no remote code): {first[:300]}"
        ) from exc
    if not tokenizer.is_fast or tokenizer.pad_token_id is None:
        raise ModelLoadError(f"'{source}': {user} needs a fast tokenizer with a padding token")
    return network, tokenizer


def load_pretrained(source: str, params: TransformerParams, labels: Sequence[str] | None) -> tuple[Any, Any]:
    """Network and tokenizer from a folder or hub id: safetensors only, never remote code.
    With `labels`, a fresh classification head of that size is attached (the encoder's is replaced);
    without, the folder is a saved model and its head is loaded too (refused when its weights lack the head, or
    when `params.pooling` is not how the folder was saved)."""
    from toolkit._deps import require

    torch = require("torch", "transformer")
    transformers = require("transformers", "transformer")
    options: dict[str, Any] = {"dtype": torch.float32, "attn_implementation": params.attn_implementation}
    saved = labels is None
    label_map = (
        {}
        if labels is None
        else {"id2label": dict(enumerate(labels)), "label2id": {x: i for i, x in enumerate(labels)}}
    )
    if saved:  # any weight transformers had to initialize would be random: ask which, refuse below
        check_saved_pooling(source, params.pooling)
        options["output_loading_info"] = True
    elif params.pooling == "model" and labels is not None:
        options |= {"num_labels": len(labels), "ignore_mismatched_sizes": True, **label_map}
    auto_class = transformers.AutoModel if params.pooling == "mean" else transformers.AutoModelForSequenceClassification
    network, tokenizer = from_pretrained_safely(auto_class, source, options, "encoder", "the backend")
    if saved:
        network, info = network
        if info["missing_keys"]:
            missing = ", ".join(sorted(info["missing_keys"])[:5])
            raise ModelLoadError(f"{source}: weights missing from the saved model (would be random): {missing}")
    if params.pooling == "mean":
        network = mean_pooled(network, source, label_map)
    positions = getattr(network.config, "max_position_embeddings", None)
    if positions is not None and params.max_length > positions:
        raise ConfigError(f"backend.params.max_length={params.max_length} exceeds the model's {positions} positions")
    return network, tokenizer


def check_saved_pooling(folder: str, pooling: str) -> None:
    """A saved model's files say how it pools (a mean-pooling head is its own file): params that say otherwise
    would load a classifier with a random head, so they are refused."""
    from toolkit.backends.transformer.pooling import HEAD_FILE

    saved = "mean" if (Path(folder) / HEAD_FILE).is_file() else "model"
    if saved != pooling:
        raise ModelLoadError(
            f"{folder}: saved with pooling: {saved} ({HEAD_FILE} {'present' if saved == 'mean' else 'absent'}), "
            f"but its params say pooling: {pooling}"
        )


def mean_pooled(encoder: Any, source: str, label_map: dict[str, Any]) -> Any:
    """`encoder` under a mean-pooling head: a fresh one for `label_map`'s labels, else the one saved in `source`."""
    from safetensors import SafetensorError

    from toolkit.backends.transformer.pooling import HEAD_FILE, MeanPooledClassifier

    if label_map:
        encoder.config.id2label, encoder.config.label2id = label_map["id2label"], label_map["label2id"]
        return MeanPooledClassifier(encoder, len(label_map["id2label"]))
    network = MeanPooledClassifier(encoder, len(encoder.config.id2label))
    try:
        network.load_head(Path(source))
    except (OSError, RuntimeError, KeyError, ValueError, SafetensorError) as exc:
        raise ModelLoadError(f"{source}: cannot load the mean-pooling head {HEAD_FILE} ({type(exc).__name__})") from exc
    return network


def load_saved(
    folder: Path, manifest: dict[str, Any], settings: TransformerParams | None = None
) -> tuple[list[str], TransformerParams, Any, Any]:
    """Labels, params, network and tokenizer of a saved model folder whose files `manifest` lists (hashes already
    checked). The network is built with `settings` where given (fine-tuning: the run's device and attention
    kernels), else with the params the model was saved with (a GPU-trained model's device becomes auto)."""
    from toolkit.models.folder import invalid

    labels, params = saved_settings(folder, manifest)
    try:
        network, tokenizer = load_pretrained(str(folder), settings or params, None)
    except ModelLoadError as exc:  # truncated weights, a missing head: the folder is at fault, say so once
        raise invalid(folder, str(exc).removeprefix(f"{folder}: ")) from exc
    if [network.config.id2label[i] for i in range(len(labels))] != labels:
        raise ModelLoadError(f"{folder}: config.json's id2label does not match the labels")
    return labels, params, network, tokenizer


def saved_settings(folder: Path, manifest: dict[str, Any]) -> tuple[list[str], TransformerParams]:
    """Labels (labels.json, which must equal the manifest's) and params (validated; a GPU-trained model's
    device becomes auto) of a saved model folder."""
    from pydantic import ValidationError

    from toolkit.backends.transformer.params import TransformerParams
    from toolkit.models.folder import first_problem, invalid, read_model_json

    saved = read_model_json(folder, LABELS_FILE)  # the manifest's labels are validated; these must equal them
    labels = saved.get("labels") if isinstance(saved, dict) else None
    if labels != manifest["labels"]:
        raise invalid(folder, f"{LABELS_FILE} and manifest.json disagree on the labels")
    try:
        params = TransformerParams.model_validate(manifest.get("params", {}))
    except ValidationError as exc:
        raise invalid(folder, first_problem(exc, "manifest.json params")) from exc
    if params.device == "cuda":  # trained on a GPU, may be used where there is none
        params = params.model_copy(update={"device": "auto"})
    return labels, params


def start_folder(folder: Path, task: str) -> dict[str, Any]:
    """The manifest of the saved model `init_from` names, after the safe loader's checks (manifest, every file's
    sha256); refused unless it is a transformer model of `task`."""
    from toolkit.models.folder import read_manifest, verify_files

    manifest = read_manifest(folder)
    verify_files(folder, manifest)
    if manifest["backend"] != "transformer":
        raise ConfigError(
            f"backend.params.init_from: {folder} is a {manifest['backend']} model; only a transformer model "
            "can be fine-tuned"
        )
    if manifest["task"] != task:
        raise ConfigError(f"backend.params.init_from: {folder} is a {manifest['task']} model, this run is {task}")
    return manifest
