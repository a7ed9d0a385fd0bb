"""Generator arguments of the data package: a Generator, an int seed, or None."""

from __future__ import annotations

import numpy as np

from .. import random as vg_random

GeneratorLike = np.random.Generator | int | None


def optional_generator(rng: GeneratorLike) -> np.random.Generator | None:
    """``rng`` as a Generator: an int seeds a new one, ``None`` stays ``None``."""
    if rng is None or isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) and rng >= 0:
        return np.random.default_rng(int(rng))
    raise TypeError(f"rng must be a numpy.random.Generator, a non-negative int seed or None, "
                    f"got {rng!r}")


def resolve_generator(rng: GeneratorLike) -> np.random.Generator:
    """``rng`` as a Generator, ``None`` meaning ``visiongrad.random.get_generator()``."""
    generator = optional_generator(rng)
    return vg_random.get_generator() if generator is None else generator
