"""visiongrad: deep learning for visual recognition, from scratch in NumPy.

Every forward pass sits beside its hand-derived backward pass and its formula, verified by a
float64 gradient check and, where PyTorch has the op, against PyTorch. The map, from the
engine up (each layer imports only those below it; ``docs/architecture.md`` has the rest):

- ``autograd`` (``Tensor``, ``Function``, ``backward``, ``no_grad``), ``gradcheck``,
  ``random`` (seeded generators), ``backend`` (array namespace, default dtype);
- ``ops`` (the Functions by family, each with its formula) and ``functional``
  (``torch.nn.functional``'s names plus the course's forms);
- ``nn`` (``Module``, layers, ``init``, ``summary``) and ``optim`` (optimizers, schedules);
- ``data`` (readers, the embedded datasets, transforms, ``DataLoader``), ``io`` (PyTorch
  ``.pth`` read without torch), ``classic`` (kNN, linear classifiers, PCA, eigenfaces,
  t-SNE);
- the families: ``models`` (the course's nets and the zoo), ``visualize``, ``generative``,
  ``detection``, ``rl``, ``compress``, ``adversarial``; ``train`` (``Trainer``,
  checkpoints, search, reports); ``recipes`` (one validated ``Config`` and ``run`` per
  task); ``distributed`` (MPI, Ray);
- ``cli`` (the ``visiongrad`` command) on top, and ``accel`` (everything that exists only
  for speed) underneath.

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
