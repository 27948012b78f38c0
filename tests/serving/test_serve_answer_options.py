"""`toolkit serve` with `min_probability` and `top_k` in the request: the same `uncertain` and `top_k` fields as
`toolkit predict --min-probability/--top-k` (one rule: toolkit.predict_output), every answer kept."""

from __future__ import annotations

from tests.helpers import make_rows
from tests.serving.serving_helpers import assert_one_line_error, call

TEXTS = [row["text"] for row in make_rows(6, seed=11)]


def predicted(folder, top_k=None, min_probability=None) -> list[dict]:
    """What `toolkit predict` records for these texts with the same options."""
    from toolkit.predict import load_ref, predict_records
    from toolkit.predict_output import add_answer_fields

    records = predict_records(load_ref(str(folder)), TEXTS)
    return [add_answer_fields(record, top_k, min_probability) for record in records]


def test_min_probability_marks_answers_like_predict(server, serve_models) -> None:
    url, _ = server
    probabilities = sorted(r["probability"] for r in predicted(serve_models["topic"]))
    threshold = (probabilities[0] + probabilities[-1]) / 2
    status, answer = call(f"{url}/predict", {"texts": TEXTS, "models": ["topic"], "min_probability": threshold})
    assert status == 200, answer
    served = [result["predictions"][0] for result in answer["results"]]
    expected = predicted(serve_models["topic"], min_probability=threshold)
    assert [p["uncertain"] for p in served] == [r["uncertain"] for r in expected]
    assert {True, False} == {p["uncertain"] for p in served}
    assert [p["label"] for p in served] == [r["label"] for r in expected]  # labels kept, nothing dropped


def test_without_min_probability_there_is_no_uncertain_field(server) -> None:
    url, _ = server
    status, answer = call(f"{url}/predict", {"text": TEXTS[0], "models": ["topic"]})
    assert status == 200 and "uncertain" not in answer["results"][0]["predictions"][0]


def test_top_k_is_the_record_of_predict(server, serve_models) -> None:
    url, _ = server
    status, answer = call(f"{url}/predict", {"texts": TEXTS[:2], "models": ["topic"], "top_k": 2})
    assert status == 200, answer
    served = [result["predictions"][0]["top_k"] for result in answer["results"]]
    assert served == [r["top_k"] for r in predicted(serve_models["topic"], top_k=2)[:2]]


def test_min_probability_outside_zero_to_one_is_a_one_line_422(server) -> None:
    url, _ = server
    for value in (0, 1, 1.5):
        status, answer = call(f"{url}/predict", {"text": TEXTS[0], "min_probability": value})
        assert_one_line_error(status, answer, 422, "min_probability")
    status, answer = call(f"{url}/predict", {"text": TEXTS[0], "top_k": 0})
    assert_one_line_error(status, answer, 422, "top_k")
