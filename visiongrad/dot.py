"""Draw a computational graph as Graphviz DOT text, with values and gradients."""

from __future__ import annotations

import numpy as np

from .autograd import Tensor, graph_nodes
from .backend import to_numpy


def to_dot(root: Tensor, names: dict[str, Tensor] | None = None) -> str:
    """The computational graph behind ``root`` as Graphviz DOT text.

    Each value is a box with its name (from ``names`` or ``Tensor.name``), shape, value
    (for small tensors) and gradient when known; each operation is an ellipse with the
    Function's name; inputs that need no gradient are dashed boxes. Render with
    ``dot -Tpng graph.dot``.

    Before ``root.backward()`` it draws the live graph (gradients: whatever ``.grad``
    holds). After it, a small graph is drawn as that backward pass saw it: every tensor
    with the gradient d(root)/d(tensor) that reached it, intermediate ones included
    (``backward`` keeps that drawing when the graph holds at most
    ``autograd.DRAWN_GRAPH_ELEMENTS`` elements). A larger graph is released by backward
    unless ``retain_graph=True``; ``retain_grads(root)`` beforehand keeps its intermediate
    gradients.

    Examples
    --------
    >>> import visiongrad as vg
    >>> x = vg.tensor(2.0, requires_grad=True)
    >>> dot = vg.to_dot(x * x)
    >>> dot.startswith("digraph"), "Mul" in dot
    (True, True)
    """
    label_of = {id(t): name for name, t in (names or {}).items()}
    drawing = getattr(root, "_drawing", None)
    if drawing is not None:
        entries = [(root if t is None else t, grad, op) for t, grad, op in reversed(drawing)]
    else:
        entries = [(t, t.grad, None if t._node is None else (type(t._node).__name__,
                                                             t._node.parents))
                   for t in (graph_nodes(root) if root.requires_grad else [root])]

    def short(array) -> str:
        array = to_numpy(array)
        return f"{array.item():.4g}" if array.size == 1 else np.array2string(
            array.ravel(), precision=4)

    def describe(t: Tensor, grad) -> str:
        parts = [label_of.get(id(t)) or t.name or "", f"shape {tuple(t.shape)}"]
        if t.size <= 4:
            parts.append("value " + short(t.data))
            if grad is not None:
                parts.append("grad " + short(grad))
        elif grad is not None:
            parts.append(f"|grad| {float(np.linalg.norm(to_numpy(grad))):.4g}")
        return "\\n".join(p for p in parts if p)

    lines = ["digraph visiongrad {", "  rankdir=LR;", '  node [fontname="Helvetica"];']
    drawn = {id(t) for t, _, _ in entries}
    for t, grad, op in entries:
        lines.append(f'  t{id(t)} [shape=box, label="{describe(t, grad)}"];')
        if op is None:
            continue
        name, parents = op
        lines.append(f'  f{id(t)} [shape=ellipse, label="{name}"];')
        lines.append(f"  f{id(t)} -> t{id(t)};")
        for parent in parents:
            if id(parent) not in drawn:
                lines.append(f'  t{id(parent)} [shape=box, style=dashed, '
                             f'label="{describe(parent, None)}"];')
                drawn.add(id(parent))
            lines.append(f"  t{id(parent)} -> f{id(t)};")
    lines.append("}")
    return "\n".join(lines) + "\n"
