"""One seed for the global random generators a fit uses, so two runs with the same seed agree.

Training seeds Python and NumPy before any backend runs; a backend that uses torch seeds it too, from
its own `seed`, since benchmarks and scripts call `fit` directly.
"""

from __future__ import annotations


def seed_everything(seed: int, *, torch: bool = False) -> None:
    """Seed Python's and NumPy's global generators and, with `torch`, torch's (every device)."""
    import random

    import numpy as np

    random.seed(seed)
    np.random.seed(seed)
    if torch:
        import torch as torch_module

        torch_module.manual_seed(seed)
