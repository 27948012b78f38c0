"""Find MLflow runs left RUNNING by a process that no longer exists, and mark them KILLED.

MLflow cannot end a run whose process was SIGKILLed (or lost its machine): the run stays RUNNING
forever. Every toolkit run records who runs it (host, pid and the process's creation time, read by psutil on
any OS, so a reused pid is not mistaken for the original). `toolkit doctor` lists RUNNING runs and, with `--fix`, ends
the stale ones; `toolkit train` ends this host's stale runs before it starts a new one.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass, field
from typing import Any

from toolkit.errors import TrackingError
from toolkit.tracking.store import check_store, client, first_line, mlflow_module, tracking_uri

TAG_HOST = "toolkit.host"
TAG_PID = "toolkit.pid"
TAG_PROCESS_START = "toolkit.process_start"  # clock ticks since boot, written by toolkit <= 0.1: no longer compared
TAG_PROCESS_CREATED = "toolkit.process_created"  # psutil's create_time, seconds since the epoch
TAG_ENDED_BY = "toolkit.ended_by"
GONE, UNKNOWN = "gone", ""


def process_created(pid: int | None = None) -> str:
    """When the process was created (psutil: seconds since the epoch, to 1/100 s), GONE when it no longer runs
    (a zombie has finished too), UNKNOWN when the OS will not say (another user's process on macOS)."""
    import psutil

    try:
        process = psutil.Process(pid or os.getpid())
        if process.status() == psutil.STATUS_ZOMBIE:
            return GONE
        return f"{process.create_time():.2f}"
    except psutil.NoSuchProcess:
        return GONE
    except psutil.Error:
        return UNKNOWN


def owner_tags() -> dict[str, str]:
    """Tags naming the process that runs a training: recorded at its start."""
    return {TAG_HOST: socket.gethostname(), TAG_PID: str(os.getpid()), TAG_PROCESS_CREATED: process_created()}


def owner_alive(tags: dict[str, str]) -> bool | None:
    """True/False for a run started on this host; None when it was started elsewhere or by another tool.
    A run recorded before creation times were (only `toolkit.process_start`) counts as alive while its pid runs."""
    if tags.get(TAG_HOST) != socket.gethostname() or not tags.get(TAG_PID, "").isdigit():
        return None
    now = process_created(int(tags[TAG_PID]))
    if now == GONE:
        return False
    recorded = tags.get(TAG_PROCESS_CREATED, "")
    return not recorded or now == UNKNOWN or recorded == now


@dataclass
class DoctorReport:
    """RUNNING runs by what is known of their process."""

    store: str
    alive: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)


def running_runs() -> list[Any]:
    """Every run in RUNNING status, across experiments."""
    return list(
        mlflow_module().search_runs(
            search_all_experiments=True,
            filter_string="attributes.status = 'RUNNING'",
            output_format="list",
            max_results=10_000,
        )
    )


def mark_killed(run_ids: list[str], reason: str) -> None:
    """End runs as KILLED, with a tag saying why."""
    store = client()
    try:
        for run_id in run_ids:
            store.set_tag(run_id, TAG_ENDED_BY, reason)
            store.set_terminated(run_id, status="KILLED", end_time=int(time.time() * 1000))
    except Exception as exc:  # e.g. a read-only store
        raise TrackingError(f"cannot write to MLflow tracking store {tracking_uri()}: {first_line(exc)}") from exc


def doctor(fix: bool = False) -> DoctorReport:
    """Check the store, classify its RUNNING runs, and with `fix` mark the stale ones KILLED."""
    check_store()
    report = DoctorReport(store=tracking_uri())
    for run in running_runs():
        alive = owner_alive(run.data.tags)
        bucket = report.unknown if alive is None else report.alive if alive else report.stale
        bucket.append(run.info.run_id)
    if fix and report.stale:
        mark_killed(report.stale, "toolkit doctor: its process no longer exists")
        report.fixed = list(report.stale)
    return report


def end_stale_runs() -> list[str]:
    """Mark this host's RUNNING runs whose process is gone as KILLED (called before a training starts)."""
    stale = [run.info.run_id for run in running_runs() if owner_alive(run.data.tags) is False]
    if stale:
        mark_killed(stale, "toolkit: its process no longer existed when the next run started")
    return stale
