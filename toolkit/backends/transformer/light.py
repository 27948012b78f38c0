"""The transformer backend's prediction path for saved BERT models with torch, safetensors and `tokenizers` only.

Importing transformers' BERT modules costs about 2.6 s, which `toolkit predict article.txt -m FOLDER` would pay
on every call. A saved BERT classifier is small enough to run by hand: this module reads the same weights
(safetensors, the names transformers writes), runs the same float32 forward (embeddings, post-LayerNorm
self-attention layers, erf GELU, then the [CLS] pooler + classifier or the mean-pooled head), and tokenizes with
the same `tokenizers` backend transformers builds for a BERT tokenizer. `LightTokenizer` and `LightBert` stand in
for the tokenizer and network inside `TransformerModel`, so windows, batching and aggregation are the ones of the
normal path. `tests/backends/transformer/test_light.py` checks the probabilities equal it to 1e-5.

`load_light` returns None, and the folder loads through transformers unchanged, whenever anything is not plainly
supported: another model_type, an activation other than "gelu", a decoder, relative positions, a tokenizer other
than transformers' BertTokenizer layout, missing or misshapen weights, a GPU, torch_compile, or
TOOLKIT_TRANSFORMER_LIGHT=0 in the environment (the escape hatch). Every error a broken folder deserves is
therefore still raised by the normal loader, word for word.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from toolkit.backends.transformer.params import TransformerParams

ENV = "TOOLKIT_TRANSFORMER_LIGHT"
HEAD_FILE = "head.safetensors"  # = pooling.HEAD_FILE; that module imports transformers
WEIGHTS_FILE, CONFIG_FILE = "model.safetensors", "config.json"
TOKENIZER_FILE, TOKENIZER_CONFIG = "tokenizer.json", "tokenizer_config.json"
TOKENIZER_CLASSES = ("BertTokenizer", "BertTokenizerFast")
# transformers' BertTokenizer defaults for what tokenizer_config.json may leave out
SPECIAL_DEFAULTS = {f"{name}_token": f"[{name.upper()}]" for name in ("unk", "sep", "pad", "cls", "mask")}
PLAIN_TOKEN = {"single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}


def load_light(folder: Path, params: TransformerParams, labels: list[str]) -> tuple[LightBert, LightTokenizer] | None:
    """The network and tokenizer of a saved BERT model without transformers; None when this path does not
    support the folder or the params (the caller then loads it through transformers)."""
    if os.environ.get(ENV, "1").strip().lower() in {"0", "false", "no", "off"} or params.torch_compile:
        return None
    try:
        from safetensors import SafetensorError
    except ImportError:
        return None
    try:
        from toolkit.backends.transformer.device import resolve_device

        if resolve_device(params.device) != "cpu":
            return None
        config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
        if not supported_config(config, params, labels) or (folder / HEAD_FILE).is_file() != (params.pooling == "mean"):
            return None
        tokenizer = LightTokenizer.from_folder(folder)
        network = None if tokenizer is None else LightBert.from_folder(folder, config, len(labels), params.pooling)
    except (OSError, ValueError, KeyError, TypeError, ImportError, RuntimeError, SafetensorError):
        return None  # the normal loader says what is wrong
    return None if network is None or tokenizer is None else (network, tokenizer)


def supported_config(config: Any, params: TransformerParams, labels: list[str]) -> bool:
    """A plain BERT encoder whose labels and positions fit the saved params."""
    if not isinstance(config, dict) or config.get("model_type") != "bert" or config.get("hidden_act") != "gelu":
        return False
    if config.get("is_decoder") or config.get("add_cross_attention"):
        return False
    if config.get("position_embedding_type", "absolute") != "absolute":
        return False
    id2label = config.get("id2label") or {}
    if [id2label.get(str(i)) for i in range(len(labels))] != labels or len(id2label) != len(labels):
        return False
    hidden, heads = int(config["hidden_size"]), int(config["num_attention_heads"])
    return hidden % heads == 0 and params.max_length <= int(config["max_position_embeddings"])


class LightTokenizer:
    """What `WindowEncoder` calls on a transformers fast tokenizer, over the `tokenizers` backend transformers
    would build for a BertTokenizer (its normalizer, pre-tokenizer, WordPiece model, [CLS]/[SEP] template and
    special tokens from tokenizer_config.json; no truncation, no padding)."""

    def __init__(self, backend: Any, pad_token_id: int, source: Path) -> None:
        self.backend, self.pad_token_id, self.source = backend, pad_token_id, source

    @classmethod
    def from_folder(cls, folder: Path) -> LightTokenizer | None:
        """The folder's tokenizer.json checked against tokenizer_config.json; None unless transformers would
        tokenize exactly alike."""
        from tokenizers import Tokenizer, processors

        settings = json.loads((folder / TOKENIZER_CONFIG).read_text(encoding="utf-8"))
        saved = json.loads((folder / TOKENIZER_FILE).read_text(encoding="utf-8"))
        if not isinstance(settings, dict) or not bertlike_tokenizer(settings, saved):
            return None
        specials = {name: special_name(settings.get(name, default)) for name, default in SPECIAL_DEFAULTS.items()}
        backend = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
        backend.no_truncation()
        backend.no_padding()
        ids = {name: backend.token_to_id(token) for name, token in specials.items() if token is not None}
        if any(ids.get(name) is None for name in ("pad_token", "cls_token", "sep_token")):
            return None
        cls_token, sep_token = specials["cls_token"], specials["sep_token"]
        template = processors.TemplateProcessing(  # the one BertTokenizer.__init__ sets: the file's must be it
            single=f"{cls_token}:0 $A:0 {sep_token}:0",
            pair=f"{cls_token}:0 $A:0 {sep_token}:0 $B:1 {sep_token}:1",
            special_tokens=[(cls_token, ids["cls_token"]), (sep_token, ids["sep_token"])],
        )
        same = saved.get("post_processor") == json.loads(template.__getstate__())
        return cls(backend, ids["pad_token"], folder) if same else None

    def __call__(
        self,
        text: str | list[str],
        text_pair: str | None = None,
        *,
        add_special_tokens: bool = True,
        return_token_type_ids: bool | None = None,
        return_attention_mask: bool | None = None,
        verbose: bool = True,
    ) -> dict[str, Any]:
        """input_ids (and token_type_ids, attention_mask) of one text, one pair or a list of texts."""
        batched = isinstance(text, list)
        inputs = text if batched else [(text, text_pair) if text_pair else text]
        encodings = self.backend.encode_batch(inputs, add_special_tokens=add_special_tokens)
        out = {"input_ids": [encoding.ids for encoding in encodings]}
        if return_token_type_ids is not False:
            out["token_type_ids"] = [encoding.type_ids for encoding in encodings]
        if return_attention_mask is not False:
            out["attention_mask"] = [encoding.attention_mask for encoding in encodings]
        return out if batched else {key: value[0] for key, value in out.items()}

    def save_pretrained(self, folder: Path) -> None:
        """The tokenizer files it was read from, copied unchanged."""
        for name in (TOKENIZER_FILE, TOKENIZER_CONFIG, "special_tokens_map.json"):
            if (self.source / name).is_file():
                shutil.copyfile(self.source / name, Path(folder) / name)


def special_name(value: Any) -> str | None:
    """A special token as tokenizer_config.json writes it: a string or an AddedToken dict."""
    return value.get("content") if isinstance(value, dict) else value


def bertlike_tokenizer(settings: dict[str, Any], saved: dict[str, Any]) -> bool:
    """Whether transformers' BertTokenizer would rebuild tokenizer.json's backend as is: the normalizer from
    tokenizer_config.json's flags, a BertPreTokenizer, a '##' WordPiece, and the file's added tokens exactly the
    special tokens it registers (plain, special, not normalized)."""
    if settings.get("tokenizer_class") not in TOKENIZER_CLASSES or settings.get("split_special_tokens"):
        return False
    if settings.get("additional_special_tokens") or settings.get("extra_special_tokens"):
        return False
    normalizer = {
        "type": "BertNormalizer",
        "clean_text": True,
        "handle_chinese_chars": settings.get("tokenize_chinese_chars", True),
        "strip_accents": settings.get("strip_accents"),
        "lowercase": settings.get("do_lower_case", True),
    }
    model = saved.get("model") or {}
    specials = {special_name(settings.get(name, default)) for name, default in SPECIAL_DEFAULTS.items()}
    added = saved.get("added_tokens") or []
    declared = settings.get("added_tokens_decoder") or {}
    return (
        saved.get("normalizer") == normalizer
        and saved.get("pre_tokenizer") == {"type": "BertPreTokenizer"}
        and model.get("type") == "WordPiece"
        and model.get("continuing_subword_prefix") == "##"
        and model.get("max_input_chars_per_word") == 100
        and model.get("unk_token") == special_name(settings.get("unk_token", "[UNK]"))
        and all({key: token.get(key) for key in PLAIN_TOKEN} == PLAIN_TOKEN for token in added)
        and {token.get("content") for token in added} == specials
        and all({key: token.get(key) for key in PLAIN_TOKEN} == PLAIN_TOKEN for token in declared.values())
        and {token.get("content") for token in declared.values()} <= specials
    )


class LightBert:
    """A BERT encoder with transformers' sequence-classification head (`pooling: model`: tanh pooler on [CLS],
    then a linear layer) or the toolkit's mean-pooled one (`pooling: mean`), as plain float32 torch functions.
    Called like the transformers network (input_ids, attention_mask, token_type_ids -> `.logits`); inference only
    (no dropout), so `train()`/`eval()` only record the mode."""

    def __init__(self, weights: dict[str, Any], config: dict[str, Any], pooling: str, source: Path) -> None:
        self.weights, self.pooling, self.source = weights, pooling, source
        self.layers, self.heads = int(config["num_hidden_layers"]), int(config["num_attention_heads"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.training = False

    @classmethod
    def from_folder(cls, folder: Path, config: dict[str, Any], n_labels: int, pooling: str) -> LightBert | None:
        """The weights under transformers' names (checked for presence and shape, cast to float32); None when
        any is missing or misshapen."""
        from safetensors.torch import load_file

        weights = load_file(str(folder / WEIGHTS_FILE))
        prefix = "bert." if pooling == "model" else ""
        if pooling == "mean":
            weights |= load_file(str(folder / HEAD_FILE))
        shapes = expected_shapes(config, n_labels, prefix, pooling)
        if any(name not in weights or tuple(weights[name].shape) != shape for name, shape in shapes.items()):
            return None
        return cls({name.removeprefix(prefix): weights[name].float() for name in shapes}, config, pooling, folder)

    def to(self, device: str) -> LightBert:
        self.weights = {name: tensor.to(device) for name, tensor in self.weights.items()}
        return self

    def train(self, mode: bool = True) -> LightBert:
        self.training = mode
        return self

    def eval(self) -> LightBert:
        return self.train(False)

    def linear(self, name: str, x: Any) -> Any:
        import torch

        return torch.nn.functional.linear(x, self.weights[f"{name}.weight"], self.weights[f"{name}.bias"])

    def norm(self, name: str, x: Any) -> Any:
        import torch

        w, b = self.weights[f"{name}.weight"], self.weights[f"{name}.bias"]
        return torch.nn.functional.layer_norm(x, (x.shape[-1],), w, b, self.eps)

    def __call__(self, input_ids: Any, attention_mask: Any = None, token_type_ids: Any = None) -> SimpleNamespace:
        """The logits of a batch, as `BertForSequenceClassification` / `MeanPooledClassifier` compute them."""
        import torch

        functional, weights = torch.nn.functional, self.weights
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        states = functional.embedding(input_ids, weights["embeddings.word_embeddings.weight"])
        states = states + functional.embedding(token_type_ids, weights["embeddings.token_type_embeddings.weight"])
        states = self.norm("embeddings.LayerNorm", states + weights["embeddings.position_embeddings.weight"][positions])
        mask = None if attention_mask is None else attention_mask[:, None, None, :].bool()
        for i in range(self.layers):
            states = self.layer(f"encoder.layer.{i}", states, mask)
        if self.pooling == "mean":
            if attention_mask is None:
                pooled = states.mean(dim=1)
            else:
                weight = attention_mask.unsqueeze(-1).to(states.dtype)
                pooled = (states * weight).sum(dim=1) / weight.sum(dim=1).clamp(min=1.0)
        else:
            pooled = torch.tanh(self.linear("pooler.dense", states[:, 0]))
        return SimpleNamespace(logits=self.linear("classifier", pooled))

    def layer(self, name: str, states: Any, mask: Any) -> Any:
        """One encoder layer: self-attention, add & LayerNorm, GELU feed-forward, add & LayerNorm."""
        import torch

        batch, width, hidden = states.shape
        head_size = hidden // self.heads

        def heads(part: str) -> Any:
            projected = self.linear(f"{name}.attention.self.{part}", states)
            return projected.view(batch, width, -1, head_size).transpose(1, 2)

        attended = torch.nn.functional.scaled_dot_product_attention(
            heads("query"), heads("key"), heads("value"), attn_mask=mask, dropout_p=0.0, scale=head_size**-0.5
        )
        attended = attended.transpose(1, 2).reshape(batch, width, hidden)
        attended = self.linear(f"{name}.attention.output.dense", attended)
        states = self.norm(f"{name}.attention.output.LayerNorm", attended + states)
        inner = torch.nn.functional.gelu(self.linear(f"{name}.intermediate.dense", states))
        return self.norm(f"{name}.output.LayerNorm", self.linear(f"{name}.output.dense", inner) + states)

    def save_pretrained(self, folder: Path) -> None:
        """The config and weight files it was read from, copied unchanged."""
        for name in (CONFIG_FILE, WEIGHTS_FILE, *((HEAD_FILE,) if self.pooling == "mean" else ())):
            shutil.copyfile(self.source / name, Path(folder) / name)


def expected_shapes(config: dict[str, Any], n_labels: int, prefix: str, pooling: str) -> dict[str, tuple[int, ...]]:
    """Every weight the forward reads, by its name in the saved files, with its shape."""
    hidden, inner = int(config["hidden_size"]), int(config["intermediate_size"])
    shapes: dict[str, tuple[int, ...]] = {
        f"{prefix}embeddings.word_embeddings.weight": (int(config["vocab_size"]), hidden),
        f"{prefix}embeddings.position_embeddings.weight": (int(config["max_position_embeddings"]), hidden),
        f"{prefix}embeddings.token_type_embeddings.weight": (int(config.get("type_vocab_size", 2)), hidden),
    }
    linears = {"attention.self.query": (hidden, hidden), "attention.self.key": (hidden, hidden)}
    linears |= {"attention.self.value": (hidden, hidden), "attention.output.dense": (hidden, hidden)}
    linears |= {"intermediate.dense": (inner, hidden), "output.dense": (hidden, inner)}
    norms = ["embeddings.LayerNorm"]
    for i in range(int(config["num_hidden_layers"])):
        layer = f"encoder.layer.{i}"
        norms += [f"{layer}.attention.output.LayerNorm", f"{layer}.output.LayerNorm"]
        for part, (rows, columns) in linears.items():
            shapes |= {f"{prefix}{layer}.{part}.weight": (rows, columns), f"{prefix}{layer}.{part}.bias": (rows,)}
    for norm in norms:
        shapes |= {f"{prefix}{norm}.weight": (hidden,), f"{prefix}{norm}.bias": (hidden,)}
    if pooling == "model":
        shapes |= {f"{prefix}pooler.dense.weight": (hidden, hidden), f"{prefix}pooler.dense.bias": (hidden,)}
    return shapes | {"classifier.weight": (n_labels, hidden), "classifier.bias": (n_labels,)}
