"""The linear layer's few-rows product (``accel/linear.py``, ``kernels/few_rows_linear.c``)
against the reference ``x @ weight.T + bias``: odd shapes (rows 2..32 and partial tiles of
rows and of weight rows, k not a multiple of 16 or crossing a block of k), with and
without a bias, leading axes, columns cut over two threads, the cases it declines, the
op that calls it, and the op with ``VISIONGRAD_NATIVE=0``."""

import os
import subprocess
import sys

import numpy as np
import pytest

import visiongrad as vg
from visiongrad import functional as F
from visiongrad.accel import linear, threads

NOT_BUILT = "the compiled kernels are not built here (tests/accel/test_native.py says why)"
needs_kernel = pytest.mark.skipif(
    linear.LINEAR_FEW_ROWS is None
    or linear.linear_few_rows(np.ones((2, 256), np.float32),
                              np.ones((256, 256), np.float32)) is None,
    reason=NOT_BUILT + ", or this CPU has no AVX-512F")


def operands(M, K, N, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((M, K)).astype(np.float32),
            rng.standard_normal((N, K)).astype(np.float32),
            rng.standard_normal(N).astype(np.float32))


def reference(x, weight, bias):
    """The sums in float64, to which float32's rounding is compared."""
    out = x.astype(np.float64) @ weight.T.astype(np.float64)
    return out if bias is None else out + bias


def assert_close(ours, x, weight, bias):
    """Within float32 rounding of a K-term sum: each sum's error below 1e-6 times the sum
    of its terms' magnitudes (the bound that does not depend on the order)."""
    expected = reference(x, weight, bias)
    magnitude = np.abs(x).astype(np.float64) @ np.abs(weight).T.astype(np.float64)
    assert ours.dtype == np.float32 and ours.shape == expected.shape
    assert (np.abs(ours - expected) <= 1e-6 * (magnitude + 1)).all()


@needs_kernel
@pytest.mark.parametrize("M", [2, 3, 4, 5, 7, 8, 13, 32])
@pytest.mark.parametrize("K, N", [(1, 7), (15, 1), (17, 13), (1000, 6), (1041, 11),
                                  (2100, 5)])
def test_odd_shapes_match_the_reference(M, K, N, monkeypatch):
    monkeypatch.setattr(linear, "MIN_WEIGHT_SIZE", 0)
    x, weight, bias = operands(M, K, N)
    for b in (bias, None):
        out = linear.linear_few_rows(x, weight, b)
        assert out is not None
        assert_close(out, x, weight, b)


@needs_kernel
def test_leading_axes_and_two_threads(monkeypatch):
    """x (2, 3, K) is six rows; the 77 columns are cut into one part per core (two)."""
    monkeypatch.setattr(threads, "available_cores", lambda: 2)
    monkeypatch.setattr(threads, "PARALLEL_MIN_BYTES", 0)
    x, weight, bias = operands(6, 1500, 77, seed=1)
    out = linear.linear_few_rows(x.reshape(2, 3, 1500), weight, bias)
    assert out.shape == (2, 3, 77)
    assert_close(out.reshape(6, 77), x, weight, bias)


def test_it_declines_what_it_does_not_take():
    x, weight, bias = operands(8, 512, 256)
    declined = [
        (x.astype(np.float64), weight, bias),          # not float32
        (x[:1], weight, bias),                         # one row: OpenBLAS's gemv
        (np.ones((33, 512), np.float32), weight, bias),  # more rows than FEW_ROWS
        (x[:, ::2], weight[:, ::2], bias),             # not C order
        (x[:, :64], weight[:8, :64], bias[:8]),        # a small weight
    ]
    for case in declined:
        assert linear.linear_few_rows(*case) is None


@needs_kernel
def test_the_op_takes_it_and_its_gradients_stay_the_reference(monkeypatch):
    """F.linear at batch 8: the output by the kernel, equal to NumPy's up to rounding; the
    backward pass is the op's own (compared with the NumPy forward's run)."""
    x, weight, bias = operands(8, 700, 300, seed=2)
    runs = []
    for kernel in (True, False):
        with monkeypatch.context() as patch:
            if not kernel:
                patch.setattr(linear, "LINEAR_FEW_ROWS", None)
            t = [vg.tensor(a, requires_grad=True) for a in (x, weight, bias)]
            out = F.linear(*t)
            (out * out).sum().backward()
            runs.append([out.data] + [a.grad for a in t])
    for ours, theirs in zip(*runs, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4 * np.abs(theirs).max())
    assert_close(runs[0][0], x, weight, bias)


def test_visiongrad_native_0_runs_numpy():
    code = ("import numpy as np\n"
            "import visiongrad as vg\n"
            "from visiongrad import nn\n"
            "from visiongrad.accel import linear\n"
            "assert linear.LINEAR_FEW_ROWS is None\n"
            "x = np.ones((4, 512), np.float32)\n"
            "assert linear.linear_few_rows(x, np.ones((256, 512), np.float32)) is None\n"
            "layer = nn.Linear(512, 256)\n"
            "out = layer(vg.tensor(x))\n"
            "expected = x @ layer.weight.data.T + layer.bias.data\n"
            "print(out.shape, bool(np.allclose(out.data, expected, rtol=1e-5)))")
    env = dict(os.environ, VISIONGRAD_NATIVE="0")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["(4,", "256)", "True"]
