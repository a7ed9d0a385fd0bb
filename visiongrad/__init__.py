"""visiongrad: deep learning for visual recognition, from scratch in NumPy.

>>> import visiongrad as vg
>>> x = vg.tensor([1.0, 2.0], requires_grad=True)
>>> (x * x).sum().backward(); x.grad
array([2., 4.], dtype=float32)
"""

from . import backend, functional, nn, optim, random, tensor_methods
from .autograd import (
    Function,
    Tensor,
    concat,
    graph_nodes,
    is_grad_enabled,
    no_grad,
    retain_grads,
    stack,
    tensor,
    where,
)
from .backend import get_default_dtype, set_default_dtype
from .creation import (
    arange,
    eye,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randn,
    randn_like,
    zeros,
    zeros_like,
)
from .dot import to_dot
from .gradcheck import gradcheck, numerical_gradient, relative_error
from .ops.einsum import einsum
from .random import manual_seed

__version__ = "0.1.0"
__all__ = [
    "Function", "Tensor", "backend", "concat", "functional", "get_default_dtype", "gradcheck",
    "graph_nodes", "nn", "optim", "is_grad_enabled", "manual_seed", "no_grad", "numerical_gradient",
    "random", "relative_error", "retain_grads", "set_default_dtype", "stack", "tensor",
    "to_dot", "where", "__version__", "tensor_methods", "arange", "eye", "full", "full_like",
    "linspace", "ones", "ones_like", "rand", "rand_like", "randn", "randn_like", "zeros",
    "zeros_like", "einsum",
]
