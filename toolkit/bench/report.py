"""results.md of a benchmark spec, rendered from its results.json alone.

`toolkit experiment run` writes results.json (every per-seed value, the command, date and machine) and
renders results.md from it with `render_results`; `python -m experiments.benchmarks.render NAME` renders
the committed file again from the same JSON, so no figure in a results.md is typed by hand.
"""

from __future__ import annotations

import os
import platform
import statistics
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from toolkit.bench.header import header_lines
from toolkit.bench.spec import ExperimentSpec, experiment_name

TOOLKIT_ROW = "toolkit"
MASKED_ROW = "toolkit, target masked"
TIMING_KEYS = ("train_seconds", "docs_per_second")


def mean_std(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def machine() -> str:
    """The machine the numbers come from, in one line."""
    cpus = os.cpu_count() or 0
    try:
        model = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        model = platform.processor() or "unknown CPU"
    return f"{platform.system()} {platform.machine()}, {model}, {cpus} cores, Python {platform.python_version()}"


def render_results(payload: dict[str, Any]) -> str:
    """results.md: command, date, machine, how the settings were chosen, the data every row ran on, then the
    table of mean ± std over seeds and the ratios. An unseen-target spec's folds: toolkit.bench.unseen_report."""
    if payload["spec"].get("unseen"):
        from toolkit.bench.unseen_report import render_unseen

        return render_unseen(payload)
    spec = ExperimentSpec.model_validate(payload["spec"])
    rows: dict[str, dict[str, list[float]]] = payload["rows"]
    cv: dict[str, dict[str, list[float]]] = (payload.get("cv") or {}).get("rows", {})
    lines = [
        *header_lines(spec, payload),
        f"- evaluated on: the {spec.evaluate_on} split carved from the shared train file(s); "
        f"seeds {spec.seeds} (each seed draws its own split and seeds the model)",
        f"- compared on: every row below ({compared_rows(spec)}) was fitted on the same seed's train split and "
        f"scored on the same seed's {spec.evaluate_on} rows",
        *cv_lines(payload.get("cv")),
        f"- MLflow: experiment `{experiment_name(spec)}`, parent run `{payload['parent_run_id']}`",
        f"- wall time of the whole experiment: {payload['seconds']:.0f} s",
        "",
        ("Mean ± std over seeds" if len(spec.seeds) > 1 else f"Seed {spec.seeds[0]} only")
        + (
            f" (cv columns: over the {payload['cv']['folds']} folds{' of every seed' * (len(spec.seeds) > 1)})"
            if cv
            else ""
        )
        + ". Train time is the fit on the train split; docs/s is prediction throughput "
        f"on the {spec.evaluate_on} split.",
        "",
    ]
    columns = [*spec.metrics, *(f"cv {key}" for key in spec.metrics if cv), *TIMING_KEYS]
    lines += ["| model | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for row, metrics in rows.items():
        cells = [
            fmt_cell(cv.get(row, {}).get(key[3:]) if key.startswith("cv ") else metrics.get(key), key)
            for key in columns
        ]
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    lines += ["", *ratio_lines(rows), *gap_lines(rows, cv, spec.metrics), *per_class_lines(rows)]
    every_fold = "every fold" + " of every seed" * (len(spec.seeds) > 1)
    lines += per_class_lines(cv, f"cross-validated, mean ± std over {every_fold}")
    lines += per_target_lines(payload.get("per_target", {}))
    lines += fit_lines(payload.get("fit", {}))
    return "\n".join(lines).rstrip() + "\n"


def compared_rows(spec: ExperimentSpec) -> str:
    """The rows of a table, in words: what 'same data' covers."""
    rows = ["the toolkit model"] + (["its variants"] if spec.variants else [])
    rows += ["the toolkit model re-scored with every target masked"] if spec.mask_target else []
    rows += [f"the baseline{'s' if len(spec.baselines) > 1 else ''}"] if spec.baselines else []
    return ", ".join(rows[:-1]) + f" and {rows[-1]}" if len(rows) > 1 else rows[0]


def fmt_cell(values: list[float] | None, key: str) -> str:
    if not values:
        return "–"
    mean, std = mean_std(values)
    spread = len(values) > 1  # one seed: a figure, not a misleading '± 0'
    if key == "docs_per_second":
        return f"{mean:,.0f} ± {std:,.0f}" if spread else f"{mean:,.0f}"
    if key == "train_seconds":
        return f"{mean:.1f} ± {std:.1f}" if spread else f"{mean:.1f}"
    return f"{mean:.3f} ± {std:.3f}" if spread else f"{mean:.3f}"


def ratio_lines(rows: dict[str, dict[str, list[float]]]) -> list[str]:
    """Toolkit / baseline for each metric, train time and throughput (ratios of the means)."""
    ours = rows.get(TOOLKIT_ROW, {})
    lines = []
    for row, metrics in rows.items():
        if row in (TOOLKIT_ROW, MASKED_ROW):
            continue
        parts = [
            f"{key} ×{mean_std(ours[key])[0] / mean_std(values)[0]:.3g}"
            for key, values in metrics.items()
            if key in ours and mean_std(values)[0]
        ]
        lines.append(f"- toolkit vs {row}: " + ", ".join(parts))
    if MASKED_ROW in rows:
        changes = [
            f"{key} {mean_std(values)[0] - mean_std(ours[key])[0]:+.3f}" for key, values in rows[MASKED_ROW].items()
        ]
        lines.append(
            "- target masking (every target replaced by one placeholder at prediction), change vs "
            "toolkit: " + ", ".join(changes)
        )
    return lines


def cv_lines(cv: dict[str, Any] | None) -> list[str]:
    """How the cv columns were measured (nothing when the spec had no `cv`)."""
    if not cv or not cv.get("folds"):
        return []
    grouped = " or a ".join(str(key) for key in cv.get("group_by", ["text"]))
    pooled = "train and validation splits" if cv.get("on") == "train+validation" else "train split"
    if cv.get("unlinked_label"):
        return [
            f"- cross-validated (cv columns): {cv['folds']} folds of each seed's {pooled}; '{cv['unlinked_label']}' "
            "rows do not link their text and target, so each fold holds whole claims (a target with the texts "
            "linked to it) and every row is scored in the fold of its target; each fold's model is fitted on the "
            "rows whose text and target both lie in other folds (it never saw a held-out target, nor a held-out "
            f"claim's text), stratified by label, seeded by the seed{fitted_share(cv)}; the test split never used"
        ]
    return [
        f"- cross-validated (cv columns): {cv['folds']} folds of each seed's {pooled}, rows sharing a {grouped} "
        "in one fold, stratified by label (stance: by target and label), seeded by the seed; each fold scored by a "
        "model fitted on the other folds; the test split never used"
    ]


def fitted_share(cv: dict[str, Any]) -> str:
    """How many of the pooled rows each fold's model was fitted on, on average (when results.json says)."""
    held = [n for sizes in cv.get("held_rows", {}).values() for n in sizes]
    trained = [n for sizes in cv.get("train_rows", {}).values() for n in sizes]
    if not held or not trained:
        return ""
    pool = sum(held) / len(cv["held_rows"])
    return f"; each fold's model fitted on {sum(trained) / len(trained) / pool:.0%} of the pooled rows on average"


def gap_lines(
    rows: dict[str, dict[str, list[float]]], cv: dict[str, dict[str, list[float]]], names: list[str]
) -> list[str]:
    """Cross-validated vs held-out mean of the spec's metrics (`names`; per class: its own table) for each row
    that has both: how far one dev split is from k folds."""
    lines = []
    for row, metrics in cv.items():
        parts = [
            f"{key} {mean_std(metrics[key])[0]:.3f} vs {mean_std(rows[row][key])[0]:.3f} "
            f"({mean_std(metrics[key])[0] - mean_std(rows[row][key])[0]:+.3f})"
            for key in names
            if metrics.get(key) and rows.get(row, {}).get(key)
        ]
        if parts:
            lines.append(f"- cross-validated vs held-out, {row}: " + ", ".join(parts))
    return lines


def over_seeds(per_seed: Iterable[list[float]]) -> str:
    """What a table's figures are: a mean ± std when some cell has several seeds, else one seed's figure."""
    return "mean ± std over seeds" if max(map(len, per_seed), default=0) > 1 else "one seed"


def per_target_lines(per_target: dict[str, list[float]]) -> list[str]:
    if not per_target:
        return []
    over = over_seeds(per_target.values())
    lines = ["", f"Toolkit F_avg per target ({over}):", "", "| target | f_avg |", "|---|---|"]
    lines += [f"| {target} | {fmt_cell(values, 'f_avg')} |" for target, values in sorted(per_target.items())]
    return lines


def per_class_lines(rows: dict[str, dict[str, list[float]]], over: str | None = None) -> list[str]:
    """F1 of every class for every row (held out: mean ± std over seeds; cv: `over` the folds), when the run
    recorded them (cv results written before per-class cv figures were kept have none)."""
    labels = sorted({key[3:] for metrics in rows.values() for key in metrics if key.startswith("f1.")})
    if not labels:
        return []
    over = over or over_seeds(values for metrics in rows.values() for values in metrics.values())
    lines = ["", f"F1 per class ({over}):", ""]
    lines += ["| model | " + " | ".join(labels) + " |", "|---" * (len(labels) + 1) + "|"]
    for row, metrics in rows.items():
        lines.append(f"| {row} | " + " | ".join(fmt_cell(metrics.get(f"f1.{label}"), "f1") for label in labels) + " |")
    return lines


def fit_lines(fit: dict[str, dict[str, list[float]]]) -> list[str]:
    """What each row's fit learned (`fit_summary`: an ensemble's member weights and temperatures, members in
    the order of the config's `members`), so a table says how its ensemble combined without opening MLflow."""
    if not fit:
        return []
    over = over_seeds(values for learned in fit.values() for values in learned.values())
    lines = ["", f"Learned by the fit ({over}; logged as `fit_<name>` on each seed's run):", ""]
    for row, learned in fit.items():
        lines.append(f"- {row}: " + ", ".join(f"{key} {fmt_cell(values, key)}" for key, values in learned.items()))
    return lines
