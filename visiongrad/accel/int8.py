"""The compiled integer product of the int8 inference path (``kernels/int8_gemm.c``), where
it was built and the CPU runs it (x86-64 with AVX2; vpdpbusd where the CPU has AVX-VNNI
or AVX-512 VNNI).

``compress/int8.py`` holds the reference (``int8_gemm_reference``: the same integers and
the same float32 epilogue in NumPy) and asks here once per layer: ``Int8Gemm.build``
returns a prepared product, or None where the kernel is not loaded (``VISIONGRAD_NATIVE=0``,
no AVX2, no compiler), and the layer then runs its reference.

The product is out[r, f] = epilogue(sum_k a[r, k] w[f, k] + col_offset[f]) with uint8 a,
int8 w, int32 sums; the epilogue rescales to float32 (scale[f], bias[f]) and either stores
that or requantizes it to uint8 (round half to even, + out_zero, clamped to
[out_min, 255]). See the kernel's comment for the packed weight layouts.
"""

from __future__ import annotations

from ..backend import xp
from .machine import cpuinfo
from .native import INT8_GEMM, INT8_GEMM_SUPPORT, UINT8_IM2COL
from .threads import in_parts

COLUMN_BLOCK = 16
"""The kernel computes 16 output columns at a time: weights, offsets, scales and biases
are padded with zeros to a multiple of this."""

DEPTH_STEP = 4
"""vpdpbusd sums 4 products per lane: the depth (k) is padded with zeros to a multiple."""


PATHS = {"avx2": 0, "vnni": 1, "avx512": 2}
"""The compiled paths, by the kernel's number for each: vpmaddwd on int16-widened values
(AVX2), vpdpbusd on 256 bits (AVX-VNNI) and on 512 bits (AVX-512 VNNI)."""


def supported_paths() -> list[str]:
    """The compiled paths this CPU runs (none where the kernel is not loaded)."""
    if INT8_GEMM is None or INT8_GEMM_SUPPORT is None:
        return []
    support = INT8_GEMM_SUPPORT()
    return [name for name, number in PATHS.items() if support & (1 << number)]


def kernel_path() -> str | None:
    """The fastest compiled path here ("avx512", "vnni" or "avx2"), or None (no kernel:
    the NumPy reference runs)."""
    paths = supported_paths()
    return paths[-1] if paths else None


def cpu_vnni_flags() -> list[str]:
    """The VNNI flags ``/proc/cpuinfo`` lists (``avx_vnni``, ``avx512_vnni``), for reports."""
    flags = next((line.split() for line in cpuinfo().splitlines()
                  if line.startswith("flags")), [])
    return [flag for flag in ("avx_vnni", "avx512_vnni") if flag in flags]


def padded(size: int, step: int) -> int:
    """``size`` rounded up to a multiple of ``step``."""
    return -(-size // step) * step


def pack_weights(weight_q, path: str):
    """int8 weights (F, K) in the kernel's blocks of 16 columns, zero-padded: for "vnni" and
    "avx512" b4[f // 16, k // 4, f % 16, k % 4] (int8), for "avx2" b2[f // 16, k // 2, f % 16,
    k % 2] (int16), with K padded to a multiple of ``DEPTH_STEP``, F of ``COLUMN_BLOCK``."""
    filters, depth = weight_q.shape
    full = xp.zeros((padded(filters, COLUMN_BLOCK), padded(depth, DEPTH_STEP)), xp.int8)
    full[:filters, :depth] = weight_q
    step, dtype = (2, xp.int16) if path == "avx2" else (4, xp.int8)
    blocks = full.reshape(-1, COLUMN_BLOCK, full.shape[1] // step, step).transpose(0, 2, 1, 3)
    return xp.ascontiguousarray(blocks, dtype=dtype)


class Int8Gemm:
    """One layer's prepared product: packed weights and padded epilogue vectors.

    Parameters (of ``build``)
    ----------
    weight_q : int8 array (F, K)
    col_offset : int32 array (F,)
        Added to each column's integer sum (the input zero point's correction).
    scale, bias : float32 arrays (F,)
    out_zero, out_min : int
        The uint8 output's zero point and lower clamp (ReLU fused: the zero point).
    float_out : bool
        Store the rescaled float32 values instead of requantizing them.
    """

    def __init__(self, packed, depth, filters, vectors, out_zero, out_min, float_out, path):
        self.packed, self.depth, self.filters = packed, depth, filters
        self.col_offset, self.scale, self.bias = vectors
        self.out_zero, self.out_min, self.float_out, self.path = (out_zero, out_min,
                                                                  float_out, path)

    @classmethod
    def build(cls, weight_q, col_offset, scale, bias, out_zero: int, out_min: int,
              float_out: bool, path: str | None = None):
        """The prepared product, or None where no compiled path runs (``kernel_path``).
        ``path`` picks one of ``supported_paths()``, or "numpy" (None: the reference), for
        tests that compare them; a path this CPU lacks is refused."""
        if path is not None and path != "numpy" and path not in supported_paths():
            raise ValueError(f"int8 product: path {path!r} does not run here (supported: "
                             f"{supported_paths()})")
        path = kernel_path() if path is None else path
        if path is None or path == "numpy":
            return None
        filters, depth = weight_q.shape
        cols = padded(filters, COLUMN_BLOCK)

        def column(vector, dtype):
            out = xp.zeros(cols, dtype)
            out[:filters] = vector
            return out

        vectors = (column(col_offset, xp.int32), column(scale, xp.float32),
                   column(bias, xp.float32))
        return cls(pack_weights(weight_q, path), padded(depth, DEPTH_STEP), filters, vectors,
                   int(out_zero), int(out_min), bool(float_out), path)

    def __call__(self, a):
        """out (M, F) (a view of a column-padded array) for uint8 rows ``a`` (M, K'),
        C-contiguous, K' the depth padded to a multiple of ``DEPTH_STEP`` with zeros."""
        if a.dtype != xp.uint8 or a.ndim != 2 or a.shape[1] != self.depth or \
                not a.flags.c_contiguous:
            raise ValueError(f"int8 product: rows must be C-contiguous uint8 (M, {self.depth}), "
                             f"got {a.dtype} {a.shape}")
        rows, cols = a.shape[0], self.packed.shape[0] * COLUMN_BLOCK
        out = xp.empty((rows, cols), xp.float32 if self.float_out else xp.uint8)
        out_u8, out_f32 = (0, out.ctypes.data) if self.float_out else (out.ctypes.data, 0)

        def part(span):
            status = INT8_GEMM(a.ctypes.data, a.shape[1], span.start, span.stop, self.depth,
                               self.packed.ctypes.data, cols, self.col_offset.ctypes.data,
                               self.scale.ctypes.data, self.bias.ctypes.data, self.out_zero,
                               self.out_min, out_u8 or None, out_f32 or None, cols,
                               PATHS[self.path])
            if status != 0:
                raise RuntimeError(f"int8 product: the kernel refused depth {self.depth}, "
                                   f"{cols} columns on path {self.path}")

        in_parts(part, rows, a.nbytes + out.nbytes)
        return out[:, :self.filters]


def window_row_width(kernel_width: int, channels: int) -> int:
    """Bytes one window row takes in the integer convolution's rows: kw C rounded up to a
    multiple of ``DEPTH_STEP`` (the filler meets zero weights)."""
    return padded(kernel_width * channels, DEPTH_STEP)


def im2col(x, kernel, stride, padding, zero_point: int):
    """The windows of channels-last uint8 images ``x`` (N, H, W, C) as rows (N, Ho, Wo,
    kh row_width): rows[n, ho, wo, i row_width + j C + c] = x_pad[n, ho sh + i, wo sw + j, c],
    x_pad padded with ``zero_point``, ``window_row_width`` bytes per window row (the filler
    after kw C values is arbitrary: it meets zero weights); by the compiled kernel, images
    split over the cores, or None where it is not loaded."""
    if UINT8_IM2COL is None:
        return None
    x = xp.ascontiguousarray(x, dtype=xp.uint8)
    n, height, width, channels = x.shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    out_h, out_w = (height + 2 * ph - kh) // sh + 1, (width + 2 * pw - kw) // sw + 1
    row_width = window_row_width(kw, channels)
    rows = xp.empty((n, out_h, out_w, kh * row_width), xp.uint8)

    def part(images):
        UINT8_IM2COL(x.ctypes.data, images.start, images.stop, height, width, channels, ph, pw,
                     kh, kw, sh, sw, zero_point, rows.ctypes.data, out_h, out_w, row_width)

    in_parts(part, n, rows.nbytes)
    return rows
