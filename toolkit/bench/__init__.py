"""Benchmarks behind `toolkit experiment run`: specs, the runner, the baselines beside the toolkit, results.md."""
