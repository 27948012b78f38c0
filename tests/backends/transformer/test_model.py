"""Transformer backend specifics, on a tiny random encoder built offline (see tests/helpers.py: tiny_encoder_path)."""

import json
import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import (
    LONG_TEXT,
    STANCE,
    TARGETS,
    make_rows,
    tiny_config,
    tiny_encoder_path,
    tiny_transformer_params,
    untrained_model,
    write_csv,
)

pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_encoder_path())


def windows_of(encoded, row: int) -> tuple[list[int], list[int]]:
    length = encoded.lengths[row]
    return encoded.ids[row, :length].tolist(), encoded.types[row, :length].tolist()


def test_pair_encoding_puts_the_target_first_and_cuts_only_the_text(tokenizer) -> None:
    from toolkit.backends.transformer.windows import WindowEncoder

    target = "arms control talks"
    encoded = WindowEncoder(tokenizer, 24, 4, pair=True).encode([LONG_TEXT, "short text"], [target, target])
    target_ids = tokenizer(target, add_special_tokens=False)["input_ids"]
    text_ids = tokenizer(LONG_TEXT, add_special_tokens=False)["input_ids"]
    assert encoded.windowed == 1 and encoded.windows_per_text().tolist()[1] == 1
    head = len(target_ids) + 2
    room = 24 - 3 - len(target_ids)
    starts = [*range(0, len(text_ids) - room, room - 4), len(text_ids) - room]
    assert starts[0] == 0 and starts[-1] + room == len(text_ids), "the windows cover the whole text"
    assert all(b - a <= room - 4 for a, b in zip(starts, starts[1:], strict=False)), "neighbours share >= stride tokens"
    long_rows = [row for row in range(len(encoded)) if encoded.owner[row] == 0]
    assert len(long_rows) == len(starts)
    for row, start in zip(long_rows, starts, strict=True):
        ids, types = windows_of(encoded, row)
        assert len(ids) == 24, "every window of a long text is full: no padding"
        assert ids[:head] == [tokenizer.cls_token_id, *target_ids, tokenizer.sep_token_id]
        assert ids[head:-1] == text_ids[start : start + room] and ids[-1] == tokenizer.sep_token_id
        assert set(types[:head]) == {0} and set(types[head:]) == {1}
    empty = WindowEncoder(tokenizer, 24, 4, pair=True).encode([""], [target])
    assert windows_of(empty, 0)[0] == [
        tokenizer.cls_token_id,
        *target_ids,
        tokenizer.sep_token_id,
        tokenizer.sep_token_id,
    ]


def test_windows_match_the_tokenizers_own_overflow_windows(tokenizer) -> None:
    """Against transformers' own windowing (return_overflowing_tokens with a stride) on random pairs: the same
    windows, except that our last one is moved back to end with the text (so it is full, not padded)."""
    import random

    from toolkit.backends.transformer.windows import WindowEncoder

    rng = random.Random(0)
    words = LONG_TEXT.split() + ["trade", "vaccine", "talks"]
    texts = [" ".join(rng.choice(words) for _ in range(rng.randrange(1, 40))) for _ in range(60)]
    targets = [rng.choice(["trade", "market", "vaccine talks"]) for _ in range(60)]
    encoded = WindowEncoder(tokenizer, 40, 5, pair=True).encode(texts, targets)
    for i, (text, target) in enumerate(zip(texts, targets, strict=True)):
        theirs = tokenizer(
            target, text, truncation="only_second", max_length=40, stride=5, return_overflowing_tokens=True
        )
        ours = [encoded.ids[r, : encoded.lengths[r]].tolist() for r in np.flatnonzero(encoded.owner == i)]
        ours_types = [encoded.types[r, : encoded.lengths[r]].tolist() for r in np.flatnonzero(encoded.owner == i)]
        assert len(ours) == len(theirs["input_ids"]), text
        assert ours[:-1] == theirs["input_ids"][:-1] and ours_types[:-1] == theirs["token_type_ids"][:-1]
        last, their_last = ours[-1], theirs["input_ids"][-1]
        head = len(tokenizer(target, add_special_tokens=False)["input_ids"]) + 2
        assert last[:head] == their_last[:head] and last[-len(their_last) + head :] == their_last[head:]
        assert len(last) == (40 if len(ours) > 1 else len(their_last))


def test_windows_are_what_the_tokenizer_itself_encodes(tokenizer) -> None:
    """A pair (or text) that fits in one window is exactly the tokenizer's own encoding, ids and token types."""
    from toolkit.backends.transformer.windows import WindowEncoder

    texts, targets = ["short text about trade", "goal"], ["arms control talks", "the vaccine mandate"]
    pairs = WindowEncoder(tokenizer, 64, 8, pair=True).encode(texts, targets)
    singles = WindowEncoder(tokenizer, 64, 8, pair=False).encode(texts, None)
    for row, (text, target) in enumerate(zip(texts, targets, strict=True)):
        expected = tokenizer(target, text)
        assert windows_of(pairs, row) == (expected["input_ids"], expected["token_type_ids"])
        expected = tokenizer(text)
        assert windows_of(singles, row) == (expected["input_ids"], expected["token_type_ids"])


def test_a_roberta_style_layout_without_token_types_is_learned_too() -> None:
    """`<s> A </s></s> B </s>` and no token types: the layout is read off the tokenizer, not assumed."""
    from tokenizers import processors
    from transformers import PreTrainedTokenizerFast

    from toolkit.backends.transformer.windows import WindowEncoder
    from toolkit.testing import train_wordpiece

    backend = train_wordpiece([LONG_TEXT, "short text about trade"])
    cls_id, sep_id = backend.token_to_id("[CLS]"), backend.token_to_id("[SEP]")
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] [SEP] $B [SEP]",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, pad_token="[PAD]", model_input_names=["input_ids", "attention_mask"]
    )
    encoded = WindowEncoder(tokenizer, 20, 4, pair=True).encode(
        ["short text about trade", LONG_TEXT], ["trade", "market"]
    )
    assert encoded.types is None
    assert encoded.ids[0, : encoded.lengths[0]].tolist() == tokenizer("trade", "short text about trade")["input_ids"]
    window = encoded.ids[encoded.owner == 1][1].tolist()
    assert len(window) == 20 and window[:4] == [cls_id, backend.token_to_id("market"), sep_id, sep_id]
    assert window[-1] == sep_id


def test_a_repeated_text_is_tokenized_once(tokenizer, monkeypatch) -> None:
    from toolkit.backends.transformer import windows as transformer_data
    from toolkit.backends.transformer.windows import WindowEncoder

    encoder = WindowEncoder(tokenizer, 32, 4, pair=True)
    seen: list[str] = []
    real = transformer_data.plain_ids

    def counting(tok, texts):
        seen.extend(texts)
        return real(tok, texts)

    monkeypatch.setattr(transformer_data, "plain_ids", counting)
    cache: dict = {}
    first = encoder.encode([LONG_TEXT, "short", LONG_TEXT], ["a", "b", "a"], cache)
    second = encoder.encode([LONG_TEXT], ["c"], cache)
    assert sorted(seen) == sorted([LONG_TEXT, "short", "a", "b", "c"])
    assert np.array_equal(first.ids[first.owner == 0], first.ids[first.owner == 2])
    assert len(second) == first.windows_per_text()[0]


def test_single_text_windows_and_a_target_too_long(tokenizer) -> None:
    from toolkit.backends.transformer.windows import WindowEncoder
    from toolkit.errors import DataError

    encoded = WindowEncoder(tokenizer, 16, 4, pair=False).encode([LONG_TEXT, "goal"], None)
    assert encoded.windowed == 1 and encoded.n_texts == 2 and encoded.ids.shape[1] == 16
    assert (encoded.ids[:, 0] == tokenizer.cls_token_id).all() and (encoded.lengths <= 16).all()
    with pytest.raises(DataError, match="leaves no room for the text"):
        WindowEncoder(tokenizer, 16, 4, pair=True).encode(["text"], [LONG_TEXT])


def test_window_aggregation_mean_max_and_first() -> None:
    from toolkit.backends.transformer.windows import aggregate

    windows = np.array([[0.6, 0.4], [0.2, 0.8], [0.9, 0.1]])
    owner = [0, 0, 1]
    np.testing.assert_allclose(aggregate(windows, owner, 2, "mean"), [[0.4, 0.6], [0.9, 0.1]])
    np.testing.assert_allclose(aggregate(windows, owner, 2, "max"), [[0.6 / 1.4, 0.8 / 1.4], [0.9, 0.1]])
    np.testing.assert_allclose(aggregate(windows, owner, 2, "first"), [[0.6, 0.4], [0.9, 0.1]])


def test_background_jobs_keep_their_order_and_raise_their_errors() -> None:
    from toolkit.backends.transformer.inference import in_background

    assert list(in_background((lambda n=n: n * n) for n in range(5))) == [0, 1, 4, 9, 16]

    def broken() -> int:
        raise ValueError("bad chunk")

    with pytest.raises(ValueError, match="bad chunk"):
        list(in_background([lambda: 1, broken, lambda: 3]))


def test_long_texts_are_windowed_and_the_count_is_logged(caplog) -> None:
    model = untrained_model("topic", max_length=16, stride=4)
    texts = [LONG_TEXT, "goal"]
    with caplog.at_level(logging.WARNING, logger="toolkit.backends.transformer"):
        mean = model.predict_proba(texts)
    probabilities, stats = model.predict_with_stats(texts)
    np.testing.assert_array_equal(probabilities, mean)
    assert stats.texts == 2 and stats.windowed == 1 and stats.windows > 2
    assert "1 of 2 texts are longer than max_length=16 tokens" in caplog.text
    model.settings = model.settings.model_copy(update={"window_aggregation": "max"})
    largest = model.predict_proba(texts)
    np.testing.assert_allclose(largest[1], mean[1], atol=1e-6)  # one window: both rules agree
    assert not np.allclose(largest[0], mean[0])
    np.testing.assert_allclose(largest.sum(axis=1), 1.0, rtol=1e-6)


def test_predictions_keep_the_input_order_whatever_the_batching() -> None:
    model = untrained_model("stance", eval_batch_size=2)
    texts = [LONG_TEXT[: n * 7] or "x" for n in (3, 40, 1, 25, 9)]
    targets = [TARGETS[i % 2] for i in range(5)]
    batched = model.predict_proba(texts, targets)
    one_by_one = np.vstack([model.predict_proba([t], [g]) for t, g in zip(texts, targets, strict=True)])
    np.testing.assert_allclose(batched, one_by_one, atol=1e-5)


def test_saved_folder_is_plain_files_and_loads_identically(tmp_path: Path) -> None:
    from toolkit.models.folder import load_model, save_model

    model = untrained_model("stance")
    manifest = save_model(model, tmp_path / "m")
    assert {"config.json", "model.safetensors", "tokenizer.json", "labels.json"} <= set(manifest["files"])
    assert not [name for name in manifest["files"] if name.endswith((".bin", ".pt", ".pkl", ".py"))]
    assert json.loads((tmp_path / "m" / "labels.json").read_text())["labels"] == model.labels
    texts, targets = ["support welcome praise", LONG_TEXT], TARGETS
    np.testing.assert_array_equal(
        load_model(tmp_path / "m").predict_proba(texts, targets), model.predict_proba(texts, targets)
    )


def test_pickle_weights_are_never_loaded(tmp_path: Path) -> None:
    import shutil

    from toolkit.backends.transformer.model import TransformerParams, load_pretrained
    from toolkit.errors import ModelLoadError

    folder = tmp_path / "pickled"
    shutil.copytree(tiny_encoder_path(), folder)
    (folder / "model.safetensors").unlink()
    (folder / "pytorch_model.bin").write_bytes(b"not even a pickle")
    with pytest.raises(ModelLoadError, match="safetensors weights, no remote code"):
        load_pretrained(str(folder), TransformerParams(model_name_or_path=str(folder)), ["a", "b"])


def test_same_seed_same_predictions() -> None:
    from toolkit.backends.transformer.model import TransformerBackend, TransformerParams

    def fit_predict(seed: int) -> np.ndarray:
        params = TransformerParams(**tiny_transformer_params(epochs=3))
        model = TransformerBackend(params, "stance", seed=seed).fit(STANCE, STANCE)
        return model.predict_proba(STANCE.texts, STANCE.targets)

    first = fit_predict(0)
    np.testing.assert_array_equal(first, fit_predict(0))
    assert not np.array_equal(first, fit_predict(1)), "the seed is what fixes the run"


def test_best_epoch_is_restored_unless_the_last_is_asked_for() -> None:
    """Early stopping keeps the best validation epoch; keep_best_epoch=false keeps the last one, for runs
    whose validation split is also the split they report (no selection on it)."""
    from toolkit.backends.transformer.model import TransformerBackend, TransformerParams

    # a learning rate this high makes validation macro-F1 go up and down between epochs
    settings = tiny_transformer_params(epochs=6, learning_rate=3e-2)
    best = TransformerBackend(TransformerParams(**settings), "stance").fit(STANCE, STANCE).training_stats
    last = TransformerBackend(TransformerParams(**settings, keep_best_epoch=False), "stance").fit(STANCE, STANCE)
    assert last.training_stats["kept_epoch"] == last.training_stats["epochs_run"] == 6
    assert best["kept_epoch"] == best["best_epoch"] <= best["epochs_run"]


EPOCH_RECORDS = """
import json, sys
import torch
from toolkit.backends.transformer.model import TransformerBackend
from toolkit.backends.transformer.params import TransformerParams
from toolkit.data.types import Examples
torch.set_num_threads(1)
params, rows = json.loads(sys.argv[1]), json.loads(sys.argv[2])
data, records = Examples(**rows), []
model = TransformerBackend(TransformerParams(**params), "stance").fit(data, data, on_epoch=lambda *r: records.append(r))
print(json.dumps({"records": records, "epochs": model.training_stats["epochs_run"], "mlflow": "mlflow" in sys.modules}))
"""


@pytest.mark.slow  # in `make test` (CI); the default loop keeps a faster sibling
def test_fit_hands_each_epoch_to_on_epoch_without_mlflow() -> None:
    """One (epoch, metrics) record per epoch run reaches the caller; the backend never imports MLflow."""
    params = json.dumps(tiny_transformer_params(epochs=2))
    rows = json.dumps({"texts": STANCE.texts, "labels": STANCE.labels, "targets": STANCE.targets})
    run = subprocess.run([sys.executable, "-c", EPOCH_RECORDS, params, rows], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert [epoch for epoch, _ in out["records"]] == list(range(1, int(out["epochs"]) + 1)) == [1, 2]
    names = {"train_loss", "seconds", "samples_per_second", "validation_macro_f1", "validation_accuracy"}
    assert all(set(metrics) == names for _, metrics in out["records"])
    assert out["mlflow"] is False


def test_params_import_without_torch() -> None:
    code = (
        "import sys; from toolkit.backends.transformer.model import TransformerParams; TransformerParams(); "
        "print([m for m in ('torch', 'transformers') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.slow
def test_training_run_logs_epochs_and_a_model_that_loads_everywhere(store: Path) -> None:
    import mlflow

    from toolkit.config import load_config
    from toolkit.predict import load_ref
    from toolkit.train import train

    source = write_csv(store / "articles.csv", make_rows(90))
    overrides = [o for o in tiny_config("stance", source) if "char_ngrams" not in o] + ["backend.name=transformer"]
    overrides += [f"backend.params.{k}={json.dumps(v)}" for k, v in tiny_transformer_params(epochs=4).items()]
    result = train(load_config(None, overrides))
    client = mlflow.MlflowClient()
    history = client.get_metric_history(result.run_id, "epoch_train_loss")
    assert [m.step for m in history] == [1, 2, 3, 4]
    assert len(client.get_metric_history(result.run_id, "epoch_validation_macro_f1")) == 4
    assert 0.0 <= result.metrics["test"]["macro_f1"] <= 1.0
    frame_texts = ["support welcome praise hope", "oppose reject danger"]
    import pandas as pd

    frame = pd.DataFrame({"text": frame_texts, "target": [TARGETS[1]] * 2})
    through_pyfunc = mlflow.pyfunc.load_model(result.model_uri).predict(frame)
    loaded = load_ref(result.model_uri)
    direct = loaded.model.predict_proba(frame_texts, [TARGETS[1]] * 2)
    np.testing.assert_allclose(
        through_pyfunc[[f"prob_{label}" for label in loaded.model.labels]].to_numpy(), direct, atol=1e-6
    )
    assert loaded.manifest["backend"] == "transformer" and "model.safetensors" in loaded.manifest["files"]
    requirements = Path(mlflow.artifacts.download_artifacts(f"{result.model_uri}/requirements.txt")).read_text()
    pinned = dict(line.split("==") for line in requirements.split() if "==" in line)
    assert {"torch", "transformers", "scikit-learn", "mlflow"} <= set(pinned), requirements
    assert "+" not in pinned["torch"], "a local version tag (+cpu) would not install from PyPI"
