"""The data section of a run config (`data:`): where labeled data comes from, how to read it, how to split
it, and, for a dataset merged from several sources (`data.sources`), each source's own reading keys and caps.

Kept beside the code that reads it; `toolkit.config` re-exports these models as part of the run config.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from toolkit.schema import StrictModel

SourceFormat = Literal["auto", "csv", "tsv", "jsonl", "parquet", "txt_folder", "hf"]


class ColumnsConfig(StrictModel):
    """Which source columns hold what. `title` is joined in front of the text."""

    text: str = "text"
    label: str = "label"
    title: str | None = None
    target: str | None = None
    id: str | None = None
    split: str | None = Field(None, description="column holding the user's own train/validation/test split")


class JoinConfig(StrictModel):
    """Join a second file into the rows by a key (FNC-1 style: stances reference bodies by id)."""

    source: str
    key: str = Field(description="key column, present in both files")
    columns: dict[str, str] = Field(
        default_factory=dict, description="right-file column -> name it takes in the joined rows"
    )
    format: SourceFormat = "auto"
    encoding: str | None = None


class SplitConfig(StrictModel):
    """Stratified, seeded split sizes (fractions of the cleaned rows), ways of grouping, and stance targets held
    out whole for test (toolkit.data.splits says how they combine)."""

    validation: float = Field(0.15, ge=0.0, lt=1.0)
    test: float = Field(0.15, ge=0.0, lt=1.0)
    seed: int = 0
    group: str | None = Field(
        None,
        description="source column whose rows stay together in one split (e.g. an article id shared by "
        "several pairs), so no evaluation text was seen in training; the split is then by group, not stratified",
    )
    by_target: bool = Field(
        False,
        description="keep every stance target (case-folded, whitespace collapsed) in one split, so validation "
        "and test targets are unseen in training (zero-shot evaluation); the split is then by target",
    )
    test_targets: list[str] = Field(
        default_factory=list,
        description="stance targets held out whole (e.g. benchmark motions, leave-one-target-out): every row, of "
        "any source, whose target equals one of these (case-folded, whitespace collapsed) goes to test, even in a "
        "source with its own splits, so no evaluation target occurs in training or validation; the other rows are "
        "split as usual (validation and test are then shares of those rows). An entry matching no row is an error",
    )

    @field_validator("test_targets")
    @classmethod
    def _no_blank_target(cls, targets: list[str]) -> list[str]:
        if any(not target.strip() for target in targets):
            raise ValueError("split.test_targets has an empty entry; name each held-out target")
        return targets

    @model_validator(mode="after")
    def _leave_training_rows(self) -> SplitConfig:
        if self.validation + self.test >= 0.9:
            raise ValueError("validation + test must leave at least 10% of the rows for training")
        if self.by_target and self.group is not None:
            raise ValueError("split.by_target and split.group cannot both be set; choose one way of grouping")
        return self


class ReadingConfig(StrictModel):
    """How to read one source's files: the fields a data config and each of its data.sources share."""

    format: SourceFormat = "auto"
    delimiter: str | None = None
    encoding: str | None = Field(None, description="None: detect; otherwise read with this codec")
    skip_rows: int = Field(0, ge=0, description="junk lines before the header (or data)")
    header: bool = True
    column_names: list[str] | None = Field(None, description="names for a file without a header row")
    join: JoinConfig | None = None
    label_map: dict[str, str] = Field(default_factory=dict, description="rename labels, e.g. {'1': 'World'}")
    target: str | None = Field(None, description="one fixed stance target for data without a target column")
    splits: dict[Literal["train", "validation", "test"], str] | None = Field(
        None, description="the user's own split files instead of a random split"
    )

    @field_validator("source", mode="before", check_fields=False)
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class SourceConfig(ReadingConfig):
    """One of several sources merged into one dataset (data.sources): its files, how to read them, its
    label map into the shared labels, and caps so that a large source does not drown the others."""

    name: str = Field(
        pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$",
        description="unique; recorded in each row's `source` column, the manifest and the MLflow run",
    )
    source: list[str] = Field(default_factory=list, description="its file(s); or give `splits`")
    columns: ColumnsConfig = Field(default_factory=ColumnsConfig)
    max_rows: int | None = Field(
        None, ge=1, description="keep at most this many of its cleaned rows (a sample seeded by data.split.seed)"
    )
    max_rows_per_label: dict[str, Annotated[int, Field(ge=0)]] | None = Field(
        None, description="keep at most this many rows of a (mapped) label, e.g. {none: 4000}; seeded sample"
    )

    @model_validator(mode="after")
    def _has_files(self) -> SourceConfig:
        if not self.source and not self.splits:
            raise ValueError(f"source '{self.name}' needs `source` (its files) or `splits`")
        return self


READING_KEYS = (*ReadingConfig.model_fields, "source", "columns")
"""The keys that say how to read files: on data itself, or on each of data.sources, never both."""


class DataConfig(ReadingConfig):
    """Where the labeled data comes from and how to read it: one source (these keys), or several
    (data.sources, each read with its own keys)."""

    name: str = "sample"
    prepared: str | None = Field(None, description="an already prepared dataset folder; sources are not read")
    source: list[str] = Field(default_factory=lambda: ["data/sample/articles.csv"])
    columns: ColumnsConfig = Field(
        default_factory=lambda: ColumnsConfig(text="text", title="title", label="topic", id="id"),
        description="default: the built-in sample's columns",
    )
    sources: list[SourceConfig] | None = Field(
        None, description="several sources merged into one dataset, each with its own reading keys and caps"
    )
    split: SplitConfig = Field(default_factory=SplitConfig)
    relevance_negatives: float = Field(
        0.0,
        ge=0.0,
        le=1.0,
        description="stance: for this share of the train rows add a copy paired with another train target, "
        "labeled none_label (teaches 'not about this target'); validation and test are untouched",
    )
    none_label: str = Field("none", description="the label of a text that takes no stance toward the target")
    output: str | None = Field(None, description="prepared dataset folder; default data/processed/<name>-<task>")

    @model_validator(mode="after")
    def _named_after_its_source(self) -> DataConfig:
        """A config that names its own source but no dataset is named after that source (news.csv -> news), so
        that each new source gets its own prepared folder and MLflow experiment instead of replacing "sample";
        one that points at a prepared folder takes that folder's name."""
        if "name" in self.model_fields_set or self.sources:
            return self
        if self.prepared is not None:
            self.name = prepared_name(self.prepared) or self.name
        elif "source" in self.model_fields_set and self.source:
            self.name = dataset_name(self.source)
        return self

    @model_validator(mode="after")
    def _one_way_of_reading(self) -> DataConfig:
        if self.sources is None:
            return self
        beside = [key for key in READING_KEYS if key in self.model_fields_set]
        if beside:
            raise ValueError(f"data.{beside[0]} cannot be set beside data.sources: give it inside each source instead")
        if not self.sources:
            raise ValueError("data.sources is empty; name at least one source (or leave it out)")
        names = [source.name for source in self.sources]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"data.sources: duplicate source name '{duplicates[0]}'; each name must be unique")
        return self

    @property
    def source_names(self) -> list[str]:
        """The sources' names: data.sources' names, or data.name for a config that reads one source."""
        return [source.name for source in self.sources] if self.sources else [self.name]


DATA_SUFFIXES = {".csv", ".tsv", ".tab", ".txt", ".jsonl", ".ndjson", ".json", ".parquet", ".pq"}
COMPRESSED_SUFFIXES = {".gz", ".bz2", ".xz", ".zip"}


def dataset_name(sources: list[str]) -> str:
    """The default dataset name for raw sources: the first one's name without its data and compression suffixes,
    made safe as a path component (news.csv.gz -> news; corpus/ -> corpus); several: news-and-2-more."""
    import re
    from pathlib import Path

    path = Path(sources[0])
    name = path.name or path.absolute().name
    while Path(name).suffix.lower() in DATA_SUFFIXES | COMPRESSED_SUFFIXES and Path(name).stem:
        name = Path(name).stem
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._-")[:80] or "data"
    return f"{slug}-and-{len(sources) - 1}-more" if len(sources) > 1 else slug


def prepared_name(folder: str) -> str | None:
    """The dataset name recorded in a prepared folder's manifest; None when there is none to read (loading the
    folder reports what is wrong with it)."""
    import json
    from pathlib import Path

    try:
        name = json.loads((Path(folder) / "manifest.json").read_text(encoding="utf-8")).get("name")
    except (OSError, ValueError, AttributeError):
        return None
    return name if isinstance(name, str) and name.strip() else None
