# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Backpropagation and the computational graph
#
# Every value computed from tensors that require a gradient remembers the operation that
# made it. `backward()` walks that graph from the output back to the inputs and applies
# the chain rule at each node: local gradient times upstream gradient.
#
# Nothing here is large: `SMALL` only sets the size of the gradient check at the end
# (`SMALL = False` checks a bigger convolution, a few seconds more).

# %%
SMALL = True

import matplotlib.pyplot as plt
import numpy as np

import visiongrad as vg
from visiongrad import functional as F

# %% [markdown]
# ## The course's worked example: $f = (x + y)\,z$
#
# With $q = x + y$: $\partial f/\partial z = q$, $\partial f/\partial q = z$, and
# $\partial f / \partial x = \partial f/\partial q \cdot \partial q/\partial x = z \cdot 1$.
# At $x=-2, y=5, z=-4$: $q = 3$, $f = -12$, so $x$ and $y$ get $-4$, $z$ gets $3$.

# %%
x = vg.Tensor(-2.0, requires_grad=True, name="x")
y = vg.Tensor(5.0, requires_grad=True, name="y")
z = vg.Tensor(-4.0, requires_grad=True, name="z")
q = x + y
q.name = "q"
f = q * z
f.name = "f"
f.backward()
print("df/dx", x.grad, " df/dy", y.grad, " df/dz", z.grad)


# %% [markdown]
# The graph, drawn from the tensors themselves: each operation (an ellipse) points to the
# value it made, each box shows a value and the gradient that reached it
# (`vg.to_dot(f)` gives the same graph as Graphviz text).

# %%
def draw_graph(root):
    """Lay the graph out by depth from the inputs and draw it with matplotlib."""
    depth, edges, stack = {}, [], [root]
    nodes = {id(root): root}
    while stack:
        t = stack.pop()
        parents = [] if t._node is None else [p for p in t._node.parents if p is not None]
        for p in parents:
            edges.append((id(p), id(t)))
            if id(p) not in nodes:
                nodes[id(p)] = p
                stack.append(p)

    def level(key):
        if key not in depth:
            inputs = [a for a, b in edges if b == key]
            depth[key] = 0 if not inputs else 1 + max(level(a) for a in inputs)
        return depth[key]

    columns = {}
    for key in nodes:
        columns.setdefault(level(key), []).append(key)
    where = {key: (lv, -i) for lv, keys in columns.items() for i, key in enumerate(keys)}
    fig, ax = plt.subplots(figsize=(7, 3))
    for a, b in edges:
        (x0, y0), (x1, y1) = where[a], where[b]
        ax.annotate("", (x1 - 0.25, y1), (x0 + 0.25, y0), arrowprops={"arrowstyle": "->"})
        ax.text((x0 + x1) / 2, (y0 + y1) / 2 + 0.1, type(nodes[b]._node).__name__,
                ha="center", fontsize=8, bbox={"boxstyle": "round", "fc": "lightyellow"})
    for key, (px, py) in where.items():
        t = nodes[key]
        label = f"{t.name or ''} = {float(t.data):.3g}\ngrad {float(t.grad):.3g}" \
            if t.grad is not None else f"{t.name or ''} = {float(t.data):.3g}"
        ax.text(px, py, label, ha="center", va="center", fontsize=9,
                bbox={"boxstyle": "square", "fc": "lightblue"})
    ax.set_xlim(-0.5, max(columns) + 0.5)
    ax.set_ylim(-max(len(k) for k in columns.values()) + 0.5, 0.6)
    ax.axis("off")
    plt.show()


x, y, z = (vg.Tensor(v, requires_grad=True, name=n)
           for v, n in ((-2.0, "x"), (5.0, "y"), (-4.0, "z")))
q = x + y
q.name = "q"
f = q * z
f.name = "f"
vg.retain_grads(f)
f.backward()
draw_graph(f)

# %% [markdown]
# ## A sigmoid neuron
#
# $f(w, x) = \sigma(w_0 x_0 + w_1 x_1 + w_2)$ with $\sigma(a) = 1 / (1 + e^{-a})$.
# The sigmoid's local gradient is $\sigma(a)(1 - \sigma(a))$, so the whole gate's
# gradient is that times the upstream gradient; compare with backpropagation:

# %%
w = vg.tensor([2.0, -3.0, -3.0], requires_grad=True)
xs = vg.tensor([-1.0, -2.0], requires_grad=True)
a = w[0] * xs[0] + w[1] * xs[1] + w[2]
out = F.sigmoid(a)
out.backward()
s = 1 / (1 + np.exp(-float(a.data)))
print("by hand  dw =", s * (1 - s) * np.array([-1.0, -2.0, 1.0]))
print("backward dw =", w.grad)

# %% [markdown]
# ## Checking a backward pass numerically
#
# The centred difference $\frac{f(x + h) - f(x - h)}{2h}$ estimates each partial
# derivative; `vg.gradcheck` compares it with the analytic gradient by the relative error
# $|a - n| / \max(|a|, |n|)$ (about 1e-7 or less in float64 means the backward is right).

# %%
size = 5 if SMALL else 9
rng = np.random.default_rng(0)
inputs = [rng.standard_normal((2, 3, size, size)), rng.standard_normal((4, 3, 3, 3)),
          rng.standard_normal(4)]
error = vg.gradcheck(lambda a, w, b: F.conv2d(a, w, b, stride=2, padding=1), inputs)
print(f"conv2d: max relative error {error:.2e}")
