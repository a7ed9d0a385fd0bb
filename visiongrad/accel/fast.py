"""The fast paths of ReLU, leaky ReLU, softmax cross-entropy and SGD's momentum step.

Each is one call that returns None (or False) where the case does not fit, and the op
then runs its NumPy reference, which stays beside its formula in ``ops/`` or ``optim/``.
Every "fits" rule and every call of a compiled kernel is here; the kernels themselves are
in ``kernels/`` and their signatures in ``native.py``.
"""

from __future__ import annotations

from ..backend import is_host, xp
from . import threads
from .native import (
    ADAM_STEP_PARTS,
    CROSS_ENTROPY_BACKWARD,
    CROSS_ENTROPY_FORWARD,
    LEAKY_RELU_BACKWARD,
    LEAKY_RELU_BACKWARD_PARTS,
    LEAKY_RELU_FORWARD,
    LEAKY_RELU_FORWARD_PARTS,
    RELU_BACKWARD,
    RELU_BACKWARD_PARTS,
    SGD_MOMENTUM_STEP,
    SGD_MOMENTUM_STEP_PARTS,
)
from .threads import map_rows


def relu(x):
    """max(x, 0) as a new array in x's memory layout, in one pass on every core, or None
    where x is not dense in memory (contiguous in some axis order).

    NumPy's maximum runs its vectorised loop only on two arrays, not an array and the
    scalar 0, so the pass runs over x's memory in order, in ``map_rows`` blocks, each
    against the same block of zeros, which stays in cache (``cached_zeros``).

    Examples
    --------
    >>> from visiongrad import accel
    >>> x = np.array([[-1.0, 2.0], [3.0, -4.0]], np.float32)
    >>> y = accel.relu(x)          # None where no fast path fits
    >>> y is None or bool(np.array_equal(y, np.maximum(x, 0)))
    True
    """
    if not is_host(x):  # host guard: other arrays take the reference
        return None
    values = xp.ravel(x, order="K")
    if not xp.may_share_memory(values, x):  # ravel had to copy: x is not dense
        return None
    out = xp.empty_like(x)

    def block(part, out):
        xp.maximum(part, cached_zeros(part.size, part.dtype), out=out)

    map_rows(block, xp.ravel(out, order="K"), values)
    return out


def cached_zeros(size: int, dtype):
    """A read-only array of ``size`` zeros, a view of one cached block per dtype (grown
    when a larger one is asked for)."""
    block = _ZERO_BLOCKS.get(dtype)
    if block is None or block.size < size:
        block = _ZERO_BLOCKS[dtype] = xp.zeros(size, dtype)
        block.flags.writeable = False
    return block[:size]


_ZERO_BLOCKS: dict = {}


def relu_backward(grad, y):
    """dx = grad where y > 0, else 0, for ReLU's dense output ``y``, or None where no fast
    path fits.

    float32 ``grad`` and ``y`` laid out alike in memory go through the compiled kernel
    (``RELU_BACKWARD``) in one pass over their flat memory, cut into parts on every core
    (``flat_pass``);
    other arrays of more than one cache block get the reference's two NumPy passes (the
    comparison, then a multiply that converts the mask as it goes) in parts on every core.
    NOTE: the kernel gives 0 where grad is NaN or infinite and the unit is off, as PyTorch;
    the NumPy passes give NaN there.

    Examples
    --------
    >>> from visiongrad import accel
    >>> y = np.array([[0.0, 2.0]], np.float32)
    >>> dx = accel.relu_backward(np.ones_like(y), y)
    >>> dx is None or dx.tolist() == [[0.0, 1.0]]
    True
    """
    if not is_host(grad, y):  # host guard: other arrays take the reference
        return None
    if (RELU_BACKWARD is not None and grad.dtype == xp.float32 and y.dtype == xp.float32
            and grad.strides == y.strides and grad.shape == y.shape):
        out = xp.empty_like(y)
        flat_pass(RELU_BACKWARD_PARTS, RELU_BACKWARD, *(xp.ravel(a, order="K")
                                                        for a in (grad, y, out)))
        return out
    one_block = min(threads.CACHE_BLOCK_BYTES, threads.PARALLEL_MIN_BYTES)
    if grad.shape != y.shape or grad.nbytes <= one_block:
        return None
    return map_rows(_pass_where_positive, xp.empty_like(grad), grad, y)


def _pass_where_positive(grad, y, out):
    return xp.multiply(grad, y > 0, out=out)


def leaky_relu(x, slope):
    """x where x > 0, else slope x, as a new array in x's memory layout, by the compiled
    kernel in one pass on every core; None where it does not fit: no kernel, not float32,
    x not dense in memory.

    Examples
    --------
    >>> from visiongrad import accel
    >>> x = np.array([[-1.0, 2.0]], np.float32)
    >>> y = accel.leaky_relu(x, 0.5)   # None without the kernels
    >>> y is None or y.tolist() == [[-0.5, 2.0]]
    True
    """
    if not is_host(x) or LEAKY_RELU_FORWARD is None or x.dtype != xp.float32:
        return None
    values = xp.ravel(x, order="K")
    if not xp.may_share_memory(values, x):  # ravel had to copy: x is not dense
        return None
    y = xp.empty_like(x)
    flat_pass(LEAKY_RELU_FORWARD_PARTS, LEAKY_RELU_FORWARD, values, xp.ravel(y, order="K"),
              slope=slope)
    return y


def leaky_relu_backward(grad, x, slope):
    """dx = grad where x > 0, else slope grad, by the compiled kernel in one pass on every
    core, in x's memory layout; None where it does not fit: no kernel, not float32, x not
    dense in memory. A grad laid out otherwise than x (a Flatten's, in C order, after a
    convolution's channels-last x) is first copied into dx in x's layout, and the kernel
    runs in place there.

    Examples
    --------
    >>> from visiongrad import accel
    >>> x, grad = np.array([[-1.0, 2.0]], np.float32), np.ones((1, 2), np.float32)
    >>> dx = accel.leaky_relu_backward(grad, x, 0.5)   # None without the kernels
    >>> dx is None or dx.tolist() == [[0.5, 1.0]]
    True
    """
    if not is_host(grad, x) or LEAKY_RELU_BACKWARD is None or not (
            grad.dtype == x.dtype == xp.float32 and grad.shape == x.shape):
        return None
    x_flat = xp.ravel(x, order="K")
    if not xp.may_share_memory(x_flat, x):  # ravel had to copy: x is not dense
        return None
    dx = xp.empty_like(x)
    grad_flat = xp.ravel(grad, order="K") if grad.strides == x.strides else None
    if grad_flat is None or not xp.may_share_memory(grad_flat, grad):
        dx[...] = grad
        grad_flat = xp.ravel(dx, order="K")
    flat_pass(LEAKY_RELU_BACKWARD_PARTS, LEAKY_RELU_BACKWARD, grad_flat, x_flat,
              xp.ravel(dx, order="K"), slope=slope)
    return dx


def flat_pass(parted, whole, *flat, slope=None):
    """One compiled elementwise pass over flat float32 arrays (the last one written): in
    parts on every core (``parted``, on ``kernels/parallel.c``'s threads) where the arrays
    are large (``threads.row_parts``), or in one call (``whole``) where the loaded library
    predates the parted kernels. ``slope``: the leaky passes' argument."""
    size = flat[-1].size
    arguments = [a.ctypes.data for a in flat] + [size] + ([] if slope is None else [slope])
    if parted is None:
        whole(*arguments)
    else:
        parted(*arguments, threads.row_parts(size, len(flat) * flat[-1].nbytes))


class CrossEntropyKernel:
    """Softmax cross-entropy's forward pass done by the compiled kernel, and its backward.

    ``losses`` holds L_i per row; the kernel keeps m_i = max_j s_ij and
    log sum_j e^(s_ij - m_i) per row for the backward pass, not the log-probabilities.
    """

    def __init__(self, scores, labels, row_max, log_sum, losses):
        self.scores, self.labels = scores, labels
        self.row_max, self.log_sum, self.losses = row_max, log_sum, losses

    def backward(self, upstream):
        """ds_ij = (softmax(s_i)_j - [j = y_i]) * upstream_i, for upstream of shape (N,)
        (a broadcast view of one value is fine)."""
        upstream = upstream.astype(xp.float32, copy=False)
        grad = xp.empty_like(self.scores)
        classes = self.scores.shape[1]

        def rows(part):  # each core its own rows
            CROSS_ENTROPY_BACKWARD(self.scores[part].ctypes.data, self.labels[part].ctypes.data,
                                   self.row_max[part].ctypes.data,
                                   self.log_sum[part].ctypes.data, upstream[part].ctypes.data,
                                   upstream.strides[0] // upstream.itemsize,
                                   part.stop - part.start, classes, grad[part].ctypes.data)

        threads.in_parts(rows, len(grad), 2 * grad.nbytes)
        return grad


def cross_entropy(scores, labels):
    """Softmax cross-entropy of shape-checked (N, C) ``scores`` and (N,) ``labels`` by the
    compiled kernel (a ``CrossEntropyKernel``), or None where it does not fit: not float32
    scores and int64 labels in C order, or a label out of range (the reference then names
    it).

    Examples
    --------
    >>> from visiongrad import accel
    >>> scores = np.zeros((2, 3), np.float32)
    >>> kernel = accel.cross_entropy(scores, np.array([0, 2]))   # None without the kernels
    >>> kernel is None or [round(float(v), 4) for v in kernel.losses]   # log 3 each
    [1.0986, 1.0986]
    """
    if not is_host(scores, labels):  # host guard: other arrays take the reference
        return None
    if (CROSS_ENTROPY_FORWARD is None or scores.ndim != 2 or scores.dtype != xp.float32
            or not scores.flags.c_contiguous or labels.dtype != xp.int64
            or not labels.flags.c_contiguous):
        return None
    row_max, log_sum = xp.empty((2, len(scores)), xp.float32)
    losses = xp.empty(len(scores), xp.float32)

    def rows(part):  # each core its own rows; -1, or a row with a bad label
        return CROSS_ENTROPY_FORWARD(scores[part].ctypes.data, labels[part].ctypes.data,
                                     part.stop - part.start, scores.shape[1],
                                     row_max[part].ctypes.data, log_sum[part].ctypes.data,
                                     losses[part].ctypes.data)

    if max(threads.in_parts(rows, len(scores), scores.nbytes)) >= 0:
        return None
    return CrossEntropyKernel(scores, labels, row_max, log_sum, losses)


def sgd_momentum_step(x, g, buffer, lr, momentum, dampening, weight_decay, nesterov) -> bool:
    """SGD's momentum update of ``x`` and ``buffer`` in place in one pass by the compiled
    kernel, in parts on every core for a large parameter (``threads.row_parts``, on
    ``kernels/parallel.c``'s threads); False (nothing done) where it does not fit: not
    float32 arrays of one shape in C order.

    Examples
    --------
    >>> from visiongrad import accel
    >>> x, g, buffer = np.ones(4, np.float32), np.ones(4, np.float32), np.zeros(4, np.float32)
    >>> done = accel.sgd_momentum_step(x, g, buffer, 0.1, 0.9, 0.0, 0.0, False)
    >>> bool(not done or np.allclose(x, 0.9) and np.allclose(buffer, 1.0))
    True
    """
    if not is_host(x, g, buffer):  # host guard: other arrays take the reference
        return False
    if SGD_MOMENTUM_STEP is None or not all(
            a.dtype == xp.float32 and a.flags.c_contiguous and a.shape == x.shape
            for a in (x, g, buffer)):
        return False
    arguments = (x.ctypes.data, buffer.ctypes.data, g.ctypes.data, x.size, lr, momentum,
                 dampening, weight_decay, nesterov)
    if SGD_MOMENTUM_STEP_PARTS is None:
        SGD_MOMENTUM_STEP(*arguments)
    else:
        SGD_MOMENTUM_STEP_PARTS(*arguments, threads.row_parts(x.size, 3 * x.nbytes))
    return True


def adam_step(x, g, m, v, v_max, beta1, beta2, step_size, correction2, eps) -> bool:
    """Adam's update of ``x`` and its moments ``m``, ``v`` (and ``v_max``, None without
    amsgrad) in place, in one pass by the compiled kernel, in parts on every core for a
    large parameter; the same bits as ``optim.adaptive.adam_lines`` with the same
    arguments. False (nothing done) where it does not fit: no kernel, not all float32
    arrays of one shape in C order.

    Examples
    --------
    >>> from visiongrad import accel
    >>> x, g, m, v = (np.full(3, value, np.float32) for value in (1.0, 0.5, 0.0, 0.0))
    >>> done = accel.adam_step(x, g, m, v, None, 0.9, 0.999, 0.1 / (1 - 0.9),
    ...                        (1 - 0.999) ** 0.5, 1e-8)
    >>> bool(not done or np.allclose(x, 0.9))
    True
    """
    arrays = (x, g, m, v) + (() if v_max is None else (v_max,))
    if ADAM_STEP_PARTS is None or not is_host(*arrays) or not all(
            a.dtype == xp.float32 and a.flags.c_contiguous and a.shape == x.shape
            for a in arrays):
        return False
    ADAM_STEP_PARTS(x.ctypes.data, g.ctypes.data, m.ctypes.data, v.ctypes.data,
                    None if v_max is None else v_max.ctypes.data, x.size, beta1, 1 - beta1,
                    beta2, 1 - beta2, step_size, correction2, eps,
                    threads.row_parts(x.size, len(arrays) * x.nbytes))
    return True
