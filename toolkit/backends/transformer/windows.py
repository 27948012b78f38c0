"""Token plumbing for the transformer backend, kept free of torch.

- Stance inputs are (target, text) sentence pairs: the target comes first and is never cut; only the
  text is split.
- A text longer than a window is split into overlapping windows (`stride` shared tokens; the last window
  ends with the text, so every window of a long text is full and needs no padding); each window is
  classified and the window probabilities are aggregated back to one row per text.
- Windows are built as NumPy arrays (ids, token types, lengths) from each *distinct* text's tokens: a body
  scored against thirty headlines is tokenized once. The tokenizer's own special-token layout is learned
  from one probe call (`Template`) and checked against it, so any fast tokenizer works, not only BERT's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from toolkit.errors import DataError, ModelLoadError

if TYPE_CHECKING:
    import numpy as np

Aggregation = Literal["mean", "max", "first"]
PROBE = ("alpha beta", "omega")
CHECK = ("gamma", "delta epsilon zeta")


@dataclass(frozen=True)
class Template:
    """Special tokens a tokenizer puts around one sequence (`prefix seq suffix`) or a pair
    (`prefix first middle second suffix`), with their token types; `types is None` when the
    model takes no token types."""

    prefix: tuple[int, ...]
    middle: tuple[int, ...]
    suffix: tuple[int, ...]
    types: tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], int, int] | None

    @property
    def specials(self) -> int:
        return len(self.prefix) + len(self.middle) + len(self.suffix)


def plain_ids(tokenizer: Any, texts: Sequence[str]) -> list[list[int]]:
    """Token ids of each text without special tokens, truncation or length warnings."""
    options = {"add_special_tokens": False, "return_attention_mask": False, "verbose": False}
    ids: list[list[int]] = tokenizer(list(texts), return_token_type_ids=False, **options)["input_ids"]
    return ids


def learn_template(tokenizer: Any, pair: bool) -> Template:
    """Read the special-token layout off the tokenizer's own encoding of a probe, then check it."""
    first, second = plain_ids(tokenizer, PROBE)
    probe = tokenizer(PROBE[0], PROBE[1]) if pair else tokenizer(PROBE[0])
    ids, types = list(probe["input_ids"]), probe.get("token_type_ids")
    start = next((i for i in range(len(ids)) if ids[i : i + len(first)] == first), None)
    if start is None:
        raise ModelLoadError("the tokenizer's special-token layout could not be read (probe text not found)")
    after = start + len(first)
    if pair:
        last = range(len(ids), after + len(second) - 1, -1)
        end = next((i for i in last if ids[i - len(second) : i] == second), None)
        if end is None:
            raise ModelLoadError("the tokenizer's special-token layout could not be read (probe pair not found)")
        middle, tail = (after, end - len(second)), end
    else:
        middle, tail = (after, after), after
    template_types = None
    if types is not None:
        types = list(types)
        template_types = (
            tuple(types[:start]),
            tuple(types[middle[0] : middle[1]]),
            tuple(types[tail:]),
            types[start],
            types[middle[1]] if pair else types[start],
        )
    return Template(tuple(ids[:start]), tuple(ids[middle[0] : middle[1]]), tuple(ids[tail:]), template_types)


@dataclass
class Encoded:
    """Token windows of a list of texts as arrays: window `i` is `ids[i, :lengths[i]]` (right-padded),
    `types` its token types (None when the model takes none) and `owner[i]` the text it came from."""

    ids: np.ndarray
    types: np.ndarray | None
    lengths: np.ndarray
    owner: np.ndarray
    n_texts: int

    def __len__(self) -> int:
        return len(self.lengths)

    def windows_per_text(self) -> np.ndarray:
        import numpy as np

        return np.bincount(self.owner, minlength=self.n_texts)

    @property
    def windowed(self) -> int:
        """How many texts did not fit in one window (and so were split, never silently cut)."""
        return int((self.windows_per_text() > 1).sum())

    def first_windows(self) -> np.ndarray:
        """Index of each text's first window (texts in order; windows of a text are consecutive)."""
        import numpy as np

        starts: np.ndarray = np.flatnonzero(np.r_[True, self.owner[1:] != self.owner[:-1]])
        return starts

    def subset(self, rows: np.ndarray) -> Encoded:
        types = None if self.types is None else self.types[rows]
        return Encoded(self.ids[rows], types, self.lengths[rows], self.owner[rows], self.n_texts)


class WindowEncoder:
    """Turns texts (or (target, text) pairs) into `Encoded` windows of at most `max_length` tokens.

    A caller that encodes one input in several chunks passes the same `cache` dict to each call, so a text
    repeated across the input (an article scored against many targets) is tokenized once."""

    def __init__(self, tokenizer: Any, max_length: int, stride: int, pair: bool) -> None:
        self.tokenizer, self.max_length, self.stride, self.pair = tokenizer, max_length, stride, pair
        self.template = learn_template(tokenizer, pair)
        self.pad_id = int(tokenizer.pad_token_id)
        self.check_layout()

    def check_layout(self) -> None:
        """A probe of other lengths, windowed here, must equal the tokenizer's own encoding (ids and types)."""
        import numpy as np

        expected = self.tokenizer(*CHECK) if self.pair else self.tokenizer(CHECK[0])
        longest = len(expected["input_ids"])
        texts, targets = ([CHECK[1]], [CHECK[0]]) if self.pair else ([CHECK[0]], None)
        encoded = self.encode(texts, targets, max_length=max(self.max_length, longest))
        ids = encoded.ids[0, : encoded.lengths[0]]
        same = np.array_equal(ids, expected["input_ids"])
        if same and encoded.types is not None and "token_type_ids" in expected:
            same = np.array_equal(encoded.types[0, : encoded.lengths[0]], expected["token_type_ids"])
        if not same:
            raise ModelLoadError("the tokenizer's special-token layout could not be read (it depends on the text)")

    def tokens(self, texts: Sequence[str], cache: dict[str, np.ndarray] | None = None) -> list[np.ndarray]:
        """Token ids of each text (int32), each distinct text (of this call, or in `cache`) tokenized once."""
        import numpy as np

        known = cache if cache is not None else {}
        new = list(dict.fromkeys(t for t in texts if t not in known))
        for text, ids in zip(new, plain_ids(self.tokenizer, new) if new else [], strict=True):
            known[text] = np.asarray(ids, dtype=np.int32)
        return [known[t] for t in texts]

    def heads(
        self, targets: Sequence[str] | None, n_texts: int, max_length: int, cache: dict[str, np.ndarray] | None
    ) -> tuple[list[tuple[np.ndarray, np.ndarray]], list[int]]:
        """Each text's window head (special tokens, and the target for pairs) with its token types, and the
        room a window leaves for text."""
        import numpy as np

        template = self.template
        prefix_types, middle_types, _, first_type, _ = template.types or (
            (0,) * len(template.prefix),
            (0,) * len(template.middle),
            (),
            0,
            0,
        )
        if targets is None:
            head = (np.asarray(template.prefix, dtype=np.int32), np.asarray(prefix_types, dtype=np.int8))
            return [head] * n_texts, [max_length - template.specials] * n_texts
        distinct = list(dict.fromkeys(targets))
        by_target = {}
        for target, ids in zip(distinct, self.tokens(distinct, cache), strict=True):
            room = max_length - template.specials - len(ids)
            if room < 1:
                raise DataError(
                    f"stance target '{target[:80]}' is {len(ids)} tokens long; max_length={max_length} leaves "
                    "no room for the text (raise backend.params.max_length or shorten the target)"
                )
            head_ids = np.asarray([*template.prefix, *ids, *template.middle], dtype=np.int32)
            head_types = np.asarray([*prefix_types, *[first_type] * len(ids), *middle_types], dtype=np.int8)
            by_target[target] = ((head_ids, head_types), room)
        return [by_target[t][0] for t in targets], [by_target[t][1] for t in targets]

    def encode(
        self,
        texts: Sequence[str],
        targets: Sequence[str] | None,
        cache: dict[str, np.ndarray] | None = None,
        max_length: int | None = None,
    ) -> Encoded:
        """Windows of `texts` (paired with `targets` for stance), rows in text order."""
        if self.pair:
            check_targets(texts, targets)
        tokens = self.tokens(texts, cache)
        heads, rooms = self.heads(targets if self.pair else None, len(texts), max_length or self.max_length, cache)
        return self.assemble(tokens, heads, rooms)

    def assemble(
        self, tokens: list[np.ndarray], heads: list[tuple[np.ndarray, np.ndarray]], rooms: list[int]
    ) -> Encoded:
        """All windows at once, as whole-array NumPy operations (no per-window Python: in a worker thread
        this leaves the interpreter to the thread feeding the GPU). Row r holds head, text piece, suffix, pads."""
        import numpy as np

        n_texts = len(tokens)
        if not n_texts:
            return Encoded(
                np.zeros((0, 0), np.int32),
                None if self.template.types is None else np.zeros((0, 0), np.int8),
                np.zeros(0, np.int32),
                np.zeros(0, np.int64),
                0,
            )
        text_len = np.fromiter((len(t) for t in tokens), dtype=np.int64, count=n_texts)
        room = np.asarray(rooms, dtype=np.int64)
        step = room - np.minimum(self.stride, room // 2)
        windows = 1 + np.where(text_len > room, -(-(text_len - room) // step), 0)
        owner = np.repeat(np.arange(n_texts, dtype=np.int64), windows)
        first_row = np.cumsum(windows) - windows
        k = np.arange(len(owner), dtype=np.int64) - first_row[owner]
        start = np.minimum(k * step[owner], np.maximum(text_len - room, 0)[owner])  # the last window ends with the text
        piece = np.minimum(text_len, room)[owner]
        head_len = np.fromiter((len(h[0]) for h in heads), dtype=np.int64, count=n_texts)[owner]
        suffix = self.template.suffix
        lengths = head_len + piece + len(suffix)
        width = int(lengths.max())

        rows = np.arange(len(owner))
        flat_text, text_at = flatten(tokens, np.int32)
        flat_head, head_at = flatten([h[0] for h in heads], np.int32)
        ids = np.full((len(owner), width), self.pad_id, dtype=np.int32)
        types = None if self.template.types is None else np.zeros((len(owner), width), dtype=np.int8)
        # heads: only the first columns (a target is a few tokens)
        head_columns = np.arange(int(head_len.max()), dtype=np.int64)[None, :]
        in_head = head_columns < head_len[:, None]
        head_index = np.minimum(head_at[owner][:, None] + head_columns, len(flat_head) - 1)
        np.copyto(ids[:, : head_columns.shape[1]], flat_head[head_index], where=in_head)
        # text pieces: one gather from the texts laid end to end
        columns = np.arange(width, dtype=np.int64)[None, :]
        in_text = (columns >= head_len[:, None]) & (columns < (head_len + piece)[:, None])
        text_index = np.clip((text_at[owner] + start - head_len)[:, None] + columns, 0, len(flat_text) - 1)
        np.copyto(ids, flat_text[text_index], where=in_text)
        for j, token in enumerate(suffix):  # the closing special tokens: one column per row each
            ids[rows, head_len + piece + j] = token
        if types is not None and self.template.types is not None:
            flat_head_types, _ = flatten([h[1] for h in heads], np.int8)
            np.copyto(types[:, : head_columns.shape[1]], flat_head_types[head_index], where=in_head)
            types[in_text] = self.template.types[4]
            for j, token_type in enumerate(self.template.types[2]):
                types[rows, head_len + piece + j] = token_type
        return Encoded(ids, types, lengths.astype(np.int32), owner, n_texts)


def check_targets(texts: Sequence[str], targets: Sequence[str] | None) -> None:
    """Stance pairs need exactly one target per text: a one-line DataError otherwise."""
    if targets is None or len(targets) != len(texts):
        count = "no" if targets is None else len(targets)
        raise DataError(f"a stance model needs one target per text ({count} targets, {len(texts)} texts)")


def flatten(arrays: list[np.ndarray], dtype: Any) -> tuple[np.ndarray, np.ndarray]:
    """The arrays end to end (one trailing 0, so an index is never out of range) and where each starts;
    a repeated array object (a text seen twice) is stored once."""
    import numpy as np

    distinct: dict[int, int] = {}
    parts: list[np.ndarray] = []
    position = 0
    starts = np.empty(len(arrays), dtype=np.int64)
    for i, array in enumerate(arrays):
        key = id(array)
        if key not in distinct:
            distinct[key] = position
            parts.append(array)
            position += len(array)
        starts[i] = distinct[key]
    return np.concatenate([*parts, np.zeros(1, dtype=dtype)]).astype(dtype, copy=False), starts


def aggregate(window_probabilities: np.ndarray, owner: np.ndarray, n_texts: int, how: Aggregation) -> np.ndarray:
    """One probability row per text from its windows: their mean, the per-class max renormalised, or the
    first window's alone (the text's opening, as a truncating model would see it)."""
    import numpy as np

    owner_array = np.asarray(owner, dtype=np.int64)
    width = window_probabilities.shape[1]
    if how == "mean":
        sums = np.zeros((n_texts, width), dtype=np.float64)
        np.add.at(sums, owner_array, window_probabilities)
        rows = sums / np.bincount(owner_array, minlength=n_texts)[:, None]
    elif how == "max":
        rows = np.zeros((n_texts, width), dtype=np.float64)
        np.maximum.at(rows, owner_array, window_probabilities)
    elif how == "first":
        rows = np.zeros((n_texts, width), dtype=np.float64)
        texts, first = np.unique(owner_array, return_index=True)
        rows[texts] = window_probabilities[first]
    else:
        raise ValueError(f"unknown window aggregation '{how}' (use 'mean', 'max' or 'first')")
    result: np.ndarray = rows / rows.sum(axis=1, keepdims=True)
    return result
