"""``conv2d_eval``: a convolution with an eval-mode batch norm, a residual and ReLU in one
output pass, against the same layers as separate ops (``F.conv2d``, ``F.batch_norm``, +,
``F.relu``), on the compiled pass and on NumPy alone (``VISIONGRAD_NATIVE=0``)."""

import os
import subprocess
import sys

import numpy as np
import pytest

import visiongrad as vg
from visiongrad import functional as F
from visiongrad.ops.conv_eval import batch_norm_scale_shift, conv2d_eval

CASES = {  # x shape, weight shape, options
    "3x3 pad 1, 16 filters (compiled conv)": ((4, 8, 9, 9), (16, 8, 3, 3), dict(padding=1)),
    "stride 2": ((2, 16, 8, 8), (32, 16, 3, 3), dict(stride=2, padding=1)),
    "1x1 stride 2 (a shortcut)": ((2, 16, 8, 8), (32, 16, 1, 1), dict(stride=2)),
    "few filters (im2col)": ((2, 3, 7, 7), (5, 3, 3, 3), dict(padding=1)),
    "groups": ((2, 4, 6, 6), (6, 2, 3, 3), dict(padding=1, groups=2)),
    "dilation, same padding": ((2, 3, 7, 7), (4, 3, 3, 3), dict(padding="same", dilation=2)),
}


def unfused(x, weight, bias, stats, residual, relu, options):
    """The layers one op after another."""
    y = F.conv2d(x, weight, bias, **options)
    if stats is not None:
        mean, var, gamma, beta = stats
        y = F.batch_norm(y, mean, var, gamma, beta, training=False, eps=1e-5)
    if residual is not None:
        y = y + residual
    return F.relu(y) if relu else y


def random_case(x_shape, w_shape, options, dtype, with_bias, with_norm, with_residual):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape).astype(dtype)
    weight = (rng.standard_normal(w_shape) / np.sqrt(np.prod(w_shape[1:]))).astype(dtype)
    f = w_shape[0]
    bias = rng.standard_normal(f).astype(dtype) if with_bias else None
    stats = None
    if with_norm:
        stats = (rng.standard_normal(f).astype(dtype) * 0.2, rng.uniform(0.5, 2, f).astype(dtype),
                 rng.uniform(0.5, 1.5, f).astype(dtype), rng.standard_normal(f).astype(dtype))
    residual = None
    if with_residual:
        y_shape = F.conv2d(x, weight, **options).shape
        residual = rng.standard_normal(y_shape).astype(dtype)
    return x, weight, bias, stats, residual


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("with_bias, with_norm, with_residual, relu",
                         [(True, False, False, True), (False, True, False, True),
                          (False, True, True, True), (True, True, True, False)])
def test_matches_the_layers_one_by_one(case, dtype, with_bias, with_norm, with_residual, relu):
    x_shape, w_shape, options = CASES[case]
    x, weight, bias, stats, residual = random_case(x_shape, w_shape, options, dtype, with_bias,
                                                   with_norm, with_residual)
    expected = unfused(x, weight, bias, stats, residual, relu, options).numpy()
    scale = shift = None
    if stats is not None:
        scale, shift = batch_norm_scale_shift(*stats, eps=1e-5)
    with vg.no_grad():
        y = conv2d_eval(x, weight, bias, scale=scale, shift=shift, residual=residual, relu=relu,
                        **options)
    assert y.shape == expected.shape and y.dtype == expected.dtype
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(y.numpy(), expected, rtol=tolerance, atol=tolerance)
    if relu:
        assert (expected == 0).any()  # the case has units that ReLU turns off


def test_batch_norm_scale_shift_is_eval_mode_batch_norm():
    rng = np.random.default_rng(1)
    mean, var, gamma, beta = rng.standard_normal((4, 3))
    var = np.abs(var) + 0.1
    z = rng.standard_normal((5, 3))
    scale, shift = batch_norm_scale_shift(mean, var, gamma, beta, eps=1e-3)
    np.testing.assert_allclose(z * scale + shift, gamma * (z - mean) / np.sqrt(var + 1e-3) + beta)
    scale, shift = batch_norm_scale_shift(mean, var, None, None, eps=1e-3)  # affine=False
    np.testing.assert_allclose(z * scale + shift, (z - mean) / np.sqrt(var + 1e-3))


def test_refuses_to_run_while_a_graph_is_recorded():
    x, weight = np.ones((1, 1, 3, 3), np.float32), np.ones((1, 1, 3, 3), np.float32)
    with pytest.raises(RuntimeError, match="no_grad"):
        conv2d_eval(x, weight)


def test_a_residual_of_another_shape_is_refused():
    x, weight = np.ones((1, 1, 3, 3), np.float32), np.ones((2, 1, 3, 3), np.float32)
    with vg.no_grad(), pytest.raises(ValueError, match=r"residual of shape \(1, 1, 3, 3\)"):
        conv2d_eval(x, weight, residual=x)


def test_numpy_alone_gives_the_same_values():
    """With the compiled library disabled, the NumPy reference pass."""
    code = (
        "import numpy as np, visiongrad as vg\n"
        "from visiongrad import functional as F\n"
        "from visiongrad.accel import epilogue\n"
        "from visiongrad.ops.conv_eval import batch_norm_scale_shift, conv2d_eval\n"
        "assert epilogue.CHANNEL_EPILOGUE is None\n"
        "rng = np.random.default_rng(0)\n"
        "x = rng.standard_normal((2, 16, 6, 6)).astype(np.float32)\n"
        "w = rng.standard_normal((16, 16, 3, 3)).astype(np.float32) / 12\n"
        "mean, var = rng.standard_normal(16).astype(np.float32), np.full(16, 2, np.float32)\n"
        "r = rng.standard_normal((2, 16, 6, 6)).astype(np.float32)\n"
        "expected = F.relu(F.batch_norm(F.conv2d(x, w, padding=1), mean, var) + r).numpy()\n"
        "scale, shift = batch_norm_scale_shift(mean, var, None, None, 1e-5)\n"
        "with vg.no_grad():\n"
        "    y = conv2d_eval(x, w, padding=1, scale=scale, shift=shift, residual=r, relu=True)\n"
        "print(float(np.abs(y.numpy() - expected).max()), int((expected == 0).sum()))\n")
    result = subprocess.run([sys.executable, "-c", code],
                            env=dict(os.environ, VISIONGRAD_NATIVE="0"), capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    difference, zeros = result.stdout.split()
    assert float(difference) < 1e-5 and int(zeros) > 0
