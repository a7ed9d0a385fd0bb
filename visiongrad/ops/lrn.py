"""Local response normalisation (Krizhevsky et al. 2012): each activation divided by a
power of the summed squares of its neighbours across channels."""

from __future__ import annotations

from ..autograd import Function, Tensor
from ..backend import array_module


def channel_window_sums(v, before: int, after: int):
    """s[:, c] = sum of v[:, c'] for c - before <= c' <= c + after (zero outside the
    channels), by a cumulative sum over the zero-padded channel axis."""
    xp = array_module(v)
    pad = [(0, 0)] * v.ndim
    pad[1] = (before + 1, after)
    totals = xp.cumsum(xp.pad(v, pad), axis=1)
    channels = v.shape[1]
    return totals[:, before + 1 + after:] - totals[:, :channels]


class LocalResponseNorm(Function):
    """PyTorch's ``local_response_norm`` over axis 1 (channels) of (N, C, ...) input.

    Forward:  s_c = k + alpha / size * sum_{c' = c - size//2}^{c + (size-1)//2} x_{c'}^2
              (zero beyond the channels), y_c = x_c * s_c^(-beta)
    Backward: dx_j = dy_j s_j^(-beta) - (2 alpha beta / size) x_j
                     * sum_{c = j - (size-1)//2}^{j + size//2} dy_c y_c / s_c
              (the second sum runs over the channels c whose window holds j: the window
              mirrored)
    Shape:    x (N, C, ...) -> y of the same shape

    NOTE: as in PyTorch (and unlike the AlexNet paper's formula), alpha is divided by
    ``size``; the paper's alpha = 1e-4 with n = 5 is ``alpha=5e-4`` here.
    """

    def forward(self, x, size, alpha=1e-4, beta=0.75, k=1.0):
        if x.ndim < 3:
            raise ValueError(f"local_response_norm expects input of shape (N, C, ...) with at "
                             f"least 3 dimensions, got shape {x.shape}")
        if not isinstance(size, int) or size < 1:
            raise ValueError(f"local_response_norm: size must be a positive integer, got "
                             f"{size!r}")
        self.size, self.alpha, self.beta = size, alpha, beta
        self.s = k + alpha / size * channel_window_sums(x * x, size // 2, (size - 1) // 2)
        self.x = x
        self.y = x * self.s ** -beta
        return self.y

    def backward(self, grad_out):
        size, alpha, beta = self.size, self.alpha, self.beta
        through_s = channel_window_sums(grad_out * self.y / self.s, (size - 1) // 2, size // 2)
        return grad_out * self.s ** -beta - (2 * alpha * beta / size) * self.x * through_s


# ----- functional forms (``torch.nn.functional``'s names and arguments) --------------


def local_response_norm(x, size: int, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 1.0) -> Tensor:
    """y_c = x_c / (k + alpha / size * sum of x^2 over ``size`` neighbouring channels)^beta.

    Examples
    --------
    >>> F.local_response_norm(vg.ones(1, 5, 2, 2), size=3).shape
    (1, 5, 2, 2)
    """
    return LocalResponseNorm.apply(x, size=size, alpha=alpha, beta=beta, k=k)
