"""Benchmark scripts, each run from the repository root as `python -m experiments.benchmarks.<name>`."""
