"""The contractive autoencoder's penalty: the squared Frobenius norm of the encoder's Jacobian.

For a sigmoid encoder layer h = sigmoid(W x + b) the Jacobian dh/dx is diag(h (1 - h)) W,
so its squared Frobenius norm needs no Jacobian at all:
||J_f(x)||_F^2 = sum_j (h_j (1 - h_j))^2 * sum_i W_ji^2.
"""

from __future__ import annotations

from ..autograd import Function
from ..backend import array_module


class ContractivePenalty(Function):
    """Mean over the batch of ||J_f(x_n)||_F^2 for the encoder h = sigmoid(x W^T + b).

    Forward:  a = x W^T + b,  h = sigmoid(a),  s = (h (1 - h))^2,  w2_j = sum_i W_ji^2,
              P = (1/N) sum_n sum_j s_nj w2_j
    Backward: ds_nj/da_nj = 2 (h (1 - h))^2 (1 - 2 h) = 2 s_nj (1 - 2 h_nj), so
              G = dP/da = (2/N) s (1 - 2 h) w2          (N, H), times the upstream dP
              dW = G^T x + 2 W * (1/N) sum_n s_n[:, None]   (the second term: through w2)
              db = sum_n G,   dx = G W
    Shapes:   x (N, D), W (H, D) (``nn.Linear``'s weight), b (H,) -> P scalar
    """

    def forward(self, x, weight, bias):
        xp = array_module(x)
        if x.ndim != 2 or weight.ndim != 2 or bias.shape != (weight.shape[0],):
            raise ValueError("contractive_penalty needs x (N, D), weight (H, D) and bias (H,), "
                             f"got {x.shape}, {weight.shape}, {bias.shape}")
        if x.shape[1] != weight.shape[1]:
            raise ValueError(f"contractive_penalty: x has {x.shape[1]} features but weight "
                             f"expects {weight.shape[1]}")
        self.x, self.weight = x, weight
        self.h = 1.0 / (1.0 + xp.exp(-(x @ weight.T + bias)))
        self.s = (self.h * (1.0 - self.h)) ** 2
        self.w2 = (weight * weight).sum(axis=1)
        return xp.asarray((self.s @ self.w2).mean(), dtype=x.dtype)

    def backward(self, grad_out):
        n = self.x.shape[0]
        g = (2.0 / n) * grad_out * self.s * (1.0 - 2.0 * self.h) * self.w2
        dx = g @ self.weight
        dweight = g.T @ self.x + (2.0 / n) * grad_out * self.s.sum(axis=0)[:, None] * self.weight
        return dx, dweight, g.sum(axis=0)
