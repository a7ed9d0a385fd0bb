"""Numerical gradients and the relative-error check (public API: ``vg.gradcheck``).

The numerical gradient of a scalar function f at x is the centred difference

    df/dx_i ~= (f(x + h e_i) - f(x - h e_i)) / (2 h),

whose error is O(h^2). In float64 with h = 1e-6 it agrees with a correct analytic
gradient to a relative error of about 1e-8 or better, where the relative error of
analytic a and numerical n is |a - n| / max(|a|, |n|) (the course's definition; a floor
of 1e-8 on the denominator keeps exact zeros from dividing by zero). Above 1e-6 usually
means a bug; above 1e-2 certainly does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .autograd import Tensor, no_grad


def relative_error(analytic, numerical, floor: float = 1e-8) -> float:
    """max over elements of |a - n| / max(|a|, |n|, floor).

    Examples
    --------
    >>> import numpy as np, visiongrad as vg
    >>> float(vg.relative_error(np.array([1.0, 2.0]), np.array([1.0, 2.2])))  # doctest: +ELLIPSIS
    0.0909...
    """
    a, n = np.asarray(analytic, dtype=np.float64), np.asarray(numerical, dtype=np.float64)
    if a.shape != n.shape:
        raise ValueError(f"relative_error: shapes {a.shape} and {n.shape} differ")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - n) / np.maximum(np.maximum(np.abs(a), np.abs(n)), floor)))


def numerical_gradient(f: Callable[[], float], x: np.ndarray, h: float = 1e-6,
                       coords: np.ndarray | None = None) -> np.ndarray:
    """Centred-difference gradient of the scalar ``f()`` with respect to array ``x``.

    ``f`` reads ``x`` (which is perturbed in place and restored). With ``coords`` (flat
    indices) only those coordinates are estimated; the others are left at NaN.

    Examples
    --------
    >>> import numpy as np, visiongrad as vg
    >>> x = np.array([1.0, 2.0])
    >>> np.round(vg.numerical_gradient(lambda: float((x ** 2).sum()), x), 6)
    array([2., 4.])
    """
    if not x.flags.writeable:
        raise ValueError("numerical_gradient perturbs x in place, but x is read-only")
    grad = np.full(x.shape, np.nan) if coords is not None else np.zeros(x.shape)
    flat_grad = grad.reshape(-1)
    for i in range(x.size) if coords is None else coords:
        index = np.unravel_index(i, x.shape)  # x itself, whatever its strides (no flat copy)
        original = x[index]
        x[index] = original + h
        f_plus = f()
        x[index] = original - h
        f_minus = f()
        x[index] = original
        flat_grad[i] = (f_plus - f_minus) / (2 * h)
    return grad


def gradcheck(fn: Callable[..., Tensor], inputs: Sequence, h: float = 1e-6,
              max_coords: int | None = 200, seed: int = 0) -> float:
    """Compare ``fn``'s analytic gradients with centred differences; return the max error.

    Parameters
    ----------
    fn : callable
        Takes one tensor per input and returns a tensor. A non-scalar output y is reduced
        to the scalar L = sum(y * g) with a fixed random g, so every output element is
        checked.
    inputs : sequence of arrays or tensors
        Floating inputs are converted to float64 tensors and checked; integer inputs
        (labels, indices) are passed through unchanged.
    h : float
        Step of the centred difference.
    max_coords : int or None
        Check at most this many randomly chosen coordinates per input (None: all).
    seed : int
        Seeds the choice of coordinates and of g.

    Returns
    -------
    float
        max relative error |a - n| / max(|a|, |n|) over every checked coordinate.

    Examples
    --------
    >>> import numpy as np, visiongrad as vg
    >>> from visiongrad import functional as F
    >>> error = vg.gradcheck(lambda x, w: F.linear(x, w).relu(),
    ...                      [np.random.randn(3, 4), np.random.randn(2, 4)])
    >>> error < 1e-6
    True
    """
    rng = np.random.default_rng(seed)
    tensors = []
    for x in inputs:
        array = np.array(x.data if isinstance(x, Tensor) else x)
        checked = array.dtype.kind == "f"
        tensors.append(Tensor(array.astype(np.float64) if checked else array,
                              requires_grad=checked))

    out = fn(*tensors)
    upstream = rng.standard_normal(out.shape) if out.size > 1 else np.ones(out.shape)
    (out * Tensor(upstream)).sum().backward()

    # L(x) - L(x0), summed after subtracting elementwise: the same derivative as L, but the
    # round-off of each centred difference scales with the change in the output, not with
    # |L| (a sum over many elements would otherwise swamp small gradient components)
    reference = out.data.copy()

    def loss() -> float:
        with no_grad():
            return float(((fn(*tensors).data - reference) * upstream).sum())

    worst = 0.0
    for t in tensors:
        if not t.requires_grad:
            continue
        analytic = np.zeros(t.shape) if t.grad is None else t.grad
        coords = None
        if max_coords is not None and t.size > max_coords:
            coords = rng.choice(t.size, size=max_coords, replace=False)
        numerical = numerical_gradient(loss, t.data, h, coords)
        if coords is not None:
            analytic, numerical = analytic.reshape(-1)[coords], numerical.reshape(-1)[coords]
        worst = max(worst, relative_error(analytic, numerical))
    return worst
