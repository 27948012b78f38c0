"""The opening lines every results.md shares: what was run, when, where, with which config and how its settings
were chosen (toolkit.bench.report for seed specs, toolkit.bench.unseen_report for unseen-target specs)."""

from __future__ import annotations

from typing import Any

from toolkit.bench.spec import ExperimentSpec


def header_lines(spec: ExperimentSpec, payload: dict[str, Any], date_note: str = "") -> list[str]:
    """Title, description, command, date (+ `date_note`), machine, conditions, config and how settings were chosen."""
    return [
        f"# Benchmark: {spec.name}",
        "",
        spec.description,
        "",
        f"- command: `toolkit experiment run {payload['spec_path']}`",
        f"- date: {payload['date']}{date_note}",
        f"- machine: {payload['machine']}",
        f"- conditions: {spec.note or 'as measured'}",
        f"- config: `{spec.config}`" + (f" with {spec.overrides}" if spec.overrides else ""),
        f"- settings chosen: {spec.settings or 'not stated in the spec'}",
    ]
