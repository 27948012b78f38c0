"""One seed for the global random generators a fit uses, so two runs with the same seed agree.

Training seeds Python and NumPy before any backend runs; a backend that uses torch seeds it too, from
its own `seed`, since benchmarks and scripts call `fit` directly.
"""

from __future__ import annotations


def seed_everything(seed: int, *, torch: bool = False) -> None:
    """Seed Python's and NumPy's global generators and, with `torch`, every generator `transformers.set_seed`
    seeds (Python, NumPy, torch on every device).

    Hand-written for the light path on purpose: `transformers.set_seed` would import transformers (and torch),
    seconds of start-up that a tfidf training never otherwise pays; a backend that already needs torch passes
    `torch=True` and gets the library's function."""
    if torch:
        from transformers import set_seed

        set_seed(seed)
        return
    import random

    import numpy as np

    random.seed(seed)
    np.random.seed(seed)
