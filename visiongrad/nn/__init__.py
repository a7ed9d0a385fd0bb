"""Layers and models: ``Module``, ``Parameter``, containers, layers, ``init``, ``summary``.

>>> from visiongrad import nn
>>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
>>> sum(p.size for p in model.parameters())
67

Names, shapes and default initialisations follow ``torch.nn``, so a ``state_dict``
moves between the two (``{k: v.numpy() for k, v in torch_model.state_dict().items()}``).
"""

from . import init
from .activation import ELU, LeakyReLU, Maxout, PReLU, ReLU, Sigmoid, Softmax, Tanh
from .container import ModuleList, Sequential
from .conv import (
    AvgPool2d,
    Conv1d,
    Conv2d,
    ConvTranspose2d,
    GlobalAvgPool2d,
    MaxPool2d,
    Upsample,
)
from .drop_path import DropPath, SurvivalGate
from .frozen import frozen
from .linear import Embedding, Flatten, Identity, Linear
from .lrn import LocalResponseNorm
from .module import Module, Parameter, RemovableHandle
from .norm import (
    BatchNorm1d,
    BatchNorm2d,
    GroupNorm,
    InstanceNorm1d,
    InstanceNorm2d,
    LayerNorm,
)
from .pool_adaptive import AdaptiveAvgPool2d, AdaptiveMaxPool2d
from .regularize import DropConnectLinear, Dropout
from .summary import ModelSummary, summary

__all__ = ["frozen",
    "AvgPool2d", "BatchNorm1d", "BatchNorm2d", "Conv2d", "ConvTranspose2d", "DropConnectLinear",
    "Dropout", "ELU", "Embedding", "Flatten", "GlobalAvgPool2d", "GroupNorm", "Identity",
    "LayerNorm", "LeakyReLU", "Linear", "MaxPool2d", "Maxout", "ModelSummary", "Module",
    "ModuleList", "PReLU", "Parameter", "ReLU", "RemovableHandle", "Sequential", "Sigmoid",
    "Softmax", "Tanh", "init", "summary",
]
__all__ += ["Conv1d", "InstanceNorm1d", "InstanceNorm2d", "Upsample"]
__all__ += ["AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "DropPath", "LocalResponseNorm",
            "SurvivalGate"]


# ----- recurrent layers (nn/recurrent.py) -----
from .recurrent import GRU, LSTM, RNN  # noqa: E402

__all__ += ["GRU", "LSTM", "RNN"]

# ----- loss layers (nn/loss.py) -----
from .loss import (  # noqa: E402
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    MSELoss,
    MultiMarginLoss,
    NLLLoss,
    SmoothL1Loss,
)

__all__ += ["BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "HuberLoss", "KLDivLoss",
            "L1Loss", "MSELoss", "MultiMarginLoss", "NLLLoss", "SmoothL1Loss"]
