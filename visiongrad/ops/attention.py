"""Soft attention over a spatial feature map (Show, Attend and Tell; the course's
``dot_product_attention`` of its attention LSTM).

At each step of a captioning RNN the hidden state h scores every position l of the
projected feature map A; the softmax of the scores weights the positions, and the
weighted sum of their feature vectors is the context the next step reads.
"""

from __future__ import annotations

from ..autograd import Function, as_tensor
from ..backend import array_module


def _check(h, A) -> None:
    if h.ndim != 2:
        raise ValueError(f"dot_product_attention: h must be (N, H), got shape {h.shape}")
    if A.ndim != 4 or A.shape[:2] != h.shape:
        raise ValueError(f"dot_product_attention: A must be (N, H, h, w) = ({h.shape[0]}, "
                         f"{h.shape[1]}, h, w) for h of shape {h.shape}, got {A.shape}")


def attention_weights(h, A):
    """alpha = softmax_l(h . A_l / sqrt(H)) as an array (N, h, w) (no graph).

    h (N, H), A (N, H, h, w): the weights ``DotProductAttention`` uses, for drawing.
    """
    xp = array_module(h)
    _check(h, A)
    N, H = h.shape
    scores = xp.einsum("nh,nhl->nl", h, A.reshape(N, H, -1)) / xp.sqrt(H)
    scores -= scores.max(axis=1, keepdims=True)
    alpha = xp.exp(scores)
    alpha /= alpha.sum(axis=1, keepdims=True)
    return alpha.reshape(N, *A.shape[2:])


class DotProductAttention(Function):
    """Scaled dot-product soft attention of a state h over the positions of a map A.

    Forward:  s_l = h . A_l / sqrt(H),  alpha = softmax(s) over the L = h*w positions,
              context = sum_l alpha_l A_l
    Backward: dalpha_l = dcontext . A_l,  ds_l = alpha_l (dalpha_l - sum_k alpha_k dalpha_k),
              dh = sum_l ds_l A_l / sqrt(H),  dA_l = alpha_l dcontext + ds_l h / sqrt(H)
    Shapes:   h (N, H), A (N, H, h, w) -> context (N, H); the weights alpha (N, h, w) come
              from :func:`attention_weights`
    """

    def forward(self, h, A):
        xp = array_module(h)
        alpha = attention_weights(h, A)
        N, H = h.shape
        self.h, self.A, self.alpha = h, A.reshape(N, H, -1), alpha.reshape(N, -1)
        self.A_shape = A.shape
        self.scale = 1.0 / xp.sqrt(H)
        return xp.einsum("nhl,nl->nh", self.A, self.alpha)

    def backward(self, grad_out):
        xp = array_module(grad_out)
        A, alpha, scale = self.A, self.alpha, self.scale
        dalpha = xp.einsum("nh,nhl->nl", grad_out, A)
        ds = alpha * (dalpha - (alpha * dalpha).sum(axis=1, keepdims=True))
        dh = xp.einsum("nl,nhl->nh", ds, A) * scale if self.needs_input_grad[0] else None
        dA = None
        if self.needs_input_grad[1]:
            dA = grad_out[:, :, None] * alpha[:, None, :]
            dA += self.h[:, :, None] * (ds * scale)[:, None, :]
            dA = dA.reshape(self.A_shape)
        return dh, dA


def dot_product_attention(prev_h, A):
    """The course's ``dot_product_attention``: (context, weights) for prev_h (N, H) and a
    projected feature map A (N, H, h, w).

    context = sum_l alpha_l A_l (N, H), differentiable in prev_h and A
    (``DotProductAttention``); weights = alpha = softmax_l(prev_h . A_l / sqrt(H))
    (N, h, w), an array, as the course returns them to draw.

    NOTE: unlike the course's, the weights carry no gradient (the context's backward
    already accounts for them).

    Examples
    --------
    >>> context, weights = F.dot_product_attention(vg.ones(2, 4), vg.ones(2, 4, 3, 3))
    >>> context.shape, weights.shape
    ((2, 4), (2, 3, 3))
    """
    prev_h, A = as_tensor(prev_h), as_tensor(A)
    return DotProductAttention.apply(prev_h, A), attention_weights(prev_h.data, A.data)
