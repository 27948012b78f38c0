"""How the commands show their results on the terminal: tables and ✔ lines (JSON output stays in the commands).

Kept apart from the commands so that each command reads as: parse the options, call one function, print.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

from rich.table import Table

from toolkit.cli._app import err, out


def short_value(value: str | None) -> str:
    """A param value for a narrow column: 0.443037524 -> 0.443."""
    try:
        return "–" if value is None else f"{float(value):.4g}"
    except ValueError:
        return value


def print_prepare(report: Any) -> None:
    """Cleaning notes, rows kept and dropped, and the label counts of each split."""
    for note in report.notes:
        err.print(f"[yellow]⚠[/yellow] {note}")
    dropped = ", ".join(f"{reason}: {count}" for reason, count in report.dropped.items())
    out.print(f"✔ read {report.rows_read} rows; dropped {sum(report.dropped.values())} ({dropped})")
    table = Table("split", *report.labels, "total")
    for split, counts in report.counts.items():
        table.add_row(split, *(str(counts.get(label, 0)) for label in report.labels), str(sum(counts.values())))
    out.print(table)
    if len(getattr(report, "sources_summary", {})) > 1:
        for name, source in report.sources_summary.items():
            out.print(f"  {source_line(name, source)}")
    out.print(f"✔ prepared dataset: {report.output} (fingerprint {report.fingerprint[:12]})")


def source_line(name: str, source: dict[str, Any]) -> str:
    """One source of a merged dataset: rows read, dropped, kept per split, labels, targets, rows added."""
    dropped = sum(source["dropped"].values())
    reasons = f" ({', '.join(f'{k}: {v}' for k, v in source['dropped'].items())})" if dropped else ""
    splits = ", ".join(f"{count} {split}" for split, count in source["rows"].items())
    labels = ", ".join(f"{label} {count}" for label, count in source["labels"].items())
    added = source.get("added", {}).get("relevance_negatives")
    extra = f"; {added} relevance negatives added" if added else ""
    return (
        f"{name}: read {source['rows_read']}, dropped {dropped}{reasons}; kept {splits}; {labels}; "
        f"{source['targets']} targets{extra}"
    )


def print_metrics(metrics: dict[str, dict[str, float]]) -> None:
    """The headline metrics, one row per split."""
    from toolkit.metrics import headline

    table = Table("split", *headline(next(iter(metrics.values()), {})))
    for split, values in metrics.items():
        table.add_row(split, *(f"{v:.4f}" for v in headline(values).values()))
    out.print(table)


def print_training(result: Any) -> None:
    """A finished training run: its metrics, where it is, and how to look at it."""
    print_metrics(result.metrics)
    out.print(f"✔ run {result.run_id} in experiment '{result.experiment}' (trained in {result.train_seconds:.1f} s)")
    out.print(f"✔ model: {result.model_uri}")
    out.print(f"  look at it: {result.ui}")


def print_predictions(rows: list[dict[str, Any]]) -> None:
    """On a terminal, one table section per file: each model's label, probability, the runners-up (--top-k),
    target and note ("uncertain" first with --min-probability). Piped or redirected: tab-separated lines with
    a header, never wrapped (`toolkit.predict_output.plain_table`)."""
    from rich.text import Text

    from toolkit.predict_output import plain_table

    if not out.is_terminal:
        out.file.write(plain_table(rows))  # written as is: rich would turn the tabs into spaces
        return
    ranked = any(len(record.get("top_k", [])) > 1 for row in rows for record in row["predictions"])
    table = Table("file", "task", "prediction", "p", *(["runners-up"] if ranked else []), "toward target", "note")
    table.columns[0].ratio, table.columns[0].overflow = 1, "fold"  # the file gets the width the rest leaves
    for row in rows:
        for i, record in enumerate(row["predictions"]):
            others = ", ".join(f"{e['label']} {e['probability']:.2f}" for e in record.get("top_k", [])[1:])
            note = "; ".join(filter(None, ["uncertain" if record.get("uncertain") else "", record.get("warning")]))
            table.add_row(
                Text(row["file"] if i == 0 else ""),
                record["task"],
                Text(record["label"]),
                f"{record['probability']:.2f}",
                *([Text(others)] if ranked else []),
                Text(record.get("target") or ""),
                Text(note, style="yellow" if record.get("uncertain") else ""),
                end_section=i == len(row["predictions"]) - 1,
            )
    out.print(table)


def print_written(count: int, output: Any, json_: bool) -> None:
    """Where `predict --output` wrote its rows (as JSON with --json)."""
    if json_:
        out.out(json.dumps({"output": str(output), "rows": count}), highlight=False)
    else:
        out.print(f"✔ {count} row{'s' if count != 1 else ''} written to {output}", markup=False, highlight=False)


def print_doctor(report: Any) -> None:
    """The store's health and every run left RUNNING, with what was (or can be) done about it."""
    out.print(f"✔ tracking store {report.store} is reachable")
    for run_id in report.stale:
        out.print(
            f"✔ marked KILLED: run {run_id}" if run_id in report.fixed else f"✘ stale (process gone): run {run_id}"
        )
    for run_id in report.alive + report.unknown:
        out.print(f"• running ({'process alive' if run_id in report.alive else 'started elsewhere'}): run {run_id}")
    if report.stale and not report.fixed:
        out.print("  `toolkit doctor --fix` marks them KILLED")


def print_tune(result: Any) -> None:
    """A study's best trial, its parent run, and the next step (registering the model)."""
    best = ", ".join(f"{key}={short_value(json.dumps(value))}" for key, value in result.best_params.items())
    out.print(
        f"✔ study '{result.study_name}': {len(result.trials)} trials; best: trial {result.best_trial} "
        f"with {result.metric}={result.best_value:.4f} ({best})"
    )
    out.print(f"✔ parent run {result.parent_run_id} in '{result.experiment}'; model: {result.model_uri}")
    out.print(f"  register it: toolkit models register {result.parent_run_id} --name NAME")


def print_compare(result: Any) -> None:
    """The best runs of an experiment: headline metrics and the params that differ between them."""
    headers = [c.replace("validation_", "val ").replace("_", " ") for c in result.metric_columns]
    table = Table(
        "run",
        "kind",
        *headers,
        *(p.rsplit(".", 1)[-1] for p in result.param_columns),
        title=f"{result.experiment}: best by {result.metric}",
    )
    for row in result.rows:
        metrics = ("–" if v is None else f"{v:.4f}" for v in row["metrics"].values())
        table.add_row(
            f"{row['run_name']} {row['run_id'][:8]}",
            row["kind"],
            *metrics,
            *(short_value(v) for v in row["params"].values()),
        )
    out.print(table)


def print_versions(versions: list[Any]) -> None:
    """Registered model versions with their aliases, source runs and scores (or how to register one)."""
    table = Table("name", "version", "aliases", "task", "run", "validation_macro_f1", "test_macro_f1")
    for info in versions:
        scores = (
            f"{info.metrics[k]:.4f}" if k in info.metrics else "–" for k in ("validation_macro_f1", "test_macro_f1")
        )
        table.add_row(
            info.name,
            str(info.version),
            ", ".join(info.aliases),
            info.task or "",
            f"{info.run_name or ''}\n{(info.run_id or '')[:8]}",
            *scores,
        )
    out.print(table if versions else "no registered models yet: toolkit models register RUN_ID --name NAME")


def score_progress(quiet: bool) -> contextlib.AbstractContextManager[Any]:
    """A rich progress bar on stderr (rows, rows/s, ETA from the share of input read), or nothing."""
    return contextlib.nullcontext(None) if quiet else _score_bar()


@contextlib.contextmanager
def _score_bar() -> Iterator[Any]:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    bar = Progress(
        TextColumn("scoring"),
        BarColumn(),
        TextColumn("{task.fields[rows]:,} rows"),
        TextColumn("{task.fields[rate]:,.0f} rows/s"),
        TextColumn("{task.fields[errors]:,} errors"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    )
    with bar:
        task = bar.add_task("score", total=1.0, rows=0, rate=0.0, errors=0)
        started = bar.get_time()

        def update(state: Any) -> None:
            rate = state.rows / max(bar.get_time() - started, 1e-9)
            bar.update(task, completed=state.fraction, rows=state.rows, rate=rate, errors=state.errors)

        yield update


def score_line(summary: Any) -> str:
    """The job's counts and speed; a rerun of a finished job scored nothing, so it says the job was already
    complete instead of a speed of 0 rows/s."""
    counts = f"{summary.rows_in:,} rows in: {summary.scored:,} scored + {summary.errors:,} errors"
    if summary.chunks and summary.chunks_resumed == summary.chunks:
        return f"✔ already complete, nothing to score: {counts} (all {summary.chunks} chunks from an earlier run)"
    resumed = f", {summary.chunks_resumed} resumed" if summary.chunks_resumed else ""
    return (
        f"✔ {counts} in {summary.seconds:.1f} s ({summary.rows_per_second:,.0f} rows/s, {summary.chunks} chunks"
        f"{resumed}, {summary.workers} worker(s), engine {summary.engine})"
    )


def print_score(summary: Any) -> None:
    """Rows in = scored + errors, the speed, the output folder, and where the bad rows went."""
    out.print(score_line(summary))
    out.print(f"✔ output: {summary.output}")
    if summary.model_sha256:  # what the --model ref resolved to (its rows' `model` column)
        run = f"run {summary.model_run_id[:12]}, " if summary.model_run_id else ""
        out.print(f"✔ model: {summary.model_uri} ({run}sha256 {summary.model_sha256[:12]})", markup=False)
    if summary.errors:
        err.print(f"[yellow]⚠[/yellow] {summary.errors:,} rows not scored: see {summary.errors_file}")
