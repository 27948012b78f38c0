"""Real servers on loopback: `mlflow models serve` answers /invocations with the model's labels, and the
MLflow UI (driven in headless Chromium) shows a run's metrics and its confusion matrix. Both use the session's
tiny trained models (conftest `trained`); the two servers start together so their start-ups overlap.

Screenshots go to tests/artifacts/ (or $TOOLKIT_TEST_ARTIFACTS)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import ROOT

pytestmark = pytest.mark.slow  # real servers and a browser: `make test`, not the inner loop
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
START_TIMEOUT_S = 60
ARTIFACTS = Path(os.environ.get("TOOLKIT_TEST_ARTIFACTS", ROOT / "tests" / "artifacts"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def browser_missing() -> str | None:
    """Why the UI test cannot run here (None when it can)."""
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        return f"no {CHROMIUM} and {CHROMEDRIVER} (`make install-dev` installs chromium, chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    return None


class Server:
    """A server subprocess in its own process group, so stopping it also stops the workers it forks."""

    def __init__(self, args: list[str], ready_url: str, env: dict[str, str], cwd: Path, log: Path) -> None:
        self.ready_url, self.log = ready_url, log
        with log.open("w") as handle:
            self.proc = subprocess.Popen(
                args, env=env, cwd=cwd, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
            )

    def wait_ready(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"server exited with {self.proc.returncode}:\n{self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.ready_url, timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.5)
        pytest.fail(f"server not ready after {START_TIMEOUT_S} s:\n{self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def servers(trained) -> Iterator[dict[str, object]]:
    """`mlflow models serve` for the topic run's model and, if a browser exists, `mlflow server` (the UI)."""
    root, run_id = trained["root"], trained["topic"].run_id
    env = os.environ | {"MLFLOW_TRACKING_URI": trained["uri"], "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    mlflow_cli = [sys.executable, "-m", "mlflow"]
    serve_port, ui_port = free_port(), free_port()
    started = {
        "serve": Server(
            [
                *mlflow_cli,
                "models",
                "serve",
                "-m",
                f"runs:/{run_id}/model",
                "--env-manager",
                "local",
                "-h",
                "127.0.0.1",
                "-p",
                str(serve_port),
            ],
            f"http://127.0.0.1:{serve_port}/ping",
            env,
            root,
            root / "serve.log",
        )
    }
    if browser_missing() is None:
        started["ui"] = Server(
            [
                *mlflow_cli,
                "server",
                "--backend-store-uri",
                trained["uri"],
                "--host",
                "127.0.0.1",
                "--port",
                str(ui_port),
                "--workers",
                "1",
            ],
            f"http://127.0.0.1:{ui_port}/health",
            env,
            root,
            root / "ui.log",
        )
    try:
        yield {"serve": f"http://127.0.0.1:{serve_port}", "ui": f"http://127.0.0.1:{ui_port}", "procs": started}
    finally:
        for server in started.values():
            server.stop()


def test_logged_model_serves_predictions_over_http(servers, trained) -> None:
    servers["procs"]["serve"].wait_ready(time.monotonic() + START_TIMEOUT_S)
    texts = [
        "coach team goal match season win",
        "hospital vaccine doctors patients clinic",
        "market inflation bank rates trade",
    ]
    body = json.dumps({"dataframe_split": {"columns": ["text"], "data": [[t] for t in texts]}}).encode()
    request = urllib.request.Request(
        f"{servers['serve']}/invocations", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        predictions = json.load(response)["predictions"]
    assert [p["label"] for p in predictions] == ["sports", "health", "economy"]
    assert all(abs(p["prob_economy"] + p["prob_health"] + p["prob_sports"] - 1) < 1e-6 for p in predictions)


def wait_for(driver, condition, what: str, seconds: float = 45.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition(driver)
        if found:
            return found
        time.sleep(0.3)
    shot = ARTIFACTS / "mlflow_ui_timeout.png"
    driver.save_screenshot(str(shot))
    pytest.fail(f"the MLflow UI did not show {what} within {seconds:.0f} s (see {shot})")


@pytest.fixture
def browser() -> Iterator[object]:
    reason = browser_missing()
    if reason:
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="toolkit-chromium-")
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,1000",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def test_mlflow_ui_shows_the_run_metrics_and_confusion_matrix(browser, servers, trained) -> None:
    from selenium.webdriver.common.by import By

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    servers["procs"]["ui"].wait_ready(time.monotonic() + START_TIMEOUT_S)
    result = trained["topic"]
    import mlflow

    experiment_id = mlflow.MlflowClient(trained["uri"]).get_run(result.run_id).info.experiment_id
    run_page = f"{servers['ui']}/#/experiments/{experiment_id}/runs/{result.run_id}"
    browser.get(run_page)
    body = lambda d: d.find_element(By.TAG_NAME, "body").text  # noqa: E731
    metrics = ("validation_macro_f1", "test_accuracy")
    wait_for(browser, lambda d: all(m in body(d) for m in metrics), "the metrics")
    text = body(browser)
    assert "tfidf chars=none" in text, "the run name: backend and what the config set"
    assert "tiny-train" in text, "the dataset in the Datasets panel"
    metric = browser.find_element(By.XPATH, "//*[text()='test_macro_f1']")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", metric)
    overview = ARTIFACTS / "mlflow_ui_run_metrics.png"
    browser.save_screenshot(str(overview))

    browser.get(f"{run_page}/artifacts/evaluation/test_confusion_matrix.png")

    def image_shown(driver) -> bool:
        images = driver.find_elements(By.TAG_NAME, "img")
        return any(
            (img.get_attribute("src") or "").startswith(("blob:", "data:image")) and img.size["height"] > 200
            for img in images
        )

    wait_for(browser, image_shown, "the confusion-matrix image")
    assert "evaluation/test_confusion_matrix.png" in body(browser)
    artifact = ARTIFACTS / "mlflow_ui_confusion_matrix.png"
    browser.save_screenshot(str(artifact))
    print(f"screenshots: {overview} {artifact}")


def noisy_rows(share: float = 0.2) -> list[dict[str, str]]:
    """The tiny corpus with a share of its topic labels rotated: a model then has mistakes to show."""
    from tests.helpers import make_rows

    rows, topics = make_rows(), ["economy", "health", "sports"]
    for i, row in enumerate(rows):
        if i % int(1 / share) == 0:
            row["topic"] = topics[(topics.index(row["topic"]) + 1) % 3]
    return rows


@pytest.fixture(scope="module")
def review_runs(trained) -> dict[str, str]:
    """Beside the session's topic run, in its experiment: the same config again, and C=4 on noisier data (so its
    misclassified table has rows); both log no model, so the session's newest topic model stays the same. The
    session's topic run is registered as `ui-topic` version 1."""
    from tests.helpers import tiny_config, write_csv
    from toolkit.config import load_config
    from toolkit.tracking.registry import register
    from toolkit.train import train

    root = trained["root"]
    noisy = write_csv(root / "noisy.csv", noisy_rows())
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.setenv("MLFLOW_TRACKING_URI", trained["uri"])
        patch.setenv("TOOLKIT_CACHE", str(root / "cache"))
        quiet = {"tracking.log_model": "false", "tracking.figures": "true"}  # the pages shown are of these runs
        again = train(load_config(None, tiny_config("topic", trained["source"], **quiet)))
        c4 = train(
            load_config(
                None,
                tiny_config(
                    "topic", noisy, **quiet, **{"backend.params.C": 4, "data.output": str(root / "noisy-tiny")}
                ),
            )
        )
        version = register(trained["topic"].run_id, "ui-topic")
    return {"again": again.run_id, "c4": c4.run_id, "version": str(version.version)}


def show(browser, url: str, what: str, condition, shot: str) -> Path:
    """Open `url` (from a blank page: the UI keeps the artifact it showed when only the #-route changes), wait until
    `condition(driver)` holds, save a screenshot under ARTIFACTS."""
    browser.get("about:blank")
    browser.get(url)
    wait_for(browser, condition, what)
    time.sleep(0.5)  # let images and charts finish drawing
    path = ARTIFACTS / shot
    browser.save_screenshot(str(path))
    return path


def test_mlflow_ui_review_pages(browser, servers, trained, review_runs) -> None:
    """Distinct run names in the runs table, a model version with its metrics, the new plots, the misses table."""
    import mlflow
    from selenium.webdriver.common.by import By

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    servers["procs"]["ui"].wait_ready(time.monotonic() + START_TIMEOUT_S)
    client = mlflow.MlflowClient(trained["uri"])
    experiment = client.get_run(trained["topic"].run_id).info.experiment_id
    ui = servers["ui"]
    body = lambda d: d.find_element(By.TAG_NAME, "body").text  # noqa: E731
    names = ("tfidf chars=none", "tfidf chars=none (2)", "tfidf C=4 chars=none")
    shots = [
        show(
            browser,
            f"{ui}/#/experiments/{experiment}/runs",
            "the run names",
            lambda d: all(n in body(d) for n in names),
            "mlflow_ui_runs_table.png",
        )
    ]

    version_page = f"{ui}/#/models/ui-topic/versions/{review_runs['version']}"
    shots.append(
        show(
            browser,
            version_page,
            "the version's metrics",
            lambda d: "test_macro_f1" in body(d) and "classifier, backend" in body(d),
            "mlflow_ui_model_version.png",
        )
    )

    def image_shown(driver) -> bool:
        return any(
            (img.get_attribute("src") or "").startswith(("blob:", "data:image")) and img.size["height"] > 120
            for img in driver.find_elements(By.TAG_NAME, "img")
        )

    c4_page = f"{ui}/#/experiments/{experiment}/runs/{review_runs['c4']}"
    for figure in ("confusion_matrix", "precision_recall", "reliability"):
        url = f"{c4_page}/artifacts/evaluation/test_{figure}.png"
        shown = lambda d, name=f"test_{figure}.png": image_shown(d) and name in body(d)  # noqa: E731
        shots.append(show(browser, url, f"the {figure} image", shown, f"mlflow_ui_{figure}.png"))
    stance = trained["stance"].run_id
    stance_experiment = client.get_run(stance).info.experiment_id
    url = f"{ui}/#/experiments/{stance_experiment}/runs/{stance}/artifacts/evaluation/test_per_target_f1.png"
    shots.append(show(browser, url, "the per-target chart", image_shown, "mlflow_ui_per_target_f1.png"))
    url = f"{c4_page}/artifacts/evaluation/test_misclassified.json"
    shots.append(
        show(browser, url, "the misclassified table", lambda d: "p_gold" in body(d), "mlflow_ui_misclassified.png")
    )
    print("screenshots:", *shots)
