"""Model and prepared-dataset folders on disk: a folder whose hashes are consistent but whose content is wrong
is refused with one line (exit 2), never loaded unchecked, never a library's raw error.

Every corrupt model folder is re-hashed after corrupting (its manifest rewritten with the true sha256 of each
listed file), so the hash check cannot be what catches it: the schema and shape checks must.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import make_rows, rehash, tiny_config, write_csv
from tests.reliability.reliability_helpers import assert_one_line_error

DEEP = 100_000  # nesting depth past Python's recursion limit: json.loads raises RecursionError


def edit_json(name: str, change: Callable[[dict[str, Any]], None]) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        data = json.loads((folder / name).read_text())
        change(data)
        (folder / name).write_text(json.dumps(data))

    return apply


def edit_arrays(change: Callable[[dict[str, Any]], None]) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        from safetensors.numpy import load_file, save_file

        arrays = load_file(str(folder / "tfidf.safetensors"))
        change(arrays)
        save_file(arrays, str(folder / "tfidf.safetensors"))

    return apply


def cut_file(name: str, keep: float) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        data = (folder / name).read_bytes()
        (folder / name).write_bytes(data[: int(len(data) * keep)])

    return apply


def nest_deeply(name: str) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        text = (folder / name).read_text().rstrip()
        (folder / name).write_text(text[:-1] + ', "deep": ' + "[" * DEEP + "]" * DEEP + "}")

    return apply


def set_key(name: str, key: str, value: Any) -> Callable[[Path], None]:
    return edit_json(name, lambda data: data.__setitem__(key, value))


def word_init(key: str, value: Any) -> Callable[[Path], None]:
    return edit_json("tfidf.json", lambda data: data["vectorizers"]["word"]["init"].__setitem__(key, value))


def scale(key: str, factor: float, rows: slice = slice(None)) -> Callable[[dict[str, Any]], None]:
    def change(arrays: dict[str, Any]) -> None:
        arrays[key] = arrays[key].copy()
        arrays[key][rows] = arrays[key][rows] * factor

    return change


def huge_coef(arrays: dict[str, Any]) -> None:
    """Finite, but a text with two known words scores past the float maximum (inf - inf = NaN in a softmax)."""
    arrays["coef"] = arrays["coef"] * 0 + 1.7e308


def nan_coef(arrays: dict[str, Any]) -> None:
    arrays["coef"] = arrays["coef"] * float("nan")


def inf_intercept(arrays: dict[str, Any]) -> None:
    arrays["intercept"] = arrays["intercept"].copy()
    arrays["intercept"][0] = float("inf")


# case: (how the topic folder is corrupted, fragments of the one error line)
CORRUPT_MODELS: dict[str, tuple[Callable[[Path], None], tuple[str, ...]]] = {
    "manifest_lists_no_files": (set_key("manifest.json", "files", {}), ("manifest.json does not list tfidf.json",)),
    "manifest_omits_arrays": (
        edit_json("manifest.json", lambda m: m["files"].pop("tfidf.safetensors")),
        ("manifest.json does not list tfidf.safetensors",),
    ),
    "safetensors_truncated": (cut_file("tfidf.safetensors", 0.5), ("tfidf.safetensors is not a readable",)),
    "safetensors_empty": (cut_file("tfidf.safetensors", 0), ("tfidf.safetensors is not a readable",)),
    "labels_shortened": (
        edit_json("manifest.json", lambda m: m.__setitem__("labels", m["labels"][:-1])),
        ("coef has 3 rows", "2 labels need 1"),
    ),
    "labels_empty": (set_key("manifest.json", "labels", []), ("labels",)),
    "labels_a_string": (set_key("manifest.json", "labels", "economy"), ("labels",)),
    "labels_duplicated": (set_key("manifest.json", "labels", ["economy", "economy", "sports"]), ("unique",)),
    "labels_blank": (set_key("manifest.json", "labels", ["", "health", "sports"]), ("labels",)),
    "labels_not_strings": (set_key("manifest.json", "labels", [1, 2, 3]), ("labels",)),
    "task_unknown": (set_key("manifest.json", "task", "sentiment"), ("task",)),
    "params_invalid": (set_key("manifest.json", "params", {"C": "lots"}), ("params", "C")),
    "manifest_deeply_nested": (nest_deeply("manifest.json"), ("manifest.json is nested too deeply",)),
    "settings_deeply_nested": (nest_deeply("tfidf.json"), ("tfidf.json is nested too deeply",)),
    "ngram_range_a_string": (word_init("ngram_range", "ab"), ("tfidf.json", "ngram_range")),
    "ngram_range_reversed": (word_init("ngram_range", [3, 1]), ("tfidf.json", "ngram_range")),
    "vocabulary_not_a_list": (
        edit_json("tfidf.json", lambda s: s["vectorizers"]["word"].__setitem__("vocabulary", "abc")),
        ("tfidf.json", "vocabulary"),
    ),
    "coef_too_few_columns": (
        edit_arrays(lambda a: a.__setitem__("coef", a["coef"][:, :-5].copy())),
        ("coef has", "columns", "features"),
    ),
    "coef_one_dimensional": (edit_arrays(lambda a: a.__setitem__("coef", a["coef"].ravel().copy())), ("coef",)),
    "intercept_too_short": (
        edit_arrays(lambda a: a.__setitem__("intercept", a["intercept"][:-1].copy())),
        ("intercept",),
    ),
    "coef_all_nan": (edit_arrays(nan_coef), ("coef", "not finite")),
    "intercept_inf": (edit_arrays(inf_intercept), ("intercept", "not finite")),
    "idf_nan": (edit_arrays(scale("idf.word", float("nan"), slice(0, 3))), ("idf.word", "not finite")),
    "coef_overflows": (edit_arrays(huge_coef), ("not finite",)),
    "arrays_missing_coef": (edit_arrays(lambda a: a.pop("coef")), ("coef",)),
}


@pytest.fixture
def article(tmp_path: Path) -> Path:
    path = tmp_path / "x.txt"
    path.write_text("the team won the final match")
    return path


@pytest.mark.parametrize("case", list(CORRUPT_MODELS))
def test_corrupt_model_folder_with_consistent_hashes_is_refused(
    case: str, cli, model_dirs: dict[str, Path], tmp_path: Path, article: Path
) -> None:
    folder = Path(shutil.copytree(model_dirs["topic"], tmp_path / "crafted"))
    corrupt, fragments = CORRUPT_MODELS[case]
    corrupt(folder)
    rehash(folder)
    result = cli("predict", str(article), "-m", str(folder), "--json")
    assert_one_line_error(result, 2, "invalid model folder: ", *fragments)
    assert "NaN" not in result.stdout and "Infinity" not in result.stdout


STANCE_CORRUPTIONS: dict[str, tuple[Callable[[Path], None], tuple[str, ...]]] = {
    "target_blocks_not_strings": (set_key("tfidf.json", "target_blocks", [1, 2]), ("tfidf.json", "target_blocks")),
    "pair_option_unknown": (set_key("tfidf.json", "pair", {"run": "code"}), ("tfidf.json", "pair")),
    "target_idf_missing": (edit_arrays(lambda a: a.pop("idf.target")), ("idf.target",)),
}


@pytest.mark.parametrize("case", list(STANCE_CORRUPTIONS))
def test_corrupt_stance_model_folder_is_refused(
    case: str, cli, model_dirs: dict[str, Path], tmp_path: Path, article: Path
) -> None:
    folder = Path(shutil.copytree(model_dirs["stance"], tmp_path / "crafted"))
    corrupt, fragments = STANCE_CORRUPTIONS[case]
    corrupt(folder)
    rehash(folder)
    result = cli("predict", str(article), "-m", str(folder), "--target", "nuclear energy", "--json")
    assert_one_line_error(result, 2, "invalid model folder: ", *fragments)


@pytest.fixture(scope="module")
def transformer_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved transformer model folder (tiny random encoder, untrained head: loading is what is tested)."""
    pytest.importorskip("transformers")
    from tests.helpers import untrained_model
    from toolkit.models.folder import save_model

    folder = tmp_path_factory.mktemp("transformer") / "model"
    save_model(untrained_model("topic"), folder)
    return folder


TRANSFORMER_CORRUPTIONS: dict[str, tuple[Callable[[Path], None], tuple[str, ...]]] = {
    "manifest_lists_no_files": (set_key("manifest.json", "files", {}), ("manifest.json does not list config.json",)),
    "unlisted_tokenizer_file": (
        lambda folder: (folder / "added_tokens.json").write_text('{"match": 0}'),
        ("manifest.json does not list added_tokens.json",),
    ),
    "weights_truncated": (cut_file("model.safetensors", 0.5), ("safetensors weights", "deserializing")),
    "labels_json_deeply_nested": (nest_deeply("labels.json"), ("labels.json is nested too deeply",)),
    "labels_json_disagrees": (set_key("labels.json", "labels", "economy"), ("labels.json and manifest.json disagree",)),
    "params_invalid": (set_key("manifest.json", "params", {"max_length": "long"}), ("params", "max_length")),
}


@pytest.mark.parametrize("case", list(TRANSFORMER_CORRUPTIONS))
def test_corrupt_transformer_model_folder_is_refused(
    case: str, cli, transformer_folder: Path, tmp_path: Path, article: Path
) -> None:
    folder = Path(shutil.copytree(transformer_folder, tmp_path / "crafted"))
    corrupt, fragments = TRANSFORMER_CORRUPTIONS[case]
    corrupt(folder)
    rehash(folder)
    result = cli("predict", str(article), "-m", str(folder), "--json")
    assert_one_line_error(result, 2, "invalid model folder: ", *fragments)


def test_intact_transformer_folder_still_loads(cli, transformer_folder: Path, article: Path) -> None:
    result = cli("predict", str(article), "-m", str(transformer_folder), "--json")
    assert result.code == 0, result.stderr


def test_intact_model_folders_still_load(cli, model_dirs: dict[str, Path], article: Path) -> None:
    """The control: the same command on the untouched folders answers, with finite probabilities."""
    for task, extra in (("topic", []), ("stance", ["--target", "nuclear energy"])):
        result = cli("predict", str(article), "-m", str(model_dirs[task]), *extra, "--json")
        assert result.code == 0, result.stderr
        json.loads(result.stdout, parse_constant=lambda constant: pytest.fail(f"{constant} in --json output"))


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A prepared topic and stance dataset, shared read-only (copy one before changing it)."""
    from toolkit.config import load_config
    from toolkit.data.prepare import prepare_dataset

    root = tmp_path_factory.mktemp("prepared")
    source = write_csv(root / "rows.csv", make_rows(90))
    folders = {}
    for task in ("topic", "stance"):
        folders[task] = root / task
        prepare_dataset(load_config(None, tiny_config(task, source)).data, task, folders[task])
    return folders


def cut_arrow(split: str) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        [arrow] = (folder / "dataset" / split).glob("*.arrow")
        arrow.write_bytes(arrow.read_bytes()[: arrow.stat().st_size // 2])

    return apply


# case: (data task, model task, how the prepared folder is changed, fragments of the one error line)
CORRUPT_PREPARED: dict[str, tuple[str, str, Callable[[Path], None] | None, tuple[str, ...]]] = {
    "task_edited_to_stance": ("topic", "topic", set_key("manifest.json", "task", "stance"), ("edited",)),
    "task_edited_to_topic": ("stance", "stance", set_key("manifest.json", "task", "topic"), ("edited",)),
    "task_unknown": ("topic", "topic", set_key("manifest.json", "task", "sentiment"), ("task",)),
    "task_missing": ("topic", "topic", edit_json("manifest.json", lambda m: m.pop("task")), ("task",)),
    "manifest_not_json": ("topic", "topic", cut_file("manifest.json", 0.5), ("manifest.json", "not valid JSON")),
    "manifest_deeply_nested": ("topic", "topic", nest_deeply("manifest.json"), ("nested too deeply",)),
    "arrow_cut_in_half": ("topic", "topic", cut_arrow("test"), ("split 'test'", "unreadable")),
    "counts_edited": (
        "topic",
        "topic",
        edit_json("manifest.json", lambda m: m["counts"]["test"].__setitem__("sports", 999)),
        ("test", "rows"),
    ),
    "other_task_than_the_model": ("stance", "topic", None, ("prepared for stance", "topic model")),
}


@pytest.mark.parametrize("case", list(CORRUPT_PREPARED))
def test_evaluate_checks_the_prepared_folder(
    case: str, cli, model_dirs: dict[str, Path], prepared: dict[str, Path], tmp_path: Path
) -> None:
    data_task, model_task, corrupt, fragments = CORRUPT_PREPARED[case]
    folder = Path(shutil.copytree(prepared[data_task], tmp_path / "prepared"))
    if corrupt:
        corrupt(folder)
    result = cli("evaluate", "--data", str(folder), "--model", str(model_dirs[model_task]), "--no-log", "--json")
    assert_one_line_error(result, 2, *fragments)


@pytest.mark.parametrize("task", ["topic", "stance"])
def test_evaluate_on_an_intact_prepared_folder_still_works(
    task: str, cli, model_dirs: dict[str, Path], prepared: dict[str, Path]
) -> None:
    result = cli("evaluate", "--data", str(prepared[task]), "--model", str(model_dirs[task]), "--no-log", "--json")
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["split"] == "test"
