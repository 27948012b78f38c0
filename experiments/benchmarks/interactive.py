"""Benchmark the interactive paths: `toolkit predict` cold start and `toolkit serve` under load, each beside
its baseline in the same run. Prints every figure, writes experiments/results/interactive/results.json and
renders results.md from it.

    python -m experiments.benchmarks.interactive                      # the full run (about 10 minutes)
    python -m experiments.benchmarks.interactive --rounds 3 --seconds 5 --skip-transformer   # a quick look

Cold start: each command is a fresh process, run in interleaved rounds (bare `python -c pass`, then each
`toolkit predict` variant, round after round, so slow and fast moments of a shared machine hit all alike);
the table gives medians and the median minus the bare interpreter's.
Serving: `wrk` (C, Debian package `wrk`) keeps N connections busy for S seconds, each request one article
of the sample corpus; the same load goes to `toolkit serve` and to `mlflow models serve` on the same model
(the same training run), and for the transformer model the served articles/s are set beside
`toolkit score` on the same machine. Client and server share the machine's cores.

Models: the tfidf topic model of configs/topic_tfidf.yaml and the transformer topic model of
configs/topic_transformer.yaml (MiniLM, 1 epoch here: only speed is measured), both trained by
`toolkit train` on the project's sample corpus in a scratch folder with its own local MLflow store.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from experiments.benchmarks.render import publish

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "experiments" / "results" / "interactive"
SAMPLE = ROOT / "data" / "sample" / "articles.csv"
ARTICLE = ROOT / "data" / "examples" / "arms_talks_favor.txt"
TOOLKIT = [sys.executable, "-m", "toolkit"]


def toolkit_command() -> list[str]:
    """The console script a user types (`toolkit`), else `python -m toolkit`."""
    script = shutil.which("toolkit")
    return [script] if script else TOOLKIT


def run(command: list[str], cwd: Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:6])} failed ({result.returncode}): {result.stderr[-1500:]}")
    return result


def train(work: Path, config: str, *overrides: str) -> str:
    """`toolkit train` in the scratch folder; returns the run's model ref (runs:/ID/model)."""
    sets = [f"data.source={SAMPLE}", *overrides]
    command = [*TOOLKIT, "train", "-c", str(ROOT / "configs" / config), "--json", "--quiet"]
    for item in sets:
        command += ["--set", item]
    result = json.loads(run(command, work).stdout)
    return str(result["model_uri"])


def export(work: Path, ref: str, folder: Path) -> Path:
    """The model folder behind a ref, copied out of the store (what `predict -m FOLDER` reads)."""
    code = (
        "import shutil,sys; from toolkit.predict import model_folder; "
        "shutil.copytree(model_folder(sys.argv[1]), sys.argv[2], dirs_exist_ok=True)"
    )
    run([sys.executable, "-c", code, ref, str(folder)], work)
    return folder


def cold_start(work: Path, commands: dict[str, list[str]], rounds: int) -> dict[str, dict[str, float]]:
    """Median wall seconds of each command over interleaved rounds, and the median minus the bare one's.

    Python may write its bytecode caches, as on a user's machine (this sandbox sets PYTHONDONTWRITEBYTECODE,
    which would make every run compile the toolkit's modules again); one round first, not counted, writes them."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    times: dict[str, list[float]] = {name: [] for name in commands}
    for round_ in range(rounds + 1):
        for name, command in commands.items():
            started = time.perf_counter()
            run(command, work, env=env)
            if round_:
                times[name].append(time.perf_counter() - started)
    bare = statistics.median(times["bare"])
    results = {}
    for name, values in times.items():
        median = statistics.median(values)
        results[name] = {"median_s": median, "over_bare_s": median - bare, "runs": len(values)}
        print(f"cold start {name:<28} median {median:.3f} s  over bare {median - bare:+.3f} s", flush=True)
    return results


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[str], timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {process.stderr.read()[-1500:] if process.stderr else ''}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"server at {url} did not answer in {timeout:.0f} s")


WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = {body}
"""


def load(url: str, body: dict[str, object], connections: int, seconds: int, work: Path) -> dict[str, float]:
    """wrk against `url` with one JSON body: requests/s and latency percentiles (ms)."""
    script = work / "post.lua"
    script.write_text(WRK_SCRIPT.format(body=json.dumps(json.dumps(body))), encoding="utf-8")
    threads = str(min(2, connections))
    command = ["wrk", "-t", threads, "-c", str(connections), "-d", f"{seconds}s", "--timeout", "120s", "--latency"]
    command += ["-s", str(script), url]
    output = run(command, work).stdout
    return parse_wrk(output)


def parse_wrk(output: str) -> dict[str, float]:
    def ms(value: str) -> float:
        number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()  # type: ignore[union-attr]
        return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]

    latencies = {f"p{p}_ms": ms(v) for p, v in re.findall(r"^\s+(50|90|99)(?:\.\d+)?%\s+(\S+)", output, re.M)}
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    return {
        "requests_per_s": rate,
        **latencies,
        "non_2xx": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else "",
    }


def serve_under_load(
    work: Path,
    command: list[str],
    port: int,
    path: str,
    body: dict[str, object],
    args: argparse.Namespace,
    connections: tuple[int, ...] | None = None,
) -> dict[str, object]:
    """Start a server, warm it up, then load it with each number of connections in turn (default: --connections)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'mlruns.db'}"}
    process = subprocess.Popen(command, cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/health", process)
        url = f"http://127.0.0.1:{port}{path}"
        load(url, body, 2, 2, work)  # warm-up
        loads = {f"c{n}": load(url, body, n, args.seconds, work) for n in connections or (args.connections,)}
        first = loads[f"c{(connections or (args.connections,))[0]}"]
        return first | {"by_connections": loads} if connections else first
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def sample_article() -> str:
    with SAMPLE.open(encoding="utf-8", newline="") as handle:
        return next(csv.DictReader(handle))["text"]


def serving(work: Path, refs: dict[str, str], folders: dict[str, Path], args: argparse.Namespace) -> dict[str, object]:
    """toolkit serve vs mlflow models serve on the tfidf model; toolkit serve vs toolkit score on the transformer."""
    text = sample_article()
    results: dict[str, object] = {"article_chars": len(text), "connections": args.connections, "seconds": args.seconds}
    port = free_port()
    toolkit_serve = [*toolkit_command(), "serve", "-m", str(folders["tfidf"]), "--port", str(port), "--no-access-log"]
    results["toolkit_serve_tfidf"] = serve_under_load(
        work, toolkit_serve, port, "/predict", {"text": text}, args, (args.connections, 1)
    )
    print(f"toolkit serve, tfidf: {results['toolkit_serve_tfidf']}", flush=True)
    port = free_port()
    mlflow_serve = ["mlflow", "models", "serve", "-m", refs["tfidf"], "-p", str(port), "--env-manager", "local"]
    mlflow_body = {"dataframe_records": [{"text": text}]}
    results["mlflow_serve_tfidf"] = serve_under_load(work, mlflow_serve, port, "/invocations", mlflow_body, args)
    print(f"mlflow models serve, tfidf: {results['mlflow_serve_tfidf']}", flush=True)
    if "transformer" in folders:
        port = free_port()
        command = [
            *toolkit_command(),
            "serve",
            "-m",
            str(folders["transformer"]),
            "--port",
            str(port),
            "--no-access-log",
        ]
        results["toolkit_serve_transformer"] = serve_under_load(
            folders["transformer"].parent, command, port, "/predict", {"text": text}, args
        )
        print(f"toolkit serve, transformer: {results['toolkit_serve_transformer']}", flush=True)
        results["toolkit_score_transformer"] = score_speed(work, folders["transformer"], text, args.score_rows)
        print(f"toolkit score, transformer: {results['toolkit_score_transformer']}", flush=True)
    return results


def score_speed(work: Path, folder: Path, text: str, rows: int) -> dict[str, float]:
    """`toolkit score` over `rows` copies of the served article: rows/s of the whole job (start-up included)."""
    source = work / "score_input.csv"
    with source.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text"])
        writer.writerows([f"r{i}", text] for i in range(rows))
    started = time.perf_counter()
    out = work / "scores"
    run([*toolkit_command(), "score", str(source), "-m", str(folder), "-o", str(out), "--overwrite", "--quiet"], work)
    seconds = time.perf_counter() - started
    return {"rows": rows, "seconds": seconds, "rows_per_s": rows / seconds}


def machine() -> dict[str, object]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "load_average_at_start": os.getloadavg()[0],
        "python": platform.python_version(),
    }


def models(args: argparse.Namespace) -> tuple[dict[str, str], dict[str, Path]]:
    """Train the models in a new scratch folder, or with --keep-work reuse the ones an earlier run trained there."""
    saved = args.work / "models.json"
    if args.keep_work and saved.is_file():
        refs = json.loads(saved.read_text())
        folders = {name: args.work / f"model-{name}" for name in ("tfidf", "transformer") if name in refs}
        return refs, folders
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    # the default models of the scratch folder: a tfidf topic and stance model (what `predict` without -m loads);
    # the transformer trains in a folder of its own, so it is not the newest topic model there
    refs = {"tfidf": train(args.work, "topic_tfidf.yaml"), "stance_tfidf": train(args.work, "stance_tfidf.yaml")}
    folders = {"tfidf": export(args.work, refs["tfidf"], args.work / "model-tfidf")}
    if not args.skip_transformer:
        (args.work / "transformer").mkdir()
        refs["transformer"] = train(
            args.work / "transformer",
            "topic_transformer.yaml",
            "backend.params.epochs=1",
            f"backend.params.model_name_or_path={ROOT.parent / 'shared' / 'models' / 'all-MiniLM-L6-v2'}",
        )
        folders["transformer"] = export(args.work / "transformer", refs["transformer"], args.work / "model-transformer")
    saved.write_text(json.dumps(refs))
    return refs, folders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path("/tmp/toolkit-bench-interactive"))
    parser.add_argument("--rounds", type=int, default=10, help="interleaved cold-start rounds (>= 10 for the table)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--score-rows", type=int, default=2000)
    parser.add_argument("--skip-transformer", action="store_true")
    parser.add_argument("--keep-work", action="store_true", help="reuse the models an earlier run trained in --work")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("error: wrk is needed for the serving load (apt-get install wrk)")
    started = datetime.now(UTC)
    info = machine()
    refs, folders = models(args)
    article = str(ARTICLE)
    commands = {
        "bare": [sys.executable, "-c", "pass"],
        "tfidf_with_model": [*toolkit_command(), "predict", article, "-m", str(folders["tfidf"]), "--json"],
        "newest_models": [*toolkit_command(), "predict", article, "--json"],
        "help": [*toolkit_command(), "--help"],
    }
    if "transformer" in folders:
        commands["transformer_with_model"] = [*toolkit_command(), "predict", article, "-m", str(folders["transformer"])]
    results = {
        "kind": "template",
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python -m experiments.benchmarks.interactive " + " ".join(sys.argv[1:]),
        "machine": info,
        "models": refs,
        "cold_start": cold_start(args.work, commands, args.rounds),
        "serving": serving(args.work, refs, folders, args),
    }
    publish("interactive", results, args.out)


if __name__ == "__main__":
    main()
