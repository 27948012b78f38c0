import json
from pathlib import Path

import pytest

from tests.helpers import make_rows, write_csv
from toolkit.config import load_config
from toolkit.data.prepare import load_prepared, prepare_dataset
from toolkit.data.readers import read_source
from toolkit.errors import DataError


def data_config(source: Path | list[str], *overrides: str):
    sources = source if isinstance(source, list) else [str(source)]
    return load_config(None, [f"data.source={json.dumps(sources)}", *overrides]).data


def test_csv_with_quoted_multiline_fields_and_sniffed_semicolons(tmp_path: Path) -> None:
    path = tmp_path / "semi.csv"
    path.write_text('id;title;text;topic\n1;T;"first line\nsecond; line with ""quotes""";economy\n2;U;plain;sports\n')
    frame, report = read_source(str(path), data_config(path))
    assert report.delimiter == ";"
    assert frame.loc[0, "text"] == 'first line\nsecond; line with "quotes"'
    assert len(frame) == 2


def test_missing_value_words_stay_text(tmp_path: Path) -> None:
    path = tmp_path / "na.csv"
    path.write_text("id,title,text,topic\n1,NA,null,None\n2,n/a,nan,NA\n")
    frame, _ = read_source(str(path), data_config(path))
    assert frame["text"].tolist() == ["null", "nan"]
    assert frame["topic"].tolist() == ["None", "NA"]


def test_cp1252_file_is_detected_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "win.csv"
    path.write_bytes("id,title,text,topic\n1,t,caf\u00e9 \u201cquoted\u201d na\u00efve text,economy\n".encode("cp1252"))
    frame, report = read_source(str(path), data_config(path))
    assert report.encoding == "cp1252"
    assert "not valid UTF-8" in " ".join(report.notes)
    assert frame.loc[0, "text"] == "caf\u00e9 \u201cquoted\u201d na\u00efve text"


def test_utf8_with_a_broken_byte_is_read_and_counted(tmp_path: Path) -> None:
    body = "id,title,text,topic\n" + "".join(f"{i},t,caf\u00e9 text number {i},economy\n" for i in range(200))
    raw = body.encode("utf-8").replace(b"number 7,", b"number \xff7,")
    path = tmp_path / "broken.csv"
    path.write_bytes(raw)
    frame, report = read_source(str(path), data_config(path))
    assert report.encoding == "utf-8" and report.replaced_bytes == 1
    assert len(frame) == 200 and "\ufffd" in frame.loc[7, "text"]


def test_explicit_wrong_encoding_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "win.csv"
    path.write_bytes(("id,title,text,topic\n" + "1,t,\u00e9\u00e9\u00e9\u00e9,economy\n" * 50).encode("cp1252"))
    with pytest.raises(DataError, match="cannot be read as utf-8"):
        read_source(str(path), data_config(path, "data.encoding=utf-8"))


def test_unclosed_quote_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text('id,title,text,topic\n1,t,"never closed,economy\n2,t,x,sports\n')
    with pytest.raises(DataError, match="cannot parse as delimited text"):
        read_source(str(path), data_config(path))


def test_every_input_format_prepares_the_same_rows(tmp_path: Path) -> None:
    import pandas as pd

    rows = make_rows(60)
    csv_path = write_csv(tmp_path / "a.csv", rows)
    tsv_path = write_csv(tmp_path / "a.tsv", rows, delimiter="\t")
    jsonl_path = tmp_path / "a.jsonl"
    jsonl_path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    parquet_path = tmp_path / "a.parquet"
    pd.DataFrame(rows).to_parquet(parquet_path)
    fingerprints = set()
    for path in (csv_path, tsv_path, jsonl_path, parquet_path):
        report = prepare_dataset(data_config(path), "topic", tmp_path / f"out-{path.suffix[1:]}")
        assert report.rows_read == 60
        fingerprints.add(report.fingerprint)
    assert len(fingerprints) == 1, "same rows in any format give the same prepared data"


def test_txt_folder_per_label(tmp_path: Path) -> None:
    for label in ("economy", "sports"):
        (tmp_path / "docs" / label).mkdir(parents=True)
        for i in range(5):
            (tmp_path / "docs" / label / f"{i}.txt").write_text(f"{label} article number {i} with words")
    cfg = data_config(tmp_path / "docs", "data.columns={text: text, label: label, id: id}")
    report = prepare_dataset(cfg, "topic", tmp_path / "out")
    assert report.labels == ["economy", "sports"] and report.rows_read == 10


def test_datasets_load_dataset_source_keeps_its_splits(tmp_path: Path) -> None:
    folder = tmp_path / "hf"
    folder.mkdir()
    rows = make_rows(60)
    write_csv(folder / "train.csv", rows[:45])
    write_csv(folder / "test.csv", rows[45:])
    report = prepare_dataset(data_config(folder, "data.format=hf"), "topic", tmp_path / "o")
    assert sum(report.counts["train"].values()) == 45
    assert sum(report.counts["test"].values()) == 15


def test_cleaning_is_counted_and_reported(tmp_path: Path) -> None:
    rows = make_rows(60)
    rows.append({**rows[0], "id": "dup"})  # exact duplicate
    rows.append({**rows[1], "id": "c1", "text": "same words", "topic": "economy"})
    rows.append({**rows[1], "id": "c2", "text": "same words", "topic": "sports"})  # conflicting labels
    rows.append({**rows[2], "id": "e", "title": "", "text": "   "})  # empty text (title too)
    rows.append({**rows[3], "id": "l", "topic": ""})  # empty label
    path = write_csv(tmp_path / "dirty.csv", rows)
    report = prepare_dataset(data_config(path), "topic", tmp_path / "out")
    assert report.dropped == {
        "empty_text": 1,
        "empty_label": 1,
        "conflicting_labels": 2,
        "exact_duplicate": 1,
        "train_test_overlap": 0,
    }
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["dropped"] == report.dropped
    assert manifest["sources"][0]["sha256"] and manifest["counts"] == report.counts
    assert sum(sum(c.values()) for c in report.counts.values()) == 60


def test_split_is_stratified_seeded_and_disjoint(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", make_rows(180))
    first = prepare_dataset(data_config(path), "topic", tmp_path / "one")
    again = prepare_dataset(data_config(path), "topic", tmp_path / "two")
    other = prepare_dataset(data_config(path, "data.split.seed=1"), "topic", tmp_path / "three")
    assert first.fingerprint == again.fingerprint != other.fingerprint
    assert first.counts["test"] == {"economy": 9, "health": 9, "sports": 9}
    data = load_prepared(tmp_path / "one")
    ids = [set(data.splits[s].ids) for s in ("train", "validation", "test")]
    assert not (ids[0] & ids[1]) and not (ids[0] & ids[2]) and not (ids[1] & ids[2])


def test_user_splits_drop_train_rows_that_repeat_test(tmp_path: Path) -> None:
    rows = make_rows(60)
    train_rows, test_rows = rows[:45], rows[45:]
    train_rows.append({**test_rows[0], "id": "leak"})
    cfg = load_config(
        None,
        [
            f"data.splits={{train: {write_csv(tmp_path / 'tr.csv', train_rows)}, "
            f"test: {write_csv(tmp_path / 'te.csv', test_rows)}}}"
        ],
    ).data
    report = prepare_dataset(cfg, "topic", tmp_path / "out")
    assert report.dropped["train_test_overlap"] == 1
    assert sum(report.counts["test"].values()) == 15


def test_title_label_map_and_fixed_target(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("id,title,text,topic\n" + "".join(f"{i},Head {i},body {i},{1 + i % 2}\n" for i in range(20)))
    cfg = data_config(path, "data.label_map={'1': World, '2': Sports}", "data.target=peace talks")
    prepare_dataset(cfg, "stance", tmp_path / "out")
    data = load_prepared(tmp_path / "out")
    train = data.splits["train"]
    assert set(train.labels) == {"World", "Sports"}
    assert set(train.targets or []) == {"peace talks"}
    assert all(text.startswith("Head ") and "\n\nbody " in text for text in train.texts)


@pytest.mark.parametrize(
    ("content", "overrides", "message"),
    [
        ("id,title,text,topic\n1,t,x,a\n2,t,y,a\n", (), r"only one label \('a'\)"),
        ("id,title,body,topic\n1,t,x,a\n", (), r"column\(s\) \['text'\] not found; columns are"),
        ("id,title,text,topic\n1,, ,a\n", (), "no usable rows"),
        ("", (), "cannot parse"),
    ],
)
def test_unusable_data_is_a_one_line_error(tmp_path: Path, content: str, overrides: tuple, message: str) -> None:
    path = tmp_path / "x.csv"
    path.write_text(content)
    with pytest.raises(DataError, match=message):
        prepare_dataset(data_config(path, *overrides), "topic", tmp_path / "out")
    assert not (tmp_path / "out").exists(), "no partial output is left behind"


def test_missing_input_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="input not found"):
        prepare_dataset(data_config(tmp_path / "nope.csv"), "topic", tmp_path / "out")


def test_mostly_ascii_cp1252_file_is_not_taken_for_broken_utf8(tmp_path: Path) -> None:
    # a few Windows-1252 quotes in a long ASCII file: too few to trip the broken-UTF-8 tolerance by count,
    # but not one valid UTF-8 multi-byte character, so the file is Windows-1252
    body = "id,title,text,topic\n" + "".join(f"{i},t,plain text number {i},economy\n" for i in range(400))
    path = tmp_path / "win.csv"
    path.write_bytes((body + "400,t,\u201cquoted\u201d,economy\n").encode("cp1252"))
    frame, report = read_source(str(path), data_config(path))
    assert report.encoding == "cp1252" and frame.loc[400, "text"] == "\u201cquoted\u201d"


def test_group_split_keeps_each_group_in_one_split(tmp_path: Path) -> None:
    rows = [dict(row, doc=f"d{i % 20}") for i, row in enumerate(make_rows(200))]
    source = write_csv(tmp_path / "grouped.csv", rows)
    cfg = data_config(source, "data.split.group=doc", "data.split.validation=0.2", "data.split.test=0.2")
    prepare_dataset(cfg, "topic", tmp_path / "out")
    prepared = load_prepared(tmp_path / "out")
    doc_of = {row["id"]: row["doc"] for row in rows}
    groups = {split: {doc_of[i] for i in examples.ids} for split, examples in prepared.splits.items()}
    assert not groups["train"] & groups["validation"] and not groups["train"] & groups["test"]
    assert not groups["validation"] & groups["test"]
    assert len(groups["test"]) == 4 and len(groups["validation"]) == 4  # 20 groups of 10 rows, 20% each


def test_an_empty_test_split_loads_back(tmp_path: Path) -> None:
    source = write_csv(tmp_path / "a.csv", make_rows(60))
    prepare_dataset(data_config(source, "data.split.test=0"), "topic", tmp_path / "out")
    prepared = load_prepared(tmp_path / "out")
    assert len(prepared.splits["test"]) == 0 and len(prepared.splits["train"]) > 0
