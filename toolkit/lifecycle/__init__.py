"""Runs over runs: `tune` (an Optuna study of nested training runs) and `compare` (runs side by side)."""
