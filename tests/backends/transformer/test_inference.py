"""The transformer backend's inference runtime (chunks, device batches, window rules) and the GPU benchmark
scripts, on the tiny offline encoder and the project's own synthetic rows."""

import gzip
import json
import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import (
    LONG_TEXT,
    ROOT,
    TARGETS,
    make_rows,
    tiny_encoder_path,
    tiny_transformer_params,
    untrained_model,
)

pytest.importorskip("transformers")


def test_full_batches_get_no_attention_mask_and_padded_ones_do() -> None:
    from toolkit.backends.transformer.inference import DeviceWindows

    model = untrained_model("stance", max_length=24, stride=4)
    encoded = model.encode([LONG_TEXT, "goal", "short text"], [TARGETS[0]] * 3)
    full = np.flatnonzero(encoded.lengths == 24)
    short = np.flatnonzero(encoded.lengths < 24)
    assert len(full) >= 2 and len(short) == 2
    (_, _, full_inputs), (_, _, mixed_inputs) = DeviceWindows(encoded, "cpu").batches([full, short])
    assert "attention_mask" not in full_inputs and full_inputs["input_ids"].shape == (len(full), 24)
    mask = mixed_inputs["attention_mask"].numpy()
    assert (
        mask.shape[1] == encoded.lengths[short].max() and mask.sum(axis=1).tolist() == encoded.lengths[short].tolist()
    )


def test_predictions_do_not_depend_on_the_tokenization_chunk(monkeypatch) -> None:
    from toolkit.backends.transformer import model as transformer

    model = untrained_model("stance", eval_batch_size=3)
    texts = [LONG_TEXT, "support welcome", LONG_TEXT, "oppose", "goal", LONG_TEXT[:90], "support welcome"]
    targets = [TARGETS[i % 2] for i in range(len(texts))]
    whole = model.predict_proba(texts, targets)
    monkeypatch.setattr(transformer, "ENCODE_CHUNK_TEXTS", 2)
    model.settings = model.settings.model_copy(update={"eval_batch_size": 1})
    chunked = model.predict_proba(texts, targets)
    np.testing.assert_allclose(chunked, whole, atol=1e-5)
    np.testing.assert_allclose(whole[0], whole[2], atol=1e-6)  # the same pair, wherever it falls


def test_a_target_count_that_does_not_match_is_refused_whatever_the_chunks(monkeypatch) -> None:
    from toolkit.backends.transformer import model as transformer
    from toolkit.errors import DataError

    model = untrained_model("stance")
    monkeypatch.setattr(transformer, "ENCODE_CHUNK_TEXTS", 2)
    for targets in ([TARGETS[0]] * 5, [TARGETS[0]] * 8, [TARGETS[0]] * 3):
        with pytest.raises(DataError, match=f"one target per text \\({len(targets)} targets, 4 texts\\)"):
            model.predict_proba(["a", "b", "c", "d"], targets)


def test_first_window_rule_reads_only_the_opening_and_says_so(caplog) -> None:
    model = untrained_model("topic", max_length=16, stride=4, window_aggregation="first")
    texts = [LONG_TEXT, "goal"]
    with caplog.at_level(logging.WARNING, logger="toolkit.backends.transformer"):
        first, stats = model.predict_with_stats(texts)
    assert "1 of 2 texts are longer than max_length=16 tokens: only their first window is used" in caplog.text
    assert stats.windows == 2
    encoded = model.encode(texts, None)
    opening = model.window_probabilities(encoded)[encoded.first_windows()]
    np.testing.assert_allclose(first, opening, atol=1e-6)


def synthetic_chunk(rng: np.random.Generator, first: int, size: int, full: int):
    """A chunk of windows whose first token is the window's number in the call and second its length."""
    from toolkit.backends.transformer.windows import Encoded

    lengths = np.where(rng.random(size) < 0.3, full, rng.integers(2, full + 1, size)).astype(np.int32)
    width = int(lengths.max())
    ids = rng.integers(5, 100, (size, width)).astype(np.int32)
    ids[:, 0], ids[:, 1] = np.arange(first, first + size), lengths
    ids[np.arange(width)[None, :] >= lengths[:, None]] = 0
    types = (np.arange(width)[None, :] >= lengths[:, None] // 2).astype(np.int8)
    return Encoded(ids, types, lengths, np.arange(size, dtype=np.int64), size)


@pytest.mark.parametrize(("pad_multiple", "bucket_multiple"), [(1, 8), (16, 16)])  # as on CPU, as on a GPU
def test_width_buckets_classify_every_window_once_in_even_batches(pad_multiple: int, bucket_multiple: int) -> None:
    """Chunks of random windows through the buckets: every window classified exactly once, back in its place;
    batches run before the end are full and of one bucket; full windows' batches have no mask; fewer than
    batch_size windows wait per bucket, in tensors of their own (no view of a chunk)."""
    import torch

    from toolkit.backends.transformer.inference import WidthBuckets

    rng, full, batch_size, seen = np.random.default_rng(0), 40, 5, []

    def classify(inputs: dict) -> torch.Tensor:
        ids, mask = inputs["input_ids"], inputs.get("attention_mask")
        lengths = ids[:, 1].numpy() if mask is None else mask.sum(axis=1).numpy()
        assert (lengths == ids[:, 1].numpy()).all()
        assert (mask is None) == (lengths == ids.shape[1]).all(), "a mask exactly when a row is padded"
        assert (inputs["token_type_ids"][:, :1] == 0).all()
        seen.append((ids[:, 0].numpy().copy(), lengths, ids.shape[1], mask is None))
        return ids[:, :1].double()

    buckets = WidthBuckets(classify, "cpu", batch_size, full, pad_id=0)
    buckets.multiple, buckets.bucket_multiple = pad_multiple, bucket_multiple  # full = 40: not a multiple of 16
    total = 0
    for size in (7, 13, 4, 31, 1, 9):
        buckets.add(synthetic_chunk(rng, total, size, full))
        total += size
        for waiting in buckets.waiting.values():
            assert len(waiting) < batch_size
            assert waiting.ids.untyped_storage().nbytes() == waiting.ids.numel() * waiting.ids.element_size()
        for numbers, lengths, width, unmasked in seen:
            assert len(numbers) == batch_size, "a batch runs before the end only when its bucket is full"
            assert len(set(buckets.keys(lengths))) == 1, "one bucket per batch"
            assert unmasked == (lengths == full).all() and (not unmasked or width == full)
            assert unmasked or not (lengths == full).any(), "full windows are batched apart, without a mask"
    during = len(seen)
    np.testing.assert_array_equal(buckets.finish()[:, 0], np.arange(total))
    numbers = np.concatenate([batch[0] for batch in seen])
    assert len(numbers) == total and sorted(numbers) == list(range(total)), "every window exactly once"
    assert during >= 4 and any(unmasked for *_, unmasked in seen[:during])
    assert len(seen) - during <= -(-(total - during * batch_size) // batch_size), "the rest in sorted batches"


@pytest.mark.parametrize(
    ("task", "bucket_multiple", "pad_multiple"), [("stance", 8, 1), ("topic", 1, 1), ("stance", 16, 16)]
)
def test_pooled_batches_predict_what_one_sorted_pass_does(monkeypatch, task, bucket_multiple, pad_multiple) -> None:
    """predict_proba over many small chunks, batches pooled across them, equals classifying every window of
    the whole input in one globally length-sorted pass (fp32, CPU; the last case pads widths as on a GPU)."""
    import random

    from toolkit.backends.transformer import inference as transformer_device
    from toolkit.backends.transformer import model as transformer
    from toolkit.backends.transformer.windows import aggregate

    rng = random.Random(1)
    sizes = [rng.randrange(1, 40) if i % 3 == 0 else rng.randrange(1, 10) for i in range(23)]
    texts = [" ".join(rng.choice(LONG_TEXT.split()) for _ in range(size)) for size in sizes]
    targets = [TARGETS[i % 2] for i in range(len(texts))] if task == "stance" else None
    model = untrained_model(task, max_length=24, stride=4, eval_batch_size=3)
    monkeypatch.setattr(transformer, "ENCODE_CHUNK_TEXTS", 2)  # chunks of 3 texts (the batch size at least)
    monkeypatch.setattr(transformer_device, "BUCKET_MULTIPLE_CPU", bucket_multiple)
    monkeypatch.setattr(transformer_device, "pad_multiple", lambda device: pad_multiple)
    encoded = model.encode(texts, targets)
    assert 3 < encoded.windowed < len(texts) and len(set(encoded.lengths)) > 6, "a mix of long and short texts"
    for how in ("mean", "first"):
        model.settings = model.settings.model_copy(update={"window_aggregation": how})
        pooled, stats = model.predict_with_stats(texts, targets)
        whole = aggregate(model.window_probabilities(encoded), encoded.owner, encoded.n_texts, how)
        assert np.allclose(pooled, whole, atol=1e-6)
        assert stats.windows == (len(encoded) if how == "mean" else len(texts))
    assert model.predict_proba([], [] if task == "stance" else None).shape == (0, 3)


def write_bundle(folder: Path, name: str, task: str) -> None:
    """A bundle in transformer_bundle.py's format, from the project's synthetic rows (no shared data)."""
    rows = make_rows(40)
    labels = sorted({row[task] for row in rows})
    texts = [f"{row['title']} {row['text']}" for row in rows]
    split = [
        [i, TARGETS.index(row["target"]) if task == "stance" else -1, labels.index(row[task])]
        for i, row in enumerate(rows)
    ]
    params = tiny_transformer_params(epochs=1, eval_batch_size=8)
    bundle = {
        "name": name,
        "task": task,
        "labels": labels,
        "metrics": ["macro_f1", "accuracy"] + (["fnc_score"] if name == "fnc1" else []),
        "params": params,
        "texts": texts,
        "targets": TARGETS if task == "stance" else [],
        "seeds": {str(seed): {"train": split[:30], "dev": split[30:]} for seed in (0, 1)},
    }
    with gzip.open(folder / f"{name}.json.gz", "wt", encoding="utf-8") as handle:
        json.dump(bundle, handle)


@pytest.mark.slow
def test_gpu_benchmark_script_runs_end_to_end_on_cpu(tmp_path: Path) -> None:
    """The device script's quality stages and the report that scores them, on a tiny bundle."""
    write_bundle(tmp_path, "semeval2016", "stance")
    write_bundle(tmp_path, "ag_news", "topic")
    out = tmp_path / "gpu.json"
    command = [
        sys.executable,
        "-m",
        "experiments.benchmarks.transformer_gpu",
        "--no-mlflow",
        "--bundle",
        str(tmp_path),
        "--model",
        tiny_encoder_path(),
    ]
    run = subprocess.run(
        [*command, "--out", str(out), "--stages", "semeval", "ag_news", "--max-length", "32"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    results = json.loads(out.read_text())
    assert "errors" not in results, results["errors"]
    assert set(results["quality"]) == {"semeval2016", "ag_news"} and set(results["quality"]["ag_news"]) == {"0", "1"}
    assert len(results["quality"]["semeval2016"]["0"]["predictions"]["toolkit, target masked"]) == 10
    report = subprocess.run(
        [
            sys.executable,
            "-m",
            "experiments.benchmarks.transformer_bundle",
            "report",
            "--bundle",
            str(tmp_path),
            "--results",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert report.returncode == 0, report.stderr[-2000:]
    assert "### semeval2016" in report.stdout and "| toolkit, target masked | 2 |" in report.stdout


@pytest.mark.slow
def test_gpu_benchmark_follow_up_stages_run_on_cpu(tmp_path: Path) -> None:
    """Recipe selection on inner splits, inference speed and training at equal epochs against a plain Trainer."""
    pytest.importorskip("accelerate")
    write_bundle(tmp_path, "semeval2016", "stance")
    write_bundle(tmp_path, "fnc1", "stance")
    out = tmp_path / "gpu.json"
    command = [sys.executable, "-m", "experiments.benchmarks.transformer_gpu", "--no-mlflow", "--bundle", str(tmp_path)]
    command += ["--model"]
    command += [tiny_encoder_path(), "--out", str(out), "--max-length", "32", "--epochs", "1"]
    command += ["--train-speed-rows", "20", "--stages", "semeval_select", "speed", "train_equal"]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    results = json.loads(out.read_text())
    assert "errors" not in results, results["errors"]
    selection = results["semeval_select"]
    assert all(len(scores) == 2 for scores in selection["inner_f_avg"].values())
    assert selection["chosen"] == max(selection["inner_f_avg"], key=lambda name: sum(selection["inner_f_avg"][name]))
    speed = results["speed"]
    assert speed["windows"] > speed["docs"] == 10, "every window of the long synthetic texts is classified"
    assert speed["every_window_docs_per_s"] > 0 and speed["trainer_predict"]["predict_docs_per_s"] > 0
    trained = [
        name for name in results["train_equal"] if "epochs" in name and isinstance(results["train_equal"][name], dict)
    ]
    assert trained[0].startswith("Trainer") and len(trained) == 4
    equal = next(name for name in results["quality"] if name.startswith("fnc1"))
    assert set(results["quality"][equal]["0"]["predictions"]) == set(trained)


def test_batch_scoring_a_transformer_model_matches_its_predictions(tmp_path: Path) -> None:
    """`toolkit score` (its default worker choice for this backend) on pairs, some repeated and some long."""
    import pandas as pd

    from tests.helpers import write_csv
    from toolkit.models.folder import save_model
    from toolkit.scoring.api import InputSpec, ScoreOptions, score

    model = untrained_model("stance", max_length=24, eval_batch_size=4)
    save_model(model, tmp_path / "model")
    rows = make_rows(12, seed=3)
    rows[5]["text"] = rows[7]["text"] = LONG_TEXT
    source = write_csv(tmp_path / "in.csv", rows)
    summary = score(
        InputSpec(path=source, target_col="target"),
        ScoreOptions(model=str(tmp_path / "model"), output=tmp_path / "out", chunk_size=5),
    )
    frame = pd.read_parquet(tmp_path / "out").set_index("id").loc[[row["id"] for row in rows]]
    expected = model.predict_proba([row["text"] for row in rows], [row["target"] for row in rows])
    assert summary.scored == 12 and summary.chunks == 3
    np.testing.assert_allclose(frame[[f"prob_{label}" for label in model.labels]].to_numpy(), expected, atol=1e-5)
