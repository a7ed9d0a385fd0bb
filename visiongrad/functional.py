"""The functional API: one function per op, each a thin wrapper around ``Function.apply``.

Where ``torch.nn.functional`` has an op, the function here has the same name, argument
order and meaning; the course's own forms get their own names (``affine``,
``multiclass_hinge``). Arguments may be tensors or arrays.
"""

from __future__ import annotations

from .autograd import Tensor, concat, stack, where
from .ops import activation as _activation
from .ops import conv as _conv
from .ops import embedding as _embedding
from .ops import linear as _linear
from .ops import loss as _loss
from .ops import math as _math
from .ops import norm as _norm
from .ops import pool as _pool
from .ops import regularize as _regularize
from .ops import upsample as _upsample
from .ops import window as _window
from .ops.conv import conv1d
from .ops.shape import normalize_dim
from .ops.interpolate import interpolate
from .ops.loss_elementwise import binary_cross_entropy, huber_loss, kl_div, smooth_l1_loss

__all__ = ["concat", "stack", "where", "matmul", "linear", "affine", "exp", "log", "sqrt",
           "abs", "clip", "sigmoid", "tanh", "relu", "leaky_relu", "prelu", "elu", "maxout",
           "softmax", "log_softmax", "batch_norm", "layer_norm", "group_norm", "dropout",
           "dropconnect", "embedding", "cross_entropy", "multiclass_hinge", "mse_loss",
           "l1_loss", "binary_cross_entropy_with_logits", "l1_penalty", "l2_penalty",
           "elastic_net_penalty", "conv1d", "conv2d", "conv_transpose2d", "max_pool2d",
           "avg_pool2d", "max_unpool2d", "upsample_nearest", "upsample_bed_of_nails"]
__all__ += ["nll_loss", "binary_cross_entropy", "smooth_l1_loss", "huber_loss", "kl_div",
            "instance_norm", "interpolate"]

# ----- math and linear ------------------------------------------------------------------


def matmul(x, y) -> Tensor:
    """Matrix product ``x @ y`` (batched, broadcast)."""
    return _linear.MatMul.apply(x, y)


def linear(x, weight, bias=None) -> Tensor:
    """y = x W^T + b with x (..., in), weight (out, in), bias (out,), as in PyTorch."""
    return _linear.Linear.apply(x, weight) if bias is None else \
        _linear.Linear.apply(x, weight, bias)


def affine(x, w, b=None) -> Tensor:
    """The course's affine layer: x (N, d1..dk) flattened to (N, D), y = x w + b, w (D, M)."""
    return _linear.Affine.apply(x, w) if b is None else _linear.Affine.apply(x, w, b)


def exp(x) -> Tensor:
    return _math.Exp.apply(x)


def log(x) -> Tensor:
    return _math.Log.apply(x)


def sqrt(x) -> Tensor:
    return _math.Sqrt.apply(x)


def abs(x) -> Tensor:  # noqa: A001 - mirrors torch.abs
    return _math.Abs.apply(x)


def clip(x, low=None, high=None) -> Tensor:
    return _math.Clip.apply(x, low=low, high=high)


# ----- activations, normalisation, regularisation, embedding, losses ----------------------
# (section owned by ops/activation.py, norm.py, regularize.py, embedding.py, loss.py)


def sigmoid(x) -> Tensor:
    return _activation.Sigmoid.apply(x)


def tanh(x) -> Tensor:
    return _activation.Tanh.apply(x)


def relu(x) -> Tensor:
    return _activation.ReLU.apply(x)


def leaky_relu(x, negative_slope: float = 0.01) -> Tensor:
    return _activation.LeakyReLU.apply(x, negative_slope=negative_slope)


def prelu(x, weight) -> Tensor:
    """Leaky ReLU with a learned slope ``weight``: (C,) per channel on axis 1, or (1,)."""
    return _activation.PReLU.apply(x, weight)


def elu(x, alpha: float = 1.0) -> Tensor:
    return _activation.ELU.apply(x, alpha=alpha)


def maxout(x, pieces: int) -> Tensor:
    """The course's maxout: max over each run of ``pieces`` consecutive entries of axis 1."""
    return _activation.Maxout.apply(x, pieces=pieces)


def softmax(x, dim: int) -> Tensor:
    return _activation.Softmax.apply(x, dim=normalize_dim(dim, _array(x).ndim))


def log_softmax(x, dim: int) -> Tensor:
    return _activation.LogSoftmax.apply(x, dim=normalize_dim(dim, _array(x).ndim))


def _array(x):
    return x.data if isinstance(x, Tensor) else x


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Batch normalisation as ``torch.nn.functional.batch_norm``; in training mode the
    running statistics (arrays or tensors, or None) are updated in place."""
    _norm.check_norm_input("batch_norm", _array(x), eps)
    weight, bias = _norm.weight_and_bias(x, weight, bias, (_array(x).shape[1],))
    return _norm.BatchNorm.apply(x, weight, bias, running_mean=_array(running_mean),
                                 running_var=_array(running_var), training=training,
                                 momentum=momentum, eps=eps)


def instance_norm(x, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats: bool = True, momentum: float = 0.1,
                  eps: float = 1e-5) -> Tensor:
    """Instance normalisation as ``torch.nn.functional.instance_norm``: each (n, c) over
    its spatial axes; with ``use_input_stats=False`` the running statistics normalise
    instead (as ``batch_norm`` in evaluation), else they are updated in place if given."""
    _norm.check_norm_input("instance_norm", _array(x), eps, min_ndim=3)
    if not use_input_stats:
        return batch_norm(x, running_mean, running_var, weight, bias, False, momentum, eps)
    weight, bias = _norm.weight_and_bias(x, weight, bias, (_array(x).shape[1],))
    return _norm.InstanceNorm.apply(x, weight, bias, running_mean=_array(running_mean),
                                    running_var=_array(running_var), momentum=momentum, eps=eps)


def layer_norm(x, normalized_shape, weight=None, bias=None, eps: float = 1e-5) -> Tensor:
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    weight, bias = _norm.weight_and_bias(x, weight, bias, shape)
    return _norm.LayerNorm.apply(x, weight, bias, normalized_shape=shape, eps=eps)


def group_norm(x, num_groups: int, weight=None, bias=None, eps: float = 1e-5) -> Tensor:
    weight, bias = _norm.weight_and_bias(x, weight, bias, (_array(x).shape[1],))
    return _norm.GroupNorm.apply(x, weight, bias, num_groups=num_groups, eps=eps)


def dropout(x, p: float = 0.5, training: bool = True) -> Tensor:
    """Inverted dropout; ``p`` is the probability of dropping (the course's p keeps)."""
    return _regularize.Dropout.apply(x, p=p, training=training)


def dropconnect(x, weight, bias=None, p: float = 0.5, training: bool = True) -> Tensor:
    """``linear`` with each weight entry dropped with probability ``p`` at training time."""
    tensors = (x, weight) if bias is None else (x, weight, bias)
    return _regularize.DropConnect.apply(*tensors, p=p, training=training)


def embedding(indices, weight) -> Tensor:
    """Rows of ``weight`` (V, D) at integer ``indices`` (...) -> (..., D)."""
    return _embedding.Embedding.apply(indices, weight)


def cross_entropy(input, target, weight=None, *, ignore_index: int = -100,  # noqa: A002
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy of scores (N, C, ...) against class indices (N, ...) or class
    probabilities (like the scores), with PyTorch's options (see ``ops.loss.NLLLoss``).
    Plain class indices with no option take ``CrossEntropy`` (compiled where it fits).
    Scores (C,) are one unbatched sample, with a 0-d class index or (C,) probabilities."""
    if _array(input).ndim == 1:
        one = [_math.Reshape.apply(t, shape=(1,) + tuple(_array(t).shape))
               for t in (input, target)]
        loss = cross_entropy(*one, weight, ignore_index=ignore_index, reduction=reduction,
                             label_smoothing=label_smoothing)
        return _math.Reshape.apply(loss, shape=()) if reduction == "none" else loss
    labels = _array(target)
    if (weight is None and label_smoothing == 0 and labels.dtype.kind in "iu"
            and not (labels == ignore_index).any()):
        return _loss.CrossEntropy.apply(input, target, reduction=reduction)
    return _loss.NLLLoss.apply(log_softmax(input, 1), target, weight=_array(weight),
                               ignore_index=ignore_index, label_smoothing=label_smoothing,
                               reduction=reduction, op="cross_entropy")


def nll_loss(input, target, weight=None, *, ignore_index: int = -100,  # noqa: A002
             reduction: str = "mean") -> Tensor:
    """-sum of w_y x_{i, y_i} over log-probabilities x (N, C, ...) and class indices y,
    averaged over the weights of the targets not ignored (PyTorch's ``nll_loss``)."""
    return _loss.NLLLoss.apply(input, target, weight=_array(weight), ignore_index=ignore_index,
                               reduction=reduction)


def multiclass_hinge(scores, labels, margin: float = 1.0, squared: bool = False,
                     reduction: str = "mean") -> Tensor:
    """The course's SVM loss: sum_{j != y} max(0, s_j - s_y + margin) (squared if asked)."""
    return _loss.MulticlassHinge.apply(scores, labels, margin=margin, squared=squared,
                                       reduction=reduction)


def mse_loss(x, target, *, reduction: str = "mean") -> Tensor:
    return _loss.MSELoss.apply(x, target, reduction=reduction)


def l1_loss(x, target, *, reduction: str = "mean") -> Tensor:
    return _loss.L1Loss.apply(x, target, reduction=reduction)


def binary_cross_entropy_with_logits(x, target, weight=None, *, reduction: str = "mean",
                                     pos_weight=None) -> Tensor:
    """-(p t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))), times ``weight``; p is
    ``pos_weight`` (one per class, the last axis)."""
    return _loss.BCEWithLogits.apply(x, target, reduction=reduction, weight=_array(weight),
                                     pos_weight=_array(pos_weight))


def l1_penalty(w, strength: float) -> Tensor:
    """strength * sum |w|."""
    return _loss.ElasticNetPenalty.apply(w, strength=strength, l1_ratio=1.0)


def l2_penalty(w, strength: float) -> Tensor:
    """strength * sum w^2 (the course's reg * sum(W * W); gradient 2 * strength * w)."""
    return _loss.ElasticNetPenalty.apply(w, strength=strength, l1_ratio=0.0)


def elastic_net_penalty(w, strength: float, l1_ratio: float = 0.5) -> Tensor:
    """strength * (l1_ratio * sum |w| + (1 - l1_ratio) * sum w^2)."""
    return _loss.ElasticNetPenalty.apply(w, strength=strength, l1_ratio=l1_ratio)


# ----- convolution, pooling, upsampling ----------------------------------------------------
# (section owned by ops/conv.py, ops/pool.py, ops/upsample.py)


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """2-D convolution (cross-correlation) of x (N, C, H, W) with weight (F, C / groups, kh,
    kw); ``padding`` an int, a pair, "valid" or "same" (stride 1), as in PyTorch."""
    tensors = (x, weight) if bias is None else (x, weight, bias)
    return _conv.Conv2d.apply(*tensors, stride=stride, padding=padding, dilation=dilation,
                              groups=groups)


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1) -> Tensor:
    """Transposed convolution of x (N, C_in, H, W) with weight (C_in, C_out / groups, kh, kw)."""
    tensors = (x, weight) if bias is None else (x, weight, bias)
    return _conv.ConvTranspose2d.apply(*tensors, stride=stride, padding=padding,
                                       output_padding=output_padding, groups=groups,
                                       dilation=dilation)


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """Max pooling; with ``return_indices`` also each maximum's flat index in its H*W plane
    (for ``max_unpool2d``). ``stride`` defaults to ``kernel_size``; ``ceil_mode`` rounds
    the output size up (a last window may hang over the bottom or right edge).

    NOTE: unlike PyTorch, ``dilation`` must be 1 (dilated max pooling is not implemented).
    """
    if _window.pair(dilation, "dilation") != (1, 1):
        raise ValueError(f"max_pool2d: dilation must be 1 (not implemented), got {dilation}")
    y = _pool.MaxPool2d.apply(x, kernel_size=kernel_size, stride=stride, padding=padding,
                              ceil_mode=ceil_mode)
    if not return_indices:
        return y
    indices = _pool.max_pool2d_indices(_array(x), kernel_size, stride, padding, ceil_mode)
    return y, Tensor._wrap(indices)


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override=None) -> Tensor:
    """Average pooling with PyTorch's options: zero padding counted in the mean unless
    ``count_include_pad=False``; ``ceil_mode`` as in ``max_pool2d``; ``divisor_override``
    divides every window's sum by that number instead."""
    return _pool.AvgPool2d.apply(x, kernel_size=kernel_size, stride=stride, padding=padding,
                                 ceil_mode=ceil_mode, count_include_pad=count_include_pad,
                                 divisor_override=divisor_override)


def max_unpool2d(x, indices, kernel_size, stride=None, padding=0, output_size=None) -> Tensor:
    """Put each value of x at its flat ``indices`` position in a zero output plane."""
    return _upsample.MaxUnpool2d.apply(x, _array(indices), kernel_size=kernel_size,
                                       stride=stride, padding=padding, output_size=output_size)


def upsample_nearest(x, scale_factor) -> Tensor:
    """Nearest-neighbour upsampling by integer factors (``interpolate(mode="nearest")``)."""
    return _upsample.UpsampleNearest.apply(x, scale_factor=scale_factor)


def upsample_bed_of_nails(x, scale_factor) -> Tensor:
    """Each value at the top-left of its scale x scale block, zeros elsewhere."""
    return _upsample.UpsampleBedOfNails.apply(x, scale_factor=scale_factor)


# ----- recurrent (the course's forms: x (N, T, D), Wx (D, G*H), Wh (H, G*H)) ---------------
# (section owned by ops/recurrent.py)
from .ops import recurrent as _recurrent  # noqa: E402

__all__ += ["rnn_step", "rnn", "lstm_step", "lstm", "gru_step", "gru", "temporal_affine",
            "temporal_softmax_loss"]


def rnn_step(x, prev_h, Wx, Wh, b, nonlinearity: str = "tanh") -> Tensor:
    """next_h = tanh(x Wx + prev_h Wh + b), x (N, D), prev_h (N, H) -> (N, H)."""
    return _recurrent.rnn_step(x, prev_h, Wx, Wh, b, nonlinearity=nonlinearity)


def rnn(x, h0, Wx, Wh, b, nonlinearity: str = "tanh") -> Tensor:
    """Vanilla RNN over x (N, T, D) from h0 (N, H) -> h (N, T, H); BPTT in one node."""
    return _recurrent.RNN.apply(x, h0, Wx, Wh, b, nonlinearity=nonlinearity)


def lstm_step(x, prev_h, prev_c, Wx, Wh, b, gate_order: str = "ifog"):
    """One LSTM step -> (next_h, next_c); Wx (D, 4H), gates i, f, o, g (the course's)."""
    return _recurrent.lstm_step(x, prev_h, prev_c, Wx, Wh, b, gate_order=gate_order)


def lstm(x, h0, Wx, Wh, b, *, c0=None, gate_order: str = "ifog", return_cell: bool = False):
    """LSTM over x (N, T, D) from h0 and c0 (zeros by default, as in the course) -> h
    (N, T, H), or (h, c_T) with ``return_cell``; gate order i, f, o, g unless told."""
    return _recurrent.lstm(x, h0, Wx, Wh, b, c0=c0, gate_order=gate_order,
                           return_cell=return_cell)


def gru_step(x, prev_h, Wx, Wh, b, bh=None) -> Tensor:
    """One GRU step (PyTorch's form, gates r, z, n); ``bh`` None: the single-bias form."""
    return _recurrent.gru_step(x, prev_h, Wx, Wh, b, bh)


def gru(x, h0, Wx, Wh, b, bh=None) -> Tensor:
    """GRU over x (N, T, D) -> h (N, T, H): gates r, z, n with n = tanh(x W_n + b_n +
    r * (h W_hn + bh_n)); ``bh`` (3H,) is PyTorch's b_hh, None meaning zeros."""
    return _recurrent.gru(x, h0, Wx, Wh, b, bh)


def temporal_affine(x, w, b) -> Tensor:
    """The same affine map at every step: x (N, T, D) @ w (D, M) + b -> (N, T, M)."""
    return _recurrent.TemporalAffine.apply(x, w, b)


def temporal_softmax_loss(x, y, mask=None) -> Tensor:
    """Softmax cross-entropy of x (N, T, V) against y (N, T), summed over the steps where
    ``mask`` (N, T) is true (all when None) and averaged over the batch."""
    return _recurrent.TemporalSoftmaxLoss.apply(x, y, mask=None if mask is None else _array(mask))


# ----- adaptive pooling, local response normalisation, drop-path ---------------------------
# (section owned by ops/adaptive_pool.py, ops/lrn.py, ops/drop_path.py)
from .ops import adaptive_pool as _adaptive_pool  # noqa: E402
from .ops import drop_path as _drop_path  # noqa: E402
from .ops import lrn as _lrn  # noqa: E402

__all__ += ["adaptive_avg_pool2d", "adaptive_max_pool2d", "local_response_norm", "drop_path"]


def adaptive_avg_pool2d(x, output_size) -> Tensor:
    """Mean over PyTorch's adaptive bins: any (H, W) -> ``output_size`` (int, pair, or a
    pair with None to keep that size)."""
    return _adaptive_pool.AdaptiveAvgPool2d.apply(x, output_size=output_size)


def adaptive_max_pool2d(x, output_size, return_indices: bool = False):
    """Maximum over PyTorch's adaptive bins; with ``return_indices`` also each maximum's
    flat index h W + w in its input plane."""
    y = _adaptive_pool.AdaptiveMaxPool2d.apply(x, output_size=output_size)
    if not return_indices:
        return y
    _, indices = _adaptive_pool.adaptive_max_pool2d_with_indices(_array(x), output_size)
    return y, Tensor._wrap(indices)


def local_response_norm(x, size: int, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 1.0) -> Tensor:
    """y_c = x_c / (k + alpha / size * sum of x^2 over ``size`` neighbouring channels)^beta."""
    return _lrn.LocalResponseNorm.apply(x, size=size, alpha=alpha, beta=beta, k=k)


def drop_path(x, p: float = 0.5, training: bool = True, mode: str = "row") -> Tensor:
    """Zero each example's input (``mode="row"``) or the whole batch's (``"batch"``) with
    probability ``p``, scaling the rest by 1 / (1 - p): torchvision's ``stochastic_depth``."""
    return _drop_path.DropPath.apply(x, p=p, training=training, mode=mode)


# ----- tensor API: shape, elementwise, reductions and search, indexing, einsum ------------
# (each function is defined beside its Function in ops/shape.py, elementwise.py, reduce.py,
# indexing.py and einsum.py; the Tensor methods of the same names are in tensor_methods.py).
# NOTE: from here on all, any and round in this module are the tensor ops, not builtins.

from .ops.einsum import einsum  # noqa: E402
from .ops.elementwise import (  # noqa: E402
    ceil,
    celu,
    clamp,
    cos,
    erf,
    floor,
    gelu,
    hardsigmoid,
    hardswish,
    hardtanh,
    isfinite,
    isinf,
    isnan,
    log2,
    log10,
    logsigmoid,
    maximum,
    minimum,
    mish,
    relu6,
    round,
    rsqrt,
    selu,
    sign,
    silu,
    sin,
    softplus,
    trunc,
)
from .ops.indexing import (  # noqa: E402
    gather,
    index_select,
    masked_fill,
    nonzero,
    one_hot,
    scatter,
    scatter_add,
)
from .ops.reduce import (  # noqa: E402
    all,
    any,
    argmax,
    argmin,
    argsort,
    cumsum,
    logsumexp,
    prod,
    sort,
    std,
    topk,
    var,
)
from .ops.shape import (  # noqa: E402
    chunk,
    expand,
    flatten,
    flip,
    pad,
    repeat,
    roll,
    split,
    squeeze,
    tril,
    triu,
    unsqueeze,
)

__all__ += [
    "einsum", "celu", "ceil", "clamp", "cos", "erf", "floor", "gelu", "hardsigmoid",
    "hardswish", "hardtanh", "isfinite", "isinf", "isnan", "log2", "log10", "logsigmoid",
    "maximum", "minimum", "mish", "relu6", "round", "rsqrt", "selu", "sign", "silu", "sin",
    "softplus", "trunc", "gather", "index_select", "masked_fill", "nonzero", "one_hot",
    "scatter", "scatter_add", "all", "any", "argmax", "argmin", "argsort", "cumsum",
    "logsumexp", "prod", "sort", "std", "topk", "var", "chunk", "expand", "flatten", "flip",
    "pad", "repeat", "roll", "split", "squeeze", "tril", "triu", "unsqueeze",
]

# ----- region-of-interest pooling (torchvision.ops' names; section owned by ops/roi.py) ----
from .ops import roi as _roi  # noqa: E402

__all__ += ["roi_align", "roi_pool"]


def roi_align(x, boxes, output_size, spatial_scale: float = 1.0, sampling_ratio: int = -1,
              aligned: bool = False) -> Tensor:
    """Bilinear RoI align of x (N, C, H, W) over ``boxes`` (K, 5) rows (batch index, x1, y1,
    x2, y2) or a list of per-image (L, 4) boxes -> (K, C, PH, PW), as torchvision.ops."""
    return _roi.RoIAlign.apply(x, boxes=_array(boxes), output_size=output_size,
                               spatial_scale=spatial_scale, sampling_ratio=sampling_ratio,
                               aligned=aligned)


def roi_pool(x, boxes, output_size, spatial_scale: float = 1.0) -> Tensor:
    """RoI max pooling of x (N, C, H, W) over ``boxes`` (K, 5) or a list of per-image (L, 4)
    boxes -> (K, C, PH, PW), as torchvision.ops."""
    return _roi.RoIPool.apply(x, boxes=_array(boxes), output_size=output_size,
                              spatial_scale=spatial_scale)

# ----- soft attention (section owned by ops/attention.py) -----------------------------------
from .ops.attention import dot_product_attention  # noqa: E402

__all__ += ["dot_product_attention"]
