"""The fast paths of ReLU, softmax cross-entropy and SGD (``accel/fast.py``) against the
NumPy references the ops run where they decline: every memory layout, parts on two
threads, the compiled kernels on and off, NaN and huge values."""

import numpy as np
import pytest
from helpers import counted, torch_or_skip

import visiongrad as vg
from visiongrad import functional as F
from visiongrad.accel import fast, threads
from visiongrad.ops.loss import cross_entropy_reference

NOT_BUILT = "the compiled kernels are not built here (tests/accel/test_native.py says why)"
REDUCTIONS = ["mean", "sum", "none"]


def relu(x):
    """ReLU's forward pass as the op runs it: the fast path, or the reference."""
    return F.relu(x).data


def cut_into_small_parts(monkeypatch):
    """Two cores, no size too small to split (by Python's threads or C's), and blocks of 7
    float32 values."""
    monkeypatch.setattr(threads, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(threads, "C_PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(threads, "available_cores", lambda: 2)
    monkeypatch.setattr(threads, "CACHE_BLOCK_BYTES", 28)


def relu_layouts():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 4, 5, 6)).astype(np.float32)
    return {"C": x, "channels-last": x.transpose(0, 2, 3, 1).copy().transpose(0, 3, 1, 2),
            "F": np.asfortranarray(x), "reversed": x[:, :, ::-1], "strided": x[:, ::2, 1:],
            "0-d negative": np.array(-2.0), "empty": np.zeros((0, 3), np.float32),
            "nan": np.array([np.nan, -1.0, 0.0, 3.0], np.float32)}


@pytest.mark.parametrize("name", list(relu_layouts()))
@pytest.mark.parametrize("parallel", [False, True])
def test_relu_forward_on_every_layout(name, parallel, monkeypatch):
    """accel.relu runs against a cached block of zeros, in memory order and in blocks (or
    declines a non-dense input, which the op's reference takes): ReLU must give max(x, 0)
    (NaN kept) for any layout, keep a dense input's layout, and leave the input alone;
    ``parallel`` cuts it into 2 parts of 7-value blocks."""
    if parallel:
        cut_into_small_parts(monkeypatch)
    x = relu_layouts()[name]
    before = x.copy()
    y = relu(x)
    np.testing.assert_array_equal(y, np.maximum(before, 0))
    np.testing.assert_array_equal(x, before)
    assert y.shape == x.shape and y.dtype == x.dtype
    if np.ravel(x, order="K").base is not None or x.ndim == 0:
        assert sorted(y.strides) == sorted(np.empty_like(x).strides)


def relu_backward_cases():
    """(y, grad) pairs: grad laid out like y (the kernel's case) in C order, channels-last
    and Fortran order, and cases it leaves to NumPy: grad in another layout, float64."""
    rng = np.random.default_rng(8)
    x = rng.standard_normal((3, 4, 5, 6)).astype(np.float32)
    grad = rng.standard_normal(x.shape).astype(np.float32)
    def channels_last(a):
        return a.transpose(0, 2, 3, 1).copy().transpose(0, 3, 1, 2)
    return {"C": (x, grad), "channels-last": (channels_last(x), channels_last(grad)),
            "F": (np.asfortranarray(x), np.asfortranarray(grad)),
            "grad in another layout": (channels_last(x), grad),
            "grad strided": (x[:, :2], grad[:, ::2]),
            "float64": (x.astype(np.float64), grad.astype(np.float64)),
            "zeros and kinks": (np.array([[0.0, -0.0, 1e-30, -1.0]], np.float32),
                                np.array([[1.0, 2.0, 3.0, 4.0]], np.float32))}


@pytest.mark.parametrize("name", list(relu_backward_cases()))
@pytest.mark.parametrize("parallel", [False, True])
@pytest.mark.parametrize("compiled", [True, False])
def test_relu_backward_on_every_layout(name, parallel, compiled, monkeypatch):
    """dx = grad * [y > 0] whichever path runs: the compiled kernel over the flat arrays
    (which must run for float32 grads laid out like y), or NumPy's; ``parallel`` cuts the
    pass into 2 parts (C's threads for the kernel; 7-value blocks for NumPy)."""
    if parallel:
        cut_into_small_parts(monkeypatch)
    if compiled and fast.RELU_BACKWARD is None:
        pytest.skip(NOT_BUILT)
    calls = []
    if compiled:  # the parted kernel where the library has it, the whole one otherwise
        for kernel_name in ("RELU_BACKWARD", "RELU_BACKWARD_PARTS"):
            if getattr(fast, kernel_name) is not None:
                monkeypatch.setattr(fast, kernel_name,
                                    counted(getattr(fast, kernel_name), calls, size_at=3))
    else:
        monkeypatch.setattr(fast, "RELU_BACKWARD", None)
        monkeypatch.setattr(fast, "RELU_BACKWARD_PARTS", None)
    x, grad = relu_backward_cases()[name]
    y = relu(x)
    dx = fast.relu_backward(grad, y)
    if dx is None:  # no fast path fits (small, or laid out unlike y): the op's reference
        assert grad.nbytes <= threads.CACHE_BLOCK_BYTES or grad.strides != y.strides
        dx = grad * (y > 0)
    np.testing.assert_array_equal(dx, grad * (y > 0))
    assert dx.shape == y.shape and dx.dtype == grad.dtype
    kernel_case = grad.dtype == np.float32 and grad.strides == y.strides
    if compiled:
        assert (sum(calls) == y.size) == kernel_case, (calls, kernel_case)


@pytest.mark.parametrize("layout", ["C order", "channels-last", "upstream in C order"])
def test_leaky_relu_kernels_match_the_numpy_lines(layout, monkeypatch):
    """y and dx of F.leaky_relu by the compiled passes (on two cores' parts) and by the
    op's NumPy lines: equal, in x's memory layout, with a NaN, a -0.0 and the kink; an
    upstream gradient laid out otherwise than x (a Flatten's) takes the kernel too."""
    if fast.LEAKY_RELU_FORWARD is None:
        pytest.skip(NOT_BUILT)
    monkeypatch.setattr(threads, "C_PARALLEL_MIN_BYTES", 0)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 5, 4, 6)).astype(np.float32)
    x[0, 0, 0, :3] = [np.nan, -0.0, 0.0]
    upstream = rng.standard_normal(x.shape).astype(np.float32)
    if layout != "C order":
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    if layout == "channels-last":
        upstream = np.ascontiguousarray(upstream.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)

    def both(compiled):
        with monkeypatch.context() as patch:
            if not compiled:
                for name in ("LEAKY_RELU_FORWARD", "LEAKY_RELU_BACKWARD",
                             "LEAKY_RELU_FORWARD_PARTS", "LEAKY_RELU_BACKWARD_PARTS"):
                    patch.setattr(fast, name, None)
            tensor = vg.tensor(x, requires_grad=True)
            y = F.leaky_relu(tensor, 0.2)
            y.backward(upstream)
        return y.data, tensor.grad

    (y, dx), (y_ref, dx_ref) = both(True), both(False)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(dx, dx_ref)
    assert np.signbit(y[0, 0, 0, 1]) and y.strides == x.strides
    compiled_dx = fast.leaky_relu_backward(upstream, x, 0.2)  # any upstream layout fits
    np.testing.assert_array_equal(compiled_dx, dx_ref)
    assert compiled_dx.strides == x.strides


def test_relu_backward_kernel_zeroes_a_nan_gradient_where_the_unit_is_off():
    """As in PyTorch: the unit passed nothing forward, so nothing flows back, not even NaN."""
    if fast.RELU_BACKWARD is None:
        pytest.skip(NOT_BUILT)
    torch = torch_or_skip()
    y = relu(np.array([-1.0, 0.0, 2.0, 3.0], np.float32))
    grad = np.array([np.nan, np.inf, 1.0, np.nan], np.float32)
    expected = torch.ops.aten.threshold_backward(torch.from_numpy(grad),
                                                 torch.from_numpy(y), 0).numpy()
    np.testing.assert_array_equal(fast.relu_backward(grad, y), expected)
    np.testing.assert_array_equal(expected, [0.0, 0.0, 1.0, np.nan])


def cross_entropy_both_ways(logits, labels, reduction, upstream, monkeypatch, compiled):
    """Loss and gradient of ``F.cross_entropy`` with the compiled kernels on or off (then
    ``cross_entropy_reference`` runs), and how many times the forward kernel ran."""
    calls = []
    if compiled:
        kernel = fast.CROSS_ENTROPY_FORWARD
        monkeypatch.setattr(fast, "CROSS_ENTROPY_FORWARD",
                            lambda *args: calls.append(1) or kernel(*args))
    else:
        monkeypatch.setattr(fast, "CROSS_ENTROPY_FORWARD", None)
    scores = vg.tensor(logits, requires_grad=True)
    loss = F.cross_entropy(scores, labels, reduction=reduction)
    loss.backward(upstream)
    monkeypatch.undo()
    return loss.data, scores.grad, len(calls)


@pytest.fixture
def cross_entropy_kernel():
    if fast.CROSS_ENTROPY_FORWARD is None:
        pytest.skip(NOT_BUILT)


# (scores, labels): a batch of one, 1000 classes, logits of 1e4, a NaN score, and cases
# the kernel leaves to NumPy: int32 labels, scores not in C order, (N, C, H) scores
CROSS_ENTROPY_CASES = {
    "one example": (np.array([[0.5, -1.0, 2.0]], np.float32), np.array([2])),
    "1000 classes": (np.random.default_rng(3).standard_normal((16, 1000)).astype(np.float32),
                     np.random.default_rng(4).integers(0, 1000, 16)),
    "logits of 1e4": (np.array([[1e4, 0.0, -1e4], [0.0, 1e4, 1e4]], np.float32),
                      np.array([1, 2])),
    "NaN score": (np.array([[0.0, np.nan, 1.0], [1.0, 2.0, 3.0]], np.float32),
                  np.array([0, 1])),
    "int32 labels": (np.array([[0.5, -1.0], [2.0, 0.0]], np.float32),
                     np.array([1, 0], np.int32)),
    "scores in F order": (np.asfortranarray(np.arange(12, dtype=np.float32).reshape(4, 3)),
                          np.array([0, 1, 2, 0])),
    "spatial": (np.random.default_rng(5).standard_normal((2, 3, 4)).astype(np.float32),
                np.array([[0, 1, 2, 1], [2, 2, 0, 0]])),
}


@pytest.mark.parametrize("name", list(CROSS_ENTROPY_CASES))
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_kernel_matches_numpy(name, reduction, monkeypatch, cross_entropy_kernel):
    """The compiled forward and backward against the NumPy lines (float32), with a
    reversed upstream gradient for reduction="none"; the kernel must run exactly for float32
    (N, C) scores in C order with int64 labels."""
    logits, labels = CROSS_ENTROPY_CASES[name]
    upstream = None
    if reduction == "none":  # every other value, reversed: a negative stride
        upstream = np.linspace(2.0, -1.0, 2 * labels.size, dtype=np.float32)[::-2]
        upstream = upstream.reshape(labels.shape)
    ours = cross_entropy_both_ways(logits, labels, reduction, upstream, monkeypatch, True)
    numpy = cross_entropy_both_ways(logits, labels, reduction, upstream, monkeypatch, False)
    np.testing.assert_allclose(ours[0], numpy[0], rtol=2e-6, atol=2e-6)
    np.testing.assert_allclose(ours[1], numpy[1], rtol=2e-6, atol=1e-7)
    assert ours[0].dtype == numpy[0].dtype and ours[0].shape == numpy[0].shape
    kernel_case = logits.ndim == 2 and logits.flags.c_contiguous and labels.dtype == np.int64
    assert ours[2] == kernel_case
    if name == "NaN score":
        assert np.isnan(ours[0]).any() and np.isnan(ours[1][0]).all()


def test_cross_entropy_kernel_names_a_bad_label(cross_entropy_kernel):
    scores = np.zeros((4, 3), np.float32)
    with pytest.raises(ValueError, match=r"label 7 is out of range for 3 classes"):
        F.cross_entropy(scores, np.array([0, 1, 7, 2]))
    with pytest.raises(ValueError, match=r"label -2 is out of range for 3 classes"):
        F.cross_entropy(scores, np.array([-2, 1, 0, 2]))




def test_cross_entropy_kernel_on_each_cores_rows(monkeypatch, cross_entropy_kernel):
    """Rows cut into one part per core (two here) give the one-part losses and gradient, and
    a bad label in the second part is still named."""
    from visiongrad.accel import threads
    rng = np.random.default_rng(6)
    scores = (3 * rng.standard_normal((301, 256))).astype(np.float32)
    labels = rng.integers(0, 256, 301)
    alone = fast.cross_entropy(scores, labels)
    monkeypatch.setattr(threads, "available_cores", lambda: 2)
    monkeypatch.setattr(threads, "PARALLEL_MIN_BYTES", 0)
    parts = fast.cross_entropy(scores, labels)
    upstream = rng.standard_normal(301).astype(np.float32)
    np.testing.assert_array_equal(parts.losses, alone.losses)
    np.testing.assert_array_equal(parts.backward(upstream), alone.backward(upstream))
    labels[250] = 300
    with pytest.raises(ValueError, match=r"label 300 is out of range for 256 classes"):
        F.cross_entropy(scores, labels)


@pytest.mark.parametrize("name", ["one example", "1000 classes", "logits of 1e4"])
def test_cross_entropy_kernel_matches_the_reference_directly(name, cross_entropy_kernel):
    """accel.cross_entropy's losses and gradient against ``cross_entropy_reference``
    computed in float64 from the same float32 scores."""
    scores, labels = CROSS_ENTROPY_CASES[name]
    result = fast.cross_entropy(scores, labels.astype(np.int64))
    assert result is not None
    losses, grad = cross_entropy_reference(scores.astype(np.float64), labels)
    upstream = np.linspace(0.5, 2.0, len(labels)).astype(np.float32)
    np.testing.assert_allclose(result.losses, losses, rtol=2e-6, atol=2e-6)
    np.testing.assert_allclose(result.backward(upstream), grad * upstream[:, None],
                               rtol=2e-6, atol=1e-6)


def test_cross_entropy_kernel_declines_a_bad_label(cross_entropy_kernel):
    """A label out of range does not fit: the kernel returns None and the op's reference
    names the label."""
    scores = np.zeros((4, 3), np.float32)
    assert fast.cross_entropy(scores, np.array([0, 1, 7, 2])) is None


@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("cores", [1, 3, 64])
def test_sgd_momentum_step_kernel_against_the_numpy_update(nesterov, cores, monkeypatch):
    """One fused update against the update rule in NumPy, in one part or in parts on the C
    helper threads (3, or more parts asked than values): the same bits either way (no
    fused multiply-add, so a value rounds alike in a loop's vector body and scalar tail); it
    declines float64 and arrays out of C order (optim/sgd.py then runs its NumPy lines)."""
    if fast.SGD_MOMENTUM_STEP is None:
        pytest.skip(NOT_BUILT)
    rng = np.random.default_rng(4)
    x, b, g = (rng.standard_normal((5, 3)).astype(np.float32) for _ in range(3))
    lr, momentum, dampening, decay = 0.1, 0.9, 0.0 if nesterov else 0.2, 0.01
    g_decayed = g + decay * x
    b_new = momentum * b + (1 - dampening) * g_decayed
    x_new = x - lr * (g_decayed + momentum * b_new if nesterov else b_new)
    x_one, b_one = x.copy(), b.copy()
    assert fast.sgd_momentum_step(x_one, g, b_one, lr, momentum, dampening, decay, nesterov)
    monkeypatch.setattr(threads, "C_PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(threads, "available_cores", lambda: cores)
    assert threads.row_parts(x.size, x.nbytes) == min(cores, x.size)
    assert fast.sgd_momentum_step(x, g, b, lr, momentum, dampening, decay, nesterov)
    np.testing.assert_allclose(b, b_new, rtol=1e-6)
    np.testing.assert_allclose(x, x_new, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(x, x_one)
    np.testing.assert_array_equal(b, b_one)
    assert not fast.sgd_momentum_step(x.astype(np.float64), g, b, lr, momentum, 0, 0, False)
    assert not fast.sgd_momentum_step(x, np.asfortranarray(g), b, lr, momentum, 0, 0, False)
    assert not fast.sgd_momentum_step(x, g, b[:4], lr, momentum, 0, 0, False)
