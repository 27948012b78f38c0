"""Benchmarks behind `toolkit experiment run`: the spec runner and the baselines it runs beside the toolkit."""
