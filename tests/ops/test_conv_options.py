"""Issue 15's convolution and pooling options (groups, dilation, padding "same"/"valid",
conv1d, ceil_mode, count_include_pad, divisor_override), interpolate and instance norm:
float64 gradient checks without PyTorch, the naive loops as oracle, PyTorch parity on
seeded random configurations; and issue 14's argument errors."""

import warnings

import numpy as np
import pytest
from helpers import assert_gradcheck, assert_matches_torch, torch_or_skip

import visiongrad as vg
from visiongrad import functional as F
from visiongrad import nn
from visiongrad.ops import conv_naive

STEP = 1e-4  # convolution and pooling are (piecewise) linear: no truncation error


def random_options(seed: int, transposed: bool = False) -> dict:
    """Groups, dilation, stride, padding and sizes drawn at random, the input large enough."""
    r = np.random.default_rng(seed)
    groups = int(r.choice([1, 2, 3]))
    c, f = groups * int(r.integers(1, 3)), groups * int(r.integers(1, 3))
    kernel = tuple(int(k) for k in r.integers(1, 4, size=2))
    dilation = tuple(int(d) for d in r.integers(1, 3, size=2))
    stride = tuple(int(s) for s in r.integers(1, 3, size=2))
    padding = tuple(int(p) for p in r.integers(0, 3, size=2))
    if transposed:
        padding = tuple(min(p, d * (k - 1) // 2) for p, d, k in zip(padding, dilation, kernel,
                                                                     strict=True))
    size = tuple(int(r.integers(max(1, d * (k - 1) + 1 - 2 * p), 9))
                 for k, d, p in zip(kernel, dilation, padding, strict=True))
    n = int(r.integers(1, 3))
    w_shape = (c, f // groups, *kernel) if transposed else (f, c // groups, *kernel)
    return {"x": r.standard_normal((n, c, *size)), "w": r.standard_normal(w_shape),
            "b": r.standard_normal(f), "stride": stride, "padding": padding,
            "dilation": dilation, "groups": groups,
            "output_padding": tuple(int(r.integers(0, s)) for s in stride)}


def conv_fn(o):
    return lambda x, w, b: F.conv2d(x, w, b, o["stride"], o["padding"], o["dilation"],
                                    o["groups"])


def transpose_fn(o):
    return lambda x, w, b: F.conv_transpose2d(x, w, b, o["stride"], o["padding"],
                                              o["output_padding"], o["groups"], o["dilation"])


@pytest.mark.parametrize("seed", range(6))
def test_grouped_dilated_conv_gradcheck(seed):
    o = random_options(seed)
    assert_gradcheck(conv_fn(o), [o["x"], o["w"], o["b"]], max_coords=40, h=STEP)
    t = random_options(seed, transposed=True)
    assert_gradcheck(transpose_fn(t), [t["x"], t["w"], t["b"]], max_coords=40, h=STEP)


@pytest.mark.parametrize("seed", range(12))
def test_grouped_dilated_conv_matches_naive(seed):
    """Forward and all three gradients against the loop versions, which grew groups and
    dilation; both directions."""
    o = random_options(100 + seed)
    geometry = (o["stride"], o["padding"], o["dilation"], o["groups"])
    for transposed in (False, True):
        if transposed:
            o = random_options(100 + seed, transposed=True)
        x, w, b = (vg.tensor(o[k], requires_grad=True) for k in ("x", "w", "b"))
        y = (transpose_fn(o) if transposed else conv_fn(o))(x, w, b)
        if transposed:
            naive = conv_naive.conv_transpose2d_naive(o["x"], o["w"], o["b"], o["stride"],
                                                      o["padding"], o["output_padding"],
                                                      o["dilation"], o["groups"])
        else:
            naive = conv_naive.conv2d_naive(o["x"], o["w"], o["b"], *geometry)
        np.testing.assert_allclose(y.data, naive, atol=1e-12)
        dy = np.random.default_rng(seed).standard_normal(y.shape)
        y.backward(dy)
        backward = conv_naive.conv_transpose2d_naive_backward if transposed else \
            conv_naive.conv2d_naive_backward
        expected = backward(dy, o["x"], o["w"], o["stride"], o["padding"], o["dilation"],
                            o["groups"])
        for ours, reference in zip((x.grad, w.grad, b.grad), expected, strict=True):
            np.testing.assert_allclose(ours, reference, atol=1e-11)


@pytest.mark.parametrize("seed", range(10))
def test_grouped_dilated_conv_matches_torch(seed):
    torch = torch_or_skip()
    tf = torch.nn.functional
    o = random_options(200 + seed)
    t = random_options(200 + seed, transposed=True)
    for dtype in (np.float32, np.float64):
        assert_matches_torch(conv_fn(o), lambda x, w, b: tf.conv2d(
            x, w, b, o["stride"], o["padding"], o["dilation"], o["groups"]),
            [o["x"], o["w"], o["b"]], dtype=dtype)
        assert_matches_torch(transpose_fn(t), lambda x, w, b: tf.conv_transpose2d(
            x, w, b, t["stride"], t["padding"], t["output_padding"], t["groups"],
            t["dilation"]), [t["x"], t["w"], t["b"]], dtype=dtype)


def test_depthwise_conv_is_one_filter_per_channel():
    """groups = C: channel c of the output is channel c of the input convolved alone."""
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 4, 6, 5)), rng.standard_normal((4, 1, 3, 3))
    y = F.conv2d(x, w, padding=1, groups=4).data
    for c in range(4):
        alone = F.conv2d(x[:, c:c + 1], w[c:c + 1], padding=1).data
        np.testing.assert_allclose(y[:, c:c + 1], alone, atol=1e-13)


@pytest.mark.parametrize("kernel, dilation", [((3, 3), (1, 1)), ((2, 4), (1, 1)),
                                              ((3, 2), (2, 3)), ((4, 1), (1, 2))])
def test_padding_same_and_valid(kernel, dilation):
    """"same" keeps H and W (the odd zero at the bottom/right, as PyTorch); gradcheck; parity."""
    rng = np.random.default_rng(1)
    x, w, b = (rng.standard_normal(s) for s in ((2, 3, 7, 6), (4, 3, *kernel), (4,)))
    same = lambda x, w, b: F.conv2d(x, w, b, padding="same", dilation=dilation)  # noqa: E731
    assert same(x, w, b).shape == (2, 4, 7, 6)
    assert_gradcheck(same, [x, w, b], max_coords=40, h=STEP)
    np.testing.assert_array_equal(F.conv2d(x, w, b, padding="valid", dilation=dilation).data,
                                  F.conv2d(x, w, b, dilation=dilation).data)
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():  # torch warns that an even kernel needs a padded copy
        warnings.simplefilter("ignore", UserWarning)
        assert_matches_torch(same, lambda x, w, b: torch.nn.functional.conv2d(
            x, w, b, padding="same", dilation=dilation), [x, w, b], dtype=np.float64)


@pytest.mark.parametrize("seed", range(6))
def test_conv1d_gradcheck_and_torch(seed):
    r = np.random.default_rng(300 + seed)
    groups = int(r.choice([1, 2]))
    c, f, k = 2 * groups, 3 * groups, int(r.integers(1, 4))
    stride, dilation = int(r.integers(1, 3)), int(r.integers(1, 3))
    padding = "same" if seed % 3 == 0 else int(r.integers(0, 3))
    stride = 1 if padding == "same" else stride
    x, w, b = r.standard_normal((2, c, 9)), r.standard_normal((f, c // groups, k)), \
        r.standard_normal(f)
    fn = lambda x, w, b: F.conv1d(x, w, b, stride, padding, dilation, groups)  # noqa: E731
    assert_gradcheck(fn, [x, w, b], max_coords=40, h=STEP)
    layer = nn.Conv1d(c, f, k, stride, padding, dilation, groups)
    assert layer.weight.shape == (f, c // groups, k)
    torch = pytest.importorskip("torch")
    assert_matches_torch(fn, lambda x, w, b: torch.nn.functional.conv1d(
        x, w, b, stride, padding, dilation, groups), [x, w, b], dtype=np.float64)


def test_nn_conv_layers_take_groups_and_dilation_like_torch():
    torch = torch_or_skip()
    ours = nn.Conv2d(4, 6, 3, stride=2, padding=2, dilation=2, groups=2).to(np.float64)
    theirs = torch.nn.Conv2d(4, 6, 3, stride=2, padding=2, dilation=2, groups=2).double()
    ours_t = nn.ConvTranspose2d(4, 6, 3, 2, 1, 1, groups=2, dilation=2).to(np.float64)
    theirs_t = torch.nn.ConvTranspose2d(4, 6, 3, 2, 1, 1, groups=2, dilation=2).double()
    x = np.random.default_rng(2).standard_normal((2, 4, 9, 8))
    for a, b in ((ours, theirs), (ours_t, theirs_t)):
        assert a.weight.shape == tuple(b.weight.shape)
        a.load_state_dict({k: v.detach().numpy() for k, v in b.state_dict().items()})
        np.testing.assert_allclose(a(vg.tensor(x)).data, b(torch.tensor(x)).detach().numpy(),
                                   atol=1e-12)


# ----- issue 14: arguments ---------------------------------------------------------------


def test_conv2d_on_a_batch_of_zero_returns_an_empty_result_with_gradients():
    w = vg.tensor(np.ones((4, 3, 3, 3)), requires_grad=True)
    b = vg.tensor(np.ones(4), requires_grad=True)
    x = vg.tensor(np.ones((0, 3, 8, 8)), requires_grad=True)
    y = F.conv2d(x, w, b, stride=2, padding=1)
    assert y.shape == (0, 4, 4, 4)
    y.sum().backward()
    assert x.grad.shape == (0, 3, 8, 8)
    np.testing.assert_array_equal(w.grad, 0)
    np.testing.assert_array_equal(b.grad, 0)
    assert F.conv_transpose2d(np.ones((0, 3, 4, 4)), np.ones((3, 2, 3, 3))).shape == (0, 2, 6, 6)


def test_stride_and_padding_arguments_are_checked_by_type():
    x, w = np.ones((1, 2, 6, 6)), np.ones((3, 2, 3, 3))
    assert F.conv2d(x, w, stride=np.int64(2)).shape == (1, 3, 2, 2)
    assert F.conv2d(x, w, stride=(np.int32(2), 1)).shape == (1, 3, 2, 4)
    with pytest.raises(TypeError, match=r"stride must be an int or a pair of ints.*1\.5"):
        F.conv2d(x, w, stride=1.5)
    with pytest.raises(TypeError, match="stride"):
        F.max_pool2d(x, 2, stride=1.5)
    with pytest.raises(ValueError, match=r"padding must be an int, a pair of ints, 'same' or "
                                         r"'valid', got 'ab'"):
        F.conv2d(x, w, padding="ab")
    with pytest.raises(ValueError, match="padding='same' needs stride 1"):
        F.conv2d(x, w, stride=2, padding="same")
    with pytest.raises(ValueError, match="groups=4 must be positive and divide"):
        F.conv2d(x, np.ones((4, 1, 3, 3)), groups=4)
    with pytest.raises(ValueError, match="dilation must be positive"):
        F.conv2d(x, w, dilation=0)


def test_boolean_and_integer_convolution_is_refused_as_in_torch():
    with pytest.raises(TypeError, match="conv2d: input must be floating point, got dtype bool"):
        F.conv2d(np.ones((1, 2, 4, 4), dtype=bool), np.ones((1, 2, 3, 3), dtype=bool))
    with pytest.raises(TypeError, match="conv_transpose2d: input must be floating point"):
        F.conv_transpose2d(np.ones((1, 2, 4, 4), dtype=np.int64), np.ones((2, 1, 3, 3), int))


def test_layers_refuse_a_kernel_of_zero_naming_it():
    with pytest.raises(ValueError, match=r"Conv2d: kernel_size must be positive, got \(0, 0\)"):
        nn.Conv2d(1, 8, 0)
    with pytest.raises(ValueError, match="Conv2d: stride must be positive"):
        nn.Conv2d(1, 8, 3, stride=(1, 0))
    with pytest.raises(ValueError, match=r"groups=3 must divide in_channels \(4\)"):
        nn.Conv2d(4, 6, 3, groups=3)
    with pytest.raises(ValueError, match="MaxPool2d: kernel_size must be positive"):
        nn.MaxPool2d(0)


def test_norm_and_linear_argument_errors():
    with pytest.raises(ValueError, match=r"batch_norm: input of shape \(5,\) needs axes"):
        F.batch_norm(np.ones(5), None, None, training=True)
    with pytest.raises(TypeError, match="batch_norm: input must be floating point, got dtype "
                                        "int64"):
        F.batch_norm(np.ones((4, 3), dtype=np.int64), None, None, training=True)
    with pytest.raises(ValueError, match="batch_norm: eps must be non-negative, got -1"):
        F.batch_norm(np.ones((4, 3)), None, None, training=True, eps=-1)
    assert np.isfinite(F.batch_norm(np.arange(12.0).reshape(4, 3), None, None, training=True,
                                    eps=0).data).all()  # eps = 0 allowed, as in PyTorch
    with pytest.raises(ValueError, match=r"linear: weight must be 2-D \(out_features, "
                                         r"in_features\), got shape \(3,\)"):
        F.linear(np.ones((2, 3)), np.ones(3))
    with pytest.raises(ValueError, match="instance_norm: expected more than 1 spatial element"):
        F.instance_norm(np.ones((2, 3, 1)))


# ----- pooling ---------------------------------------------------------------------------


def random_pool(seed: int) -> dict:
    r = np.random.default_rng(seed)
    kernel = tuple(int(k) for k in r.integers(1, 5, size=2))
    stride = tuple(int(s) for s in r.integers(1, 4, size=2))
    padding = tuple(int(r.integers(0, k // 2 + 1)) for k in kernel)
    size = tuple(int(r.integers(max(1, k - 2 * p), 10)) for k, p in zip(kernel, padding,
                                                                        strict=True))
    return {"x": r.standard_normal((2, 3, *size)), "kernel": kernel, "stride": stride,
            "padding": padding, "ceil_mode": bool(r.integers(0, 2)) or seed % 2 == 0,
            "count_include_pad": bool(r.integers(0, 2))}


def pool_fns(p):
    args = (p["kernel"], p["stride"], p["padding"])
    return (lambda x: F.max_pool2d(x, *args, ceil_mode=p["ceil_mode"]),
            lambda x: F.avg_pool2d(x, *args, ceil_mode=p["ceil_mode"],
                                   count_include_pad=p["count_include_pad"]))


@pytest.mark.parametrize("seed", range(8))
def test_pool_options_gradcheck(seed):
    p = random_pool(seed)
    for fn in pool_fns(p):
        assert_gradcheck(fn, [p["x"]], max_coords=60, h=STEP)


@pytest.mark.parametrize("seed", range(16))
def test_pool_options_match_torch(seed):
    torch = torch_or_skip()
    tf = torch.nn.functional
    p = random_pool(400 + seed)
    args = (p["kernel"], p["stride"], p["padding"])
    ours_max, ours_avg = pool_fns(p)
    for dtype in (np.float32, np.float64):
        assert_matches_torch(ours_max, lambda x: tf.max_pool2d(
            x, *args, ceil_mode=p["ceil_mode"]), [p["x"]], dtype=dtype)
        assert_matches_torch(ours_avg, lambda x: tf.avg_pool2d(
            x, *args, ceil_mode=p["ceil_mode"], count_include_pad=p["count_include_pad"]),
            [p["x"]], dtype=dtype)
        assert_matches_torch(lambda x: F.avg_pool2d(x, *args, divisor_override=3),
                             lambda x: tf.avg_pool2d(x, *args, divisor_override=3), [p["x"]],
                             dtype=dtype)
    _, ours = F.max_pool2d(p["x"], *args, ceil_mode=p["ceil_mode"], return_indices=True)
    _, theirs = tf.max_pool2d(torch.tensor(p["x"]), *args, ceil_mode=p["ceil_mode"],
                              return_indices=True)
    np.testing.assert_array_equal(ours.data, theirs.numpy())


def test_avg_pool_count_include_pad_false_divides_by_real_positions():
    x = np.ones((1, 1, 3, 3))
    np.testing.assert_allclose(F.avg_pool2d(x, 3, 1, 1, count_include_pad=False).data, 1.0)
    corner = F.avg_pool2d(x, 3, 1, 1).data[0, 0, 0, 0]
    assert corner == pytest.approx(4 / 9)


def test_ceil_mode_output_size_follows_pytorch_rule():
    """Ho = ceil((H + 2p - k) / s) + 1, less one if the last window starts in the padding."""
    assert F.max_pool2d(np.zeros((1, 1, 5, 5)), 2, ceil_mode=True).shape == (1, 1, 3, 3)
    assert F.max_pool2d(np.zeros((1, 1, 5, 5)), 3, 2, 1, ceil_mode=True).shape == (1, 1, 3, 3)
    assert F.max_pool2d(np.zeros((1, 1, 6, 6)), 3, 2, 1, ceil_mode=True).shape == (1, 1, 4, 4)
    # ceil(5 / 2) + 1 = 4 windows would start at -1, 1, 3, 5: 5 is in the padding, so 3
    assert F.max_pool2d(np.zeros((1, 1, 5, 5)), 2, 2, 1, ceil_mode=True).shape == (1, 1, 3, 3)


@pytest.mark.parametrize("kernel, stride", [(2, 2), (3, 1), (4, 4)])
def test_max_pool_passes_the_gradient_of_a_nan_maximum(kernel, stride):
    """NaN is the maximum of a window holding one, and its gradient goes to the window's
    last NaN, as PyTorch's kernel does (the tiled and the general backward alike)."""
    x = np.random.default_rng(5).standard_normal((1, 2, 8, 8))
    x[0, 0, 1, 1] = x[0, 1, 2, 3] = x[0, 1, 3, 2] = np.nan
    xt = vg.tensor(x, requires_grad=True)
    y = F.max_pool2d(xt, kernel, stride)
    y.sum().backward()
    assert np.isnan(y.data[0, 0]).any() and xt.grad[0, 0, 1, 1] > 0
    torch = pytest.importorskip("torch")
    t = torch.tensor(x, requires_grad=True)
    torch.nn.functional.max_pool2d(t, kernel, stride).sum().backward()
    np.testing.assert_array_equal(xt.grad, t.grad.numpy())


def test_nn_pool_layers_take_the_options():
    x = vg.tensor(np.random.default_rng(6).standard_normal((1, 2, 7, 7)))
    assert nn.MaxPool2d(2, ceil_mode=True)(x).shape == (1, 2, 4, 4)
    layer = nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False)
    np.testing.assert_allclose(layer(x).data, F.avg_pool2d(x, 3, 2, 1, True, False).data)
    assert "ceil_mode=True" in repr(nn.MaxPool2d(2, ceil_mode=True))
    y = nn.AdaptiveAvgPool2d((2, 3))(x)  # the adaptive pools, reachable from nn and F alike
    np.testing.assert_allclose(y.data, F.adaptive_avg_pool2d(x, (2, 3)).data)


# ----- interpolate -----------------------------------------------------------------------


INTERPOLATIONS = [dict(size=(7, 3)), dict(scale_factor=2), dict(scale_factor=(0.5, 1.7)),
                  dict(size=(9, 2), mode="bilinear", align_corners=True),
                  dict(size=(4, 11), mode="bilinear", align_corners=False),
                  dict(scale_factor=1.3, mode="bilinear", recompute_scale_factor=True),
                  dict(size=1, mode="bilinear", align_corners=True),
                  dict(scale_factor=(3, 0.4), mode="bilinear")]


@pytest.mark.parametrize("options", INTERPOLATIONS)
def test_interpolate_gradcheck_and_torch(options):
    x = np.random.default_rng(7).standard_normal((2, 3, 5, 6))
    fn = lambda x: F.interpolate(x, **options)  # noqa: E731
    assert_gradcheck(fn, [x], max_coords=60)
    torch = pytest.importorskip("torch")
    for dtype in (np.float32, np.float64):
        assert_matches_torch(fn, lambda x: torch.nn.functional.interpolate(x, **options), [x],
                             dtype=dtype)
    np.testing.assert_allclose(nn.Upsample(**options)(vg.tensor(x)).data, fn(x).data)


def test_interpolate_formulas_by_hand():
    x = np.arange(4.0).reshape(1, 1, 1, 4)
    np.testing.assert_array_equal(F.interpolate(x, size=(1, 8)).data[0, 0, 0],
                                  [0, 0, 1, 1, 2, 2, 3, 3])
    corners = F.interpolate(x, size=(1, 7), mode="bilinear", align_corners=True).data
    np.testing.assert_allclose(corners[0, 0, 0], np.linspace(0, 3, 7))
    half = F.interpolate(x, size=(1, 8), mode="bilinear", align_corners=False).data
    np.testing.assert_allclose(half[0, 0, 0], [0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3])
    with pytest.raises(ValueError, match="exactly one of size and scale_factor"):
        F.interpolate(x)
    with pytest.raises(ValueError, match="align_corners only goes with mode='bilinear'"):
        F.interpolate(x, size=2, align_corners=True)


# ----- instance norm ---------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(2, 3, 5), (3, 4, 4, 5)])
def test_instance_norm_gradcheck_and_torch(shape):
    r = np.random.default_rng(8)
    x, w, b = r.standard_normal(shape), r.standard_normal(shape[1]), r.standard_normal(shape[1])
    fn = lambda x, w, b: F.instance_norm(x, weight=w, bias=b)  # noqa: E731
    assert_gradcheck(fn, [x, w, b], max_coords=60, h=1e-5)  # a larger step, as test_norm's
    torch = pytest.importorskip("torch")
    assert_matches_torch(fn, lambda x, w, b: torch.nn.functional.instance_norm(
        x, weight=w, bias=b), [x, w, b], dtype=np.float64)
    ours = [np.zeros(shape[1]), np.ones(shape[1])]
    theirs = [torch.tensor(a.copy()) for a in ours]
    F.instance_norm(x, *ours, momentum=0.3)
    torch.nn.functional.instance_norm(torch.tensor(x), *theirs, momentum=0.3)
    for a, t in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, t.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("affine, track", [(False, False), (True, True), (True, False)])
def test_nn_instance_norm_matches_torch_in_both_modes(affine, track):
    torch = torch_or_skip()
    x = np.random.default_rng(9).standard_normal((3, 4, 5, 6))
    ours = nn.InstanceNorm2d(4, affine=affine, track_running_stats=track).to(np.float64)
    theirs = torch.nn.InstanceNorm2d(4, affine=affine, track_running_stats=track).double()
    assert sorted(ours.state_dict()) == sorted(theirs.state_dict())
    for mode in ("train", "eval"):
        getattr(ours, mode)(), getattr(theirs, mode)()
        np.testing.assert_allclose(ours(vg.tensor(x)).data,
                                   theirs(torch.tensor(x)).detach().numpy(), atol=1e-10)
    for key, value in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[key], value.numpy(), atol=1e-12)
