"""results.md of an unseen-target spec, rendered from its results.json alone (the confusion counts per fold).

Rotated sources: macro-F1 pooled over every fold's held-out rows (each target is held out exactly once), or
for `f_avg_per_target` (SemEval leave-one-target-out) the mean over the held-out targets of each one's F_avg.
Evaluation sets: macro-F1 per fold's model, mean ± std. Relevance: the share of pairs answered "none", pooled.
"""

from __future__ import annotations

import statistics
from typing import Any

from toolkit.bench.header import header_lines
from toolkit.bench.spec import ExperimentSpec, experiment_name
from toolkit.bench.unseen_data import Confusion, f_avg, macro_f1, merged

RELEVANCE = "relevance"
FEW_SHOT_SIDES = ("zero_shot", "adapted", "scratch")


def row_names(payload: dict[str, Any]) -> list[str]:
    names: list[str] = []
    for fold in payload["folds"]:
        names += [name for name in fold["rows"] if name not in names]
    return names


def source_figure(folds: list[dict[str, Any]], row: str, source: str, metric: str) -> float:
    """A rotated source's figure for one row over every fold's held-out targets."""
    targets: dict[str, Confusion] = {}
    for fold in folds:
        for target, counts in fold["rows"].get(row, {}).get(source, {}).items():
            targets[target] = merged([targets.get(target, {}), counts])
    if not targets:
        return float("nan")
    if metric == "f_avg_per_target":
        return statistics.fmean(f_avg(counts) for counts in targets.values())
    return macro_f1(merged(list(targets.values())))


def set_figures(folds: list[dict[str, Any]], row: str, name: str) -> list[float]:
    """An evaluation set's macro-F1, one value per fold's model."""
    return [macro_f1(fold["rows"][row][name]) for fold in folds if name in fold["rows"].get(row, {})]


def relevance_share(folds: list[dict[str, Any]], row: str) -> float:
    counts = [fold["rows"].get(row, {}).get(RELEVANCE) for fold in folds]
    rows = sum(c["rows"] for c in counts if c)
    return sum(c["none"] for c in counts if c) / rows if rows else float("nan")


def summary(payload: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Row -> column -> figure (evaluation sets: the mean over folds)."""
    spec = ExperimentSpec.model_validate(payload["spec"])
    assert spec.unseen is not None
    folds = payload["folds"]
    table: dict[str, dict[str, float]] = {}
    for row in row_names(payload):
        columns = {source: source_figure(folds, row, source, metric) for source, metric in spec.unseen.rotate.items()}
        for es in spec.unseen.evaluation_sets:
            values = set_figures(folds, row, es.name)
            columns[es.name] = statistics.fmean(values) if values else float("nan")
        if spec.unseen.relevance:
            columns[RELEVANCE] = relevance_share(folds, row)
        table[row] = columns
    return table


def cell(value: float, spread: list[float] | None = None, percent: bool = False) -> str:
    if value != value:
        return "n/a"
    if percent:
        return f"{100 * value:.1f}%"
    if spread and len(spread) > 1:
        return f"{value:.3f} ± {statistics.stdev(spread):.3f}"
    return f"{value:.3f}"


def figures_table(spec: ExperimentSpec, payload: dict[str, Any]) -> list[str]:
    assert spec.unseen is not None
    folds, table = payload["folds"], summary(payload)
    labels = {source: f"{source} ({metric})" for source, metric in spec.unseen.rotate.items()}
    sets = [es.name for es in spec.unseen.evaluation_sets]  # in the spec's order: results.md renders alike
    labels |= {name: f"{name} (macro-F1)" for name in sets}
    if spec.unseen.relevance:
        labels[RELEVANCE] = "relevance (share none)"
    lines = ["| row | " + " | ".join(labels.values()) + " |", "|---" * (len(labels) + 1) + "|"]
    for row, columns in table.items():
        cells = []
        for column in labels:
            spread = set_figures(folds, row, column) if column in sets else None
            cells.append(cell(columns.get(column, float("nan")), spread, percent=column == RELEVANCE))
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    return lines


def per_target_table(spec: ExperimentSpec, payload: dict[str, Any], source: str) -> list[str]:
    """F_avg of every held-out target of a leave-one-target-out source, row by row."""
    rows = row_names(payload)
    lines = [f"| {source} target held out | " + " | ".join(rows) + " |", "|---" * (len(rows) + 1) + "|"]
    targets = sorted({t for fold in payload["folds"] for t in fold["rows"][rows[0]].get(source, {})})
    for target in targets:
        values = []
        for row in rows:
            counts = [fold["rows"].get(row, {}).get(source, {}).get(target) for fold in payload["folds"]]
            found = [c for c in counts if c]
            values.append(cell(f_avg(merged(found))) if found else "n/a")
        lines.append(f"| {target} | " + " | ".join(values) + " |")
    return lines


def few_shot_table(payload: dict[str, Any]) -> list[str]:
    """Per k, the mean over the held-out targets of each side's macro-F1 (over the labels the scored rows have)
    on the target's scored rows; then every point."""
    points = [point for fold in payload["folds"] for point in fold.get("few_shot", [])]
    if not points:
        return []
    lines = [
        "| k | targets | zero-shot | adapted from the general model | from scratch on the same k rows |",
        "|---|---|---|---|---|",
    ]
    for k in sorted({p["k"] for p in points}):
        mine = [p for p in points if p["k"] == k]
        means = [statistics.fmean(macro_f1(p[side]) for p in mine) for side in FEW_SHOT_SIDES]
        lines.append(f"| {k} | {len(mine)} | " + " | ".join(cell(m) for m in means) + " |")
    lines += ["", "| source | target | k | zero-shot | adapted | from scratch |", "|---|---|---|---|---|---|"]
    for p in points:
        figures = " | ".join(cell(macro_f1(p[s])) for s in FEW_SHOT_SIDES)
        lines.append(f"| {p.get('source', '')} | {p['target']} | {p['k']} | {figures} |")
    return lines


def definitions(spec: ExperimentSpec, payload: dict[str, Any]) -> list[str]:
    """One line per column: what the figure is, over which rows."""
    assert spec.unseen is not None
    lines = []
    for source, metric in spec.unseen.rotate.items():
        if metric == "f_avg_per_target":
            what = "F_avg (mean F1 of favor and against) of each held-out target, averaged over its targets"
        else:
            what = "macro-F1 over the labels its rows have, pooled over every fold's held-out rows"
        lines.append(f"- {source}: {what}; each of its targets is held out in one fold")
    for es in spec.unseen.evaluation_sets:
        shares = [fold.get("seen_share", {}).get(es.name) for fold in payload["folds"]]
        known = [share for share in shares if share is not None]
        seen = (
            f"; {100 * statistics.fmean(known):.0f}% of its rows have a topic in the fold's training" if known else ""
        )
        kind = "its topics are held out of every fold" if es.unseen else f"its topics may be trained on{seen}"
        lines.append(f"- {es.name}: macro-F1 of each fold's model on all its rows, mean ± std over folds ({kind})")
    if spec.unseen.relevance:
        lines.append(
            "- relevance: every held-out row asked about a target no training row has (another held-out or zero-shot "
            'target), the share answered "none"; a random pair is sometimes about its target, so a lower bound'
        )
    if spec.unseen.per_source:
        lines.append(
            f"- per-source models: `{spec.unseen.per_source}` fitted on each source's own training rows of the fold "
            "(an evaluation set answered by the source it names); a source without 'none' rows never answers none"
        )
    return lines


def render_unseen(payload: dict[str, Any]) -> str:
    spec = ExperimentSpec.model_validate(payload["spec"])
    assert spec.unseen is not None
    folds = payload["folds"]
    lines = [
        *header_lines(spec, payload, f"; {payload['seconds'] / 60:.0f} min"),
        f"- evaluated on: {spec.unseen.folds} folds x seeds {spec.seeds}; each fold holds out its share of the "
        f"targets of {', '.join(spec.unseen.rotate)} (their rows are its test split, no held-out target occurs in "
        "its training or validation rows, nor does a held-out text as another row's target); every row of the "
        "table was fitted on the same fold's train split",
        f"- evaluation sets: {', '.join(es.name for es in spec.unseen.evaluation_sets) or 'none'}, scored by every "
        "fold's model (mean ± std over folds)",
        f"- MLflow: experiment `{experiment_name(spec)}`, parent run {payload.get('parent_run_id', '')}; "
        "folds: " + ", ".join(f"{f['fold']} ({f['train_rows']} train rows, run {f['run_id'][:8]})" for f in folds),
        "",
        "## Unseen targets",
        "",
        *figures_table(spec, payload),
        "",
        *definitions(spec, payload),
    ]
    for source, metric in spec.unseen.rotate.items():
        if metric == "f_avg_per_target":
            lines += ["", f"## {source}: each target held out once", "", *per_target_table(spec, payload, source)]
    shots = few_shot_table(payload)
    if shots:
        lines += ["", "## Few-shot adaptation (macro-F1 on held-out targets, mean over targets)", "", *shots]
    return "\n".join(lines) + "\n"
