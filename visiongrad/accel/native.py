"""The compiled kernels, where ``pip install`` built them: a plain C library loaded with
ctypes, and every kernel's ctypes signature.

Small C files in ``accel/kernels/`` are visiongrad's only compiled code, each an
optional fast path behind an op whose NumPy version stays the reference it is tested
against:

- ``direct_conv.c``: the convolution's forward pass and weight gradient (through
  ``accel/direct_conv.py``, on x86-64 CPUs with AVX2 and FMA; AVX-512 tiles where the CPU
  has AVX-512F, here and in ``batched_conv.c``);
- ``relu.c``: ReLU's backward pass, leaky ReLU's forward and backward passes;
- ``cross_entropy.c``: softmax cross-entropy's forward and backward passes;
- ``recurrent.c``: the LSTM's and GRU's cells and whole time loops (through
  ``accel/recurrent.py``), with ``vector_math.h``'s vectorisable exp, tanh and sigmoid;
- ``optimizer_steps.c``: SGD's momentum update and Adam's update, each in one pass over
  memory;
- ``few_rows_linear.c``: the linear layer's forward product for a few rows of input,
  the weight read in place (through ``accel/linear.py``; AVX-512F);
- ``batch_norm.c``: batch norm's per-channel sums and scale-and-shift passes (through
  ``accel/batch_norm.py``);
- ``epilogue.c``: an inference convolution's output pass (scale, shift, residual, ReLU in
  one; through ``accel/epilogue.py``);
- ``max_pool.c``: max pooling's forward pass (with each maximum's position) and backward
  pass (through ``accel/max_pool.py``);
- ``int8_gemm.c``: the int8 inference path's integer matrix product (uint8 x int8 summed
  in int32, rescaled or requantized in the same pass; through ``accel/int8.py``);
- ``tsne.c``: Barnes-Hut t-SNE's repulsion (a quadtree) and attraction (behind
  ``classic/barnes_hut.py``);
- ``conv_parts.c`` and ``parallel.c``: the kernels above over a whole batch or array in
  one call, cut into parts on helper threads that live in C (``accel/threads.py``'s
  ``row_parts`` says how many).

They are built as one optional extension (``setup.py``): where no C compiler is found the
install goes on without it. ``LIBRARY`` is None then, or when the user sets
``VISIONGRAD_NATIVE=0``, and so is every kernel below: every op takes its NumPy path.
ctypes releases the GIL for each call, so Python's helper threads (``in_parts``) too run
a kernel on their parts at once.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os

EXTENSION = "visiongrad._native"


def _load():
    if os.environ.get("VISIONGRAD_NATIVE", "1") == "0":
        return None
    spec = importlib.util.find_spec(EXTENSION)
    if spec is None or spec.origin is None:
        return None
    try:
        return ctypes.CDLL(spec.origin)
    except OSError:  # built for another machine or damaged: run on NumPy as without it
        return None


LIBRARY = _load()


def kernel(name: str, argtypes: list, restype=None):
    """``LIBRARY``'s function ``name`` with its ctypes signature set, or None where the
    library was not loaded (the caller then takes its NumPy path)."""
    if LIBRARY is None:
        return None
    function = getattr(LIBRARY, name)
    function.argtypes, function.restype = argtypes, restype
    return function


_pointer, _int, _size = ctypes.c_void_p, ctypes.c_int, ctypes.c_ssize_t

RELU_BACKWARD = kernel("relu_backward", [_pointer] * 3 + [_size])
"""relu_backward(grad, y, dx, size): dx = grad where y > 0, else 0, on flat float32."""

CROSS_ENTROPY_FORWARD = kernel("cross_entropy_forward",
                               [_pointer] * 2 + [_size] * 2 + [_pointer] * 3, _size)
"""cross_entropy_forward(scores, labels, N, C, row_max, log_sum, losses) -> -1, or the
first row whose label is out of range."""

CROSS_ENTROPY_BACKWARD = kernel("cross_entropy_backward",
                                [_pointer] * 5 + [_size] * 3 + [_pointer])
"""cross_entropy_backward(scores, labels, row_max, log_sum, upstream, upstream_stride, N,
C, grad)."""

SGD_MOMENTUM_STEP = kernel("sgd_momentum_step", [_pointer] * 3 + [_size]
                           + [ctypes.c_float] * 4 + [_int])
"""sgd_momentum_step(x, buffer, grad, size, lr, momentum, dampening, weight_decay,
nesterov), in place on x and buffer."""


def optional_kernel(name: str, argtypes: list, restype=None):
    """``kernel``, or None where the loaded library predates ``name`` (built before it)."""
    return kernel(name, argtypes, restype) if hasattr(LIBRARY, name) else None


SGD_MOMENTUM_STEP_PARTS = optional_kernel("sgd_momentum_step_parts", [_pointer] * 3 + [_size]
                                          + [ctypes.c_float] * 4 + [_int, _int])
"""sgd_momentum_step_parts(x, buffer, grad, size, lr, momentum, dampening, weight_decay,
nesterov, parts): the same in ``parts`` parts of the values on ``kernels/parallel.c``'s
threads; None where the library predates it."""

ADAM_STEP_PARTS = optional_kernel("adam_step_parts", [_pointer] * 5 + [_size]
                                  + [ctypes.c_float] * 7 + [_int])
"""adam_step_parts(x, g, m, v, v_max, size, beta1, 1 - beta1, beta2, 1 - beta2, step_size,
correction2, eps, parts): Adam's update of x, m, v (and v_max where not NULL) in place,
in ``parts`` parts on ``kernels/parallel.c``'s threads (``optim/adaptive.py``'s
``adam_lines``); None where the library predates it."""

RELU_BACKWARD_PARTS = optional_kernel("relu_backward_parts", [_pointer] * 3 + [_size, _int])
LEAKY_RELU_FORWARD_PARTS = optional_kernel("leaky_relu_forward_parts", [_pointer] * 2
                                           + [_size, ctypes.c_float, _int])
LEAKY_RELU_BACKWARD_PARTS = optional_kernel("leaky_relu_backward_parts", [_pointer] * 3
                                            + [_size, ctypes.c_float, _int])
"""relu_backward_parts(grad, y, dx, size, parts), leaky_relu_forward_parts(x, y, size,
slope, parts), leaky_relu_backward_parts(grad, x, dx, size, slope, parts): the passes of
``RELU_BACKWARD``, ``LEAKY_RELU_FORWARD`` and ``LEAKY_RELU_BACKWARD`` over flat arrays in
``parts`` parts on ``kernels/parallel.c``'s threads; None where the library predates
them."""


def _direct_conv_kernels():
    if LIBRARY is None or not LIBRARY.direct_conv_supported():
        return (None,) * 5
    return (kernel("direct_conv", [_pointer] + [_int] * 6 + [_pointer] + [_int] * 5
                   + [_pointer, _int, _int], _int),
            kernel("direct_conv_weight_grad", [_pointer] + [_int] * 6 + [_pointer] + [_int] * 7
                   + [_pointer], _int),
            optional_kernel("batched_conv", [_pointer] + [_int] * 6 + [_pointer] + [_int] * 5
                            + [_pointer] + [_int] * 4, _int),
            optional_kernel("batched_conv_input_grad", [_pointer] + [_int] * 4 + [_pointer]
                            + [_int] * 6 + [_pointer] + [_int] * 5, _int),
            optional_kernel("batched_conv_weight_grad", [_pointer] + [_int] * 6 + [_pointer]
                            + [_int] * 7 + [_pointer] + [_int] * 2, _int))


def _conv_parts_kernels():
    if LIBRARY is None or not LIBRARY.direct_conv_supported():
        return (None,) * 5
    return (optional_kernel("direct_conv_parts", [_pointer] + [_int] * 6 + [_pointer]
                            + [_int] * 5 + [_pointer] + [_int] * 3, _int),
            optional_kernel("direct_conv_weight_grad_parts", [_pointer] + [_int] * 6
                            + [_pointer] + [_int] * 7 + [_pointer, _int], _int),
            optional_kernel("batched_conv_parts", [_pointer] + [_int] * 6 + [_pointer]
                            + [_int] * 5 + [_pointer] + [_int] * 3, _int),
            optional_kernel("batched_conv_input_grad_parts", [_pointer] + [_int] * 4
                            + [_pointer] + [_int] * 6 + [_pointer] + [_int] * 4, _int),
            optional_kernel("batched_conv_weight_grad_parts", [_pointer] + [_int] * 6
                            + [_pointer] + [_int] * 7 + [_pointer, _int], _int))


(DIRECT_CONV, DIRECT_CONV_WEIGHT_GRAD, BATCHED_CONV, BATCHED_CONV_INPUT_GRAD,
 BATCHED_CONV_WEIGHT_GRAD) = _direct_conv_kernels()
"""direct_conv(x, N, H, W, C, ph, pw, w_blocks, kh, kw, F, sh, sw, out, Ho, Wo) and
direct_conv_weight_grad(x, N, H, W, C, ph, pw, dy, Ho, Wo, F, kh, kw, sh, sw, dw_blocks),
each returning 0 (or nonzero where its stripe buffer could not be allocated); None where
the CPU lacks AVX2 and FMA (``direct_conv_filters``, the same for a range of output
channels, is called from C only: ``kernels/conv_parts.c``). The convolution of small
images (``kernels/batched_conv.c``): batched_conv(x, N, H, W, C, ph, pw, w_blocks, kh, kw,
F, sh, sw, y, Ho, Wo, f_begin, f_end), batched_conv_input_grad(dy, N, Ho, Wo, F,
wt_blocks, kh, kw, sh, sw, ph, pw, dx, H, W, C, c_begin, c_end) and
batched_conv_weight_grad(x, N, H, W, C, ph, pw, dy, Ho, Wo, F, kh, kw, sh, sw, dw_blocks,
f_begin, f_end), each returning 0 (or nonzero where it refuses a window of too many taps).
These three are None where the library predates them."""

(DIRECT_CONV_PARTS, DIRECT_CONV_WEIGHT_GRAD_PARTS, BATCHED_CONV_PARTS,
 BATCHED_CONV_INPUT_GRAD_PARTS, BATCHED_CONV_WEIGHT_GRAD_PARTS) = _conv_parts_kernels()
"""The five kernels above over the whole batch in one call (``kernels/conv_parts.c``),
their last argument the number of parts to cut it into on ``parallel.c``'s threads:
direct_conv_parts(x, N, H, W, C, ph, pw, w_blocks, kh, kw, F, sh, sw, out, Ho, Wo, parts)
(ranges of images, or of 16-filter blocks for fewer images than parts),
direct_conv_weight_grad_parts(x, N, H, W, C, ph, pw, dy, Ho, Wo, F, kh, kw, sh, sw,
dw_blocks, parts) (ranges of images, their sums added in part order), and
batched_conv_parts, batched_conv_input_grad_parts, batched_conv_weight_grad_parts with the
arguments of their kernel but the channel range replaced by ``parts`` (ranges of 16-channel
blocks). Each returns 0, or nonzero where a part failed; None where the library predates
them or the CPU lacks AVX2 and FMA."""


CONV_AVX512 = (optional_kernel("conv_avx512", [_int], _int) if DIRECT_CONV is not None
               else None)
"""conv_avx512(wanted) -> whether the convolution kernels above run their AVX-512 tiles
(the CPU has AVX-512F and they were not turned off): 1 turns them on where the CPU has
them, 0 off (the AVX2 tiles, the same sums in the same order), -1 only asks. None where
the library predates it."""

WEIGHT_TO_BLOCKS = optional_kernel("weight_to_blocks", [_pointer] + [_size] * 2 + [_int] * 5
                                   + [_pointer], _int)
"""weight_to_blocks(a, o_stride, i_stride, I, T, reverse, ob_begin, ob_end, blocks):
blocks[o / 16, t', i, o % 16] = a[o, i, t] (strides in floats; t' = T - 1 - t if reverse)
for the 16-channel blocks ob_begin <= o / 16 < ob_end (``kernels/batched_conv.c``);
returns 0, or -1 for more than 64 taps (nothing done)."""

WEIGHT_FROM_BLOCKS = optional_kernel("weight_from_blocks", [_pointer] + [_int] * 4
                                     + [_pointer], _int)
"""weight_from_blocks(blocks, I, T, ob_begin, ob_end, a): the inverse into a contiguous
a (O, I, T)."""

TSNE_REPULSION = optional_kernel("tsne_repulsion", [_pointer, _size, ctypes.c_double]
                                 + [_size] * 2 + [_pointer] * 2, _int)
"""tsne_repulsion(Y, N, theta, begin, end, force, z) -> 0, or -1 out of memory: Barnes-Hut
repulsion on rows [begin, end) of a C-contiguous float64 (N, 2) embedding, and those rows'
part of Z (``kernels/tsne.c``)."""

TSNE_ATTRACTION = optional_kernel("tsne_attraction", [_pointer, _size] + [_pointer] * 4)
"""tsne_attraction(Y, N, indptr, indices, values, force): P's attraction over CSR rows
(int64 indptr and indices, float64 values)."""

CHANNEL_SUMS = optional_kernel("gated_channel_sums_parts", [_pointer] * 6
                               + [ctypes.c_float, _size, _size, _pointer, _pointer, _int])
"""gated_channel_sums_parts(x, x_shift, y, y_shift, gate_scale, gate_shift, gate_slope, rows,
channels, sums, dots, parts): per-channel sums = sum(x - x_shift), dots = sum((x -
x_shift)(y - y_shift)) over float32 (rows, channels) rows (NULL shifts are zeros, a NULL y
is x, a NULL dots is skipped), in ``parts`` parts of the rows on ``kernels/parallel.c``'s
threads: sums and dots are (parts, channels) float64, zeroed, and the total ends in their
first row; with a gate, each term in full where (y - y_shift) gate_scale + gate_shift > 0
and times gate_slope elsewhere (``kernels/batch_norm.c``)."""

CHANNEL_AFFINE = optional_kernel("gated_channel_affine_parts", [_pointer] * 7
                                 + [ctypes.c_float, _pointer, _size, _size, _pointer, _int])
"""gated_channel_affine_parts(x, x_shift, x_scale, y, y_scale, gate_scale, gate_shift,
gate_slope, shift, rows, channels, out, parts): out = (x - x_shift) x_scale + y y_scale +
shift per channel (no y term where y is NULL; with a gate, the y term times gate_slope
where (x - x_shift) gate_scale + gate_shift <= 0), in ``parts`` parts of the rows."""

CHANNEL_AFFINE_RELU = optional_kernel("channel_affine_rectify_parts", [_pointer] * 5
                                      + [ctypes.c_float, _size, _size, _pointer, _int])
"""channel_affine_rectify_parts(x, x_shift, x_scale, shift, residual, slope, rows, channels,
out, parts): z = (x - x_shift) x_scale + shift + residual per channel (no residual where it
is NULL), out = z where z > 0, else slope z (the ReLU for slope 0), in ``parts`` parts of
the rows."""

CHANNEL_EPILOGUE = optional_kernel("channel_epilogue_parts",
                                   [_pointer] * 4 + [_int] + [_size] * 2 + [_int])
"""channel_epilogue_parts(y, scale, shift, residual, relu, rows, channels, parts): in place
on float32 (rows, channels) rows, y = act(y scale + shift + residual) per channel (no
residual where NULL; act ReLU where relu is 1), in ``parts`` parts of the rows on
``kernels/parallel.c``'s threads (``kernels/epilogue.c``)."""

MAX_POOL_FORWARD = optional_kernel("max_pool_forward", [_pointer, _size, _int, _int, _size]
                                   + [_int] * 8 + [_pointer] * 2)
"""max_pool_forward(x, N, H, W, C, kh, kw, sh, sw, ph, pw, Ho, Wo, y, arg): channels-last
float32 max pooling, with each maximum's tap i kw + j as uint8 (``kernels/max_pool.c``)."""

MAX_POOL_BACKWARD = optional_kernel("max_pool_backward", [_pointer] * 2 + [_size, _int, _int,
                                    _size] + [_int] * 8 + [_pointer])
"""max_pool_backward(dy, arg, N, H, W, C, kh, kw, sh, sw, ph, pw, Ho, Wo, dx): dx (zeroed
here) gets dy at each window's arg."""

INT8_GEMM_SUPPORT = optional_kernel("int8_gemm_support", [], _int)
"""int8_gemm_support() -> bits: 1 where the CPU has AVX2 (the int16 path), 2 AVX-VNNI
(vpdpbusd on 256 bits), 4 AVX-512 VNNI (on 512 bits) (``kernels/int8_gemm.c``)."""

INT8_GEMM = optional_kernel("int8_gemm", [_pointer, _size, _size, _size, _int, _pointer, _int]
                            + [_pointer] * 3 + [_int] * 2 + [_pointer] * 2 + [_size, _int], _int)
"""int8_gemm(a, a_stride, row_begin, row_end, depth, packed, cols, col_offset, scale, bias,
out_zero, out_min, out_u8, out_f32, out_stride, path) -> 0, or -1 for a shape or path it
does not take: uint8 a (rows, depth) times packed int8 (path 1, 2) or int16 (path 0)
weights, summed in
int32, rescaled per column and stored as float32 (out_f32) or requantized to uint8
(out_u8), for rows [row_begin, row_end)."""

UINT8_IM2COL = optional_kernel("uint8_im2col", [_pointer, _size, _size] + [_int] * 10
                               + [_pointer] + [_int] * 3)
"""uint8_im2col(x, n_begin, n_end, H, W, C, ph, pw, kh, kw, sh, sw, zero, rows, Ho, Wo,
row_width): the integer convolution's windows of channels-last uint8 images, padded with
``zero``, one row of kh row_width bytes per output pixel (each window row's kw C values
then filler up to row_width, a multiple of 4) (``kernels/int8_gemm.c``)."""

LSTM_CELL_FORWARD = optional_kernel("lstm_cell_forward", [_pointer] * 6 + [_size] * 6)
"""lstm_cell_forward(gates, hidden, c_prev, c, tanh_c, h, N, H, i_at, f_at, o_at, g_at):
one LSTM step on float32 rows, gates (N, 4H) activated in place after adding hidden (N, 4H)
(each gate's H columns at its offset) (``kernels/recurrent.c``)."""

LSTM_CELL_BACKWARD = optional_kernel("lstm_cell_backward", [_pointer] * 4 + [_size]
                                     + [_pointer] * 3 + [_size] * 6)
"""lstm_cell_backward(gates, c_prev, tanh_c, dout, dout_stride, dh_next, dc_carry, dgates,
N, H, i_at, f_at, o_at, g_at): one step back; dc_carry is read and replaced."""

GRU_CELL_FORWARD = optional_kernel("gru_cell_forward", [_pointer] * 6 + [_size] * 2)
"""gru_cell_forward(gates, hidden, bh, h_prev, gh_n, h, N, H): one GRU step, gates (N, 3H)
as r, z, n in place."""

GRU_CELL_BACKWARD = optional_kernel("gru_cell_backward", [_pointer] * 4 + [_size]
                                    + [_pointer] * 4 + [_size] * 2)
"""gru_cell_backward(gates, gh_n, h_prev, dout, dout_stride, dh_product, dh_carry, dgx, dgh,
N, H): one step back; dh_carry is read and replaced."""

LSTM_FORWARD_ROWS = optional_kernel("lstm_forward_rows", [_pointer] * 7 + [_size] * 9)
"""lstm_forward_rows(gates, h0, c0, packed, c, tanh_c, h, T, N, H, row_begin, row_end, i_at,
f_at, o_at, g_at): every step of the LSTM's forward pass for rows [row_begin, row_end),
h_{t-1} Wh from Wh packed in (H / 16, H, 64) panels (``kernels/recurrent.c``)."""

LSTM_BACKWARD_ROWS = optional_kernel("lstm_backward_rows", [_pointer] * 5 + [_size] * 2
                                     + [_pointer] * 4 + [_size] * 9)
"""lstm_backward_rows(gates, c0, c, tanh_c, dout, dout_step, dout_row, packed, dc, dh0,
dgates, T, N, H, row_begin, row_end, i_at, f_at, o_at, g_at): every step back for those
rows, dgates_t Wh^T from Wh^T packed in (H / 64, 4H, 64) panels; dc is read (the final
cell's gradient) and left as dc0."""

LINEAR_FEW_ROWS = optional_kernel("linear_few_rows", [_pointer] * 4 + [_size] * 5, _int)
"""linear_few_rows(x, weight, bias, out, M, K, N, n_begin, n_end) -> 0, or -1 (nothing done:
no AVX-512): out[:, n_begin:n_end] = x weight^T + bias for x (M, K), weight (N, K), bias
(N,) or NULL, all float32 in C order (``kernels/few_rows_linear.c``)."""

LEAKY_RELU_FORWARD = optional_kernel("leaky_relu_forward", [_pointer] * 2 + [_size,
                                     ctypes.c_float])
"""leaky_relu_forward(x, y, size, slope): y = x where x > 0, else slope x, on flat float32
(``kernels/relu.c``)."""

LEAKY_RELU_BACKWARD = optional_kernel("leaky_relu_backward", [_pointer] * 3 + [_size,
                                      ctypes.c_float])
"""leaky_relu_backward(grad, x, dx, size, slope): dx = grad where x > 0, else slope grad."""

GRU_FORWARD_ROWS = optional_kernel("gru_forward_rows", [_pointer] * 6 + [_size] * 5)
"""gru_forward_rows(gates, h0, bh, packed, gh_n, h, T, N, H, row_begin, row_end): every step
of the GRU's forward pass for those rows, h_{t-1} Wh from Wh packed in (H / 16, H, 48)
panels (``kernels/recurrent.c``)."""

GRU_BACKWARD_ROWS = optional_kernel("gru_backward_rows", [_pointer] * 5 + [_size] * 2
                                    + [_pointer] * 5 + [_size] * 5)
"""gru_backward_rows(gates, gh_n, h0, h, dout, dout_step, dout_row, packed, carry, dh0, dgx,
dgh, T, N, H, row_begin, row_end): every step back for those rows, dgh_t Wh^T from Wh^T
packed in (H / 64, 3H, 64) panels; carry (zeros) holds dh_t z_t between steps."""
