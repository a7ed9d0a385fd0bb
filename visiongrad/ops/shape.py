"""Shape operations: squeeze, unsqueeze, flatten, expand, flip, roll, pad, repeat,
split/chunk and tril/triu, under PyTorch's names and argument meanings.

squeeze, unsqueeze and flatten are reshapes (their backward is Reshape's: dx = dy with
x's shape) and split/chunk are basic slices (Index's backward); the others are nodes here.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..autograd import Function, Tensor, unbroadcast
from ..backend import array_module
from .dims import normalize_dim, normalize_dims
from .indexing import Index


def _shape(x) -> tuple[int, ...]:
    return tuple(x.shape)


def _sizes(sizes) -> tuple:
    """Sizes given as f(2, 3) or f((2, 3))."""
    return tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) \
        else tuple(sizes)


class Reshape(Function):
    """Forward: y = x with a new shape. Backward: dx = dy reshaped to x's shape."""

    def forward(self, x, shape):
        self.input_shape = x.shape
        try:
            return x.reshape(shape)
        except ValueError:
            raise ValueError(f"cannot reshape a tensor of shape {x.shape} to {shape}") from None

    def backward(self, grad_out):
        return grad_out.reshape(self.input_shape)


class Transpose(Function):
    """Forward: y = x with axes permuted. Backward: dx = dy with the inverse permutation."""

    def forward(self, x, axes=None):
        y = x.transpose(axes)
        # the inverse permutation of the axes as non-negative numbers (-1 is the last)
        axes = tuple(reversed(range(x.ndim))) if axes is None else axes
        self.inverse = tuple(sorted(range(x.ndim), key=lambda i: axes[i] % x.ndim))
        return y

    def backward(self, grad_out):
        return grad_out.transpose(self.inverse)


class Concat(Function):
    """Forward: y = [x1, x2, ...] joined along ``axis``. Backward: dy split at the seams."""

    def forward(self, *xs, axis=0):
        xp = array_module(*xs)
        self.axis = axis
        self.sections = xp.cumsum([x.shape[axis] for x in xs])[:-1]
        return xp.concatenate(xs, axis=axis)

    def backward(self, grad_out):
        xp = array_module(grad_out)
        return tuple(xp.split(grad_out, self.sections, axis=self.axis))


class Stack(Function):
    """Forward: y = [x1, x2, ...] stacked on a new ``axis``. Backward: dy unstacked."""

    def forward(self, *xs, axis=0):
        xp = array_module(*xs)
        self.axis = axis
        return xp.stack(xs, axis=axis)

    def backward(self, grad_out):
        xp = array_module(grad_out)
        return tuple(xp.moveaxis(grad_out, self.axis, 0))


def concat(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis.

    Examples
    --------
    >>> import visiongrad as vg
    >>> vg.concat([vg.ones(2, 1), vg.zeros(2, 2)], axis=1).shape
    (2, 3)
    """
    return Concat.apply(*tensors, axis=axis)


def stack(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join tensors along a new axis.

    Examples
    --------
    >>> import visiongrad as vg
    >>> vg.stack([vg.ones(3), vg.zeros(3)], axis=0).shape
    (2, 3)
    """
    return Stack.apply(*tensors, axis=axis)


def permute(x, *dims) -> Tensor:
    """PyTorch's name for a transpose by a full permutation of the axes."""
    dims = tuple(dims[0]) if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
    ndim = len(_shape(x))
    if sorted(d % max(ndim, 1) for d in dims) != list(range(ndim)):
        raise ValueError(f"permute: {dims} is not a permutation of {ndim} dims")
    return Transpose.apply(x, axes=dims)


def squeeze(x, dim=None) -> Tensor:
    """Drop axes of size 1 (all of them, or those among ``dim``; others are kept, as in
    PyTorch).

    Examples
    --------
    >>> F.squeeze(vg.zeros(2, 1, 3, 1)).shape
    (2, 3)
    >>> F.squeeze(vg.zeros(2, 1, 3, 1), dim=1).shape
    (2, 3, 1)
    """
    shape = _shape(x)
    dims = range(len(shape)) if dim is None else normalize_dims(dim, len(shape))
    drop = {d for d in dims if len(shape) and shape[d] == 1}
    return Reshape.apply(x, shape=tuple(s for d, s in enumerate(shape) if d not in drop))


def unsqueeze(x, dim: int) -> Tensor:
    """Insert an axis of size 1 at ``dim`` (in [-ndim - 1, ndim]).

    Examples
    --------
    >>> F.unsqueeze(vg.zeros(2, 3), 0).shape
    (1, 2, 3)
    >>> F.unsqueeze(vg.zeros(2, 3), -1).shape
    (2, 3, 1)
    """
    shape = _shape(x)
    dim = normalize_dim(dim, len(shape) + 1)
    return Reshape.apply(x, shape=shape[:dim] + (1,) + shape[dim:])


def flatten(x, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge axes ``start_dim`` .. ``end_dim`` (inclusive) into one.

    Examples
    --------
    >>> F.flatten(vg.zeros(2, 3, 4, 5), start_dim=1).shape
    (2, 60)
    """
    shape = _shape(x)
    if not shape:
        return Reshape.apply(x, shape=(1,))
    start, end = normalize_dim(start_dim, len(shape)), normalize_dim(end_dim, len(shape))
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    merged = 1
    for size in shape[start:end + 1]:
        merged *= size
    return Reshape.apply(x, shape=shape[:start] + (merged,) + shape[end + 1:])


class Expand(Function):
    """Forward: y = x broadcast to ``shape`` (a view, no copy). Backward: dx = dy summed
    over the broadcast axes (``unbroadcast``)."""

    def forward(self, x, shape):
        xp = array_module(x)
        self.input_shape = x.shape
        return xp.broadcast_to(x, shape)

    def backward(self, grad_out):
        return unbroadcast(grad_out, self.input_shape)


def expand(x, *sizes) -> Tensor:
    """Broadcast to ``sizes``; -1 keeps an axis's size; new axes may lead.

    Examples
    --------
    >>> F.expand(vg.tensor([[1.0], [2.0]]), 2, 3)
    Tensor([[1. 1. 1.]
     [2. 2. 2.]])
    """
    sizes, shape = _sizes(sizes), _shape(x)
    if len(sizes) < len(shape):
        raise ValueError(f"expand: {len(sizes)} sizes for a tensor of shape {shape}")
    lead = len(sizes) - len(shape)
    target = tuple(shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(sizes))
    for i, size in enumerate(shape):
        if size != 1 and size != target[lead + i]:
            raise ValueError(f"expand: cannot expand shape {shape} to {sizes}")
    if any(s < 0 for s in target):
        raise ValueError(f"expand: -1 is not allowed for a new leading axis, got {sizes}")
    return Expand.apply(x, shape=target)


class Flip(Function):
    """Forward: y = x reversed along ``dims``. Backward: dx = dy reversed along ``dims``."""

    def forward(self, x, dims):
        xp = array_module(x)
        self.dims = dims
        return xp.flip(x, dims)

    def backward(self, grad_out):
        xp = array_module(grad_out)
        return xp.flip(grad_out, self.dims)


def flip(x, dims) -> Tensor:
    """Reverse the order of the entries along each axis of ``dims``; shape unchanged.

    Examples
    --------
    >>> F.flip(vg.tensor([[1.0, 2.0], [3.0, 4.0]]), dims=(1,))
    Tensor([[2. 1.]
     [4. 3.]])
    """
    return Flip.apply(x, dims=normalize_dims(dims, len(_shape(x)), "dims"))


class Roll(Function):
    """Forward: y = x shifted cyclically by ``shifts`` along ``dims`` (the flattened tensor
    when dims is None). Backward: dx = dy shifted back by -shifts."""

    def forward(self, x, shifts, dims):
        xp = array_module(x)
        self.shifts, self.dims = shifts, dims
        return xp.roll(x, shifts, dims)

    def backward(self, grad_out):
        xp = array_module(grad_out)
        back = tuple(-s for s in self.shifts) if isinstance(self.shifts, tuple) else -self.shifts
        return xp.roll(grad_out, back, self.dims)


def roll(x, shifts, dims=None) -> Tensor:
    """Shift ``x`` cyclically by ``shifts`` along ``dims`` (the flattened tensor when None).

    Examples
    --------
    >>> F.roll(vg.tensor([1.0, 2.0, 3.0, 4.0]), 1)
    Tensor([4. 1. 2. 3.])
    """
    if dims is None:  # the flattened tensor, rolled by one shift (given alone or as (s,))
        if isinstance(shifts, (tuple, list)):
            if len(shifts) != 1:
                raise ValueError(f"roll: without dims, shifts must be one integer, got {shifts}")
            shifts = shifts[0]
        return Roll.apply(x, shifts=int(shifts), dims=None)
    shifts = tuple(shifts) if isinstance(shifts, (tuple, list)) else (shifts,)
    dims = normalize_dims(dims, len(_shape(x)), "dims")
    if len(shifts) != len(dims):
        raise ValueError(f"roll: {len(shifts)} shifts for {len(dims)} dims")
    return Roll.apply(x, shifts=tuple(int(s) for s in shifts), dims=dims)


class Pad(Function):
    """Forward: y = x padded by ``widths`` ((before, after) per axis).

    mode "constant": new entries are ``value``;   dx = dy with the border cut off.
    mode "reflect" / "replicate": y = x[src_0, src_1, ...], each axis gathered at the
    source index of every output position (its mirror image without repeating the edge,
    or the nearest edge); dx = dy summed back into the sources, axis by axis (an edge
    entry collects the gradient of every copy of it).
    """

    def forward(self, x, widths, mode, value):
        xp = array_module(x)
        self.widths, self.mode, self.input_shape = widths, mode, x.shape
        if mode == "constant":
            return xp.pad(x, widths, constant_values=value)
        numpy_mode = {"reflect": "reflect", "replicate": "edge"}[mode]
        self.sources = [None if w == (0, 0) else xp.pad(xp.arange(n), w, mode=numpy_mode)
                        for n, w in zip(x.shape, widths, strict=True)]
        for axis, source in enumerate(self.sources):
            if source is not None:
                x = xp.take(x, source, axis=axis)
        return x

    def backward(self, grad_out):
        xp = array_module(grad_out)
        if self.mode == "constant":
            return grad_out[tuple(slice(b, b + n) for (b, _), n in
                                  zip(self.widths, self.input_shape, strict=True))]
        grad = grad_out
        for axis in reversed(range(grad.ndim)):
            source = self.sources[axis]
            if source is None:
                continue
            moved = xp.moveaxis(grad, axis, 0)
            summed = xp.zeros((self.input_shape[axis],) + moved.shape[1:], dtype=grad.dtype)
            xp.add.at(summed, source, moved)
            grad = xp.moveaxis(summed, 0, axis)
        return grad


def pad(x, pad, mode: str = "constant", value: float = 0.0) -> Tensor:
    """Pad the last ``len(pad) // 2`` axes: ``pad`` = (left, right) of the last axis, then
    of the one before, ... (PyTorch's order). Modes "constant", "reflect", "replicate".

    NOTE: unlike PyTorch, negative (cropping) widths are refused.

    Examples
    --------
    >>> F.pad(vg.ones(1, 2), (1, 2))
    Tensor([[0. 1. 1. 0. 0.]])
    >>> F.pad(vg.zeros(1, 3, 4, 4), (1, 1, 2, 2)).shape
    (1, 3, 8, 6)
    """
    shape = _shape(x)
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 or len(pad) // 2 > len(shape):
        raise ValueError(f"pad: needs an even number of widths, at most 2 per axis of a "
                         f"{len(shape)}-d tensor, got {pad}")
    if any(p < 0 for p in pad):
        raise ValueError(f"pad: widths must be non-negative, got {pad}")
    if mode not in ("constant", "reflect", "replicate"):
        raise ValueError(f"pad: mode must be 'constant', 'reflect' or 'replicate', got {mode!r}")
    widths = [(0, 0)] * len(shape)
    for i in range(len(pad) // 2):
        widths[len(shape) - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    for n, (before, after) in zip(shape, widths, strict=True):
        if mode == "reflect" and max(before, after) >= n:
            raise ValueError(f"pad: reflect padding {(before, after)} must be smaller than "
                             f"the axis size {n}")
        if mode == "replicate" and n == 0 and before + after:
            raise ValueError("pad: cannot replicate an empty axis")
    return Pad.apply(x, widths=tuple(widths), mode=mode, value=value)


class Repeat(Function):
    """Forward: y = x tiled ``repeats`` times along each axis (PyTorch's ``repeat``, NumPy's
    ``tile``; extra leading repeats add axes). Backward: dy viewed as (r0, n0, r1, n1, ...)
    and summed over every r axis."""

    def forward(self, x, repeats):
        xp = array_module(x)
        self.shape = (1,) * (len(repeats) - x.ndim) + x.shape
        self.input_shape, self.repeats = x.shape, repeats
        return xp.tile(x, repeats)

    def backward(self, grad_out):
        split = [size for pair in zip(self.repeats, self.shape, strict=True) for size in pair]
        grad = grad_out.reshape(split).sum(axis=tuple(range(0, len(split), 2)))
        return grad.reshape(self.input_shape)


def repeat(x, *repeats) -> Tensor:
    """Tile ``x`` ``repeats`` times along each axis (PyTorch's ``repeat``), any shape.

    Examples
    --------
    >>> F.repeat(vg.tensor([1.0, 2.0]), 2)
    Tensor([1. 2. 1. 2.])
    >>> F.repeat(vg.zeros(2, 3), 2, 1).shape
    (4, 3)
    """
    repeats = tuple(int(r) for r in _sizes(repeats))
    if len(repeats) < len(_shape(x)) or any(r < 0 for r in repeats):
        raise ValueError(f"repeat: needs a non-negative count for each of the "
                         f"{len(_shape(x))} axes, got {repeats}")
    return Repeat.apply(x, repeats=repeats)


def split(x, split_size_or_sections, dim: int = 0) -> tuple[Tensor, ...]:
    """Pieces of ``split_size`` along ``dim`` (the last may be smaller), or of the listed
    sizes, which must add up to the axis's size.

    Examples
    --------
    >>> [p.shape for p in F.split(vg.zeros(5, 2), 2)]
    [(2, 2), (2, 2), (1, 2)]
    >>> [p.shape for p in F.split(vg.zeros(5, 2), [1, 4])]
    [(1, 2), (4, 2)]
    """
    shape = _shape(x)
    dim = normalize_dim(dim, len(shape))
    n = shape[dim]
    if isinstance(split_size_or_sections, (tuple, list)):
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != n or any(s < 0 for s in sizes):
            raise ValueError(f"split: sections {sizes} do not add up to size {n} of dim {dim}")
    else:
        size = int(split_size_or_sections)
        if size <= 0:
            raise ValueError(f"split: split_size must be positive, got {size}")
        sizes = [min(size, n - start) for start in range(0, n, size)] or [0]
    pieces, start = [], 0
    for size in sizes:
        index = (slice(None),) * dim + (slice(start, start + size),)
        pieces.append(Index.apply(x, index=index))
        start += size
    return tuple(pieces)


def chunk(x, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """``chunks`` pieces of ceil(n / chunks) along ``dim`` (fewer if they run out, as in
    PyTorch).

    Examples
    --------
    >>> [p.shape for p in F.chunk(vg.zeros(5, 2), 3)]
    [(2, 2), (2, 2), (1, 2)]
    """
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be positive, got {chunks}")
    n = _shape(x)[normalize_dim(dim, len(_shape(x)))]
    return split(x, max(-(-n // chunks), 1), dim)


class Triangle(Function):
    """Forward: y = x with the entries above (tril) or below (triu) the ``diagonal``-th
    diagonal of the last two axes set to 0. Backward: dx = dy with the same entries 0."""

    def forward(self, x, keep, diagonal):
        self.keep, self.diagonal = keep, diagonal
        return keep(x, diagonal)

    def backward(self, grad_out):
        return self.keep(grad_out, self.diagonal)


def _triangle(x, keep, diagonal: int) -> Tensor:
    if len(_shape(x)) < 2:
        raise ValueError(f"tril/triu need at least 2 dimensions, got shape {_shape(x)}")
    return Triangle.apply(x, keep=keep, diagonal=int(diagonal))


def tril(x, diagonal: int = 0) -> Tensor:
    """Zero the entries above the ``diagonal``-th diagonal of the last two axes.

    Examples
    --------
    >>> F.tril(vg.ones(3, 3))
    Tensor([[1. 0. 0.]
     [1. 1. 0.]
     [1. 1. 1.]])
    """
    xp = array_module(x)
    return _triangle(x, xp.tril, diagonal)


def triu(x, diagonal: int = 0) -> Tensor:
    """Zero the entries below the ``diagonal``-th diagonal of the last two axes.

    Examples
    --------
    >>> F.triu(vg.ones(3, 3), diagonal=1)
    Tensor([[0. 1. 1.]
     [0. 0. 1.]
     [0. 0. 0.]])
    """
    xp = array_module(x)
    return _triangle(x, xp.triu, diagonal)
