"""The micro-batcher: concurrent requests share one predict call, each gets its own records back in order, and
one request's failure is answered to that request only. Then the same over HTTP, tfidf and (slow) transformer."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.serving.serving_helpers import call
from toolkit.serving.batching import MicroBatcher


def echo_model(calls: list[list[str]], fail_on: str | None = None):
    """A predict function recording each call; a text equal to `fail_on` makes the whole call fail."""

    def predict(texts, targets):
        calls.append(list(texts))
        if fail_on in texts:
            raise ValueError(f"cannot read {fail_on!r}")
        return [{"text": text, "target": None if targets is None else targets[i]} for i, text in enumerate(texts)]

    return predict


async def submit_all(batcher: MicroBatcher, jobs: list[tuple[list[str], list[str] | None]]) -> list:
    batcher.start()
    try:
        return await asyncio.gather(
            *(batcher.submit(texts, targets) for texts, targets in jobs), return_exceptions=True
        )
    finally:
        await batcher.stop()


def test_requests_waiting_together_share_one_call() -> None:
    calls: list[list[str]] = []
    jobs = [([f"a{i}", f"b{i}"], [f"t{i}", f"u{i}"]) for i in range(5)]
    answers = asyncio.run(submit_all(MicroBatcher(echo_model(calls), "m", max_texts=100, max_wait=0.05), jobs))
    assert calls == [[text for texts, _ in jobs for text in texts]]
    for (texts, targets), records in zip(jobs, answers, strict=True):
        assert records == [{"text": text, "target": target} for text, target in zip(texts, targets, strict=True)]


def test_a_batch_stops_at_max_texts() -> None:
    calls: list[list[str]] = []
    jobs = [([f"x{i}", f"y{i}"], None) for i in range(5)]
    asyncio.run(submit_all(MicroBatcher(echo_model(calls), "m", max_texts=4, max_wait=0.05), jobs))
    assert [len(batch) for batch in calls] == [4, 4, 2]


def test_without_a_wait_a_lone_request_is_not_delayed() -> None:
    async def one() -> float:
        batcher = MicroBatcher(echo_model([]), "m", max_texts=100, max_wait=0.0)
        batcher.start()
        loop = asyncio.get_running_loop()
        started = loop.time()
        await batcher.submit(["a"], None)
        elapsed = loop.time() - started
        await batcher.stop()
        return elapsed

    assert asyncio.run(one()) < 0.5


def test_a_failing_request_fails_alone() -> None:
    calls: list[list[str]] = []
    jobs = [(["good1"], None), (["bad"], None), (["good2"], None)]
    answers = asyncio.run(submit_all(MicroBatcher(echo_model(calls, "bad"), "m", max_texts=100, max_wait=0.05), jobs))
    assert answers[0] == [{"text": "good1", "target": None}] and answers[2] == [{"text": "good2", "target": None}]
    assert isinstance(answers[1], ValueError)
    assert calls[0] == ["good1", "bad", "good2"]  # tried together first, then one by one


def concurrent_posts(url: str, bodies: list[dict]) -> list[tuple[int, dict]]:
    """Send every body at once from its own thread (released together by a barrier)."""
    barrier = threading.Barrier(len(bodies))

    def send(body: dict) -> tuple[int, dict]:
        barrier.wait()
        return call(f"{url}/predict", body)

    with ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(send, bodies))


def test_concurrent_http_requests_are_batched_and_answered_alike(serve_models) -> None:
    from toolkit.serving.run import ServeOptions, background_server, load_models

    models = load_models([str(serve_models["stance"])])
    bodies = [{"text": f"{word} talks nuclear energy", "target": "nuclear energy"} for word in "abcdefgh"]
    with background_server(models, ServeOptions(port=0, access_log=False, batch_wait_ms=100)) as (url, app):
        alone = [call(f"{url}/predict", body) for body in bodies]
        stats = app.state.service.batchers[0].stats
        before = stats.batches
        together = concurrent_posts(url, bodies)
        assert together == alone
        assert all(status == 200 for status, _ in together)
        assert stats.batches - before < len(bodies)  # the 8 requests shared fewer calls


def test_batch_wait_defaults_to_zero_for_tfidf(server) -> None:
    _, app = server
    assert [batcher.max_wait for batcher in app.state.service.batchers] == [0.0, 0.0]


@pytest.mark.slow
def test_transformer_requests_are_batched(tmp_path) -> None:
    """The tiny random transformer: concurrent requests share a forward pass and answer as predict does."""
    from tests.helpers import untrained_model
    from toolkit.models.folder import save_model
    from toolkit.predict import load_ref, predict_records
    from toolkit.serving.run import ServeOptions, background_server
    from toolkit.serving.service import Service

    folder = tmp_path / "transformer"
    save_model(untrained_model("topic"), folder)
    loaded = load_ref(str(folder))
    texts = [f"the {word} match ended with a late goal" for word in "abcdef"]
    with background_server([loaded], ServeOptions(port=0, access_log=False, batch_wait_ms=200)) as (url, app):
        batcher = app.state.service.batchers[0]
        together = concurrent_posts(url, [{"text": text} for text in texts])
        assert batcher.stats.batches < len(texts)
    assert Service([loaded]).batchers[0].max_wait == pytest.approx(0.002)  # device models wait 2 ms by default
    expected = predict_records(loaded, texts)
    for (status, answer), record in zip(together, expected, strict=True):
        assert status == 200, answer
        got = answer["results"][0]["predictions"][0]
        assert got["label"] == record["label"]
        assert got["probability"] == pytest.approx(record["probability"], abs=1e-5)
