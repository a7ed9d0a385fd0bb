"""Shared test helpers: the PyTorch parity check and the gradient-check assertion.

Every op test uses these two, so "parity with PyTorch" and "gradient check" mean the same
thing everywhere: outputs and gradients within 1e-5 (float32) or 1e-10 (float64), and a
float64 centred-difference relative error below 1e-6.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pytest

import visiongrad as vg

GRADCHECK_TOLERANCE = 1e-6
PARITY_TOLERANCE = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-10}


def torch_or_skip():
    """Import torch, or skip the calling test with a reason."""
    return pytest.importorskip("torch", reason="PyTorch is a test-only reference; not installed")


def assert_gradcheck(fn: Callable, inputs: Sequence, tolerance: float = GRADCHECK_TOLERANCE,
                     **kwargs) -> float:
    """Assert ``vg.gradcheck(fn, inputs)`` is below ``tolerance``; return the error."""
    error = vg.gradcheck(fn, inputs, **kwargs)
    assert error < tolerance, f"gradient check failed: relative error {error:.3e}"
    return error


def assert_matches_torch(vg_fn: Callable, torch_fn: Callable, inputs: Sequence,
                         dtype=np.float32, tolerance: float | None = None,
                         seed: int = 0) -> None:
    """Assert that ``vg_fn`` and ``torch_fn`` agree in value and in every input gradient.

    Floating inputs are cast to ``dtype`` and given to both with requires_grad; integer
    inputs (labels, indices) are passed as they are. Both outputs are back-propagated with
    the same random upstream gradient. The comparison is relative to the scale of each
    array: max|a - b| <= tolerance * max(1, max|b|).
    """
    torch = torch_or_skip()
    dtype = np.dtype(dtype)
    tolerance = PARITY_TOLERANCE[dtype] if tolerance is None else tolerance
    arrays = [np.asarray(x, dtype=dtype) if np.asarray(x).dtype.kind == "f" else np.asarray(x)
              for x in inputs]
    vg_inputs = [vg.tensor(a.copy(), requires_grad=a.dtype.kind == "f") for a in arrays]
    torch_inputs = [torch.tensor(a.copy(), requires_grad=a.dtype.kind == "f") for a in arrays]

    vg_out, torch_out = vg_fn(*vg_inputs), torch_fn(*torch_inputs)
    _assert_close("output", vg_out.data, torch_out.detach().numpy(), tolerance)
    upstream = np.random.default_rng(seed).standard_normal(vg_out.shape).astype(dtype)
    vg_out.backward(upstream)
    torch_out.backward(torch.tensor(upstream))
    for i, (v, t) in enumerate(zip(vg_inputs, torch_inputs, strict=True)):
        if v.requires_grad:
            assert v.grad is not None, f"input {i} got no gradient"
            _assert_close(f"gradient of input {i}", v.grad, t.grad.numpy(), tolerance)


def _assert_close(what: str, ours: np.ndarray, reference: np.ndarray, tolerance: float) -> None:
    assert ours.shape == reference.shape, f"{what}: shape {ours.shape} != {reference.shape}"
    assert ours.dtype == reference.dtype, f"{what}: dtype {ours.dtype} != {reference.dtype}"
    finite = np.isfinite(reference)
    np.testing.assert_array_equal(ours[~finite], reference[~finite],
                                  err_msg=f"{what}: infinities or NaNs differ")
    ours, reference = ours[finite], reference[finite]
    error = float(np.max(np.abs(ours - reference), initial=0.0))
    scale = max(1.0, float(np.max(np.abs(reference), initial=0.0)))
    assert error <= tolerance * scale, f"{what}: max abs difference {error:.3e} (scale {scale:.3g})"


def off_kinks(values, kinks, margin=0.05):
    """``values`` nudged off the kinks, where finite differences straddle two pieces, and
    off stationary points, where a zero gradient makes the relative error meaningless."""
    values = values.copy()
    for k in kinks:
        close = np.abs(values - k) < margin
        values[close] += 2 * margin
    return values


def kink_free_inputs(seed, shape=(3, 5), scale=3.0, kinks=(), positive=False):
    """Seeded normal values times ``scale`` (made positive if asked), ``off_kinks``."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * scale
    if positive:
        x = np.abs(x) + 0.1
    return off_kinks(x, kinks)


def each_tile_set():
    """Yields "avx2", and "avx512" where the CPU has AVX-512F, with the compiled convolution
    kernels set to run those tiles while the loop body runs (``accel.direct_conv.
    avx512_tiles``); the setting is restored after. Nothing where no kernel is loaded."""
    from visiongrad.accel import direct_conv

    if direct_conv.DIRECT_CONV is None:
        return
    was = direct_conv.avx512_tiles()
    try:
        for avx512 in (False, True):
            if direct_conv.avx512_tiles(avx512) == avx512:
                yield "avx512" if avx512 else "avx2"
    finally:
        direct_conv.avx512_tiles(was)


def counted(kernel: Callable, calls: list, size_at: int | None = None) -> Callable:
    """``kernel`` that appends to ``calls`` on each call: its argument at ``size_at`` (a
    size), or 1."""
    def call(*args):
        calls.append(1 if size_at is None else args[size_at])
        return kernel(*args)
    return call


def set_in(path, value):
    """A change of a nested dict or list (a crafted file's decoded contents): it sets the
    item at ``path``, a sequence of keys and indices, to ``value``."""
    def change(data):
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return change
