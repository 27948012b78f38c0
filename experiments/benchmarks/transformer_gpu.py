"""The transformer backend on a GPU: quality on the three benchmarks, and speed against a plain `Trainer`.

Reads the bundle written by `python -m experiments.benchmarks.transformer_bundle export` (the same dev splits
and seeds as the tfidf tables) and runs, in this order, writing everything measured so far after each stage
(a run stopped by a time limit still reports what it finished):

  fnc_fit      FNC-1 seed 0: fit with configs/fnc1_transformer.yaml's parameters, predict the dev split
  fnc_speed    that model's inference on the dev pairs (max_length 512): docs/s of `predict_proba` (what
               `toolkit predict` and batch scoring call), GPU-only windows/s, tokenization alone, a
               torch.profiler table; `Trainer.predict` (default arguments) on the same pairs and weights
  train_speed  training samples/s, plain `Trainer` vs the backend, same pairs / epochs / batch / lr, and the
               dev quality each reaches
  fnc_seeds    FNC-1 seeds 1 and 2
  semeval      SemEval-2016 6A seeds 0-2 (configs/semeval2016_transformer.yaml)
  ag_news      AG News seeds 0-2 (configs/ag_news_transformer.yaml)

Follow-ups, run by name: `speed` (every / first window docs/s vs `Trainer.predict`, GPU-only windows/s, a
profile), `speed_grid` (tokenization chunk x batch size), `train_grid` (1-epoch training variants),
`train_equal` (Trainer vs backend trained to the end on the same pairs, with the dev quality of each) and
`semeval_select` (SEMEVAL_VARIANTS compared on inner splits of the training rows; the winner scored on dev).
The speed stages live in transformer_gpu_speed.py, what all stages share in transformer_gpu_common.py.

Predictions come back as label indices; `transformer_bundle.py report` scores them with toolkit.metrics.
Needs torch, transformers, numpy, pydantic (+ accelerate for the Trainer); not datasets or pandas. Where
mlflow is installed, the raw JSON is also logged as an MLflow artifact (the device machine has no mlflow:
there only the file is written).

    python -m experiments.benchmarks.transformer_gpu --bundle .device/bundle --model .device/all-MiniLM-L6-v2 \
        --out gpu.json
    # CPU smoke run of every stage: --max-rows 48 --max-length 64 --epochs 1 --train-speed-rows 32
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from experiments.benchmarks.raw_output import log_raw_output
from experiments.benchmarks.transformer_bundle import load_bundle
from experiments.benchmarks.transformer_gpu_common import (
    Split,
    environment,
    f_avg,
    fit_and_predict,
    free_memory,
    inner_split,
    warm_up_device,
)
from experiments.benchmarks.transformer_gpu_speed import SpeedStages

STAGES = ["fnc_fit", "fnc_speed", "train_speed", "fnc_seeds", "semeval", "ag_news"]
EXTRA_STAGES = ["speed_grid", "train_grid", "semeval_select", "speed", "train_equal"]  # follow-ups, run by name

# SemEval recipes compared on an inner split of each seed's *training* rows (the dev split stays unseen);
# the best mean F_avg is then trained on the whole train split and scored on dev.
SEMEVAL_VARIANTS: dict[str, dict[str, Any]] = {
    "[CLS] head, lr 1e-4, 5 epochs (configs/semeval2016_transformer.yaml)": {},
    "mean pooling, lr 1e-4, 5 epochs": {"pooling": "mean"},
    "mean pooling, lr 5e-5, 10 epochs": {"pooling": "mean", "learning_rate": 5e-5, "epochs": 10},
}


class Run(SpeedStages):
    """The stages, sharing the FNC seed-0 model; `results` is written to --out after every stage."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.results: dict[str, Any] = {
            "environment": environment(),
            "args": {k: str(v) for k, v in vars(args).items()},
        }
        self.bundles: dict[str, dict[str, Any]] = {}
        self.fnc_model: Any = None
        self.fnc_dev: Split | None = None

    def bundle(self, name: str) -> dict[str, Any]:
        if name not in self.bundles:
            self.bundles[name] = load_bundle(self.args.bundle, name)
        return self.bundles[name]

    def save(self, stage: str, seconds: float) -> None:
        self.results.setdefault("stage_seconds", {})[stage] = round(seconds, 1)
        shown = (
            {k: v for k, v in self.results.get(stage, {}).items() if k != "predictions"}
            if isinstance(self.results.get(stage), dict)
            else None
        )
        print(f"[{stage}] {seconds:.1f} s {json.dumps(shown, default=str)[:3000]}", flush=True)
        self.args.out.parent.mkdir(parents=True, exist_ok=True)
        self.args.out.write_text(json.dumps(self.results, indent=1, default=str), encoding="utf-8")

    def quality(self, name: str, seed: str, result: dict[str, Any], bundle: str | None = None) -> None:
        """Keep a seed's predictions under a table `name`, scored later against bundle `bundle` (default: name)."""
        self.results.setdefault("quality", {}).setdefault(name, {})[seed] = {"bundle": bundle or name, **result}
        shown = {k: v for k, v in result.items() if k not in ("predictions", "params")}
        print(f"  {name} seed {seed}: {json.dumps(shown)}", flush=True)

    def fnc_fit(self) -> None:
        result, self.fnc_model, self.fnc_dev = fit_and_predict(self.bundle("fnc1"), "0", self.args)
        self.quality("fnc1", "0", result)

    def fnc_seeds(self) -> None:
        self.fnc_model = None
        free_memory()
        for seed in ("1", "2"):
            result, model, _ = fit_and_predict(self.bundle("fnc1"), seed, self.args)
            self.quality("fnc1", seed, result)
            del model
            free_memory()

    def semeval_select(self) -> None:
        """SEMEVAL_VARIANTS on inner splits of `--select-seeds` seeds' training rows; the best mean F_avg is then
        fitted on each seed's whole train split and scored on dev (unless it is the config, already measured)."""
        import statistics

        bundle = self.bundle("semeval2016")
        seeds = sorted(bundle["seeds"])
        inner: dict[str, list[float]] = {}
        for name, overrides in SEMEVAL_VARIANTS.items():
            for seed in seeds[: self.args.select_seeds]:
                result, model, held = fit_and_predict(inner_split(bundle, seed), seed, self.args, False, **overrides)
                inner.setdefault(name, []).append(f_avg(held.gold, result["predictions"]["toolkit"], bundle["labels"]))
                print(f"  inner split, seed {seed}, {name}: F_avg {inner[name][-1]}", flush=True)
                del model
                free_memory()
        chosen = max(inner, key=lambda name: statistics.mean(inner[name]))
        self.results["semeval_select"] = {"inner_f_avg": inner, "chosen": chosen}
        self.save("semeval_select (inner)", 0.0)
        if not SEMEVAL_VARIANTS[chosen]:
            return
        for seed in seeds:
            result, model, _ = fit_and_predict(bundle, seed, self.args, **SEMEVAL_VARIANTS[chosen])
            self.quality(f"semeval2016, chosen on inner splits: {chosen}", seed, result, "semeval2016")
            del model
            free_memory()

    def seeds_of(self, name: str) -> None:
        for seed in sorted(self.bundle(name)["seeds"]):
            result, model, _ = fit_and_predict(self.bundle(name), seed, self.args)
            self.quality(name, seed, result)
            del model
            free_memory()

    def semeval(self) -> None:
        self.seeds_of("semeval2016")

    def ag_news(self) -> None:
        self.seeds_of("ag_news")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", type=Path, required=True, help="folder written by transformer_bundle.py export")
    parser.add_argument("--model", required=True, help="encoder folder (or hub id when online)")
    parser.add_argument("--out", type=Path, default=Path("transformer_gpu.json"))
    parser.add_argument("--stages", nargs="*", choices=STAGES + EXTRA_STAGES, default=STAGES)
    parser.add_argument("--max-rows", type=int, default=None, help="cap every split (smoke runs)")
    parser.add_argument("--max-length", type=int, default=None, help="cap the configs' max_length (smoke runs)")
    parser.add_argument("--epochs", type=int, default=None, help="override the configs' epochs (smoke runs)")
    parser.add_argument("--train-speed-rows", type=int, default=16000)
    parser.add_argument("--select-seeds", type=int, default=2, help="seeds whose inner splits choose a SemEval recipe")
    parser.add_argument("--batch-sizes", type=int, nargs="*", default=[256, 1024], help="extra inference batch sizes")
    parser.add_argument("--no-mlflow", action="store_true", help="only write --out, even where mlflow is installed")
    args = parser.parse_args()

    warm_up_device()
    run = Run(args)
    started = time.perf_counter()
    for stage in args.stages:
        stage_started = time.perf_counter()
        try:
            getattr(run, stage)()
        except Exception as exc:  # keep what the other stages measured; say what failed
            import traceback

            traceback.print_exc()
            run.results.setdefault("errors", {})[stage] = f"{type(exc).__name__}: {str(exc)[:500]}"
        run.save(stage, time.perf_counter() - stage_started)
    run.results["total_seconds"] = round(time.perf_counter() - started, 1)
    run.save("done", 0.0)
    print(f"wrote {args.out} ({run.results['total_seconds']:.0f} s in all)")
    if not args.no_mlflow:
        log_raw_output(
            args.out, "bench-transformer-gpu", f"transformer-gpu-{'-'.join(args.stages)}", run.results["args"]
        )


if __name__ == "__main__":
    main()
