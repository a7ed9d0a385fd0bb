"""Winograd's minimal filtering F(2x2, 3x3) as a convolution algorithm for 3x3, stride-1
layers (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks", CVPR 2016).

Each 2x2 block of outputs is computed from the 4x4 input tile d under it and the 3x3
filter g with 16 multiplications instead of 36:

    Y = A^T [ (G g G^T) . (B^T d B) ] A            (. : elementwise, 4x4)

          [1    0    0  ]          [1  0 -1  0]          [1  1  1  0]
    G   = [1/2  1/2  1/2]    B^T = [0  1  1  0]    A^T = [0  1 -1 -1]
          [1/2 -1/2  1/2]          [0 -1  1  0]
          [0    0    1  ]          [0  1  0 -1]

Summed over input channels, the elementwise products become 16 matrix products, one per
position (a, b) of the 4x4 transformed tile: M[ab] = U[ab] V[ab], U[ab] (F, C) the
transformed filters, V[ab] (C, P) the transformed tiles of all P tiles of the batch.

Each transform is a linear map of the flattened tile (row-major vec(X g Y) =
(X kron Y^T) vec(g)), so with T_G = G kron G (16x9), T_B = B^T kron B^T (16x16) and
T_A = A^T kron A^T (4x16):

Forward:  V = T_B vec(d),  U = T_G vec(g),  M[ab] = U[ab] V[ab],  vec(Y) = T_A M  (+ b)
Backward: dM = T_A^T vec(dY),  dU[ab] = dM[ab] V[ab]^T,  dV[ab] = U[ab]^T dM[ab],
          dg = T_G^T dU,  dd = T_B^T dV, each tile's dd added back where it overlaps its
          neighbours (tiles step by 2 and are 4 wide),  db = sum of dY over N, H, W
Shapes:   x (N, C, H, W), weight (F, C, 3, 3), bias (F,), padding (ph, pw) ->
          y (N, F, H + 2 ph - 2, W + 2 pw - 2)

The results equal the direct convolution's up to rounding (the transforms add and
subtract, in float32 to a few ulps).
"""

from __future__ import annotations

from ..autograd import Function
from ..backend import array_module

G = [[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]]
B_T = [[1.0, 0.0, -1.0, 0.0], [0.0, 1.0, 1.0, 0.0], [0.0, -1.0, 1.0, 0.0], [0.0, 1.0, 0.0, -1.0]]
A_T = [[1.0, 1.0, 1.0, 0.0], [0.0, 1.0, -1.0, -1.0]]


def transforms(xp, dtype):
    """The 2-D transforms kron(G, G) (16, 9), kron(B^T, B^T) (16, 16) and kron(A^T, A^T)
    (4, 16) as arrays of the namespace ``xp`` in ``dtype``."""
    return tuple(xp.kron(xp.asarray(m, dtype=dtype), xp.asarray(m, dtype=dtype))
                 for m in (G, B_T, A_T))


def tiles_shape(out_hw) -> tuple[int, int]:
    """Tiles of 2x2 outputs along each axis (the last ones cropped where odd)."""
    return (out_hw[0] + 1) // 2, (out_hw[1] + 1) // 2


class WinogradConv2d(Function):
    """3x3, stride-1 convolution by Winograd's F(2x2, 3x3) (see the module's docstring)."""

    def forward(self, x, weight, bias=None, padding=(1, 1)):
        if weight.shape[2:] != (3, 3) or x.ndim != 4 or x.shape[1] != weight.shape[1]:
            raise ValueError(f"winograd_conv2d: takes x (N, C, H, W) and 3x3 weights (F, C, "
                             f"3, 3), got x {x.shape} and weight {weight.shape}")
        n, c, h, w = x.shape
        ph, pw = padding
        out_hw = (h + 2 * ph - 2, w + 2 * pw - 2)
        if min(out_hw) < 1:
            raise ValueError(f"winograd_conv2d: input {x.shape} with padding {padding} is "
                             f"smaller than the 3x3 filter")
        th, tw = tiles_shape(out_hw)
        xp = array_module(x)
        t_g, t_b, t_a = transforms(xp, x.dtype)
        # padded so that every tile is whole: 2 th + 2 rows, 2 tw + 2 columns
        x_pad = xp.zeros((n, c, 2 * th + 2, 2 * tw + 2), x.dtype)
        x_pad[:, :, ph:ph + h, pw:pw + w] = x
        d = xp.lib.stride_tricks.sliding_window_view(x_pad, (4, 4), axis=(2, 3))[:, :, ::2, ::2]
        # the tiles as (16, C P) (one copy), then V[ab, c, p] for the P = N th tw tiles
        d = d.transpose(4, 5, 1, 0, 2, 3).reshape(16, -1)
        v = (t_b @ d).reshape(16, c, n * th * tw)
        u = (t_g @ weight.reshape(len(weight), c, 9).transpose(2, 0, 1)
             .reshape(9, -1)).reshape(16, len(weight), c)
        m = u @ v                                                  # (16, F, P)
        y = (t_a @ m.reshape(16, -1)).reshape(2, 2, len(weight), n, th, tw)
        y = y.transpose(3, 2, 4, 0, 5, 1).reshape(n, len(weight), 2 * th, 2 * tw)
        self.u, self.v, self.shapes = u, v, (x.shape, out_hw, (th, tw), padding)
        y = y[:, :, :out_hw[0], :out_hw[1]]
        return y + bias.reshape(1, -1, 1, 1) if bias is not None else xp.ascontiguousarray(y)

    def backward(self, grad_out):
        (n, c, h, w), out_hw, (th, tw), (ph, pw) = self.shapes
        filters = grad_out.shape[1]
        xp = array_module(grad_out)
        t_g, t_b, t_a = transforms(xp, grad_out.dtype)
        dy = xp.zeros((n, filters, 2 * th, 2 * tw), grad_out.dtype)
        dy[:, :, :out_hw[0], :out_hw[1]] = grad_out
        dy_tiles = dy.reshape(n, filters, th, 2, tw, 2).transpose(3, 5, 1, 0, 2, 4)
        dm = (t_a.T @ dy_tiles.reshape(4, -1)).reshape(16, filters, -1)
        dx = dw = None
        if self.needs_input_grad[0]:
            dv = xp.swapaxes(self.u, 1, 2) @ dm                     # (16, C, P)
            dd = (t_b.T @ dv.reshape(16, -1)).reshape(4, 4, c, n, th, tw)
            dx_pad = xp.zeros((n, c, 2 * th + 2, 2 * tw + 2), dy.dtype)
            for i in range(4):      # overlap-add: one strided add per tile position
                for j in range(4):
                    dx_pad[:, :, i:i + 2 * th:2, j:j + 2 * tw:2] += dd[i, j].transpose(1, 0, 2, 3)
            dx = dx_pad[:, :, ph:ph + h, pw:pw + w]
        if self.needs_input_grad[1]:
            du = dm @ xp.swapaxes(self.v, 1, 2)                     # (16, F, C)
            dw = (t_g.T @ du.reshape(16, -1)).reshape(3, 3, filters, c)
            dw = dw.transpose(2, 3, 0, 1)
        if len(self.needs_input_grad) == 2:
            return dx, dw
        return dx, dw, grad_out.sum(axis=(0, 2, 3))


def winograd_conv2d(x, weight, bias=None, padding=1):
    """A 3x3, stride-1 convolution computed by Winograd's F(2x2, 3x3)
    (:class:`WinogradConv2d`); equal to ``conv2d(x, weight, bias, padding=padding)``.

    Shapes: x (N, C, H, W), weight (F, C, 3, 3), bias (F,) -> (N, F, H + 2p - 2, W + 2p - 2).

    Examples
    --------
    >>> x, weight = vg.randn(1, 2, 6, 6), vg.randn(4, 2, 3, 3)
    >>> y = F.winograd_conv2d(x, weight)
    >>> y.shape, np.allclose(y.data, F.conv2d(x, weight, padding=1).data, atol=1e-5)
    ((1, 4, 6, 6), True)
    """
    padding = (padding, padding) if isinstance(padding, int) else tuple(padding)
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return WinogradConv2d.apply(*inputs, padding=padding)
