"""Upsampling and unpooling on NCHW images: max unpooling (the partial inverse of max
pooling), nearest-neighbour and "bed of nails" upsampling by integer factors."""

from __future__ import annotations

from ..autograd import Function, Tensor, array_of
from ..backend import array_module
from .window import pair


class MaxUnpool2d(Function):
    """The partial inverse of max pooling (PyTorch's ``max_unpool2d``).

    Forward:  y.flat_plane[n, c, indices[n, c, h, w]] = x[n, c, h, w], zeros elsewhere
              (indices are flat h W_out + w positions in each output plane)
    Backward: dx[n, c, h, w] = dy.flat_plane[n, c, indices[n, c, h, w]]
    Shape:    x, indices (N, C, H, W) -> y (N, C, Ho, Wo), Ho = (H - 1) sh - 2 ph + kh,
              or ``output_size`` (its last two entries)
    """

    def forward(self, x, indices, kernel_size, stride=None, padding=0, output_size=None):
        xp = array_module(x)
        if x.ndim != 4:
            raise ValueError(f"max_unpool2d expects input of shape (N, C, H, W), got shape "
                             f"{x.shape}")
        if indices.shape != x.shape:
            raise ValueError(f"max_unpool2d: indices of shape {indices.shape} do not match "
                             f"input of shape {x.shape}")
        kernel = pair(kernel_size, "kernel_size")
        stride = kernel if stride is None else pair(stride, "stride")
        padding = pair(padding, "padding")
        if output_size is None:
            out_hw = tuple((x.shape[2 + a] - 1) * stride[a] - 2 * padding[a] + kernel[a]
                           for a in (0, 1))
        else:
            out_hw = tuple(int(size) for size in output_size[-2:])
        n, c = x.shape[:2]
        plane = out_hw[0] * out_hw[1]
        self.flat_indices = indices.reshape(n, c, -1)
        if indices.size and (self.flat_indices.min() < 0 or self.flat_indices.max() >= plane):
            raise ValueError(f"max_unpool2d: indices must lie in [0, {plane}) for an output "
                             f"of size {out_hw}, got values in [{int(indices.min())}, "
                             f"{int(indices.max())}]")
        self.x_shape = x.shape
        y = xp.zeros((n, c, plane), dtype=x.dtype)
        xp.put_along_axis(y, self.flat_indices, x.reshape(n, c, -1), axis=2)
        return y.reshape(n, c, *out_hw)

    def backward(self, grad_out):
        xp = array_module(grad_out)
        flat = grad_out.reshape(*grad_out.shape[:2], -1)
        return xp.take_along_axis(flat, self.flat_indices, axis=2).reshape(self.x_shape), None


def _check_scale(op, x, scale_factor):
    if x.ndim != 4:
        raise ValueError(f"{op} expects input of shape (N, C, H, W), got shape {x.shape}")
    scale = pair(scale_factor, "scale_factor")
    if min(scale) <= 0:
        raise ValueError(f"{op}: scale_factor must be a positive integer, got {scale_factor}")
    return scale


class UpsampleNearest(Function):
    """Nearest-neighbour upsampling by integer factors (PyTorch's
    ``interpolate(mode="nearest")``): each value fills its sh x sw block.

    Forward:  y[n, c, h, w] = x[n, c, h // sh, w // sw]
    Backward: dx[n, c, h, w] = sum of dy over the block (h sh .. h sh + sh - 1, ...)
    Shape:    x (N, C, H, W) -> y (N, C, H sh, W sw)
    """

    def forward(self, x, scale_factor):
        xp = array_module(x)
        self.scale = sh, sw = _check_scale("upsample_nearest", x, scale_factor)
        n, c, h, w = x.shape
        blocks = xp.broadcast_to(x[:, :, :, None, :, None], (n, c, h, sh, w, sw))
        return blocks.reshape(n, c, h * sh, w * sw)

    def backward(self, grad_out):
        (sh, sw), (n, c, h, w) = self.scale, grad_out.shape
        return grad_out.reshape(n, c, h // sh, sh, w // sw, sw).sum(axis=(3, 5))


class UpsampleBedOfNails(Function):
    """"Bed of nails" upsampling: each value at the top-left of its sh x sw block, zeros
    elsewhere (the course's unpooling without remembered positions).

    Forward:  y[n, c, h sh, w sw] = x[n, c, h, w], y = 0 elsewhere
    Backward: dx[n, c, h, w] = dy[n, c, h sh, w sw]
    Shape:    x (N, C, H, W) -> y (N, C, H sh, W sw)
    """

    def forward(self, x, scale_factor):
        xp = array_module(x)
        self.scale = sh, sw = _check_scale("upsample_bed_of_nails", x, scale_factor)
        n, c, h, w = x.shape
        y = xp.zeros((n, c, h * sh, w * sw), dtype=x.dtype)
        y[:, :, ::sh, ::sw] = x
        return y

    def backward(self, grad_out):
        xp = array_module(grad_out)
        sh, sw = self.scale
        return xp.ascontiguousarray(grad_out[:, :, ::sh, ::sw])


# ----- functional forms (``torch.nn.functional``'s names and arguments) --------------


def max_unpool2d(x, indices, kernel_size, stride=None, padding=0, output_size=None) -> Tensor:
    """Put each value of x at its flat ``indices`` position in a zero output plane.

    Examples
    --------
    >>> y, idx = F.max_pool2d(vg.arange(16.0).reshape(1, 1, 4, 4), 2, return_indices=True)
    >>> F.max_unpool2d(y, idx, 2)
    Tensor([[[[ 0.  0.  0.  0.]
       [ 0.  5.  0.  7.]
       [ 0.  0.  0.  0.]
       [ 0. 13.  0. 15.]]]])
    """
    return MaxUnpool2d.apply(x, array_of(indices), kernel_size=kernel_size,
                             stride=stride, padding=padding, output_size=output_size)


def upsample_nearest(x, scale_factor) -> Tensor:
    """Nearest-neighbour upsampling by integer factors (``interpolate(mode="nearest")``).

    Examples
    --------
    >>> F.upsample_nearest(vg.tensor([[[[1.0, 2.0]]]]), 2)
    Tensor([[[[1. 1. 2. 2.]
       [1. 1. 2. 2.]]]])
    """
    return UpsampleNearest.apply(x, scale_factor=scale_factor)


def upsample_bed_of_nails(x, scale_factor) -> Tensor:
    """Each value at the top-left of its scale x scale block, zeros elsewhere.

    Examples
    --------
    >>> F.upsample_bed_of_nails(vg.tensor([[[[1.0, 2.0]]]]), 2)
    Tensor([[[[1. 0. 2. 0.]
       [0. 0. 0. 0.]]]])
    """
    return UpsampleBedOfNails.apply(x, scale_factor=scale_factor)
