"""Matrix products: matmul, the PyTorch-style linear layer, and the course's affine layer."""

from __future__ import annotations

from ..accel import linear as fast
from ..autograd import Function, Tensor, unbroadcast
from ..backend import array_module


class MatMul(Function):
    """Matrix product with NumPy's ``@`` rules (batched and broadcast over leading axes).

    Forward:  Z = X Y            X (..., n, k), Y (..., k, m) -> Z (..., n, m)
    Backward: dX = dZ Y^T,  dY = X^T dZ   (summed over broadcast axes; a 1-D operand is
              treated as a row (X) or column (Y) vector and squeezed back)
    """

    def forward(self, x, y):
        if x.ndim == 0 or y.ndim == 0 or x.shape[-1] != y.shape[-2 if y.ndim > 1 else 0]:
            raise ValueError(f"matmul: shapes {x.shape} and {y.shape} are not aligned")
        self.x, self.y = x, y
        return x @ y

    def backward(self, grad_out):
        # a 1-D operand as a row (X) or column (Y) matrix, and dZ with both matrix axes
        xp = array_module(grad_out)
        x = self.x[None, :] if self.x.ndim == 1 else self.x
        y = self.y[:, None] if self.y.ndim == 1 else self.y
        batch = xp.broadcast_shapes(x.shape[:-2], y.shape[:-2])
        grad = grad_out.reshape(batch + (x.shape[-2], y.shape[-1]))
        dx = dy = None
        if self.needs_input_grad[0]:
            dx = unbroadcast(grad @ xp.swapaxes(y, -1, -2), x.shape).reshape(self.x.shape)
        if self.needs_input_grad[1]:
            dy = unbroadcast(xp.swapaxes(x, -1, -2) @ grad, y.shape).reshape(self.y.shape)
        return dx, dy


def _check_features(name: str, x_shape, features: int, weight_shape) -> None:
    if x_shape[-1] != features:
        raise ValueError(
            f"{name}: input of shape {x_shape} has {x_shape[-1]} features but the weight of "
            f"shape {weight_shape} expects {features}"
        )


class Linear(Function):
    """PyTorch's linear layer: y = x W^T + b.

    Forward:  y = x W^T + b        x (..., in), W (out, in), b (out,) -> y (..., out)
    Backward: dx = dy W,  dW = dy^T x,  db = sum of dy over all but the last axis
              (leading axes are flattened into one batch axis for the products)
    """

    def forward(self, x, weight, bias=None):
        if weight.ndim != 2:
            raise ValueError(f"linear: weight must be 2-D (out_features, in_features), got "
                             f"shape {weight.shape}")
        _check_features("linear", x.shape, weight.shape[1], weight.shape)
        if bias is not None and bias.shape != (weight.shape[0],):
            raise ValueError(f"linear: bias shape {bias.shape} does not match weight "
                             f"shape {weight.shape} (expected ({weight.shape[0]},))")
        self.x, self.weight = x, weight
        out = fast.linear_few_rows(x, weight, bias)  # None: not a case it takes
        if out is None:
            out = x @ weight.T
            if bias is not None:
                out += bias
        return out

    def backward(self, grad_out):
        dy = grad_out.reshape(-1, grad_out.shape[-1])
        dx = grad_out @ self.weight if self.needs_input_grad[0] else None
        dw = dy.T @ self.x.reshape(-1, self.x.shape[-1]) if self.needs_input_grad[1] else None
        db = dy.sum(axis=0) if len(self.needs_input_grad) > 2 and self.needs_input_grad[2] \
            else None
        return (dx, dw, db)[: len(self.needs_input_grad)]


class Affine(Function):
    """The course's affine layer: each example is flattened to a row, then y = x w + b.

    Forward:  y = x_flat w + b     x (N, d1, ..., dk) with D = d1 * ... * dk, w (D, M),
              b (M,) -> y (N, M)
    Backward: dx = (dy w^T) reshaped to x's shape,  dw = x_flat^T dy,  db = sum_n dy
    """

    def forward(self, x, w, b=None):
        x_flat = x.reshape(x.shape[0], -1)
        _check_features("affine", x_flat.shape, w.shape[0], w.shape)
        self.x_shape, self.x_flat, self.w = x.shape, x_flat, w
        out = x_flat @ w
        if b is not None:
            out += b
        return out

    def backward(self, grad_out):
        dx = (grad_out @ self.w.T).reshape(self.x_shape) if self.needs_input_grad[0] else None
        dw = self.x_flat.T @ grad_out if self.needs_input_grad[1] else None
        db = grad_out.sum(axis=0) if len(self.needs_input_grad) > 2 and self.needs_input_grad[2] \
            else None
        return (dx, dw, db)[: len(self.needs_input_grad)]


# ----- functional forms (``torch.nn.functional``'s names and arguments) --------------


def matmul(x, y) -> Tensor:
    """Matrix product ``x @ y`` (batched, broadcast).

    Examples
    --------
    >>> F.matmul(vg.ones(5, 2, 3), vg.ones(3, 4)).shape
    (5, 2, 4)
    """
    return MatMul.apply(x, y)


def linear(x, weight, bias=None) -> Tensor:
    """y = x W^T + b with x (..., in), weight (out, in), bias (out,), as in PyTorch.

    Examples
    --------
    >>> F.linear(vg.ones(2, 3), vg.ones(4, 3), vg.tensor([0.0, 1.0, 2.0, 3.0]))
    Tensor([[3. 4. 5. 6.]
     [3. 4. 5. 6.]])
    """
    return Linear.apply(x, weight) if bias is None else \
        Linear.apply(x, weight, bias)


def affine(x, w, b=None) -> Tensor:
    """The course's affine layer: x (N, d1..dk) flattened to (N, D), y = x w + b, w (D, M).

    Examples
    --------
    >>> F.affine(vg.ones(2, 3, 4), vg.ones(12, 5), vg.zeros(5)).shape
    (2, 5)
    """
    return Affine.apply(x, w) if b is None else Affine.apply(x, w, b)
