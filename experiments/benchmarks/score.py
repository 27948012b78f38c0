"""Benchmark `toolkit score`: throughput and peak memory versus a naive one-process baseline, a kill
and resume test, and the Spark engine against the local one. Prints every figure (and WORK/results.json).

    python -m experiments.benchmarks.score --rows 1000000 --workers 2            # the full run
    python -m experiments.benchmarks.score --rows 20000 --kill-rows 20000 --spark-rows 5000   # a quick look

Rows are generated from the project's own sample corpus (data/sample/articles.csv, written for this
project): each row is 2-4 sentences drawn at random from its articles. The model is the tfidf topic model
of configs/topic_tfidf.yaml fitted on that sample. Each measured command runs as its own process; its
wall time includes start-up and model loading, and its peak memory is the largest sum of the resident
memory of the process and all its children, sampled every 0.1 s from /proc.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from experiments.benchmarks.raw_output import log_raw_output

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample" / "articles.csv"
NAIVE = """
import sys, time
import pandas as pd
from toolkit.models.folder import load_model
started = time.perf_counter()
frame = pd.read_csv(sys.argv[1], dtype=str, keep_default_na=False, nrows=int(sys.argv[3]))
labels = load_model(sys.argv[2]).predict(frame["text"].tolist())
print(len(labels), time.perf_counter() - started)
"""


def sentences() -> list[str]:
    with SAMPLE.open(encoding="utf-8", newline="") as handle:
        texts = [row["text"] for row in csv.DictReader(handle)]
    return [s.strip() for text in texts for s in re.split(r"(?<=[.!?])\s+", text) if len(s.strip()) > 20]


def generate(path: Path, rows: int, pool: list[str], seed: int = 0) -> Path:
    """`rows` synthetic articles of 2-4 sample sentences each, written as CSV (id, text)."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text"])
        for i in range(rows):
            writer.writerow([f"g{i:07d}", " ".join(rng.choices(pool, k=rng.randint(2, 4)))])
    return path


def train_model(folder: Path) -> Path:
    """The topic tfidf model of configs/topic_tfidf.yaml, fitted on the whole sample (no MLflow)."""
    from toolkit.backends.tfidf.model import TfidfBackend, TfidfParams
    from toolkit.config import load_config
    from toolkit.data.types import Examples
    from toolkit.models.folder import save_model

    if (folder / "manifest.json").exists():
        return folder
    config = load_config(ROOT / "configs" / "topic_tfidf.yaml")
    with SAMPLE.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    params = TfidfParams.model_validate(config.backend.params)
    model = TfidfBackend(params, "topic").fit(Examples([r["text"] for r in rows], [r["topic"] for r in rows]))
    save_model(model, folder)
    return folder


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants."""
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            with open(f"/proc/{current}/status") as handle:
                total += next(int(line.split()[1]) * 1024 for line in handle if line.startswith("VmRSS:"))
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    stack.extend(int(child) for child in handle.read().split())
        except (OSError, StopIteration):
            continue
    return total


def measure(command: list[str], kill_when: Callable[[], bool] | None = None) -> dict[str, object]:
    """Run a command; wall time, peak tree memory, stdout, and whether it was killed."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0]

    def sample() -> None:
        while process.poll() is None:
            peak[0] = max(peak[0], tree_rss(process.pid))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    killed = False
    while kill_when is not None and process.poll() is None:
        if kill_when():
            os.kill(process.pid, signal.SIGKILL)  # only the parent: its workers notice and exit
            killed = True
            break
        time.sleep(0.02)
    stdout, stderr = process.communicate()
    sampler.join()
    if not killed and process.returncode != 0:
        raise RuntimeError(f"{command[:4]} failed: {stderr[-2000:]}")
    return {
        "seconds": time.perf_counter() - started,
        "peak_mib": peak[0] / 2**20,
        "stdout": stdout,
        "killed": killed,
    }


def committed_chunks(out: Path) -> list[Path]:
    return list((out / "_chunks").glob("*.json"))


def score_command(source: Path, model: Path, out: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "toolkit",
        "score",
        str(source),
        "-m",
        str(model),
        "-o",
        str(out),
        "--quiet",
        "--json",
        "--overwrite",
        *extra,
    ]


def throughput(args: argparse.Namespace, work: Path, model: Path, pool: list[str]) -> dict[str, object]:
    source = generate(work / "input.csv", args.rows, pool)
    results: dict[str, object] = {"rows": args.rows, "input_mib": source.stat().st_size / 2**20}
    for rows in args.naive_rows:
        run = measure([sys.executable, "-c", NAIVE, str(source), str(model), str(min(rows, args.rows))])
        scored, seconds = run["stdout"].split()
        results[f"naive_{scored}"] = {
            "rows_per_s": int(scored) / run["seconds"],
            "seconds": run["seconds"],
            "peak_mib": run["peak_mib"],
            "predict_seconds": float(seconds),
        }
        print(
            f"naive pandas.read_csv + model.predict, {scored} rows: "
            f"{int(scored) / run['seconds']:,.0f} rows/s, "
            f"{run['seconds']:.1f} s, peak {run['peak_mib']:,.0f} MiB",
            flush=True,
        )
    run = measure(
        score_command(
            source,
            model,
            work / "scores",
            "--workers",
            str(args.workers),
            "--chunk-size",
            str(args.chunk_size),
        )
    )
    summary = json.loads(run["stdout"])
    assert summary["rows_in"] == summary["scored"] + summary["errors"] == args.rows, summary
    results["score"] = {
        "rows_per_s": args.rows / run["seconds"],
        "seconds": run["seconds"],
        "peak_mib": run["peak_mib"],
        "workers": args.workers,
        "chunk_size": args.chunk_size,
    }
    print(
        f"toolkit score --workers {args.workers}, {args.rows} rows: "
        f"{args.rows / run['seconds']:,.0f} rows/s, "
        f"{run['seconds']:.1f} s, peak {run['peak_mib']:,.0f} MiB",
        flush=True,
    )
    return results


def kill_point(out: Path, rng: random.Random) -> Callable[[], bool]:
    """A random point to kill at: 0-2 more chunks committed, plus a random share of a chunk's time."""
    before, more, extra = len(committed_chunks(out)), rng.randint(0, 2), rng.uniform(0.0, 1.5)
    state: dict[str, float] = {}

    def due() -> bool:
        if len(committed_chunks(out)) >= before + more and "at" not in state:
            state["at"] = time.monotonic() + extra
        return "at" in state and time.monotonic() >= state["at"]

    return due


def kill_test(args: argparse.Namespace, work: Path, model: Path, pool: list[str]) -> dict[str, object]:
    """Kill the job at random points, resume each time, then check every input row is there exactly once."""
    import pandas as pd

    source = generate(work / "kill.csv", args.kill_rows, pool, seed=1)
    out, rng, committed, landed = work / "kill-scores", random.Random(args.seed), [], 0
    command = score_command(source, model, out, "--workers", str(args.workers), "--chunk-size", "2000")
    for kill in range(args.kills):
        due = kill_point(out, rng)
        run = measure(command if kill else command + ["--overwrite"], kill_when=due)
        committed.append(len(committed_chunks(out)))
        landed += bool(run["killed"])
    final = json.loads(measure(command)["stdout"])
    ids = pd.read_parquet(out)["id"]
    errors = [json.loads(line)["id"] for line in (out / "_errors.jsonl").read_text().splitlines()]
    expected = {f"g{i:07d}" for i in range(args.kill_rows)}
    found = list(ids) + errors
    result = {
        "rows": args.kill_rows,
        "kills": landed,
        "chunks_committed_after_each_kill": committed,
        "chunks_resumed_by_final_run": final["chunks_resumed"],
        "lost": len(expected - set(found)),
        "duplicated": len(found) - len(set(found)),
        "unexpected": len(set(found) - expected),
    }
    print(
        f"kill test: {landed} SIGKILLs, chunks committed after each: {committed}; "
        f"lost {result['lost']}, duplicated {result['duplicated']}",
        flush=True,
    )
    return result


def spark_test(args: argparse.Namespace, work: Path, model: Path, pool: list[str]) -> dict[str, object]:
    import pandas as pd

    source = work / "spark.parquet"
    pd.read_csv(
        generate(work / "spark.csv", args.spark_rows, pool, seed=2), dtype=str, keep_default_na=False
    ).to_parquet(source)
    local = measure(score_command(source, model, work / "spark-local", "--workers", str(args.workers)))
    spark = measure(
        score_command(
            source,
            model,
            work / "spark-spark",
            "--engine",
            "spark",
            "--spark-master",
            f"local[{args.workers}]",
        )
    )
    frames = [
        pd.read_parquet(work / name).sort_values("id").reset_index(drop=True) for name in ("spark-local", "spark-spark")
    ]
    equal = frames[0].equals(frames[1])
    result = {
        "rows": args.spark_rows,
        "spark_rows_per_s": args.spark_rows / spark["seconds"],
        "spark_seconds": spark["seconds"],
        "spark_peak_mib": spark["peak_mib"],
        "local_rows_per_s": args.spark_rows / local["seconds"],
        "outputs_equal": equal,
    }
    print(
        f"spark local[{args.workers}], {args.spark_rows} rows: {result['spark_rows_per_s']:,.0f} rows/s "
        f"({spark['seconds']:.1f} s incl. JVM start); local engine {result['local_rows_per_s']:,.0f} rows/s; "
        f"outputs equal: {equal}",
        flush=True,
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--naive-rows",
        type=int,
        nargs="*",
        default=[100_000, 200_000],
        help="sizes for the naive baseline (its memory grows with the input)",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunk-size", type=int, default=10_000)
    parser.add_argument("--kill-rows", type=int, default=100_000)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--spark-rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--only", choices=["throughput", "kill", "spark"], nargs="+", default=["throughput", "kill", "spark"]
    )
    parser.add_argument("--work", type=Path, default=Path("/tmp/toolkit-score-benchmark"))
    parser.add_argument("--no-mlflow", action="store_true", help="only write WORK/results.json")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    pool = sentences()
    model = train_model(args.work / "model")
    print(
        f"model: {model} (configs/topic_tfidf.yaml params); {len(pool)} sample sentences; {os.cpu_count()} CPUs",
        flush=True,
    )
    steps = {"throughput": throughput, "kill": kill_test, "spark": spark_test}
    results = {name: steps[name](args, args.work, model, pool) for name in args.only}
    (args.work / "results.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    if not args.no_mlflow:
        params = {key: str(value) for key, value in vars(args).items() if key != "no_mlflow"}
        log_raw_output(args.work / "results.json", "bench-score", f"score-{'-'.join(args.only)}", params)


if __name__ == "__main__":
    main()
