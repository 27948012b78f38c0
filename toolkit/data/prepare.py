"""Turn raw labeled files into a cleaned, split `datasets` dataset on disk plus a manifest.

Cleaning is reported, never silent: each dropped row is counted under a reason, in the returned
report and in `manifest.json`, overall and per source. Splitting (the user's splits, or a seeded stratified
or grouped one) is in `toolkit.data.splits`; merging several sources (data.sources), their caps and the
relevance negatives are in `toolkit.data.sources`.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolkit import __version__
from toolkit.data.provenance import check_same_sources, source_paths
from toolkit.data.readers import SourceReport, read_source
from toolkit.data.sources import add_relevance_negatives, apply_caps, source_configs, summarize_sources
from toolkit.data.splits import SPLITS, assign_splits, row_keys
from toolkit.data.types import Examples
from toolkit.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

    from toolkit.data.config import DataConfig

STANDARD_COLUMNS = ["id", "text", "target", "label", "split"]
SOURCE_COLUMN = "source"  # the name of the source a row came from (data.sources' name, or data.name)


@dataclass
class PrepareReport:
    """What prepare read, dropped and wrote: the data behind the CLI's summary and manifest.json."""

    output: str
    sources: list[dict[str, Any]]
    rows_read: int
    dropped: dict[str, int]
    counts: dict[str, dict[str, int]]
    labels: list[str]
    targets: list[str]
    fingerprint: str
    notes: list[str] = field(default_factory=list)
    reused: bool = False
    sources_summary: dict[str, dict[str, Any]] = field(default_factory=dict)
    added: dict[str, int] = field(default_factory=dict)


@dataclass
class PreparedData:
    """A prepared dataset loaded back: one Examples per split and the manifest."""

    path: Path
    splits: dict[str, Examples]
    manifest: dict[str, Any]


def standardize(frame: pd.DataFrame, cfg: DataConfig, source: str, split_column: str | None = None) -> pd.DataFrame:
    """Map the user's columns to id/text/target/label/split; the title is joined in front of the text."""
    import pandas as pd

    columns = cfg.columns
    wanted = {
        "text": columns.text,
        "label": columns.label,
        "title": columns.title,
        "target": columns.target,
        "id": columns.id,
        "split": columns.split,
    }
    missing = [name for name in wanted.values() if name is not None and name not in frame.columns]
    if missing:
        raise DataError(
            f"{source}: column(s) {missing} not found; columns are {list(frame.columns)} "
            "(map them with --text-col/--label-col or data.columns in the config)"
        )
    out = pd.DataFrame(index=frame.index)
    out["text"] = frame[columns.text].astype(str)
    if columns.title is not None:
        title = frame[columns.title].astype(str).str.strip()
        joined = (title + "\n\n" + out["text"]).where(out["text"].str.strip() != "", title)
        out["text"] = joined.where(title != "", out["text"])
    out["label"] = frame[columns.label].astype(str).str.strip().map(lambda v: cfg.label_map.get(v, v))
    out["target"] = frame[columns.target].astype(str).str.strip() if columns.target else (cfg.target or "")
    out["id"] = frame[columns.id].astype(str) if columns.id else [f"{Path(source).name}:{i}" for i in frame.index]
    split_column = columns.split or split_column
    out["split"] = frame[split_column].astype(str).str.strip().str.lower() if split_column else ""
    if cfg.split.group is not None:
        if cfg.split.group not in frame.columns:
            raise DataError(
                f"{source}: split.group column '{cfg.split.group}' not found; columns are {list(frame.columns)}"
            )
        out["group"] = frame[cfg.split.group].astype(str)
        return out[[*STANDARD_COLUMNS, "group"]]
    return out[STANDARD_COLUMNS]


def read_all(cfg: DataConfig) -> tuple[pd.DataFrame, list[SourceReport]]:
    """Read every file of every source (or the user's split files), join a second file if asked,
    standardize columns; each row's `source` column names the source it came from."""
    import pandas as pd

    frames, reports = [], []
    for name, source_cfg in source_configs(cfg):
        for source, split in source_files(source_cfg):
            frame, report = read_source(source, source_cfg)
            if source_cfg.join is not None:
                frame = join_second_file(frame, source_cfg, report)
            hub_splits = report.format == "hf" and source_cfg.columns.split is None
            reading = columns_for(source_cfg, report)
            frame = standardize(frame, reading, source, split_column="split" if hub_splits else None)
            if split:
                frame["split"] = split
            frame[SOURCE_COLUMN] = name
            frames.append(frame)
            reports.append(report)
    return pd.concat(frames, ignore_index=True), reports


def columns_for(cfg: DataConfig, report: SourceReport) -> DataConfig:
    """A LABEL/*.txt folder's rows are always id, text and label (its reader names them): the column settings
    (by default the sample's title/topic/id) are for table files and do not apply; set ones are noted."""
    from toolkit.data.config import ColumnsConfig

    if report.format != "txt_folder":
        return cfg
    if "columns" in cfg.model_fields_set and cfg.columns.model_fields_set:
        report.notes.append("column settings do not apply to a txt folder (LABEL/*.txt gives text and label)")
    return cfg.model_copy(update={"columns": ColumnsConfig(text="text", label="label", id="id")})


def source_files(cfg: DataConfig) -> list[tuple[str, str]]:
    """(file, split) to read: the source files (split "" = to be split), or the user's split files."""
    return [(source, "") for source in cfg.source] if not cfg.splits else [(p, s) for s, p in cfg.splits.items()]


def join_second_file(frame: pd.DataFrame, cfg: DataConfig, report: SourceReport) -> pd.DataFrame:
    """Left-join the join source on its key; rows whose key is not found there are an error, not dropped."""
    join = cfg.join
    assert join is not None
    right, right_report = read_source(
        join.source,
        cfg.model_copy(update={"skip_rows": 0, "header": True, "column_names": None}),
        fmt=join.format,
        encoding=join.encoding,
    )
    if join.key not in frame.columns or join.key not in right.columns:
        raise DataError(f"join key '{join.key}' must be a column of both {report.path} and {join.source}")
    right = right.rename(columns=join.columns).drop_duplicates(subset=join.key)
    merged = frame.merge(right, on=join.key, how="left", indicator=True)
    unmatched = int((merged["_merge"] != "both").sum())
    if unmatched:
        raise DataError(f"{report.path}: {unmatched} row(s) have a '{join.key}' not found in {join.source}")
    report.notes.append(f"joined {join.source} (sha256 {right_report.sha256[:12]}) on '{join.key}'")
    report.notes.extend(f"{join.source}: {note}" for note in right_report.notes)
    return merged.drop(columns="_merge")


def clean(rows: pd.DataFrame, by_source: dict[str, Counter[str]] | None = None) -> tuple[pd.DataFrame, dict[str, int]]:
    """Drop empty texts/labels, label-conflicting duplicates and exact duplicates; count each reason (also
    per source into `by_source`, for rows with a source column)."""
    dropped: dict[str, int] = {}

    def drop(mask: Any, reason: str) -> None:
        nonlocal rows
        dropped[reason] = int(mask.sum())
        if by_source is not None:
            for name, count in Counter(rows.loc[mask, SOURCE_COLUMN]).items():
                by_source[name][reason] += count
        rows = rows[~mask]

    drop(rows["text"].str.strip() == "", "empty_text")
    drop(rows["label"] == "", "empty_label")
    key = rows["split"] + "\x1f" + row_keys(rows)
    labels_per_key = rows.assign(key=key).groupby("key")["label"].transform("nunique")
    drop((labels_per_key > 1).to_numpy(), "conflicting_labels")
    key = rows["split"] + "\x1f" + row_keys(rows)
    drop(key.duplicated(keep="first").to_numpy(), "exact_duplicate")
    return rows, dropped


def fingerprint(rows: pd.DataFrame, with_source: bool = False) -> str:
    """sha256 of the prepared rows in order: same data, same fingerprint, whatever the file paths. The
    source of each row counts only for data merged from data.sources (a single source's stays as it was)."""
    digest = hashlib.sha256()
    for row in rows[[*STANDARD_COLUMNS, SOURCE_COLUMN] if with_source else STANDARD_COLUMNS].itertuples(index=False):
        digest.update("\x1e".join(row).encode("utf-8"))
        digest.update(b"\x1d")
    return digest.hexdigest()


def summarize(rows: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Counts per split and label."""
    return {split: dict(sorted(Counter(rows.loc[rows["split"] == split, "label"]).items())) for split in SPLITS}


def validate_labels(rows: pd.DataFrame, stance: bool) -> None:
    """A usable dataset has rows, two or more labels, and (for stance) a target on every row."""
    if rows.empty:
        raise DataError("no usable rows left after cleaning (see the dropped counts)")
    labels = sorted(set(rows["label"]))
    if len(labels) < 2:
        raise DataError(f"only one label ({labels[0]!r}) in the data; a classifier needs at least two")
    if stance and (rows["target"] == "").any():
        raise DataError(f"{int((rows['target'] == '').sum())} row(s) have no stance target")
    if rows.loc[rows["split"] == "train"].empty:
        raise DataError("the train split is empty")


def safe_name(name: str, fallback: str = "data") -> str:
    """A name from config or data made safe as one path component: no separators, no leading dots."""
    import re

    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).lstrip(".")
    return cleaned[:100] or fallback


def default_prepared_path(name: str, task: str) -> Path:
    """data/processed/<name>-<task>, with the dataset name sanitised (it must not climb out of processed/)."""
    return Path("data/processed") / f"{safe_name(name)}-{safe_name(task)}"


def prepare_dataset(cfg: DataConfig, task: str, output: str | Path | None = None) -> PrepareReport:
    """Read, clean, split and save `cfg`'s data as a `datasets` dataset plus manifest.json in `output`."""
    output = Path(output or cfg.output or default_prepared_path(cfg.name, task))
    if cfg.split.test_targets and task != "stance":
        raise DataError(f"split.test_targets holds out stance targets; task '{task}' rows have no target")
    check_replaceable(output, cfg)
    raw, reports = read_all(cfg)
    by_source: dict[str, Counter[str]] = defaultdict(Counter)
    rows, dropped = clean(raw, by_source)
    rows, capped = apply_caps(rows, cfg, by_source)
    dropped.update(capped)
    before = Counter(rows[SOURCE_COLUMN])
    rows, split_dropped = assign_splits(rows, cfg)
    for name, count in (before - Counter(rows[SOURCE_COLUMN])).items():
        by_source[name]["train_test_overlap"] += count
    dropped.update(split_dropped)
    validate_labels(rows, task == "stance")
    rows, negatives = add_relevance_negatives(rows, cfg)
    report = PrepareReport(
        output=str(output),
        sources=[r.as_dict() for r in reports],
        rows_read=len(raw),
        dropped=dropped,
        counts=summarize(rows),
        labels=sorted(set(rows["label"])),
        targets=sorted(set(rows["target"]) - {""}),
        fingerprint=fingerprint(rows, with_source=bool(cfg.sources)),
        notes=[f"{Path(r.path).name}: {n}" for r in reports for n in r.notes],
        sources_summary=summarize_sources(cfg.source_names, raw, rows, by_source, negatives),
        added={"relevance_negatives": sum(negatives.values())} if cfg.relevance_negatives else {},
    )
    manifest = {
        "kind": "toolkit-prepared-dataset",
        "name": cfg.name,
        "task": task,
        "toolkit_version": __version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "config_key": config_key(cfg, task),
        "config": cfg.model_dump(mode="json"),
        "source_paths": source_paths(cfg),  # what check_same_sources compares
        **report.__dict__,
    }
    manifest.pop("output")
    write_atomically(rows, manifest, output)
    return report


def check_replaceable(output: Path, cfg: DataConfig | None = None) -> None:
    """Prepare replaces its output folder: refuse one that holds anything but an earlier prepared dataset, or
    (given `cfg`) one prepared from other sources: new data must not silently take an older dataset's place."""
    if output.exists() and not output.is_dir():
        raise DataError(f"output {output} is a file; choose a folder")
    if output.is_dir() and any(output.iterdir()) and not is_prepared(output):
        raise DataError(f"output folder {output} is not empty and not a prepared dataset; refusing to replace it")
    if cfg is not None and is_prepared(output):
        check_same_sources(output, cfg)


def config_key(cfg: DataConfig, task: str) -> str:
    """What decides a prepared dataset's content besides the files themselves (recomputed on load)."""
    from toolkit.data.prepared import key_of

    return key_of(task, cfg.model_dump(mode="json", exclude={"output"}))


def write_atomically(rows: pd.DataFrame, manifest: dict[str, Any], output: Path) -> None:
    """Write dataset + manifest into a temporary sibling folder, then swap it into place."""
    import datasets

    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.", dir=output.parent))
    try:
        columns = [c for c in (*STANDARD_COLUMNS, SOURCE_COLUMN) if c != "split"]
        splits = {name: rows.loc[rows["split"] == name, columns].reset_index(drop=True) for name in SPLITS}
        features = datasets.Features({c: datasets.Value("string") for c in columns})
        dataset = datasets.DatasetDict(
            {
                name: datasets.Dataset.from_pandas(frame, features=features, preserve_index=False)
                for name, frame in splits.items()
            }
        )
        silent = datasets.are_progress_bars_disabled()
        datasets.disable_progress_bars()  # a library call should not draw progress bars on the user's terminal
        try:
            dataset.save_to_disk(str(staging / "dataset"))
        finally:
            if not silent:
                datasets.enable_progress_bars()
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
        if output.exists():
            shutil.rmtree(output)
        staging.rename(output)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def is_prepared(path: str | Path) -> bool:
    """True when `path` is a folder written by prepare_dataset."""
    return (Path(path) / "manifest.json").is_file() and (Path(path) / "dataset").is_dir()


def load_prepared(path: str | Path) -> PreparedData:
    """Load a prepared dataset folder back into Examples per split, checked against its validated manifest
    (toolkit.data.prepared): an edited, truncated or corrupt folder is one DataError."""
    from toolkit.data.prepared import check_split, read_prepared_manifest, read_split

    path = Path(path)
    if not is_prepared(path):
        raise DataError(f"{path} is not a prepared dataset (run `toolkit prepare` first)")
    manifest = read_prepared_manifest(path)
    splits = {}
    for name in SPLITS:
        folder = path / "dataset" / name
        # `datasets` writes no arrow file for an empty split and then cannot load the DatasetDict back.
        if not any(folder.glob("*.arrow")):
            sources = [] if "sources_summary" in manifest else None
            splits[name] = Examples([], [], [] if manifest["task"] == "stance" else None, [], sources)
        else:
            split = read_split(path, name)
            targets = split["target"] if manifest["task"] == "stance" else None
            splits[name] = Examples(split["text"], split["label"], targets, split["id"], split.get("source"))
        check_split(path, manifest, name, splits[name])
    return PreparedData(path=path, splits=splits, manifest=manifest)


def prepared_is_current(path: Path, cfg: DataConfig, task: str) -> bool:
    """A prepared folder can be reused when its config and every source file's hash are unchanged."""
    from toolkit._hashing import sha256_file
    from toolkit._jsonfile import UnreadableJson, read_json

    if not is_prepared(path):
        return False
    try:
        manifest = read_json(path / "manifest.json")
    except UnreadableJson:  # a broken folder is prepared again (replaced), not reused
        return False
    if not isinstance(manifest, dict) or manifest.get("config_key") != config_key(cfg, task):
        return False
    for source in manifest.get("sources", []):
        file = Path(source["path"])
        if not source.get("sha256") or not file.is_file() or sha256_file(file) != source["sha256"]:
            return False
    return True


def examples_from_file(source: str, cfg: DataConfig, task: str) -> tuple[Examples, dict[str, int]]:
    """Read a raw labeled file for evaluation: every usable row, with the dropped counts."""
    frame, report = read_source(source, cfg)
    rows, dropped = clean(standardize(frame, columns_for(cfg, report), source))
    if rows.empty:
        raise DataError(f"{source}: no usable rows (dropped: {dropped})")
    if task == "stance" and (rows["target"] == "").any():
        raise DataError(f"{source}: stance evaluation needs a target column (--target-col) or --target")
    targets = list(rows["target"]) if task == "stance" else None
    return Examples(list(rows["text"]), list(rows["label"]), targets, list(rows["id"])), dropped
