"""`toolkit serve` over real HTTP: a uvicorn server on 127.0.0.1 answers like `toolkit predict --json`, refuses bad
requests with one-line 4xx answers, and never puts a traceback in a response."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import make_rows
from tests.serving.serving_helpers import assert_one_line_error, call, post_chunked

ROWS = make_rows(6, seed=7)
TEXTS = [row["text"] for row in ROWS]


def expected_records(folder: Path, texts: list[str], targets: list[str] | None) -> list[dict]:
    """What `toolkit predict --json` holds for these texts: predict_records of the same folder, with its ref."""
    from toolkit.predict import load_ref, predict_records

    loaded = load_ref(str(folder))
    return [{**record, "model": str(folder)} for record in predict_records(loaded, texts, targets)]


def test_health_lists_the_served_models(server, serve_models) -> None:
    url, _ = server
    status, answer = call(f"{url}/health")
    assert status == 200 and answer["status"] == "ok"
    assert [(m["ref"], m["task"], m["backend"]) for m in answer["models"]] == [
        (str(serve_models["topic"]), "topic", "tfidf"),
        (str(serve_models["stance"]), "stance", "tfidf"),
    ]
    from toolkit._hashing import sha256_file

    assert answer["models"][1]["manifest_sha256"] == sha256_file(serve_models["stance"] / "manifest.json")
    assert answer["models"][1]["targets"] == sorted({row["target"] for row in make_rows(90)})


def test_openapi_documents_predict_and_health(server) -> None:
    url, _ = server
    status, schema = call(f"{url}/openapi.json")
    assert status == 200
    assert "post" in schema["paths"]["/predict"] and "get" in schema["paths"]["/health"]
    assert {"413", "422", "500"} <= set(schema["paths"]["/predict"]["post"]["responses"])
    assert {"text", "texts", "target", "targets", "models"} <= set(
        schema["components"]["schemas"]["PredictRequest"]["properties"]
    )
    status, page = call(f"{url}/docs")
    assert status == 200 and "swagger" in page.lower()


def test_answers_equal_toolkit_predict(server, serve_models) -> None:
    url, _ = server
    target = ROWS[0]["target"]
    status, answer = call(f"{url}/predict", {"texts": TEXTS, "target": target})
    assert status == 200, answer
    assert [m["ref"] for m in answer["models"]] == [str(serve_models["topic"]), str(serve_models["stance"])]
    assert [result["index"] for result in answer["results"]] == list(range(len(TEXTS)))
    topic = expected_records(serve_models["topic"], TEXTS, None)
    stance = expected_records(serve_models["stance"], TEXTS, [target] * len(TEXTS))
    for result, *expected in zip(answer["results"], topic, stance, strict=True):
        assert result["predictions"] == expected


def test_one_text_and_a_target_per_text(server, serve_models) -> None:
    url, _ = server
    status, answer = call(f"{url}/predict", {"text": TEXTS[0], "models": ["topic"]})
    assert status == 200, answer
    assert answer["results"][0]["predictions"] == expected_records(serve_models["topic"], TEXTS[:1], None)
    targets = [row["target"] for row in ROWS]
    status, answer = call(
        f"{url}/predict", {"texts": TEXTS, "targets": targets, "models": [str(serve_models["stance"])]}
    )
    assert status == 200, answer
    expected = expected_records(serve_models["stance"], TEXTS, targets)
    assert [result["predictions"] for result in answer["results"]] == [[record] for record in expected]


def test_unseen_target_is_answered_with_a_warning(server) -> None:
    url, _ = server
    status, answer = call(f"{url}/predict", {"text": TEXTS[0], "target": "lunar tourism", "models": ["stance"]})
    assert status == 200, answer
    record = answer["results"][0]["predictions"][0]
    assert record["unseen_target"] is True and "lunar tourism" in record["warning"]


BAD_REQUESTS = {
    "invalid_json": (b'{"texts": [', "not valid JSON"),
    "empty_body": (b"", "body is missing"),
    "json_list": (b'["a", "b"]', "must be a JSON object"),
    "neither_text_nor_texts": ({"target": "x"}, "exactly one of 'text'"),
    "both_text_and_texts": ({"text": "a", "texts": ["b"]}, "exactly one of 'text'"),
    "no_texts": ({"texts": []}, "'texts' is empty"),
    "blank_text": ({"texts": ["fine words", "   "], "models": ["topic"]}, "texts[1] is empty"),
    "text_not_a_string": ({"texts": ["a", 3], "models": ["topic"]}, "texts[1]"),
    "unknown_field": ({"text": "a", "colour": "red"}, "colour"),
    "target_and_targets": ({"texts": ["a"], "target": "x", "targets": ["y"]}, "not both"),
    "targets_count": ({"texts": ["a", "b"], "targets": ["x"]}, "1 targets for 2 texts"),
    "blank_target": ({"text": "a", "target": " "}, "'target' is empty"),
    "unknown_model": ({"text": "a", "models": ["sentiment"]}, "no served model is 'sentiment'"),
    "stance_without_target": ({"text": "a"}, 'is a stance model: send "target"'),
    "stance_only_without_target": ({"texts": ["a"], "models": ["stance"]}, "it was trained on:"),
}


@pytest.mark.parametrize("case", sorted(BAD_REQUESTS))
def test_bad_request_is_a_one_line_422(server, case: str) -> None:
    url, _ = server
    body, fragment = BAD_REQUESTS[case]
    status, answer = call(f"{url}/predict", body, method="POST")
    assert_one_line_error(status, answer, 422, fragment)


def test_a_body_that_is_not_json_typed_is_422(server) -> None:
    url, _ = server
    status, answer = call(f"{url}/predict", b"some article", content_type="text/plain")
    assert_one_line_error(status, answer, 422, "JSON")


def test_body_over_the_limit_is_413_before_parsing(server) -> None:
    url, _ = server
    status, answer = call(f"{url}/predict", b"{" + b"x" * 70_000)  # not JSON either: 413 proves it was never parsed
    assert_one_line_error(status, answer, 413, "64,000 bytes", "--max-request-bytes")
    status, answer = post_chunked(f"{url}/predict", [b'{"texts": ["' + b"y" * 20_000] * 4)
    assert_one_line_error(status, answer, 413, "--max-request-bytes")
    status, answer = call(f"{url}/predict", {"text": "x" * 60_000, "models": ["topic"]})  # just under: answered
    assert status == 200, answer


def test_too_many_texts_is_413(server) -> None:
    url, _ = server
    status, answer = call(f"{url}/predict", {"texts": ["a"] * 21, "models": ["topic"]})
    assert_one_line_error(status, answer, 413, "21 texts", "limit is 20")


def test_unknown_path_and_method(server) -> None:
    url, _ = server
    assert call(f"{url}/nowhere")[0] == 404
    assert call(f"{url}/predict")[0] == 405


def test_a_failing_model_is_a_one_line_500(server, monkeypatch: pytest.MonkeyPatch) -> None:
    url, app = server
    topic = app.state.service.models[0].model

    def broken(texts, targets=None):
        raise RuntimeError("weights went missing\nsecond line")

    monkeypatch.setattr(topic, "predict_with_unknown", broken)
    status, answer = call(f"{url}/predict", {"text": "a", "models": ["topic"]})
    assert_one_line_error(status, answer, 500, "RuntimeError: weights went missing")
    assert "second line" not in json.dumps(answer)
    monkeypatch.undo()
    assert call(f"{url}/predict", {"text": "a", "models": ["topic"]})[0] == 200  # the server lives on


def test_an_unexpected_bug_is_a_json_500_without_traceback(server, monkeypatch: pytest.MonkeyPatch) -> None:
    url, app = server

    def bug(names):
        raise KeyError("oops")

    monkeypatch.setattr(app.state.service, "chosen", bug)
    status, answer = call(f"{url}/predict", {"text": "a"})
    assert_one_line_error(status, answer, 500, "internal error: KeyError")


def test_a_cut_text_is_reported_like_predict(server, monkeypatch: pytest.MonkeyPatch) -> None:
    url, app = server
    topic = app.state.service.models[0].model
    monkeypatch.setattr(topic, "truncated_tokens", lambda texts, targets=None: [7] * len(texts))
    status, answer = call(f"{url}/predict", {"text": TEXTS[0], "models": ["topic"]})
    assert status == 200, answer
    record = answer["results"][0]["predictions"][0]
    assert record["truncated_tokens"] == 7 and "7 tokens not read" in record["warning"]


def test_a_target_is_asked_in_the_spelling_the_model_learned(server) -> None:
    """As `toolkit predict --target`: case and spacing do not turn a training target into an unseen one."""
    url, _ = server
    answers = [
        call(f"{url}/predict", {"text": TEXTS[0], "target": target, "models": ["stance"]})
        for target in ("nuclear energy", "  Nuclear   ENERGY ")
    ]
    assert answers[0] == answers[1] and answers[0][0] == 200
    record = answers[0][1]["results"][0]["predictions"][0]
    assert record["target"] == "nuclear energy" and record["unseen_target"] is False
