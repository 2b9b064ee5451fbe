"""mixkit-bench: the cross-domain evaluation (``mixkit-bench run``) and the papers' checks."""

from mixkit_bench._methods import METHODS
from mixkit_bench.evaluation import PROFILES, available, run

__version__ = "0.2.0"

__all__ = ["METHODS", "PROFILES", "__version__", "available", "run"]
