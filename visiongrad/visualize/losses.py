"""The losses of feature inversion, texture synthesis and style transfer (the course's
signatures), built from differentiable tensor ops (and one Gram node and one
squared-distance node, sum (a - b)^2) so that their gradients with respect to the image
come from the engine.

Forward (features F of shape (N, C, H, W), F_flat = F reshaped to (N, C, H W)):

    gram_matrix:   G = F_flat F_flat^T  (N, C, C), divided by C H W when normalising
                   (one Function, :class:`Gram`, with its backward written out)
    content_loss:  w_c * sum (F_current - F_original)^2
    style_loss:    sum_l w_l * sum (G(F_l) - A_l)^2   over the chosen layers l
    tv_loss:       w_tv * (sum (x[:, :, i+1, j] - x[:, :, i, j])^2
                           + sum (x[:, :, i, j+1] - x[:, :, i, j])^2)

Backward (the Gram node's, and what the engine computes for the others):

    d content / dF_current = 2 w_c (F_current - F_original)
    d sum (G - A)^2 / dF_flat = 2 ((G - A) + (G - A)^T) F_flat   (/ C H W when normalising)
    d tv / dx = 2 w_tv (the horizontal and vertical differences, scattered back with signs)
"""

from __future__ import annotations

from collections.abc import Sequence

from .. import accel
from ..autograd import Function, Tensor, as_tensor
from ..backend import xp


def _check_4d(name: str, x: Tensor) -> None:
    if x.ndim != 4:
        raise ValueError(f"{name} must have shape (N, C, H, W), got {x.shape}")


class Gram(Function):
    """Gram matrix of each example's channels (one graph node, products without copies).

    Forward:  G[n] = F_n F_n^T / k   F_n = features[n] as (C, H W); k = C H W or 1
    Backward: dF_n = (dG[n] + dG[n]^T) F_n / k
    Shapes:   features (N, C, H, W) -> G (N, C, C)

    Features stored channels-last (what visiongrad's convolutions return: an (N, C, H, W)
    view of (N, H, W, C) memory) are used as R_n = F_n^T, (H W, C), without a copy:
    G[n] = R_n^T R_n / k and dR_n = R_n (dG[n] + dG[n]^T) / k, handed back in that layout;
    both products on every core where they are large (``accel.gram_of_rows``,
    ``accel.rows_times``; these lines are their reference).

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import visualize
    >>> import visiongrad as vg
    >>> from visiongrad import nn
    >>> f = vg.tensor(np.ones((1, 2, 3, 3)), requires_grad=True)
    >>> visualize.gram_matrix(f).sum().backward()
    >>> f.grad.shape
    (1, 2, 3, 3)
    """

    def forward(self, features, normalize=True):
        n, c, h, w = features.shape
        self.shape = features.shape
        self.scale = features.dtype.type(1 / (c * h * w) if normalize else 1)
        last = features.transpose(0, 2, 3, 1)
        self.rows = last.reshape(n, h * w, c) if last.flags.c_contiguous else None
        if self.rows is not None:
            gram = accel.gram_of_rows(self.rows)
            if gram is None:
                gram = self.rows.transpose(0, 2, 1) @ self.rows
            gram *= self.scale
            return gram
        self.flat = xp.ascontiguousarray(features.reshape(n, c, h * w))
        return (self.flat @ self.flat.transpose(0, 2, 1)) * self.scale

    def backward(self, grad_out):
        symmetric = (grad_out + grad_out.transpose(0, 2, 1)) * self.scale  # (N, C, C): small
        n, c, h, w = self.shape
        if self.rows is not None:
            d_rows = accel.rows_times(self.rows, symmetric)
            if d_rows is None:
                d_rows = self.rows @ symmetric
            return d_rows.reshape(n, h, w, c).transpose(0, 3, 1, 2)
        return (symmetric @ self.flat).reshape(self.shape)


def gram_matrix(features, normalize: bool = True) -> Tensor:
    """Gram matrix G[n, c, d] = sum_{h, w} F[n, c, h, w] F[n, d, h, w] of each example.

    Parameters
    ----------
    features : Tensor (N, C, H, W)
    normalize : bool
        Divide by C * H * W (the number of values per example), as the course does.

    Returns
    -------
    Tensor (N, C, C)   (a :class:`Gram` node)

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import visualize
    >>> import visiongrad as vg
    >>> from visiongrad import nn
    >>> f = vg.tensor(np.ones((1, 2, 3, 3)))
    >>> visualize.gram_matrix(f).data   # sum over 9 positions / (2 * 9)
    array([[[0.5, 0.5],
            [0.5, 0.5]]])
    """
    features = as_tensor(features)
    _check_4d("features", features)
    return Gram.apply(features, normalize=bool(normalize))


class SquaredDistance(Function):
    """Sum of the squared differences of two arrays of one shape: one node instead of
    three (a subtraction, a square and a sum, each a pass over the values and a node).

    Forward:  z = sum (x - y)^2      (the differences kept for the backward pass)
    Backward: dx = 2 dz (x - y),  dy = -dx
    Shapes:   x, y of one shape -> z ()   (PyTorch's ``mse_loss(x, y, reduction="sum")``)
    """

    def forward(self, x, y):
        if x.shape != y.shape:
            raise ValueError(f"squared_distance: shapes {x.shape} and {y.shape} differ")
        self.difference = x - y
        flat = self.difference.ravel(order="K")  # a view: x - y is dense
        return xp.asarray(flat @ flat, dtype=self.difference.dtype)

    def backward(self, grad_out):
        dx = self.difference * (2 * grad_out)
        return dx, -dx if self.needs_input_grad[1] else None


def squared_distance(x, y) -> Tensor:
    """``sum((x - y)^2)`` as one :class:`SquaredDistance` node (a scalar).

    Examples
    --------
    >>> import visiongrad as vg
    >>> from visiongrad.visualize.losses import squared_distance
    >>> float(squared_distance(vg.tensor([1.0, 2.0]), vg.tensor([0.0, 4.0])).data)
    5.0
    """
    return SquaredDistance.apply(as_tensor(x), as_tensor(y))


def content_loss(content_weight: float, content_current, content_original) -> Tensor:
    """``content_weight * sum((content_current - content_original)^2)`` (a scalar).

    ``content_current`` and ``content_original`` are features of the same shape, e.g.
    (1, C, H, W) from one layer.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import visualize
    >>> import visiongrad as vg
    >>> from visiongrad import nn
    >>> a, b = vg.tensor(np.ones((1, 2, 2, 2))), vg.tensor(np.zeros((1, 2, 2, 2)))
    >>> float(visualize.content_loss(0.5, a, b).data)   # 0.5 * sum (a - b)^2
    4.0
    """
    current, original = as_tensor(content_current), as_tensor(content_original)
    if current.shape != original.shape:
        raise ValueError(f"content_current {current.shape} and content_original "
                         f"{original.shape} must have the same shape")
    return content_weight * squared_distance(current, original)


def style_loss(feats: Sequence, style_layers: Sequence[int], style_targets: Sequence,
               style_weights: Sequence[float]) -> Tensor:
    """``sum_i style_weights[i] * sum((gram_matrix(feats[style_layers[i]]) -
    style_targets[i])^2)`` (a scalar), as in the course.

    Parameters
    ----------
    feats : sequence of Tensor
        Features of the current image, one per layer of the feature network.
    style_layers : sequence of int
        Indices into ``feats`` of the layers whose Gram matrices are matched.
    style_targets : sequence of Tensor or array
        The style image's Gram matrices (``gram_matrix(...)``) for those layers.
    style_weights : sequence of float
        One weight per layer.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import visualize
    >>> import visiongrad as vg
    >>> from visiongrad import nn
    >>> feats = [vg.tensor(np.ones((1, 2, 3, 3)))]
    >>> targets = [visualize.gram_matrix(feats[0])]
    >>> float(visualize.style_loss(feats, [0], targets, [1.0]).data)   # same Gram: 0
    0.0
    """
    if not len(style_layers) == len(style_targets) == len(style_weights):
        raise ValueError(f"style_layers, style_targets and style_weights must have the same "
                         f"length, got {len(style_layers)}, {len(style_targets)} and "
                         f"{len(style_weights)}")
    if not style_layers:
        raise ValueError("style_layers must name at least one layer")
    loss = None
    for index, target, weight in zip(style_layers, style_targets, style_weights, strict=True):
        if not 0 <= index < len(feats):
            raise ValueError(f"style_layers holds {index}, but feats has {len(feats)} layers")
        gram = gram_matrix(feats[index])
        target = as_tensor(target)
        if gram.shape != target.shape:
            raise ValueError(f"style target for layer {index} has shape {target.shape}, the "
                             f"Gram matrix of its features {gram.shape}")
        term = weight * squared_distance(gram, target)
        loss = term if loss is None else loss + term
    return loss


def tv_loss(img, tv_weight: float) -> Tensor:
    """Total variation ``tv_weight * (sum of squared vertical neighbour differences +
    sum of squared horizontal neighbour differences)`` of ``img`` (N, C, H, W).

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import visualize
    >>> import visiongrad as vg
    >>> from visiongrad import nn
    >>> img = vg.tensor(np.array([[[[0.0, 1.0], [0.0, 1.0]]]]))
    >>> float(visualize.tv_loss(img, 1.0).data)   # two horizontal steps of 1
    2.0
    """
    img = as_tensor(img)
    _check_4d("img", img)
    vertical = squared_distance(img[:, :, 1:, :], img[:, :, :-1, :])
    horizontal = squared_distance(img[:, :, :, 1:], img[:, :, :, :-1])
    return tv_weight * (vertical + horizontal)
