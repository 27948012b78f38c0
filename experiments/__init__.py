"""Benchmark specs (specs/), measured results (results/<name>/) and the scripts that produce them (benchmarks/)."""
