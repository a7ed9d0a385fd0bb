"""Quantization in training: fake quantization with the straight-through estimator, and
binary and ternary weights.

These ops let a float network train while it sees its values as a low-bit one will:
the forward pass rounds, the backward pass lets the gradient through as if it had not
(rounding's true derivative is zero almost everywhere, which would stop all learning).
"""

from __future__ import annotations

from ..autograd import Function
from ..backend import array_module


class FakeQuantize(Function):
    """Quantize and dequantize in one step, gradient by the straight-through estimator.

    Forward:  q = round(x / s) + z,   y = s (clamp(q, q_min, q_max) - z)
              (round half to even; s and z broadcast against x: one per tensor, or one per
              output channel with shape (F, 1, ...))
    Backward: dx = dy * [q_min <= q <= q_max]
              (straight through where x is inside the representable range, zero where
              it was clamped; PyTorch's ``fake_quantize_per_*_affine`` does the same)
    Shapes:   x any; scale and zero_point broadcastable to x; y x's shape.
    """

    def forward(self, x, scale, zero_point, quant_min: int, quant_max: int):
        if quant_min >= quant_max:
            raise ValueError(f"fake_quantize: quant_min {quant_min} must be below quant_max "
                             f"{quant_max}")
        xp = array_module(x)
        if xp.any(scale <= 0):
            raise ValueError("fake_quantize: every scale must be positive")
        q = xp.rint(x / scale) + zero_point
        self.inside = (q >= quant_min) & (q <= quant_max)
        return ((xp.clip(q, quant_min, quant_max) - zero_point) * scale).astype(x.dtype)

    def backward(self, grad_out):
        return grad_out * self.inside, None, None


class TernaryWeight(Function):
    """Trained ternary quantization (Zhu et al., ICLR 2017): each weight becomes +W_p, 0 or
    -W_n, with the two scales W_p, W_n learned.

    Forward:  delta = t max|w|,   y = W_p [w > delta] - W_n [w < -delta]
    Backward: dW_p = sum(dy [w > delta]),   dW_n = -sum(dy [w < -delta]),
              dw   = W_p dy [w > delta] + dy [|w| <= delta] + W_n dy [w < -delta]
              (the paper's scaled straight-through gradient for the latent float weights;
              delta is held constant)
    Shapes:   w any; W_p, W_n scalars (shape ()); y w's shape.
    """

    def forward(self, w, positive_scale, negative_scale, threshold: float = 0.05):
        if not 0 <= threshold < 1:
            raise ValueError(f"ternary: threshold must be in [0, 1), got {threshold}")
        xp = array_module(w)
        delta = threshold * xp.abs(w).max()
        self.positive, self.negative = w > delta, w < -delta
        self.positive_scale, self.negative_scale = positive_scale, negative_scale
        return (positive_scale * self.positive - negative_scale * self.negative).astype(w.dtype)

    def backward(self, grad_out):
        xp = array_module(grad_out)
        zero = ~(self.positive | self.negative)
        dw = grad_out * (self.positive_scale * self.positive + zero
                         + self.negative_scale * self.negative)
        d_positive = xp.sum(grad_out * self.positive).reshape(xp.shape(self.positive_scale))
        d_negative = -xp.sum(grad_out * self.negative).reshape(xp.shape(self.negative_scale))
        return dw, d_positive, d_negative


class BinaryWeight(Function):
    """Binary weights with one scale per output channel (XNOR-Net's weights), trained
    through BinaryConnect's straight-through estimator.

    Forward:  alpha_f = mean|w_f|,   y = alpha_f sign(w)     (sign(0) = +1)
    Backward: dw = dy [|w| <= 1]    (the gradient of the hard tanh: the latent weight
              learns while it is inside [-1, 1]; alpha is held constant)
    Shapes:   w (F, ...); y w's shape.
    """

    def forward(self, w):
        axes = tuple(range(1, w.ndim))
        xp = array_module(w)
        alpha = xp.abs(w).mean(axis=axes, keepdims=True) if axes else xp.abs(w).mean()
        self.inside = xp.abs(w) <= 1
        return (alpha * xp.where(w >= 0, 1, -1)).astype(w.dtype)

    def backward(self, grad_out):
        return grad_out * self.inside


def fake_quantize(x, scale, zero_point, quant_min: int, quant_max: int):
    """``x`` rounded to the integer grid ``scale (q - zero_point)``, q in [quant_min,
    quant_max], with the straight-through gradient (:class:`FakeQuantize`).

    Examples
    --------
    >>> F.fake_quantize(vg.tensor([0.0, 0.26, 1.0, 20.0]), 0.1, 0, -128, 127)  # int8 grid
    Tensor([ 0.   0.3  1.  12.7])
    """
    return FakeQuantize.apply(x, scale, zero_point, quant_min=quant_min, quant_max=quant_max)


def ternary_weight(w, positive_scale, negative_scale, threshold: float = 0.05):
    """Trained ternary weights +W_p, 0, -W_n of ``w`` (:class:`TernaryWeight`): zero where
    |w| <= ``threshold`` max|w|.

    Examples
    --------
    >>> F.ternary_weight(vg.tensor([0.9, -0.02, -0.6, 0.3]), vg.tensor(1.2), vg.tensor(0.8))
    Tensor([ 1.2  0.  -0.8  1.2])
    """
    return TernaryWeight.apply(w, positive_scale, negative_scale, threshold=threshold)


def binary_weight(w):
    """Per-output-channel scaled sign of ``w`` with BinaryConnect's straight-through
    gradient (:class:`BinaryWeight`); the scale of each row is its mean |w|.

    Examples
    --------
    >>> F.binary_weight(vg.tensor([[0.5, -1.5], [0.2, 0.1]]))
    Tensor([[ 1.   -1.  ]
     [ 0.15  0.15]])
    """
    return BinaryWeight.apply(w)
