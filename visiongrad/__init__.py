"""visiongrad: deep learning for visual recognition, from scratch in NumPy."""

from . import backend, random
from .random import manual_seed

__version__ = "0.1.0"
__all__ = ["backend", "random", "manual_seed", "__version__"]
