"""The functional API: torch.nn.functional's names (and the course's forms), one list.

Each function is defined beside its ``Function`` in the op family's module under ``ops/``
(``relu`` next to ``class ReLU`` in ``ops/activation.py``); this module only gathers them.
Where ``torch.nn.functional`` has an op, the function has the same name, argument order
and meaning; the course's own forms get their own names (``affine``, ``multiclass_hinge``).
Arguments may be tensors or arrays.

NOTE: ``all``, ``any``, ``abs`` and ``round`` here are the tensor ops, not Python's builtins.

Examples
--------
>>> import visiongrad.functional as F
>>> F.softmax(vg.tensor([[1.0, 1.0]]), dim=1)
Tensor([[0.5 0.5]])
"""

from __future__ import annotations

from .ops.activation import (
    elu,
    leaky_relu,
    log_softmax,
    maxout,
    prelu,
    relu,
    sigmoid,
    softmax,
    tanh,
)
from .ops.activation_modern import (
    celu,
    gelu,
    hardsigmoid,
    hardswish,
    hardtanh,
    logsigmoid,
    mish,
    relu6,
    selu,
    silu,
    softplus,
)
from .ops.adaptive_pool import adaptive_avg_pool2d, adaptive_max_pool2d
from .ops.attention import dot_product_attention
from .ops.conv import conv1d, conv2d, conv_transpose2d
from .ops.drop_path import drop_path
from .ops.einsum import einsum
from .ops.elementwise import (  # noqa: A004
    ceil,
    clamp,
    cos,
    erf,
    floor,
    isfinite,
    isinf,
    isnan,
    log2,
    log10,
    maximum,
    minimum,
    round,
    rsqrt,
    sign,
    sin,
    trunc,
)
from .ops.embedding import embedding
from .ops.indexing import (
    gather,
    index_select,
    masked_fill,
    nonzero,
    one_hot,
    scatter,
    scatter_add,
    where,
)
from .ops.interpolate import interpolate
from .ops.linear import affine, linear, matmul
from .ops.loss import (
    binary_cross_entropy_with_logits,
    cross_entropy,
    elastic_net_penalty,
    l1_loss,
    l1_penalty,
    l2_penalty,
    mse_loss,
    multiclass_hinge,
    nll_loss,
)
from .ops.loss_elementwise import binary_cross_entropy, huber_loss, kl_div, smooth_l1_loss
from .ops.lrn import local_response_norm
from .ops.math import abs, clip, exp, log, sqrt  # noqa: A004
from .ops.norm import batch_norm, group_norm, instance_norm, layer_norm
from .ops.norm_relu import batch_norm_relu
from .ops.pool import avg_pool2d, max_pool2d
from .ops.quantize import binary_weight, fake_quantize, ternary_weight
from .ops.recurrent import (
    gru,
    gru_step,
    lstm,
    lstm_step,
    rnn,
    rnn_step,
    temporal_affine,
    temporal_softmax_loss,
)
from .ops.reduce import (  # noqa: A004
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
from .ops.regularize import dropconnect, dropout
from .ops.roi import roi_align, roi_pool
from .ops.shape import (
    chunk,
    concat,
    expand,
    flatten,
    flip,
    pad,
    repeat,
    roll,
    split,
    squeeze,
    stack,
    tril,
    triu,
    unsqueeze,
)
from .ops.upsample import max_unpool2d, upsample_bed_of_nails, upsample_nearest
from .ops.winograd import winograd_conv2d

__all__ = [
    "binary_weight", "fake_quantize", "ternary_weight", "winograd_conv2d",
    "chunk", "concat", "expand", "flatten", "flip", "pad", "repeat", "roll", "split",
    "squeeze", "stack", "tril", "triu", "unsqueeze", "abs", "clip", "exp", "log", "sqrt",
    "ceil", "clamp", "cos", "erf", "floor", "isfinite", "isinf", "isnan", "log2", "log10",
    "maximum", "minimum", "round", "rsqrt", "sign", "sin", "trunc", "all", "any", "argmax",
    "argmin", "argsort", "cumsum", "logsumexp", "prod", "sort", "std", "topk", "var", "gather",
    "index_select", "masked_fill", "nonzero", "one_hot", "scatter", "scatter_add", "where",
    "einsum", "affine", "linear", "matmul", "celu", "elu", "gelu", "hardsigmoid", "hardswish",
    "hardtanh", "leaky_relu", "log_softmax", "logsigmoid", "maxout", "mish", "prelu", "relu",
    "relu6", "selu", "sigmoid", "silu", "softmax", "softplus", "tanh", "batch_norm",
    "batch_norm_relu", "group_norm", "instance_norm", "layer_norm", "local_response_norm",
    "dropconnect", "dropout", "drop_path", "embedding", "binary_cross_entropy_with_logits",
    "cross_entropy",
    "elastic_net_penalty", "l1_loss", "l1_penalty", "l2_penalty", "mse_loss",
    "multiclass_hinge", "nll_loss", "binary_cross_entropy", "huber_loss", "kl_div",
    "smooth_l1_loss", "conv1d", "conv2d", "conv_transpose2d", "avg_pool2d", "max_pool2d",
    "adaptive_avg_pool2d", "adaptive_max_pool2d", "max_unpool2d", "upsample_bed_of_nails",
    "upsample_nearest", "interpolate", "gru", "gru_step", "lstm", "lstm_step", "rnn",
    "rnn_step", "temporal_affine", "temporal_softmax_loss", "dot_product_attention",
    "roi_align", "roi_pool",
]
