"""Indexing by integer tensors: gather, scatter/scatter_add, index_select, masked_fill,
one_hot and nonzero, under PyTorch's names and argument meanings.

Along ``dim``, an index tensor picks a position for every entry (gather, scatter); the
backward of a pick is a scatter-add (an entry picked twice collects both gradients) and
the backward of a scatter-add is a pick.
"""

from __future__ import annotations

from ..autograd import Function, Tensor, as_tensor, unbroadcast
from ..backend import array_module
from .dims import normalize_dim
from .math import promote


def _data(x):
    xp = array_module(x)
    return x.data if isinstance(x, Tensor) else xp.asarray(x)


def _positions(index, dim):
    """Full index tuple addressing, for each entry of ``index``, the position it names
    along ``dim`` and its own position along every other axis."""
    xp = array_module(index)
    grid = list(xp.indices(index.shape, sparse=True))
    grid[dim] = index
    return tuple(grid)


def _check_index(name, index, x_shape, dim, src_shape=None):
    """PyTorch's rules: index has x's number of dims, is no larger than x along every dim
    but ``dim`` (and no larger than src anywhere), and names positions inside x."""
    if index.dtype.kind not in "iu":
        raise TypeError(f"{name}: index must hold integers, got {index.dtype}")
    if index.ndim != len(x_shape) or src_shape is not None and len(src_shape) != index.ndim:
        src = "" if src_shape is None else f" and src {src_shape}"
        raise ValueError(f"{name}: index of shape {index.shape} needs as many dims as the "
                         f"input {x_shape}{src}")
    for d, size in enumerate(index.shape):
        if d != dim and size > x_shape[d] or src_shape is not None and size > src_shape[d]:
            raise ValueError(f"{name}: index shape {index.shape} exceeds the input {x_shape}"
                             + ("" if src_shape is None else f" or src {src_shape}")
                             + f" at dim {d}")
    check_index_range(name, index, x_shape[dim], dim)


def check_index_range(name, index, size, dim):
    """Every index lies in [0, size): negative indices are refused, as in PyTorch."""
    if index.size and (index.min() < 0 or index.max() >= size):
        bad = index[(index < 0) | (index >= size)].reshape(-1)[0]
        raise ValueError(f"{name}: index {bad} is out of range for size {size} of dim {dim}")


def _is_advanced(index) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return any(not isinstance(p, (int, slice, type(None), type(Ellipsis))) for p in parts)


class Index(Function):
    """Forward: y = x[index]. Backward: dx = zeros with dy added at ``index``.

    Integer-array indices may pick an element more than once; their gradients are summed
    (scatter-add), so advanced indexing uses ``add.at`` while basic slicing assigns.
    """

    def forward(self, x, index):
        self.input_shape, self.dtype, self.index = x.shape, x.dtype, index
        return x[index]

    def backward(self, grad_out):
        xp = array_module(grad_out)
        grad = xp.zeros(self.input_shape, dtype=self.dtype)
        if _is_advanced(self.index):
            xp.add.at(grad, self.index, grad_out)
        else:
            grad[self.index] = grad_out
        return grad


class Where(Function):
    """Forward: z = x where condition else y. Backward: dx = dz * c, dy = dz * (1 - c)."""

    def forward(self, x, y, condition):
        xp = array_module(x)
        self.condition, self.x_shape, self.y_shape = condition, x.shape, y.shape
        return xp.where(condition, x, y)

    def backward(self, grad_out):
        xp = array_module(grad_out)
        zero = xp.zeros((), dtype=grad_out.dtype)
        return (unbroadcast(xp.where(self.condition, grad_out, zero), self.x_shape),
                unbroadcast(xp.where(self.condition, zero, grad_out), self.y_shape))


class Gather(Function):
    """Forward: y[..., i_dim, ...] = x[..., index[..., i_dim, ...], ...] (y has index's shape).

    Backward: dx = zeros with dy scatter-added at the gathered positions.
    """

    def forward(self, x, index, dim):
        self.input_shape, self.dtype = x.shape, x.dtype
        self.positions = _positions(index, dim)
        return x[self.positions]

    def backward(self, grad_out):
        xp = array_module(grad_out)
        grad = xp.zeros(self.input_shape, dtype=self.dtype)
        xp.add.at(grad, self.positions, grad_out)
        return grad


class Scatter(Function):
    """Forward: y = x, then y[..., index[..., j, ...], ...] = src[..., j, ...] along ``dim``
    (``add``: += instead of =).

    Backward: dsrc = dy gathered at the written positions (in src's shape, 0 past index's
    shape); dx = dy, with 0 at the overwritten positions unless ``add``.
    """

    def forward(self, x, src, index, dim, add):
        xp = array_module(x)
        self.positions, self.add, self.src_shape = _positions(index, dim), add, src.shape
        src = src[tuple(slice(0, n) for n in index.shape)] if src.ndim else src
        y = x.copy()
        if add:
            xp.add.at(y, self.positions, src)
        else:
            y[self.positions] = src
        return y

    def backward(self, grad_out):
        xp = array_module(grad_out)
        dx = dsrc = None
        if self.needs_input_grad[0]:
            dx = grad_out
            if not self.add:
                dx = grad_out.copy()
                dx[self.positions] = 0
        if self.needs_input_grad[1]:
            picked = grad_out[self.positions]
            if len(self.src_shape) == 0:
                dsrc = picked.sum()
            else:
                dsrc = xp.zeros(self.src_shape, dtype=grad_out.dtype)
                dsrc[tuple(slice(0, n) for n in picked.shape)] = picked
        return dx, dsrc


class IndexSelect(Function):
    """Forward: y = x with its ``dim`` axis replaced by entries ``index`` (1-D) of it.

    Backward: dx = zeros with dy added back at ``index`` along ``dim`` (repeats summed).
    """

    def forward(self, x, index, dim):
        xp = array_module(x)
        self.input_shape, self.index, self.dim = x.shape, index, dim
        return xp.take(x, index, axis=dim)

    def backward(self, grad_out):
        xp = array_module(grad_out)
        grad = xp.zeros(self.input_shape, dtype=grad_out.dtype)
        xp.add.at(xp.moveaxis(grad, self.dim, 0), self.index, xp.moveaxis(grad_out, self.dim, 0))
        return grad


# ----- public API -----------------------------------------------------------------------


def where(condition, x, y) -> Tensor:
    """Elementwise ``x`` where ``condition`` holds, else ``y`` (gradients flow to both), in
    PyTorch's result dtype (a Python number does not promote a tensor).

    Examples
    --------
    >>> import numpy as np, visiongrad as vg
    >>> x = vg.tensor([1.0, 2.0], requires_grad=True)
    >>> y = vg.tensor([10.0, 20.0], requires_grad=True)
    >>> z = vg.where(np.array([True, False]), x, y)
    >>> z.sum().backward(); z.data, x.grad, y.grad
    (array([ 1., 20.], dtype=float32), array([1., 0.], dtype=float32), array([0., 1.], ...))
    """
    condition = condition.data if isinstance(condition, Tensor) else condition
    return Where.apply(*promote(x, y), condition=condition)


def gather(x, dim: int, index) -> Tensor:
    """``out[i][j][k] = x[index[i][j][k]][j][k]`` for dim 0 (and so on); out has index's shape,
    which may be smaller than x's along the other dims.

    Examples
    --------
    >>> F.gather(vg.tensor([[1.0, 2.0], [3.0, 4.0]]), 1, np.array([[1], [0]]))
    Tensor([[2.]
     [3.]])
    """
    shape, index = tuple(_data(x).shape), _data(index)
    dim = normalize_dim(dim, len(shape))
    _check_index("gather", index, shape, dim)
    return Gather.apply(x, index=index, dim=dim)


def _scatter(name, x, dim, index, src, add) -> Tensor:
    xp = array_module(x)
    shape, index = tuple(_data(x).shape), _data(index)
    dim = normalize_dim(dim, len(shape))
    if not isinstance(src, Tensor):
        src = Tensor(xp.asarray(src, dtype=_data(x).dtype))
    src_shape = tuple(src.shape) if src.ndim else None
    _check_index(name, index, shape, dim, src_shape)
    return Scatter.apply(x, src, index=index, dim=dim, add=add)


def scatter(x, dim: int, index, src) -> Tensor:
    """x with src's entries written at ``index`` along ``dim`` (src may be a number: the
    ``value`` form). NOTE: as in PyTorch, which of several writes to one place wins is
    unspecified.

    Examples
    --------
    >>> F.scatter(vg.zeros(3), 0, np.array([2, 0]), vg.tensor([5.0, 7.0]))
    Tensor([7. 0. 5.])
    """
    return _scatter("scatter", x, dim, index, src, add=False)


def scatter_add(x, dim: int, index, src) -> Tensor:
    """x with src's entries added at ``index`` along ``dim`` (repeats accumulate).

    Examples
    --------
    >>> F.scatter_add(vg.zeros(3), 0, np.array([1, 1, 2]), vg.tensor([1.0, 2.0, 3.0]))
    Tensor([0. 3. 3.])
    """
    return _scatter("scatter_add", x, dim, index, src, add=True)


def index_select(x, dim: int, index) -> Tensor:
    """The entries of x at the integer ``index`` (1-D) along ``dim``.

    Examples
    --------
    >>> F.index_select(vg.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), 0, np.array([2, 0]))
    Tensor([[5. 6.]
     [1. 2.]])
    """
    shape, index = tuple(_data(x).shape), _data(index)
    dim = normalize_dim(dim, len(shape))
    if index.ndim > 1 or index.dtype.kind not in "iu":
        raise ValueError(f"index_select: index must be a 1-D integer tensor, got "
                         f"{index.dtype} of shape {index.shape}")
    check_index_range("index_select", index, shape[dim], dim)
    return IndexSelect.apply(x, index=index.reshape(-1), dim=dim)


def masked_fill(x, mask, value) -> Tensor:
    """x with ``value`` where the boolean ``mask`` (broadcast to x) holds; dx = dy where it
    does not, and a 0-d tensor value gets the sum of dy over the mask.

    Examples
    --------
    >>> F.masked_fill(vg.tensor([1.0, 2.0, 3.0]), np.array([True, False, True]), 0.0)
    Tensor([0. 2. 0.])
    """
    xp = array_module(x)
    x, mask = as_tensor(x), _data(mask)
    if mask.dtype != bool:
        raise TypeError(f"masked_fill: mask must be boolean, got {mask.dtype}")
    if not broadcasts_to(mask.shape, x.shape):
        raise ValueError(f"masked_fill: mask of shape {mask.shape} does not broadcast to "
                         f"{x.shape}")
    if not isinstance(value, Tensor):
        value = Tensor._wrap(xp.asarray(value, dtype=x.dtype))
    elif value.ndim != 0:
        raise ValueError(f"masked_fill: value must be a number or a 0-d tensor, "
                         f"got shape {value.shape}")
    return where(xp.broadcast_to(mask, x.shape), value, x)


def broadcasts_to(shape, target) -> bool:
    """Whether an array of ``shape`` broadcasts to ``target`` (without growing it)."""
    if len(shape) > len(target):
        return False
    return all(n in (1, m) for n, m in zip(reversed(shape), reversed(target), strict=False))


def one_hot(tensor, num_classes: int = -1) -> Tensor:
    """(..., num_classes) int64 with a 1 at each label; -1 means max label + 1.

    Examples
    --------
    >>> F.one_hot(vg.tensor(np.array([0, 2])), num_classes=3)
    Tensor([[1 0 0]
     [0 0 1]])
    """
    xp = array_module(tensor)
    labels = _data(tensor)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"one_hot: labels must be integers, got {labels.dtype}")
    if labels.size and labels.min() < 0:
        raise ValueError("one_hot: labels must be non-negative")
    if num_classes == -1:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    if labels.size and labels.max() >= num_classes:
        raise ValueError(f"one_hot: label {int(labels.max())} is out of range for "
                         f"num_classes={num_classes}")
    return Tensor._wrap((labels[..., None] == xp.arange(num_classes)).astype(xp.int64))


def nonzero(x, *, as_tuple: bool = False):
    """Indices of the non-zero entries: (n, ndim) int64, or one 1-D tensor per dim.

    Examples
    --------
    >>> F.nonzero(vg.tensor([[0.0, 1.0], [2.0, 0.0]]))
    Tensor([[0 1]
     [1 0]])
    """
    xp = array_module(x)
    found = xp.nonzero(xp.atleast_1d(_data(x)))
    if as_tuple:
        return tuple(Tensor._wrap(i.astype(xp.int64)) for i in found)
    array = _data(x)
    stacked = xp.stack(found, axis=1).astype(xp.int64)
    return Tensor._wrap(stacked if array.ndim else stacked[:, :0])
