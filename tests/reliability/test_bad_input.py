"""Bad input through the real CLI: one clear line on stderr, exit 2 (input) or 1 (runtime), no traceback,
no partial output, input files untouched.

The battery is a table: each case writes its input into the working folder, and each command says what it
must answer. A command added later (e.g. `score`) needs one entry in COMMANDS and one column in EXPECTED.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import make_rows, write_csv
from tests.reliability.reliability_helpers import CliResult, assert_one_line_error, snapshot

GOOD_ROWS = make_rows(60)


def good_csv(folder: Path) -> str:
    return str(write_csv(folder / "good.csv", GOOD_ROWS).name)


def write(name: str, data: bytes) -> Callable[[Path], str]:
    def make(folder: Path) -> str:
        (folder / name).write_bytes(data)
        return name

    return make


def make_folder(folder: Path) -> str:
    (folder / "folder").mkdir()
    return "folder"


def make_one_label(folder: Path) -> str:
    rows = [dict(row, topic="sports") for row in GOOD_ROWS]
    return write_csv(folder / "one_label.csv", rows).name


def make_unseen_label(folder: Path) -> str:
    rows = [dict(row, topic="cricket" if i % 2 else row["topic"]) for i, row in enumerate(GOOD_ROWS)]
    return write_csv(folder / "unseen.csv", rows).name


def make_cp1252(folder: Path) -> str:
    rows = [dict(row, text=row["text"] + " café naïve") for row in GOOD_ROWS]
    path = folder / "cp1252.csv"
    write_csv(path, rows)
    path.write_bytes(path.read_text(encoding="utf-8").encode("cp1252"))
    return path.name


CASES: dict[str, Callable[[Path], str]] = {
    "missing_file": lambda folder: "nowhere.csv",
    "directory": make_folder,
    "empty_file": write("empty.csv", b""),
    "binary_file": write("binary.csv", bytes(range(256)) * 64),
    "non_utf8_text": make_cp1252,
    "unclosed_quote": write("quote.csv", b'id,title,text,topic\n1,t,"goal match team,sports\n2,t,bank,economy\n'),
    "misspelled_column": write("columns.csv", b"id,title,txt,topic\n1,t,goal match,sports\n2,t,bank rates,economy\n"),
    "only_header": write("header.csv", b"id,title,text,topic\n"),
    "one_label": make_one_label,
    "unseen_labels": make_unseen_label,
}

OK = (0, "")
# command -> case -> (exit code, fragment of the one error line); OK means it must work.
EXPECTED: dict[str, dict[str, tuple[int, str]]] = {
    "prepare": {
        "missing_file": (2, "input not found: nowhere.csv"),
        "directory": (2, "no LABEL/*.txt files found"),
        "empty_file": (2, "cannot parse as delimited text"),
        "binary_file": (2, "looks like a binary file"),
        "non_utf8_text": OK,
        "unclosed_quote": (2, "cannot parse as delimited text"),
        "misspelled_column": (2, "column(s) ['text'] not found"),
        "only_header": (2, "no usable rows"),
        "one_label": (2, "only one label ('sports')"),
        "unseen_labels": OK,
    },
    "train": {
        "missing_file": (2, "input not found: nowhere.csv"),
        "directory": (2, "no LABEL/*.txt files found"),
        "empty_file": (2, "cannot parse as delimited text"),
        "binary_file": (2, "looks like a binary file"),
        "unclosed_quote": (2, "cannot parse as delimited text"),
        "misspelled_column": (2, "column(s) ['text'] not found"),
        "only_header": (2, "no usable rows"),
        "one_label": (2, "only one label ('sports')"),
    },
    "evaluate": {
        "missing_file": (2, "input not found: nowhere.csv"),
        "directory": (2, "no LABEL/*.txt files found"),
        "empty_file": (2, "cannot parse as delimited text"),
        "binary_file": (2, "looks like a binary file"),
        "non_utf8_text": OK,
        "unclosed_quote": (2, "cannot parse as delimited text"),
        "misspelled_column": (2, "column(s) ['text'] not found"),
        "only_header": (2, "no usable rows"),
        "one_label": OK,
        "unseen_labels": (2, "label(s) ['cricket'] that the model does not know"),
    },
    "predict": {
        "missing_file": (2, "article not found: nowhere.csv"),
        "directory": (2, "folder is a folder"),
        "empty_file": (2, "the article is empty"),
        "binary_file": (2, "looks like a binary file"),
        "non_utf8_text": OK,
        "unclosed_quote": OK,  # an article is plain text: a stray quote is just a character
    },
    "score": {  # bad rows go to _errors.jsonl and never stop a job; bad inputs stop it before any output
        "missing_file": (2, "input not found: nowhere.csv"),
        "directory": (2, "no .csv, .tsv, .jsonl, .parquet or .txt files found"),
        "empty_file": (2, "empty.csv: cannot read as csv"),
        "binary_file": (2, "binary.csv: looks like a binary file"),
        "non_utf8_text": OK,
        "unclosed_quote": OK,  # the unterminated record becomes one error row, reconciled in the summary
        "misspelled_column": (2, "no column 'text'"),
        "only_header": OK,  # 0 rows in, 0 scored, 0 errors
        "one_label": OK,
        "unseen_labels": OK,
    },
}

COMMANDS: dict[str, Callable[[str, Path], list[str]]] = {
    "prepare": lambda source, model: ["prepare", source, "--output", "prepared", "--name", "battery"],
    "train": lambda source, model: [
        "train",
        "-q",
        "--set",
        f"data.source={source}",
        "--set",
        "backend.params.char_ngrams=null",
    ],
    "evaluate": lambda source, model: ["evaluate", "--data", source, "--model", str(model), "--no-log"],
    "predict": lambda source, model: ["predict", source, "--model", str(model)],
    "score": lambda source, model: [
        "score",
        source,
        "--model",
        str(model),
        "--output",
        "scored",
        "-q",
        "--workers",
        "1",
    ],
}

BATTERY = [(command, case) for command, cases in EXPECTED.items() for case in cases]


@pytest.mark.parametrize(("command", "case"), BATTERY, ids=[f"{c}-{k}" for c, k in BATTERY])
def test_bad_input_battery(command: str, case: str, cli, fast_store: Path, model_dirs) -> None:
    source = CASES[case](fast_store)
    before = snapshot(fast_store)
    result: CliResult = cli(*COMMANDS[command](source, model_dirs["topic"]))
    code, fragment = EXPECTED[command][case]
    if (code, fragment) == OK:
        assert result.code == 0, result.stderr
        assert "Traceback" not in result.stderr
        after = snapshot(fast_store)
        assert {name: digest for name, digest in after.items() if name in before} == before, "an input changed"
        return
    assert_one_line_error(result, code, fragment)
    assert snapshot(fast_store) == before, "a failed command left output behind or changed an input"


CONFIG_CASES = {
    "typo_key": (["--set", "backend.params.Cc=1"], "unknown key 'backend.params.Cc' (did you mean 'C'?)"),
    "wrong_type": (["--set", "data.split.seed=abc"], "'data.split.seed': Input should be a valid integer"),
    "wrong_type_param": (
        ["--set", "backend.params.C=lots"],
        "'backend.params.C': Input should be a valid number",
    ),
    "bad_override": (["--set", "novalue"], "must look like key.path=value"),
    "unknown_backend": (["--set", "backend.name=bert"], "unknown backend 'bert'"),
    "typo_in_file": (
        ["--config", "typo.yaml"],
        "typo.yaml: unknown key 'data.sorce' (did you mean 'source'?)",
    ),
    "not_yaml": (["--config", "broken.yaml"], "broken.yaml: not valid YAML"),
    "not_a_mapping": (["--config", "list.yaml"], "the top level must be a mapping"),
    "binary_config": (["--config", "binary.yaml"], "binary.yaml: not valid YAML"),
    "config_is_folder": (["--config", "."], "config file not found: ."),
}


@pytest.mark.parametrize("command", ["prepare", "train"])
@pytest.mark.parametrize("case", list(CONFIG_CASES))
def test_bad_config(command: str, case: str, cli, fast_store: Path) -> None:
    (fast_store / "typo.yaml").write_text("data:\n  sorce: x.csv\n")
    (fast_store / "broken.yaml").write_text("data: [unclosed\n")
    (fast_store / "list.yaml").write_text("- a\n- b\n")
    (fast_store / "binary.yaml").write_bytes(b"\xff\xfe\x00\x01" * 10)
    before = snapshot(fast_store)
    args, fragment = CONFIG_CASES[case]
    assert_one_line_error(cli(command, *args), 2, fragment)
    assert snapshot(fast_store) == before


def make_refs(folder: Path) -> dict[str, str]:
    (folder / "not_a_model").mkdir()
    (folder / "not_a_model" / "readme.txt").write_text("hello")
    (folder / "a_file.txt").write_text("hello")
    (folder / "bad_manifest").mkdir()
    (folder / "bad_manifest" / "manifest.json").write_text("{not json")
    return {
        "missing_folder": "no/such/model",
        "folder_without_manifest": "not_a_model",
        "a_file": "a_file.txt",
        "broken_manifest": "bad_manifest",
        "unknown_run": "runs:/0123456789abcdef0123456789abcdef/model",
        "unknown_registered_model": "models:/no-such-model@champion",
    }


REF_MESSAGES = {
    "missing_folder": "model not found: no/such/model",
    "folder_without_manifest": "not_a_model is not a toolkit model folder (no manifest.json)",
    "a_file": "a_file.txt is a file",
    "broken_manifest": "not valid JSON",
    "unknown_run": "model 'runs:/0123456789abcdef0123456789abcdef/model' not found",
    "unknown_registered_model": "model 'models:/no-such-model@champion' not found",
}


@pytest.mark.parametrize("command", ["predict", "evaluate"])
@pytest.mark.parametrize("case", list(REF_MESSAGES))
def test_bad_model_ref(command: str, case: str, cli, fast_store: Path) -> None:
    refs = make_refs(fast_store)
    (fast_store / "article.txt").write_text("the team won the final match")
    csv_name = good_csv(fast_store)
    before = snapshot(fast_store)
    args = (
        ["predict", "article.txt", "--model", refs[case]]
        if command == "predict"
        else ["evaluate", "--data", csv_name, "--model", refs[case], "--no-log"]
    )
    assert_one_line_error(cli(*args), 2, REF_MESSAGES[case])
    assert snapshot(fast_store) == before


def test_debug_shows_a_traceback(cli, fast_store: Path) -> None:
    with pytest.raises(Exception, match="input not found"):
        cli("--debug", "prepare", "nowhere.csv")
