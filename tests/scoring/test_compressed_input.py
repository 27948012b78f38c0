"""`toolkit score` reads compressed inputs (.gz, .bz2, .xz, a one-file .zip) as the file inside, streaming."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from tests.helpers import make_rows, write_csv
from toolkit.errors import DataError
from toolkit.scoring.api import InputSpec, ScoreOptions, score


def test_compressed_inputs_score_like_the_plain_file(tmp_path: Path) -> None:
    from toolkit.backends.tfidf.model import TfidfBackend, TfidfParams
    from toolkit.data.types import Examples
    from toolkit.models.folder import save_model

    train = make_rows(60)
    model = tmp_path / "model"
    fitted = TfidfBackend(TfidfParams(char_ngrams=None), "topic").fit(
        Examples([r["text"] for r in train], [r["topic"] for r in train])
    )
    save_model(fitted, model)
    rows = make_rows(25, seed=5)
    plain = write_csv(tmp_path / "in.csv", rows)
    jsonl = "".join(json.dumps(row) + "\n" for row in rows).encode()
    parquet = io.BytesIO()
    pd.DataFrame(rows).to_parquet(parquet)
    inputs = {
        "in.csv.gz": gzip.compress(plain.read_bytes()),
        "in.tsv.bz2": bz2.compress(plain.read_bytes().replace(b",", b"\t")),
        "in.jsonl.xz": lzma.compress(jsonl),
        "in.parquet.gz": gzip.compress(parquet.getvalue()),
    }
    folder = tmp_path / "inputs"
    folder.mkdir()
    for name, content in inputs.items():
        (folder / name).write_bytes(content)
    with zipfile.ZipFile(folder / "in.zip", "w") as archive:
        archive.writestr("export/in.csv", plain.read_bytes())

    def scores(path: Path, out: str) -> pd.DataFrame:
        summary = score(InputSpec(path=path), ScoreOptions(model=str(model), output=tmp_path / out, workers=1))
        assert (summary.rows_in, summary.scored, summary.errors) == (25, 25, 0), out
        return pd.read_parquet(tmp_path / out).sort_values("id").reset_index(drop=True)

    expected = scores(plain, "plain")
    assert expected["id"].tolist() == sorted(r["id"] for r in rows)
    for name in [*inputs, "in.zip"]:
        got = scores(folder / name, name)
        pd.testing.assert_frame_equal(got.drop(columns="model"), expected.drop(columns="model"), obj=name)
    whole = score(InputSpec(path=folder), ScoreOptions(model=str(model), output=tmp_path / "all", workers=1))
    assert whole.rows_in == whole.scored == 25 * 5, "a folder of compressed files: each found by its inner format"
    (folder / "in.zip").unlink()
    with zipfile.ZipFile(folder / "two.zip", "w") as archive:
        archive.writestr("a.csv", plain.read_bytes())
        archive.writestr("b.csv", plain.read_bytes())
    with pytest.raises(DataError, match="two.zip: a .zip must hold exactly one data file; it holds 2"):
        score(InputSpec(path=folder / "two.zip"), ScoreOptions(model=str(model), output=tmp_path / "two", workers=1))
