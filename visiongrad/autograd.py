"""Reverse-mode automatic differentiation: ``Tensor``, ``Function`` and ``backward``.

A ``Tensor`` wraps an array. Every operation on tensors is a ``Function`` node: its
``forward`` computes the output from plain arrays and saves what the backward pass needs;
its ``backward`` turns the gradient of the loss with respect to the output into the
gradient with respect to each input (local gradient times upstream gradient, the chain
rule). ``loss.backward()`` visits the nodes in reverse topological order, so a node runs
only after every consumer of its output has sent its gradient; gradients arriving from
several consumers are summed.

Only leaf tensors (those built by the user, such as parameters) keep ``.grad`` after
``backward``, as in PyTorch; call ``t.retain_grad()`` to keep an intermediate one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from .accel import add
from .backend import array_module, device_of, get_default_dtype, to_device, to_numpy
from .tensor_methods import (
    ActivationMixin,
    ArithmeticMixin,
    ElementwiseMixin,
    IndexingMixin,
    ReductionMixin,
    ShapeMixin,
)

_grad_enabled = True


def is_grad_enabled() -> bool:
    """Whether new operations are being recorded for ``backward``.

    Examples
    --------
    >>> import visiongrad as vg
    >>> with vg.no_grad():
    ...     inside = vg.is_grad_enabled()
    >>> inside, vg.is_grad_enabled()
    (False, True)
    """
    return _grad_enabled


class no_grad(contextlib.ContextDecorator):
    """Context manager (and decorator) that stops recording operations.

    Inside it no graph is built and no Function saves arrays for a backward pass, which
    is what evaluation and optimizer updates need.

    Examples
    --------
    >>> import visiongrad as vg
    >>> w = vg.tensor([1.0], requires_grad=True)
    >>> with vg.no_grad():
    ...     y = w * 2.0
    >>> y.requires_grad
    False
    """

    def __enter__(self) -> None:
        global _grad_enabled
        self._previous = _grad_enabled
        _grad_enabled = False

    def __exit__(self, *exc) -> None:
        global _grad_enabled
        _grad_enabled = self._previous


def unbroadcast(grad, shape: tuple[int, ...]):
    """Sum ``grad`` over the axes that broadcasting expanded, giving an array of ``shape``.

    If ``x`` of shape ``shape`` was broadcast to ``grad.shape`` in the forward pass, each
    element of ``x`` was used once per position along the expanded axes, so its gradient
    is the sum over those axes: leading axes that were added, and axes of size 1.
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        extra + i for i, size in enumerate(shape) if size == 1 and grad.shape[extra + i] != 1
    )
    return grad.sum(axis=axes, keepdims=True).reshape(shape)


class Function:
    """One node of the computational graph.

    Subclasses implement ``forward(*arrays, **options)`` returning an array, and
    ``backward(grad_out)`` returning one gradient per tensor input (``None`` for inputs
    that need none). ``Function.apply`` connects them to tensors. A Function saves what
    its backward needs as attributes named for what they are (``self.x_hat``).

    Examples
    --------
    >>> import numpy as np, visiongrad as vg
    >>> class Square(vg.Function):
    ...     def forward(self, x):
    ...         self.x = x
    ...         return x * x
    ...     def backward(self, grad_out):
    ...         return (2 * self.x * grad_out,)
    >>> x = vg.tensor([3.0], requires_grad=True)
    >>> Square.apply(x).sum().backward(); x.grad
    array([6.], dtype=float32)
    """

    __slots__ = ("parents", "needs_input_grad", "__dict__")

    def __init__(self, parents: tuple[Tensor, ...]):
        self.parents = parents
        self.needs_input_grad = tuple(p.requires_grad for p in parents)

    def forward(self, *arrays, **options):
        raise NotImplementedError

    def backward(self, grad_out):
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **options) -> Tensor:
        """Run the op on ``inputs`` (tensors or arrays) and record it in the graph."""
        parents = tuple(x if isinstance(x, Tensor) else Tensor(x) for x in inputs)
        node = cls(parents)
        out = Tensor._wrap(node.forward(*(p.data for p in parents), **options))
        if _grad_enabled and any(node.needs_input_grad):
            out.requires_grad = True
            out._node = node
        return out


class Tensor(ArithmeticMixin, ReductionMixin, ShapeMixin, IndexingMixin, ElementwiseMixin,
             ActivationMixin):
    """An array with an optional gradient and a link to the Function that made it.

    Its methods come by family from the mixins in ``tensor_methods`` (operators and
    ``exp``: ``ops/math``; ``sum``, ``argmax``: ``ops/reduce``; ``reshape``, ``squeeze``:
    ``ops/shape``; ``x[i]``, ``gather``: ``ops/indexing``; ``maximum``, ``sin``:
    ``ops/elementwise``; ``relu``, ``softmax``: ``ops/activation``); this class holds the
    value, the gradient and ``backward``.

    Attributes
    ----------
    data : ndarray
        The value: a NumPy array, or an array of a registered device (``device``).
    grad : ndarray or None
        d(loss)/d(self) after ``backward``, the same shape as ``data``.
    requires_grad : bool
        Whether gradients flow to this tensor.

    Examples
    --------
    >>> import visiongrad as vg
    >>> w = vg.Tensor([1.0, -2.0], requires_grad=True)
    >>> (w * w).sum().backward()
    >>> w.data, w.grad, w.shape
    (array([ 1., -2.], dtype=float32), array([ 2., -4.], dtype=float32), (2,))
    """

    __slots__ = ("data", "grad", "requires_grad", "_node", "_retains_grad", "name", "_drawing")
    data: Any
    grad: Any
    requires_grad: bool
    _node: Function | None
    _retains_grad: bool
    name: str | None
    _drawing: list | None
    __array_priority__ = 1000  # ndarray <op> Tensor defers to Tensor's reflected operator

    def __init__(self, data, requires_grad: bool = False, dtype=None, name: str | None = None):
        if isinstance(data, Tensor):
            data = data.data
        xp = array_module(data)
        if dtype is None and not isinstance(data, (np.ndarray, np.generic)):
            data = xp.asarray(data)
            if data.dtype.kind == "f" or (requires_grad and data.dtype.kind in "biu"):
                dtype = get_default_dtype()
        self.data = xp.asarray(data, dtype=dtype)
        if self.data.dtype.kind not in "biufc":
            raise TypeError(f"a tensor holds numbers or booleans; got an array of dtype "
                            f"{self.data.dtype} (objects, strings or bytes)")
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(f"only floating tensors can require gradients, got {self.dtype}")
        self.grad = None
        self.requires_grad = requires_grad
        self._node: Function | None = None
        self._retains_grad = False
        self.name = name

    @classmethod
    def _wrap(cls, array) -> Tensor:
        """A new tensor around an op's output array, without conversion."""
        out = cls.__new__(cls)
        out.data, out.grad, out.requires_grad = array, None, False
        out._node, out._retains_grad, out.name = None, False, None
        return out

    # ----- properties ---------------------------------------------------------------
    shape = property(lambda self: self.data.shape)
    device = property(lambda self: device_of(self.data), doc="Where the data lives: 'cpu' "
                      "for NumPy arrays, else the name its array type was registered under.")
    ndim = property(lambda self: self.data.ndim)
    dtype = property(lambda self: self.data.dtype)
    size = property(lambda self: self.data.size)
    is_leaf = property(lambda self: self._node is None)

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        grad = ", requires_grad=True" if self.requires_grad else ""
        op = f", op={type(self._node).__name__}" if self._node is not None else ""
        return f"Tensor({np.array2string(to_numpy(self.data), precision=4)}{grad}{op})"

    def numpy(self) -> np.ndarray:
        """The value as a NumPy array (shares memory on the CPU)."""
        return to_numpy(self.data)

    def item(self) -> float:
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.data.item()

    def detach(self) -> Tensor:
        """A tensor sharing this value but cut from the graph."""
        return Tensor._wrap(self.data)

    def to(self, device: str) -> Tensor:
        """This tensor on ``device`` ("cpu": NumPy; see ``backend.register_device``), cut
        from the graph; itself when it is there already."""
        data = to_device(self.data, device)
        if data is self.data:
            return self
        return Tensor(data, requires_grad=self.requires_grad)

    def retain_grad(self) -> Tensor:
        """Keep this non-leaf tensor's ``.grad`` after ``backward`` (for inspection)."""
        self._retains_grad = True
        return self

    def zero_grad(self) -> None:
        self.grad = None

    # ----- backward ----------------------------------------------------------------
    def backward(self, gradient=None, retain_graph: bool = False) -> None:
        """Compute d(self)/d(leaf) for every leaf that requires a gradient.

        Parameters
        ----------
        gradient : array, optional
            d(loss)/d(self). Required unless ``self`` holds a single element (then 1).
        retain_graph : bool
            Keep the graph (and the arrays its nodes saved) so that ``backward`` can run
            again; by default it is released. A small graph's drawing (values, the
            gradients that flowed, the ops) stays on ``self`` for ``to_dot`` either way.
        """
        if not self.requires_grad:
            raise RuntimeError("backward() on a tensor that does not require a gradient")
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward() on a non-scalar tensor of shape {self.shape} needs a "
                    "gradient argument of the same shape (d(loss)/d(this tensor))"
                )
            gradient = array_module(self.data).ones_like(self.data)
        else:
            gradient = array_module(self.data).asarray(
                gradient.data if isinstance(gradient, Tensor) else gradient, dtype=self.dtype)
            if gradient.shape != self.shape:
                raise ValueError(
                    f"gradient shape {gradient.shape} does not match tensor shape {self.shape}"
                )

        grads = {id(self): gradient}
        stored: set[int] = set()
        order = _reverse_topological_order(self)
        drawing: list | None = [] if _drawable(order) else None
        order.reverse()  # popped from the end: each tensor let go once its gradient went on
        while order:
            node_tensor = order.pop()
            grad = grads.pop(id(node_tensor), None)
            node = node_tensor._node
            if drawing is not None:  # the root as None: no reference cycle through it
                op = None if node is None else (type(node).__name__, node.parents)
                drawing.append((None if node_tensor is self else node_tensor, grad, op))
            if grad is None:
                continue
            if node is None or node_tensor._retains_grad:
                node_tensor._accumulate(grad, stored)
            if node is None:
                continue
            parent_grads = node.backward(grad)
            if not isinstance(parent_grads, tuple):
                parent_grads = (parent_grads,)
            for parent, needs, parent_grad in zip(
                node.parents, node.needs_input_grad, parent_grads, strict=True
            ):
                if not needs or parent_grad is None:
                    continue
                if parent_grad.shape != parent.shape:
                    raise RuntimeError(
                        f"{type(node).__name__}.backward returned a gradient of shape "
                        f"{parent_grad.shape} for an input of shape {parent.shape}"
                    )
                key = id(parent)
                grads[key] = parent_grad if key not in grads else add(grads[key], parent_grad)
            if not retain_graph:
                node_tensor._node = None
        self._drawing = drawing

    def _accumulate(self, grad, stored: set) -> None:
        """Add ``grad`` into ``self.grad``, never aliasing an array another tensor holds."""
        if self.grad is not None:
            self.grad = self.grad + grad
            return
        if id(grad) in stored:
            grad = grad.copy()
        stored.add(id(grad))
        self.grad = grad


def tensor(data, requires_grad: bool = False, dtype=None) -> Tensor:
    """Build a tensor. NumPy arrays keep their dtype; Python floats get the default dtype.

    Examples
    --------
    >>> import numpy as np, visiongrad as vg
    >>> vg.tensor([1.0, 2.0]).dtype, vg.tensor(np.zeros(2)).dtype
    (dtype('float32'), dtype('float64'))
    """
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def _reverse_topological_order(root: Tensor) -> list[Tensor]:
    """Tensors reachable from ``root``, each after all the tensors computed from it.

    Iterative depth-first search with an explicit stack: a recursive one would overflow on
    a long unrolled recurrent network.
    """
    order: list[Tensor] = []
    visited = {id(root)}
    stack: list[tuple[Tensor, Iterator[Tensor]]] = [(root, _graph_parents(root))]
    while stack:
        tensor_, parents = stack[-1]
        for parent in parents:
            if id(parent) not in visited:
                visited.add(id(parent))
                stack.append((parent, _graph_parents(parent)))
                break
        else:
            stack.pop()
            order.append(tensor_)
    order.reverse()
    return order


DRAWN_GRAPH_ELEMENTS = 4096
"""``backward`` keeps a drawing of its graph for ``to_dot`` (each tensor, the gradient that
reached it and the op that made it) when the graph's tensors hold at most this many
elements in all: the course's small worked examples, never a network's activations, whose
arrays must be freed with the graph."""


def _drawable(order: list[Tensor]) -> bool:
    if len(order) > 64:
        return False
    total = 0
    for t in order:  # stops at the first few tensors of a network's graph
        total += t.data.size
        if total > DRAWN_GRAPH_ELEMENTS:
            return False
    return True


def _graph_parents(t: Tensor) -> Iterator[Tensor]:
    node = t._node
    if node is None:
        return iter(())
    return (p for p, needs in zip(node.parents, node.needs_input_grad, strict=True) if needs)


def graph_nodes(root: Tensor) -> list[Tensor]:
    """Every tensor in ``root``'s graph that requires a gradient, inputs first.

    Examples
    --------
    >>> import visiongrad as vg
    >>> x = vg.tensor(2.0, requires_grad=True)
    >>> y = x * x + 1.0
    >>> len(vg.graph_nodes(y)) >= 2, vg.graph_nodes(y)[0] is x
    (True, True)
    """
    return list(reversed(_reverse_topological_order(root)))


def retain_grads(root: Tensor) -> Tensor:
    """Mark every tensor of ``root``'s graph to keep its gradient (``.grad`` of
    intermediate tensors; ``to_dot`` of a small graph shows them without this).

    Examples
    --------
    >>> import visiongrad as vg
    >>> x = vg.tensor(3.0, requires_grad=True)
    >>> q = x * 2.0
    >>> f = q * q
    >>> _ = vg.retain_grads(f); f.backward()
    >>> float(q.grad), float(x.grad)
    (12.0, 24.0)
    """
    for t in graph_nodes(root):
        t.retain_grad()
    return root


def array_of(x):
    """The array inside a tensor; anything else (an array, a number, None) as it is."""
    return x.data if isinstance(x, Tensor) else x


def as_tensor(x, dtype=None) -> Tensor:
    """``x`` unchanged if it is a tensor, otherwise wrapped without copying."""
    return x if isinstance(x, Tensor) else Tensor(x, dtype=dtype)


# concat, stack and where are ops (ops/shape.py, ops/indexing.py), named here as well for
# the modules that import them with Tensor; the ops import this module, so they come last.
from .ops.indexing import where  # noqa: E402
from .ops.shape import concat, stack  # noqa: E402

__all__ = ["Function", "Tensor", "array_of", "as_tensor", "concat", "graph_nodes",
           "is_grad_enabled", "no_grad", "retain_grads", "stack", "tensor", "unbroadcast",
           "where"]
