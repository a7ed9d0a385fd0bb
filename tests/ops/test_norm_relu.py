"""batch_norm_relu (``ops/norm_relu.py``): relu(batch_norm(x) + residual) as one op against
the three ops it replaces (values, every gradient, running statistics), with a ReLU and a
leaky ReLU, a float64 gradient check, the compiled passes against the NumPy ones and with
the library off, and the modules that run it: Sequential's BatchNorm -> ReLU and
BatchNorm -> LeakyReLU pairs and ResNet's blocks."""

import os
import subprocess
import sys

import numpy as np
import pytest
from helpers import assert_gradcheck

import visiongrad as vg
from visiongrad import accel, models, nn
from visiongrad import functional as F
from visiongrad.accel import batch_norm as compiled_batch_norm
from visiongrad.ops.norm_relu import batch_norm_relu_reference
from visiongrad.visualize import guided_relus

NOT_BUILT = "the compiled kernels are not built here (tests/accel/test_native.py says why)"
needs_kernels = pytest.mark.skipif(compiled_batch_norm.CHANNEL_AFFINE_RELU is None,
                                   reason=NOT_BUILT)


def channels_last(a):
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


SLOPES = {"relu": 0.0, "leaky": 0.2}


def run(op, x, gamma, beta, residual, training, upstream, slope=0.0):
    """y, the gradients of x, gamma, beta (and the residual), and the running statistics."""
    mean = np.linspace(-1, 1, x.shape[1]).astype(x.dtype)
    var = np.linspace(0.5, 2, x.shape[1]).astype(x.dtype)
    tensors = [vg.tensor(a, requires_grad=True) for a in (x, gamma, beta)]
    r = None if residual is None else vg.tensor(residual, requires_grad=True)
    y = op(tensors[0], mean, var, *tensors[1:], training=training, momentum=0.3, residual=r,
           negative_slope=slope)
    y.backward(upstream)
    return [y.data, *(t.grad for t in tensors), *([] if r is None else [r.grad]), mean, var]


def case(shape, in_channels_last, with_residual, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 2 + 0.5).astype(np.float32)
    residual = rng.standard_normal(shape).astype(np.float32) if with_residual else None
    if in_channels_last:
        x = channels_last(x)
        residual = None if residual is None else channels_last(residual)
    gamma, beta = (rng.standard_normal(shape[1]).astype(np.float32) for _ in range(2))
    return x, gamma, beta, residual, rng.standard_normal(shape).astype(np.float32)


SHAPES = {"channels-last": ((6, 32, 5, 5), True), "NCHW": ((4, 5, 3, 7), False),
          "2-D": ((33, 12), False), "more channels than a sweep": ((3, 300, 2, 3), True)}


@pytest.mark.parametrize("name", list(SHAPES))
@pytest.mark.parametrize("with_residual", [False, True], ids=["plain", "residual"])
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("rectifier", list(SLOPES))
def test_matches_batch_norm_then_relu(name, with_residual, training, rectifier):
    shape, in_channels_last = SHAPES[name]
    if with_residual and len(shape) == 2:
        in_channels_last = False
    x, gamma, beta, residual, upstream = case(shape, in_channels_last, with_residual)
    slope = SLOPES[rectifier]
    fused = run(F.batch_norm_relu, x, gamma, beta, residual, training, upstream, slope)
    composed = run(batch_norm_relu_reference, x, gamma, beta, residual, training, upstream,
                   slope)
    off = fused[0] == 0 if slope == 0 else fused[0] < 0
    assert off.mean() > 0.2  # the rectifier cuts, so its mask is tested
    for got, expected in zip(fused, composed, strict=True):
        assert got.dtype == expected.dtype == np.float32 and got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    assert fused[0].strides == composed[0].strides  # y keeps x's memory layout


@needs_kernels
@pytest.mark.parametrize("with_residual", [False, True], ids=["plain", "residual"])
@pytest.mark.parametrize("parallel", [False, True])
@pytest.mark.parametrize("rectifier", list(SLOPES))
def test_compiled_passes_match_numpy(with_residual, parallel, rectifier, monkeypatch):
    """The kernels' pass (scale, shift, residual, ReLU or leaky ReLU) and their gated
    backward passes against the op's NumPy lines; the gate recomputes the rectifier's mask
    from x, to the bit, so dx agrees even at units whose input sits at the kink."""
    if parallel:
        monkeypatch.setattr(accel.threads, "C_PARALLEL_MIN_BYTES", 0)
        monkeypatch.setattr(accel.threads, "available_cores", lambda: 2)
    x, gamma, beta, residual, upstream = case((8, 48, 6, 6), True, with_residual, seed=1)
    x[:, :, :2] = 0.5  # many equal values: units near the kink
    results = []
    for compiled in (True, False):
        with monkeypatch.context() as patch:
            if not compiled:
                patch.setattr(accel, "batch_norm_fits", lambda rows: False)
            results.append(run(F.batch_norm_relu, x, gamma, beta, residual, True, upstream,
                               SLOPES[rectifier]))
    for got, expected in zip(*results, strict=True):
        np.testing.assert_allclose(got, expected, rtol=2e-5, atol=2e-5)


@needs_kernels
def test_without_residual_the_compiled_op_keeps_no_output(monkeypatch):
    """The mask is recomputed from x: the node keeps nothing of y's size but x."""
    x, gamma, beta, _, _ = case((4, 16, 5, 5), True, False)
    y = F.batch_norm_relu(vg.tensor(x, requires_grad=True), None, None, vg.tensor(gamma),
                          vg.tensor(beta), training=True)
    node = y._node
    assert node.compiled and node.y is None
    kept = [v for v in vars(node).values() if isinstance(v, np.ndarray) and v.size >= x.size]
    assert len(kept) == 1 and np.shares_memory(kept[0], x)


@pytest.mark.parametrize("with_residual", [False, True], ids=["plain", "residual"])
@pytest.mark.parametrize("rectifier", list(SLOPES))
def test_gradcheck_float64(with_residual, rectifier):
    rng = np.random.default_rng(7)  # no pre-activation within 0.03 of the ReLU's kink
    inputs = [rng.standard_normal((4, 3, 3, 2)), rng.standard_normal(3) + 1.5,
              rng.standard_normal(3)]
    if with_residual:
        inputs.append(rng.standard_normal((4, 3, 3, 2)))
    assert_gradcheck(lambda x, g, b, *r: F.batch_norm_relu(
        x, None, None, g, b, training=True, residual=r[0] if r else None,
        negative_slope=SLOPES[rectifier]), inputs)


def test_checks_the_residual_and_the_slope():
    x = vg.randn(2, 3, 4, 4)
    with pytest.raises(ValueError, match=r"residual of shape \(2, 3, 4, 5\)"):
        F.batch_norm_relu(x, None, None, training=True, residual=vg.randn(2, 3, 4, 5))
    for slope in (-0.1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match=r"negative_slope must be a finite number >= 0"):
            F.batch_norm_relu(x, None, None, training=True, negative_slope=slope)


def test_with_the_compiled_library_off():
    """VISIONGRAD_NATIVE=0: the NumPy lines give the composition's values and gradients."""
    code = ("import numpy as np, visiongrad as vg\n"
            "from visiongrad import functional as F\n"
            "from visiongrad.accel import native\n"
            "from visiongrad.ops.norm_relu import batch_norm_relu_reference as reference\n"
            "assert native.LIBRARY is None\n"
            "rng = np.random.default_rng(0)\n"
            "x, r = (rng.standard_normal((4, 16, 5, 5)).astype(np.float32) for _ in 'xr')\n"
            "for residual, slope in ((None, 0.0), (r, 0.0), (None, 0.2), (r, 0.2)):\n"
            "    grads = []\n"
            "    for op in (F.batch_norm_relu, reference):\n"
            "        t = vg.tensor(x, requires_grad=True)\n"
            "        y = op(t, None, None, training=True, residual=residual,\n"
            "               negative_slope=slope)\n"
            "        (y * y).sum().backward()\n"
            "        grads.append((y.data, t.grad))\n"
            "    for a, b in zip(*grads):\n"
            "        assert np.allclose(a, b, atol=1e-5), abs(a - b).max()\n"
            "    low = grads[0][0].min()\n"
            "    assert (low == 0 if slope == 0 else low < 0) and grads[0][0].max() > 0\n"
            "print('ok')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=dict(os.environ, VISIONGRAD_NATIVE="0"), timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


# ----- the modules that run it ---------------------------------------------------------


def calls_of(op, monkeypatch):
    """A list that records each call of ``F.<op>`` made by the layers."""
    calls = []
    original = getattr(F, op)
    monkeypatch.setattr(F, op, lambda *a, **k: calls.append(1) or original(*a, **k))
    return calls


def step(model, x):
    """The output and every parameter's gradient after one backward pass."""
    model.zero_grad()
    tensor = vg.tensor(x, requires_grad=True)
    y = model(tensor)
    (y * y).sum().backward()
    return [y.data, tensor.grad] + [p.grad for p in model.parameters()]


def conv_bn_relu_net(relu=nn.ReLU):
    vg.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), relu(),
                         nn.Conv2d(16, 16, 3, padding=1), nn.BatchNorm2d(16), relu(),
                         nn.Flatten(), nn.Linear(16 * 6 * 6, 3))


@pytest.mark.parametrize("relu", [nn.ReLU, lambda: nn.LeakyReLU(0.2)], ids=["relu", "leaky"])
def test_sequential_runs_batch_norm_and_relu_as_one_op(relu, monkeypatch):
    x = np.random.default_rng(0).standard_normal((4, 3, 6, 6)).astype(np.float32)
    fused_model, plain_model = conv_bn_relu_net(relu), conv_bn_relu_net(relu)
    calls = calls_of("batch_norm_relu", monkeypatch)
    fused = step(fused_model, x)
    assert len(calls) == 2
    monkeypatch.setattr(nn.container, "runs_with_relu", lambda module, following: False)
    plain = step(plain_model, x)
    assert len(calls) == 2
    for got, expected in zip(fused, plain, strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    for name, buffer in plain_model.state_dict().items():  # running statistics, counts
        np.testing.assert_allclose(fused_model.state_dict()[name], buffer, rtol=1e-6)


def test_a_leaky_relu_of_negative_slope_runs_apart(monkeypatch):
    """The op takes slopes >= 0 (its mask is y > 0): a negative one runs as two ops."""
    model = conv_bn_relu_net(lambda: nn.LeakyReLU(-0.5))
    calls = calls_of("batch_norm_relu", monkeypatch)
    y = model(vg.randn(2, 3, 6, 6))
    assert calls == [] and np.isfinite(y.data).all()


def test_a_hook_or_guided_relus_keeps_the_modules_apart(monkeypatch):
    model = conv_bn_relu_net()
    x = vg.randn(2, 3, 6, 6)
    calls = calls_of("batch_norm_relu", monkeypatch)
    seen = []
    handle = model[2].register_forward_hook(lambda m, inputs, out: seen.append(out))
    model(x)
    assert len(calls) == 1 and len(seen) == 1 and seen[0].data.min() == 0
    handle.remove()
    with guided_relus(model):  # each ReLU's forward replaced: both must run
        model(x)
    assert len(calls) == 1


@pytest.mark.parametrize("make_block", [
    lambda: models.BasicBlock(16, 16), lambda: models.ResidualBlock(16, 16),
    lambda: models.ResidualBlock(16, 32, stride=2)], ids=["basic", "residual", "projection"])
def test_resnet_block_matches_the_composition(make_block, monkeypatch):
    """The block's input feeds both the convolutions and the shortcut, so its gradient is
    the sum of two: the fused op's residual gradient is a fresh array (no in-place trick
    on a gradient another branch holds) and the sums match the three ops."""
    x = np.random.default_rng(1).standard_normal((4, 16, 6, 6)).astype(np.float32)
    results = []
    calls = calls_of("batch_norm_relu", monkeypatch)
    for fused in (True, False):
        vg.manual_seed(0)
        block = make_block()
        if not fused:  # the same block as the modules read: bn, add, relu
            monkeypatch.setattr(nn.BatchNorm2d, "forward_relu", lambda self, x, residual=None,
                                relu=None: F.relu(self(x) + (0 if residual is None
                                                             else residual)))
        results.append(step(nn.Sequential(nn.Conv2d(16, 16, 1), block), x))
        if fused:  # the first batch norm's ReLU, then the last one's with the sum
            assert len(calls) == 2
    for got, expected in zip(*results, strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
