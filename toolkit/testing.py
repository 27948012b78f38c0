"""Build a tiny, randomly initialised BERT encoder and a WordPiece tokenizer trained on given texts.

For tests and docs: the transformer backend can then be exercised fully offline in seconds, through
exactly the loading path a real checkpoint takes (a folder with config.json, model.safetensors and
tokenizer files, fine-tuned with a fresh classification head).

    >>> from toolkit.testing import build_tiny_encoder
    >>> folder = build_tiny_encoder(tmp_path / "tiny", ["some text", "more text"])  # doctest: +SKIP
    >>> # then: backend.params.model_name_or_path = str(folder)
"""

from __future__ import annotations

import string
from collections.abc import Iterable
from pathlib import Path

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def train_wordpiece(texts: Iterable[str], vocab_size: int = 600) -> object:
    """A lowercasing BERT-style WordPiece tokenizer (single and pair templates) fitted to `texts`.

    The vocabulary is chosen here, deterministically (special tokens, every ASCII character alone and as
    a '##' continuation, then the most frequent words, ties broken alphabetically), because the
    `tokenizers` WordPiece trainer breaks frequency ties differently from run to run."""
    from collections import Counter

    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    normalizer, pre_tokenizer = normalizers.BertNormalizer(lowercase=True), pre_tokenizers.BertPreTokenizer()
    counts = Counter(
        word for text in texts for word, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(text))
    )
    characters = string.ascii_lowercase + string.digits + string.punctuation
    vocab = SPECIAL_TOKENS + list(characters) + [f"##{c}" for c in characters]
    known = set(vocab)
    vocab += [w for w, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0])) if w not in known]
    tokenizer = Tokenizer(models.WordPiece({token: i for i, token in enumerate(vocab[:vocab_size])}, unk_token="[UNK]"))
    tokenizer.normalizer, tokenizer.pre_tokenizer = normalizer, pre_tokenizer
    cls_id, sep_id = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    tokenizer.decoder = decoders.WordPiece()
    return tokenizer


def build_tiny_encoder(
    folder: Path,
    texts: Iterable[str],
    *,
    hidden_size: int = 32,
    layers: int = 2,
    heads: int = 2,
    max_positions: int = 128,
    dropout: float = 0.0,
    initializer_range: float = 0.2,
    seed: int = 0,
) -> Path:
    """Write a tiny BERT encoder (safetensors) and its tokenizer into `folder`; return the folder.

    The initializer range is 10x BERT's 0.02: with the usual one a random 2-layer model needs many epochs
    before its [CLS] vector separates classes; with 0.2 it overfits a dozen rows in a few epochs."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    wordpiece = train_wordpiece(texts)
    tokenizer = BertTokenizerFast(
        tokenizer_object=wordpiece,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=max_positions,
    )
    config = BertConfig(
        vocab_size=wordpiece.get_vocab_size(),
        hidden_size=hidden_size,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=hidden_size * 2,
        max_position_embeddings=max_positions,
        hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
        pad_token_id=0,
        initializer_range=initializer_range,
    )
    torch.manual_seed(seed)
    from toolkit.backends.transformer.loading import quiet_transformers

    with quiet_transformers():
        BertModel(config).save_pretrained(folder)
        tokenizer.save_pretrained(folder)
    return folder
