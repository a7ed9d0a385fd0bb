"""One seeded random generator for the whole library.

Dropout, weight initialisation, data shuffling and augmentation all draw from
``get_generator()``, so ``manual_seed(s)`` makes a run reproducible bit for bit. No op
reseeds or touches NumPy's global random state. ``get_state``/``set_state`` capture and
restore the generator exactly (checkpoints use them for exact resume).

Examples
--------
>>> from visiongrad import random
>>> state = random.get_state(); a = random.get_generator().random()
>>> random.set_state(state); a == random.get_generator().random()
True
"""

from __future__ import annotations

import numpy as np

_generator = np.random.default_rng(0)


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the library's generator and return it.

    Examples
    --------
    >>> import numpy as np, visiongrad as vg
    >>> _ = vg.manual_seed(1); a = vg.rand(2)
    >>> _ = vg.manual_seed(1); np.array_equal(a.data, vg.rand(2).data)
    True
    """
    global _generator
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    _generator = np.random.default_rng(int(seed))
    return _generator


def get_generator() -> np.random.Generator:
    """The generator every random operation in visiongrad draws from."""
    return _generator


def get_state() -> dict:
    """The generator's full state, a JSON-serialisable dict."""
    return _generator.bit_generator.state


def set_state(state: dict) -> None:
    """Restore a state returned by :func:`get_state`."""
    _generator.bit_generator.state = state


GeneratorLike = np.random.Generator | int | None
"""What a ``seed``/``rng`` argument accepts: a Generator, a non-negative int seed, or None."""


def optional_generator(rng: GeneratorLike) -> np.random.Generator | None:
    """``rng`` as a Generator: an int seeds a new one, a Generator is used as is, and
    ``None`` stays ``None`` (for callers that choose the generator later)."""
    if rng is None or isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) and rng >= 0:
        return np.random.default_rng(int(rng))
    raise TypeError(f"rng must be a numpy.random.Generator, a non-negative int seed or None, "
                    f"got {rng!r}")


def as_generator(rng: GeneratorLike) -> np.random.Generator:
    """``rng`` as a Generator, ``None`` meaning the library's generator."""
    generator = optional_generator(rng)
    return _generator if generator is None else generator
