"""The LSTM's and GRU's time loops with each step's cell compiled (``kernels/recurrent.c``):
per step, one matrix product (h_{t-1} Wh forward, dgates_t Wh^T backward) and one pass of
the cell's arithmetic over the step's gates, where NumPy takes about twenty.

With H a multiple of 16 (forward) or 64 (backward) both go further: the whole time loop
is one compiled call per core, on that core's rows of the batch (rows never meet through
time), each step's product computed from Wh packed once per pass and the cell applied to
the product while it is still in registers (``lstm_forward_rows``, ``lstm_backward_rows``,
``gru_forward_rows``, ``gru_backward_rows``); no OpenBLAS call, no Python, per step.

``ops/recurrent.py``'s ``LSTM`` and ``GRU`` call these once per pass, with the arrays they
would fill themselves; None (or False) means the case does not fit (the library not
built, not float32, arrays of another library) and the op runs its NumPy loop, the
reference these are tested against (tests/accel/test_recurrent.py). The loops are the
op's, step for step: only each step's elementwise arithmetic moves into C.
"""

from __future__ import annotations

from ..backend import is_host, xp
from .native import (
    GRU_BACKWARD_ROWS,
    GRU_CELL_BACKWARD,
    GRU_CELL_FORWARD,
    GRU_FORWARD_ROWS,
    LSTM_BACKWARD_ROWS,
    LSTM_CELL_BACKWARD,
    LSTM_CELL_FORWARD,
    LSTM_FORWARD_ROWS,
)
from .threads import in_parts

FLOAT = 4  # bytes of a float32


def _fits(kernel, arrays, dense) -> bool:
    """The kernel is loaded, every array is a float32 host array, and those the kernel
    reads through their address (``dense``) are C-contiguous."""
    return kernel is not None and is_host(*arrays, *dense) and all(
        a.dtype == xp.float32 for a in (*arrays, *dense)) and all(
        a.flags.c_contiguous for a in dense)


def _address(a) -> int:
    return a.__array_interface__["data"][0]


def _upstream_rows(grad_out):
    """grad_out (N, T', H) as (its address, the float offset of step t, the float stride
    of its rows): every step's (N, H) slice read in place, H floats contiguous."""
    if grad_out.strides[2] != FLOAT or grad_out.strides[0] % FLOAT or grad_out.strides[1] % FLOAT:
        grad_out = xp.ascontiguousarray(grad_out)
    return grad_out, grad_out.strides[1] // FLOAT, grad_out.strides[0] // FLOAT


def packed_forward_weight(Wh, blocks):
    """Wh (H, G H) as (H / 16, H, 16 G) panels: panel p, row k holds Wh[k, block.start +
    16 p + u] for each gate's column block in ``blocks`` in turn and u < 16 (the LSTM's
    i, f, o, g; the GRU's r, z, n)."""
    H, G = Wh.shape[0], len(blocks)
    by_gate = xp.stack([Wh[:, block] for block in blocks])  # (G, H, H)
    return xp.ascontiguousarray(by_gate.reshape(G, H, H // 16, 16).transpose(2, 1, 0, 3)
                                ).reshape(H // 16, H, 16 * G)


def packed_backward_weight(Wh):
    """Wh^T (G H, H) as (H / 64, G H, 64) panels of 64 columns."""
    G, H = Wh.shape[1], Wh.shape[0]
    return xp.ascontiguousarray(Wh.T.reshape(G, H // 64, 64).transpose(1, 0, 2))


def lstm_forward(gates, Wh, h0, c0, c, tanh_c, h, slots) -> bool:
    """Fill c, tanh_c, h (T, N, H) and activate gates (T, N, 4H), holding x_t Wx + b, in
    place, as ``LSTM.forward``'s loop does; False (nothing done) where the case does not fit.
    ``slots`` maps each gate "i", "f", "o", "g" to its columns."""
    if not _fits(LSTM_CELL_FORWARD, (Wh, h0, c0), (gates, c, tanh_c, h)):
        return False
    T, N, G = gates.shape
    H = G // 4
    c0 = xp.ascontiguousarray(c0)
    offsets = [slots[gate].start for gate in "ifog"]
    if LSTM_FORWARD_ROWS is not None and H % 16 == 0:
        h0 = xp.ascontiguousarray(h0)
        packed = packed_forward_weight(Wh, [slots[gate] for gate in "ifog"])

        def rows(part):
            LSTM_FORWARD_ROWS(_address(gates), _address(h0), _address(c0), _address(packed),
                              _address(c), _address(tanh_c), _address(h), T, N, H,
                              part.start, part.stop, *offsets)

        in_parts(rows, N, gates.nbytes)
        return True
    hidden = xp.empty((N, G), dtype=gates.dtype)
    prev_h = h0
    for t in range(T):
        xp.matmul(prev_h, Wh, out=hidden)
        LSTM_CELL_FORWARD(_address(gates[t]), _address(hidden),
                          _address(c0 if t == 0 else c[t - 1]), _address(c[t]),
                          _address(tanh_c[t]), _address(h[t]), N, H, *offsets)
        prev_h = h[t]
    return True


def lstm_backward(grad_out, gates, c, tanh_c, c0, Wh, slots, dgates, dc_last):
    """``LSTM.backward``'s loop: fill dgates (T, N, 4H) from grad_out (N, T', H) (its first
    T steps) and dc_last (N, H), the final cell's upstream gradient, and return (dh0, dc0);
    None where the case does not fit."""
    if not _fits(LSTM_CELL_BACKWARD, (grad_out, c0, Wh), (gates, c, tanh_c, dgates)):
        return None
    T, N, G = gates.shape
    H = G // 4
    c0 = xp.ascontiguousarray(c0)
    upstream, step_offset, row_stride = _upstream_rows(grad_out)
    offsets = [slots[gate].start for gate in "ifog"]
    dc = xp.array(dc_last, dtype=gates.dtype)  # dc_t f_t, sent back to step t - 1
    if LSTM_BACKWARD_ROWS is not None and H % 64 == 0:
        packed, dh0 = packed_backward_weight(Wh), xp.empty((N, H), dtype=gates.dtype)

        def rows(part):
            LSTM_BACKWARD_ROWS(_address(gates), _address(c0), _address(c), _address(tanh_c),
                               _address(upstream), step_offset, row_stride,
                               _address(packed), _address(dc), _address(dh0),
                               _address(dgates), T, N, H, part.start, part.stop, *offsets)

        in_parts(rows, N, gates.nbytes)
        return dh0, dc
    dh_next = xp.zeros((N, H), dtype=gates.dtype)
    for t in reversed(range(T)):
        LSTM_CELL_BACKWARD(_address(gates[t]), _address(c0 if t == 0 else c[t - 1]),
                           _address(tanh_c[t]), _address(upstream) + FLOAT * t * step_offset,
                           row_stride, _address(dh_next), _address(dc), _address(dgates[t]),
                           N, H, *offsets)
        xp.matmul(dgates[t], Wh.T, out=dh_next)
    return dh_next, dc


def gru_forward(gates, Wh, bh, h0, h, gh_n) -> bool:
    """Fill h and gh_n (T, N, H) and turn gates (T, N, 3H), holding x_t Wx + b, into r, z, n
    in place, as ``GRU.forward``'s loop does; False where the case does not fit."""
    if not _fits(GRU_CELL_FORWARD, (Wh, bh, h0), (gates, h, gh_n)):
        return False
    T, N, G = gates.shape
    bh, h0 = xp.ascontiguousarray(bh), xp.ascontiguousarray(h0)
    H = G // 3
    if GRU_FORWARD_ROWS is not None and H % 16 == 0:
        packed = packed_forward_weight(Wh, [slice(k * H, (k + 1) * H) for k in range(3)])

        def rows(part):
            GRU_FORWARD_ROWS(_address(gates), _address(h0), _address(bh), _address(packed),
                             _address(gh_n), _address(h), T, N, H, part.start, part.stop)

        in_parts(rows, N, gates.nbytes)
        return True
    hidden = xp.empty((N, G), dtype=gates.dtype)
    prev_h = h0
    for t in range(T):
        xp.matmul(prev_h, Wh, out=hidden)
        GRU_CELL_FORWARD(_address(gates[t]), _address(hidden), _address(bh), _address(prev_h),
                         _address(gh_n[t]), _address(h[t]), N, G // 3)
        prev_h = h[t]
    return True


def gru_backward(grad_out, gates, gh_n, h, h0, Wh, dgx, dgh):
    """``GRU.backward``'s loop: fill dgx and dgh (T, N, 3H) from grad_out (N, T, H) and
    return dh0; None where the case does not fit."""
    if not _fits(GRU_CELL_BACKWARD, (grad_out, h0, Wh), (gates, gh_n, h, dgx, dgh)):
        return None
    T, N, G = gates.shape
    h0 = xp.ascontiguousarray(h0)
    upstream, step_offset, row_stride = _upstream_rows(grad_out)
    carry = xp.zeros((N, G // 3), dtype=gates.dtype)  # dh_t z_t, sent back to step t - 1
    if GRU_BACKWARD_ROWS is not None and (G // 3) % 64 == 0:
        packed, dh0 = packed_backward_weight(Wh), xp.empty_like(carry)

        def rows(part):
            GRU_BACKWARD_ROWS(_address(gates), _address(gh_n), _address(h0), _address(h),
                              _address(upstream), step_offset, row_stride, _address(packed),
                              _address(carry), _address(dh0), _address(dgx), _address(dgh),
                              T, N, G // 3, part.start, part.stop)

        in_parts(rows, N, gates.nbytes)
        return dh0
    product = xp.zeros_like(carry)  # dgh_t Wh^T, likewise
    for t in reversed(range(T)):
        GRU_CELL_BACKWARD(_address(gates[t]), _address(gh_n[t]),
                          _address(h0 if t == 0 else h[t - 1]),
                          _address(upstream) + FLOAT * t * step_offset, row_stride,
                          _address(product), _address(carry), _address(dgx[t]),
                          _address(dgh[t]), N, G // 3)
        xp.matmul(dgh[t], Wh.T, out=product)
    return carry + product
