"""The compiled int8 product and im2col (``accel/kernels/int8_gemm.c`` through
``accel/int8.py``) against their NumPy references in ``compress/int8.py``: the same
integers and the same float32 epilogue, value for value, on both compiled paths."""

import os
import subprocess
import sys

import numpy as np
import pytest

from visiongrad.accel import int8
from visiongrad.accel.machine import cpuinfo
from visiongrad.compress.int8 import Int8Conv2d, int8_gemm_reference

rng = np.random.default_rng(5)


def cpu_flags() -> set:
    line = next((line for line in cpuinfo().splitlines() if line.startswith("flags")), "")
    return set(line.split())


def test_kernel_is_loaded_where_the_cpu_runs_it():
    """Every path the CPU's flags allow is offered, so the tests below run each of them."""
    flags = cpu_flags()
    assert int8.cpu_vnni_flags() == [f for f in ("avx_vnni", "avx512_vnni") if f in flags]
    if os.environ.get("VISIONGRAD_NATIVE") == "0" or "avx2" not in flags:
        assert int8.kernel_path() is None or "avx2" in flags
        return
    expected = ["avx2"] + ["vnni"] * ("avx_vnni" in flags) + ["avx512"] * (
        {"avx512f", "avx512bw", "avx512_vnni"} <= flags)
    assert int8.supported_paths() == expected
    assert int8.kernel_path() == expected[-1]


def paths():
    if int8.kernel_path() is None:
        pytest.skip("the int8 kernel is not available here (see the test above)")
    return int8.supported_paths()


def pack_reference(weight_q, path):
    """The packed layout written out loop by loop, as the kernel's comment states it."""
    step = 2 if path == "avx2" else 4
    filters, depth = weight_q.shape
    cols, padded_depth = int8.padded(filters, 16), int8.padded(depth, 4)
    out = np.zeros((cols // 16, padded_depth // step, 16, step), np.int16)
    for f in range(filters):
        for k in range(depth):
            out[f // 16, k // step, f % 16, k % step] = weight_q[f, k]
    return out


@pytest.mark.parametrize("shape", [(3, 5), (17, 6), (32, 52)])
def test_packing_matches_the_documented_layout(shape):
    weight_q = rng.integers(-127, 128, shape).astype(np.int8)
    for path in int8.PATHS:
        packed = int8.pack_weights(weight_q, path)
        assert packed.dtype == (np.int16 if path == "avx2" else np.int8)
        np.testing.assert_array_equal(packed, pack_reference(weight_q, path))


# rows, depth, filters: a partial tile of rows, depth not a multiple of 4, one filter,
# filters across an odd and an even number of blocks and a partial block, a long depth
SHAPES = [(1, 1, 1), (7, 13, 5), (37, 52, 32), (300, 288, 70), (13, 3000, 10), (9, 8, 48)]


@pytest.mark.parametrize("rows, depth, filters", SHAPES)
@pytest.mark.parametrize("float_out", [False, True])
def test_product_equals_the_numpy_reference_bit_for_bit(rows, depth, filters, float_out):
    padded = int8.padded(depth, 4)
    a = np.zeros((rows, padded), np.uint8)
    a[:, :depth] = rng.integers(0, 256, (rows, depth))
    weight_q = rng.integers(-127, 128, (filters, depth)).astype(np.int8)
    weight_q[0] = 127  # extreme products: 255 * 127 summed over the whole depth
    a[0, :depth] = 255
    col_offset = rng.integers(-50000, 50000, filters).astype(np.int32)
    scale = (rng.random(filters) * 1e-3).astype(np.float32)
    bias = rng.standard_normal(filters).astype(np.float32) * 20
    reference = int8_gemm_reference(a, weight_q, col_offset, scale, bias, 9, 4, float_out)
    exact = (a[:, :depth].astype(np.int64) @ weight_q.T.astype(np.int64)
             + col_offset).astype(np.float32)
    values = exact * scale + bias
    np.testing.assert_array_equal(reference, values if float_out else np.clip(
        np.rint(values) + 9, 4, 255).astype(np.uint8))
    for path in paths():
        kernel = int8.Int8Gemm.build(weight_q, col_offset, scale, bias, 9, 4, float_out, path)
        out = kernel(a)
        assert out.shape == (rows, filters)
        np.testing.assert_array_equal(out, reference, err_msg=path)


def test_product_refuses_rows_of_the_wrong_depth_and_unknown_paths():
    paths()
    with pytest.raises(ValueError, match="does not run here"):
        int8.Int8Gemm.build(np.ones((4, 6), np.int8), np.zeros(4, np.int32),
                            np.ones(4, np.float32), np.zeros(4, np.float32), 0, 0, True, "sse")
    kernel = int8.Int8Gemm.build(np.ones((4, 6), np.int8), np.zeros(4, np.int32),
                                 np.ones(4, np.float32), np.zeros(4, np.float32), 0, 0, True)
    with pytest.raises(ValueError, match="uint8"):
        kernel(np.zeros((3, 6), np.uint8))


# (N, H, W, C), kernel, stride, padding: one channel and a 7x7 window (rows of 8 bytes),
# odd channels, strides, padding wider than the kernel reaches, no padding
CONVS = [((2, 9, 11, 1), (7, 7), (1, 1), (3, 3)), ((3, 8, 7, 3), (3, 2), (2, 1), (1, 2)),
         ((1, 5, 5, 32), (3, 3), (1, 1), (1, 1)), ((2, 6, 6, 5), (1, 1), (1, 1), (0, 0)),
         ((1, 4, 4, 2), (3, 3), (1, 1), (4, 4))]


@pytest.mark.parametrize("shape, kernel, stride, padding", CONVS)
def test_im2col_windows_and_convolution_equal_the_references(shape, kernel, stride, padding):
    x = rng.integers(0, 256, shape).astype(np.uint8)
    weight_q = rng.integers(-127, 128, (20, shape[3], *kernel)).astype(np.int8)
    layer = Int8Conv2d(weight_q, np.full(20, 0.01, np.float32), np.zeros(20, np.float32),
                       stride, padding, (0.02, 7), (0.05, 3), relu=True)
    reference_rows = layer.windows(x)
    rows = int8.im2col(x, kernel, stride, padding, 7)
    if rows is not None:
        width = int8.window_row_width(kernel[1], shape[3])
        window = kernel[1] * shape[3]
        view = rows.reshape(*rows.shape[:3], kernel[0], width)[..., :window]
        expected = reference_rows.reshape(view.shape[:4] + (width,))[..., :window]
        np.testing.assert_array_equal(view, expected)
    # the whole convolution against float64 integer arithmetic on the padded image
    padded = np.pad(x, ((0, 0), (padding[0],) * 2, (padding[1],) * 2, (0, 0)),
                    constant_values=7).astype(np.int64)
    out = layer(x)
    ho, wo = out.shape[1:3]
    acc = np.zeros((shape[0], ho, wo, 20), np.int64)
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            window = padded[:, i:i + stride[0] * ho:stride[0], j:j + stride[1] * wo:stride[1]]
            acc += (window - 7) @ weight_q[:, :, i, j].T.astype(np.int64)
    scale = np.float32(0.02) * np.float32(0.01) / np.float32(0.05)
    expected = np.clip(np.rint(acc.astype(np.float32) * np.float32(scale)) + 3, 3, 255)
    np.testing.assert_array_equal(out, expected.astype(np.uint8))


def test_visiongrad_native_0_runs_the_numpy_reference():
    code = ("import numpy as np\n"
            "from visiongrad.accel import int8\n"
            "from visiongrad.compress.int8 import Int8Linear\n"
            "assert int8.kernel_path() is None and int8.im2col(np.zeros((1, 3, 3, 1), "
            "np.uint8), (3, 3), (1, 1), (1, 1), 0) is None\n"
            "layer = Int8Linear(np.ones((2, 5), np.int8), np.ones(2, np.float32), "
            "np.zeros(2, np.float32), (1.0, 0), None, False)\n"
            "assert layer.kernel is None\n"
            "print(layer(np.arange(15, dtype=np.uint8).reshape(3, 5))[2, 1])")
    env = dict(os.environ, VISIONGRAD_NATIVE="0")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert float(result.stdout) == 10 + 11 + 12 + 13 + 14
