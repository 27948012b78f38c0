"""toolkit: classify news articles by topic and detect their stance toward a target.

The package import is cheap: heavy libraries load inside the functions that need them.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
