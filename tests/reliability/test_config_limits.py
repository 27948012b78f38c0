"""Configs and parameters at their limits, through the real CLI: YAML alias bombs and huge echoed values,
backend parameters that scikit-learn or torch would refuse only after data preparation, and `tune` settings
that used to surface after a whole trial (or that changed a finished tuning run).

Each family is a table: a row names its input and what the CLI must answer.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import toolkit
from tests.helpers import make_rows, tiny_config, write_csv
from tests.reliability.reliability_helpers import assert_one_line_error

REPO = Path(toolkit.__file__).resolve().parent.parent
MAX_ERROR_LINE = 600  # an echoed value is cut to ~200 characters; the rest of the line is the message


def sets(*overrides: str) -> list[str]:
    return [arg for override in overrides for arg in ("--set", override)]


def laughs(levels: int) -> str:
    """A 'billion laughs' flow sequence: level k holds 9 aliases of level k-1, so 9**levels strings in all."""
    items = ['&l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    items += [f"&l{k} [" + ", ".join([f"*l{k - 1}"] * 9) + "]" for k in range(1, levels)]
    return "[" + ", ".join(items) + "]"


def bomb_file(folder: Path, levels: int) -> list[str]:
    """A config file (a few hundred bytes) whose data.label_map value expands to 9**levels strings."""
    (folder / "bomb.yaml").write_text(f"task: topic\ndata:\n  label_map:\n    x: {laughs(levels)}\n")
    return ["--config", "bomb.yaml"]


# --- 4. YAML alias bombs and huge echoed values ---------------------------------------------------------

# case -> (arguments after `train`, fragment of the one error line)
YAML_CASES: dict[str, tuple[object, str]] = {
    "alias_bomb_in_file": (lambda folder: bomb_file(folder, 6), "aliases"),
    "alias_bomb_in_set": (lambda folder: sets(f"data.label_map={{x: {laughs(6)}}}"), "aliases"),
    "recursive_alias": (lambda folder: sets("data.label_map={x: &a [*a, *a]}"), "refers to itself"),
    "deeply_nested": (lambda folder: sets("data.label_map=" + "[" * 20_000 + "]" * 20_000), "nested too deeply"),
    "huge_invalid_value": (lambda folder: sets("seed=" + "x" * 200_000), "'seed'"),
    "huge_unknown_key": (lambda folder: sets("data." + "k" * 200_000 + "=1"), "unknown key"),
    "huge_invalid_override": (lambda folder: sets("=" + "v" * 200_000), "must look like key.path=value"),
}


@pytest.mark.parametrize(
    "case",  # 20,000 nested brackets take seconds to refuse: make test runs that case, the inner loop not
    [pytest.param(case, marks=pytest.mark.slow) if case == "deeply_nested" else case for case in YAML_CASES],
)
def test_a_config_that_is_too_big_is_refused_in_one_short_line(case: str, cli, store: Path) -> None:
    make_args, fragment = YAML_CASES[case]
    result = cli("train", "-q", *make_args(store))  # type: ignore[operator]
    assert_one_line_error(result, 2, fragment)
    assert len(result.error_lines[0]) < MAX_ERROR_LINE, len(result.error_lines[0])
    assert not (store / "mlruns.db").exists() and not (store / "cache").exists()


# Builds nothing if the loader refuses before expanding; a regression is stopped by the memory limit.
BILLION_LAUGHS = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
from toolkit.cli import main
sys.argv = ["toolkit", "train", "-q", "--config", "bomb.yaml"]
main()
"""


def test_a_billion_laughs_config_is_refused_before_it_is_expanded(tmp_path: Path) -> None:
    bomb_file(tmp_path, 10)  # 9**10 = 3.5e9 strings once expanded; ~500 bytes as written
    assert (tmp_path / "bomb.yaml").stat().st_size < 600
    env = {**os.environ, "PYTHONPATH": str(REPO), "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlruns.db'}"}
    done = subprocess.run(
        [sys.executable, "-c", BILLION_LAUGHS], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.startswith("error: bomb.yaml: ") and "aliases" in done.stderr, done.stderr[:2000]
    assert len(done.stderr) < MAX_ERROR_LINE


def test_a_config_with_a_few_aliases_still_loads(tmp_path: Path) -> None:
    from toolkit.config import load_config

    path = tmp_path / "anchors.yaml"
    path.write_text(
        "backend:\n  params: &p {C: 2.0, word_ngrams: [1, 1]}\n"
        "tune:\n  space:\n    backend.params.C: &range {type: float, low: 0.5, high: 4.0}\n"
        "    backend.params.target_block_weight: *range\n"
    )
    config = load_config(path)
    assert config.backend.params["C"] == 2.0 and config.tune is not None
    assert config.tune.space["backend.params.target_block_weight"].high == 4.0


# --- 5. Backend parameters outside their range ----------------------------------------------------------

# case -> (backend, the bad override, the dotted key the error names)
PARAM_CASES: dict[str, tuple[str, str, str]] = {
    "C_zero": ("tfidf", "backend.params.C=0", "backend.params.C"),
    "C_negative": ("tfidf", "backend.params.C=-1", "backend.params.C"),
    "C_infinite": ("tfidf", "backend.params.C=.inf", "backend.params.C"),
    "word_ngrams_reversed": ("tfidf", "backend.params.word_ngrams=[2, 1]", "backend.params.word_ngrams"),
    "word_ngrams_zero": ("tfidf", "backend.params.word_ngrams=[0, 1]", "backend.params.word_ngrams"),
    "char_ngrams_reversed": ("tfidf", "backend.params.char_ngrams=[5, 2]", "backend.params.char_ngrams"),
    "max_iter_negative": ("tfidf", "backend.params.max_iter=-5", "backend.params.max_iter"),
    "max_iter_zero": ("tfidf", "backend.params.max_iter=0", "backend.params.max_iter"),
    "max_features_zero": ("tfidf", "backend.params.max_features=0", "backend.params.max_features"),
    "min_df_zero": ("tfidf", "backend.params.min_df=0", "backend.params.min_df"),
    "block_weight_nan": ("tfidf", "backend.params.target_block_weight=.nan", "backend.params.target_block_weight"),
    "learning_rate_infinite": ("transformer", "backend.params.learning_rate=.inf", "backend.params.learning_rate"),
    "weight_decay_infinite": ("transformer", "backend.params.weight_decay=.inf", "backend.params.weight_decay"),
    "empty_model_name": ("transformer", "backend.params.model_name_or_path=''", "backend.params.model_name_or_path"),
    "max_length_absurd": ("transformer", "backend.params.max_length=1000000000", "backend.params.max_length"),
    "epochs_zero": ("transformer", "backend.params.epochs=0", "backend.params.epochs"),
}


@pytest.mark.parametrize("case", PARAM_CASES)
def test_a_backend_parameter_out_of_range_is_refused_before_anything_starts(case: str, cli, store: Path) -> None:
    backend, bad, key = PARAM_CASES[case]
    source = write_csv(store / "articles.csv", make_rows(60))
    result = cli("train", "-q", *sets(*tiny_config("topic", source), f"backend.name={backend}", bad))
    assert_one_line_error(result, 2, key)
    assert sorted(path.name for path in store.iterdir()) == ["articles.csv"]  # no cache, no tracking store


@pytest.mark.parametrize(
    "override",
    [
        "backend.params.word_ngrams=[1, 1]",
        "backend.params.C=0.001",
        "backend.params.max_iter=1",
        "backend.params.min_df=1",
        "backend.params.max_features=null",
        "backend.params.char_ngrams=[3, 3]",
    ],
)
def test_the_edges_of_each_range_are_still_valid(override: str, tmp_path: Path) -> None:
    from toolkit.config import load_config

    load_config(None, tiny_config("topic", tmp_path / "articles.csv", **dict([override.split("=")])))


# --- 6. `toolkit tune`: the metric, and resuming a finished study -----------------------------------------


def tune_file(folder: Path, **tune: object) -> Path:
    """A tune config whose study lives in the working folder (relative storage URL, as a user writes it)."""
    section = {"space": {"backend.params.C": {"type": "float", "low": 0.1, "high": 10.0, "log": True}}}
    section |= {"storage": "sqlite:///optuna.db", **tune}
    path = folder / "tune.yaml"
    path.write_text(yaml.safe_dump({"tune": section}))
    return path


def tune_args(folder: Path, *extra: str) -> list[str]:
    source = write_csv(folder / "articles.csv", make_rows(90))
    return ["tune", "-q", "--trials", "1", "--config", "tune.yaml", *sets(*tiny_config("topic", source), *extra)]


def runs_of(store: Path) -> list[object]:
    import mlflow

    client = mlflow.MlflowClient(f"sqlite:///{store / 'mlruns.db'}")
    return [run for exp in client.search_experiments() for run in client.search_runs([exp.experiment_id])]


@pytest.mark.parametrize("metric", ["validation_macro_f", "validation_f_avg", "validation_accuracyy"])
def test_tune_refuses_an_unknown_metric_before_the_first_trial(metric: str, cli, fast_store: Path) -> None:
    tune_file(fast_store, metric=metric)
    result = cli(*tune_args(fast_store))
    assert_one_line_error(result, 2, f"tune.metric '{metric}'", "validation_macro_f1", "validation_accuracy")
    assert runs_of(fast_store) == []  # no trial, no parent run


def change_metric(folder: Path) -> list[str]:
    tune_file(folder, metric="validation_accuracy")
    return []


def spell_storage_absolute(folder: Path) -> list[str]:
    tune_file(folder, storage=f"sqlite:///{folder / 'optuna.db'}")  # the same study, written another way
    return []


def crash_in_trial(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the trial crashed")

    monkeypatch.setattr("toolkit.train.train", crash)


# case -> (change before the second session, its exit code, fragment of its error line or None)
RESUME_CASES: dict[str, tuple[object, int, str | None]] = {
    "other_metric": (change_metric, 2, "was created for tune.metric 'validation_macro_f1'"),
    "storage_spelled_otherwise": (spell_storage_absolute, 0, None),
    "trial_crashes": ("crash", 1, "the trial crashed"),
}


@pytest.mark.parametrize(
    "case",
    # two sessions of a real study each: the rarer two run in `make test` (CI), not in the quick loop
    [pytest.param(case, marks=[pytest.mark.slow] if case != "other_metric" else []) for case in RESUME_CASES],
)
def test_resuming_a_study_never_changes_the_finished_parent_run(
    case: str, cli, fast_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    change, code, fragment = RESUME_CASES[case]
    tune_file(fast_store)
    first = cli(*tune_args(fast_store))
    assert first.code == 0, first.stderr
    (parent,) = [run for run in runs_of(fast_store) if run.data.tags.get("toolkit.run_kind") == "tune"]
    assert parent.info.status == "FINISHED"
    if change == "crash":
        crash_in_trial(fast_store, monkeypatch)
    else:
        change(fast_store)  # type: ignore[operator]
    again = cli(*tune_args(fast_store))
    if fragment is None:
        assert again.code == code, again.stderr
    else:
        assert_one_line_error(again, code, fragment)
    after = [run for run in runs_of(fast_store) if run.info.run_id == parent.info.run_id][0]
    assert after.info.status == "FINISHED"
    assert after.data.tags["toolkit.model_uri"] == parent.data.tags["toolkit.model_uri"] or code == 0
    assert after.data.params == parent.data.params
