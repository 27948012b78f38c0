"""MLflow faults: the toolkit sets each run's final status itself and finds runs a killed process left.

In-process where possible (a crash, Ctrl-C); real processes where a signal is the point (SIGTERM, SIGKILL)
and for two trainings racing on one store.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import toolkit
from tests.helpers import make_rows, tiny_config, write_csv
from tests.reliability.reliability_helpers import assert_one_line_error

REPO = Path(toolkit.__file__).resolve().parent.parent
# A training whose fit announces itself with a file, then waits: the test then signals the process.
SLOW_TRAIN = """
import os, pathlib, sys, time
from toolkit.backends.tfidf import model as tfidf
if sys.argv[1] == "slow":
    def fit(self, *args, **kwargs):
        pathlib.Path(f"fitting-{os.getpid()}").write_text("")
        time.sleep(120)
    tfidf.TfidfBackend.fit = fit
from toolkit.cli import main
sys.argv = ["toolkit", "train", "-q", "--json", *sys.argv[2:]]
main()
"""


def sets(source: Path, **extra: object) -> list[str]:
    return [arg for override in tiny_config("topic", source, **extra) for arg in ("--set", override)]


def start_training(folder: Path, mode: str, *args: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    return subprocess.Popen(
        [sys.executable, "-c", SLOW_TRAIN, mode, *args],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(predicate, seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def runs_by_status(folder: Path) -> dict[str, str]:
    from toolkit.tracking.store import mlflow_module as use_store

    runs = use_store().search_runs(search_all_experiments=True, output_format="list")
    return {run.info.run_id: run.info.status for run in runs}


@pytest.fixture
def source(fast_store: Path) -> Path:
    return write_csv(fast_store / "articles.csv", make_rows(60))


@pytest.mark.parametrize(
    ("raised", "status", "code"), [(RuntimeError("boom"), "FAILED", 1), (KeyboardInterrupt(), "KILLED", 130)]
)
def test_crash_ends_failed_and_ctrl_c_ends_killed(raised, status, code, cli, fast_store, source, monkeypatch) -> None:
    from toolkit.backends.tfidf import model as tfidf

    def fit(self, *args, **kwargs):
        raise raised

    monkeypatch.setattr(tfidf.TfidfBackend, "fit", fit)
    result = cli("train", "-q", *sets(source))
    assert result.code == code, result.stderr
    assert "Traceback" not in result.stderr
    if code == 1:
        assert_one_line_error(result, 1, "RuntimeError: boom")
    assert list(runs_by_status(fast_store).values()) == [status]


@pytest.mark.slow
def test_sigterm_ends_killed_and_sigkill_is_found_by_doctor(cli, fast_store: Path, source: Path) -> None:
    terminated = start_training(fast_store, "slow", *sets(source))
    killed = start_training(fast_store, "slow", *sets(source))
    wait_for(lambda: len(list(fast_store.glob("fitting-*"))) == 2)
    terminated.send_signal(signal.SIGTERM)
    killed.send_signal(signal.SIGKILL)
    _, stderr = terminated.communicate(timeout=60)
    killed.wait(timeout=60)
    assert terminated.returncode == 130 and "Traceback" not in stderr, stderr
    statuses = runs_by_status(fast_store)
    assert sorted(statuses.values()) == ["KILLED", "RUNNING"]
    stale = next(run_id for run_id, status in statuses.items() if status == "RUNNING")

    listed = cli("doctor", "--json")
    assert listed.code == 0, listed.stderr
    assert json.loads(listed.stdout)["stale"] == [stale]
    assert runs_by_status(fast_store)[stale] == "RUNNING"  # without --fix, nothing changes
    fixed = cli("doctor", "--fix", "--json")
    assert json.loads(fixed.stdout)["fixed"] == [stale]
    assert runs_by_status(fast_store)[stale] == "KILLED"


def test_next_training_marks_a_dead_process_run_killed(fast_store: Path) -> None:
    from toolkit.tracking.status import TAG_HOST, TAG_PID, TAG_PROCESS_START, end_stale_runs
    from toolkit.tracking.store import mlflow_module as use_store

    mlflow = use_store()
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = gone.stdout.strip()
    import socket

    run = mlflow.MlflowClient().create_run(
        "0", tags={TAG_HOST: socket.gethostname(), TAG_PID: dead_pid, TAG_PROCESS_START: "1"}
    )
    other_host = mlflow.MlflowClient().create_run("0", tags={TAG_HOST: "elsewhere", TAG_PID: dead_pid})
    mine = mlflow.MlflowClient().create_run("0", tags={TAG_HOST: socket.gethostname(), TAG_PID: str(os.getpid())})
    assert end_stale_runs() == [run.info.run_id]
    statuses = runs_by_status(fast_store)
    assert statuses[run.info.run_id] == "KILLED"
    assert statuses[other_host.info.run_id] == statuses[mine.info.run_id] == "RUNNING"


@pytest.mark.slow
def test_two_trainings_at_once_on_one_new_store_both_finish(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlruns.db'}")
    source = write_csv(tmp_path / "articles.csv", make_rows(60))
    extra = {"tracking.misclassified_rows": 0, "tracking.log_model": "false"}
    processes = [start_training(tmp_path, "normal", *sets(source, **extra)) for _ in range(2)]
    outputs = [process.communicate(timeout=300) for process in processes]
    for process, (_, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr
    run_ids = {json.loads(stdout)["run_id"] for stdout, _ in outputs}
    statuses = runs_by_status(tmp_path)
    assert len(run_ids) == 2 and all(statuses[run_id] == "FINISHED" for run_id in run_ids)
    from toolkit.tracking.store import mlflow_module as use_store

    experiments = {use_store().get_run(run_id).info.experiment_id for run_id in run_ids}
    assert len(experiments) == 1 and experiments != {"0"}, "a run landed outside its experiment"


@pytest.mark.parametrize("uri", ["http://127.0.0.1:9", "sqlite:////nonexistent-folder/deeper/mlruns.db"])
def test_unreachable_store_fails_before_any_work(uri: str, cli, fast_store: Path, source: Path, monkeypatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    started = time.perf_counter()
    result = cli("train", "-q", *sets(source))
    assert_one_line_error(result, 1, f"MLflow tracking store {uri} is not reachable")
    assert time.perf_counter() - started < 30
    assert not (fast_store / "data").exists(), "work started before the store was checked"
