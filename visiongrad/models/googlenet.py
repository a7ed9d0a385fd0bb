"""GoogLeNet (Szegedy et al. 2015, Inception v1), as torchvision builds it: same names,
keys and outputs, so torchvision's weights give the same logits."""

from __future__ import annotations

from typing import NamedTuple

from .. import functional as F
from .. import nn
from ..autograd import Tensor, concat
from .zoo_init import check_zoo_args


class GoogLeNetOutputs(NamedTuple):
    """What ``GoogLeNet`` returns in training mode with auxiliary classifiers (torchvision's):
    the logits (N, num_classes) of the last layer and of the two side classifiers.

    Examples
    --------
    >>> out = GoogLeNetOutputs(vg.zeros(2, 10), vg.zeros(2, 10), vg.zeros(2, 10))
    >>> logits, aux2, aux1 = out
    >>> out.logits.shape
    (2, 10)
    """

    logits: Tensor
    aux_logits2: Tensor
    aux_logits1: Tensor


class BasicConv2d(nn.Module):
    """``conv (no bias) - batch norm (eps 0.001) - relu``, torchvision's GoogLeNet unit.

    NOTE: the paper has no batch norm (it predates it); torchvision's weights need it.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 padding: int = 0):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride,
                              padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class Inception(nn.Module):
    """The dimension-reduced Inception module (the paper's figure 2b): four branches
    concatenated along channels,

    branch1: 1x1 conv (ch1x1); branch2: 1x1 (ch3x3red) - 3x3 (ch3x3);
    branch3: 1x1 (ch5x5red) - "5x5" (ch5x5); branch4: 3x3 max pool (stride 1) - 1x1
    (pool_proj). Output channels: ch1x1 + ch3x3 + ch5x5 + pool_proj.

    NOTE: as in torchvision (whose weights were trained so), branch3's "5x5" convolution is
    3x3 with padding 1; the paper's is 5x5.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import models
    >>> import visiongrad as vg
    >>> models.Inception(8, 4, 4, 8, 2, 4, 4)(vg.randn(1, 8, 6, 6)).shape   # 4 + 8 + 4 + 4
    (1, 20, 6, 6)
    """

    def __init__(self, in_channels: int, ch1x1: int, ch3x3red: int, ch3x3: int,
                 ch5x5red: int, ch5x5: int, pool_proj: int):
        super().__init__()
        self.branch1 = BasicConv2d(in_channels, ch1x1, 1)
        self.branch2 = nn.Sequential(BasicConv2d(in_channels, ch3x3red, 1),
                                     BasicConv2d(ch3x3red, ch3x3, 3, padding=1))
        self.branch3 = nn.Sequential(BasicConv2d(in_channels, ch5x5red, 1),
                                     BasicConv2d(ch5x5red, ch5x5, 3, padding=1))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
                                     BasicConv2d(in_channels, pool_proj, 1))

    def forward(self, x):
        return concat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)],
                      axis=1)


class NaiveInception(nn.Module):
    """The naive Inception module (the paper's figure 2a): 1x1, 3x3 and 5x5 convolutions
    (each with a ReLU) and a 3x3 max pool, side by side on the input, concatenated.

    Output channels: ch1x1 + ch3x3 + ch5x5 + in_channels. The pool branch passes all input
    channels through, so channels grow with every module, and the 3x3 and 5x5 convolutions
    see all of them: the cost the 1x1 reductions of :class:`Inception` remove.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import models
    >>> import visiongrad as vg
    >>> models.NaiveInception(8, 4, 4, 4)(vg.randn(1, 8, 6, 6)).shape   # 4 + 4 + 4 + 8 channels
    (1, 20, 6, 6)
    """

    def __init__(self, in_channels: int, ch1x1: int, ch3x3: int, ch5x5: int):
        super().__init__()
        self.branch1 = nn.Conv2d(in_channels, ch1x1, 1)
        self.branch2 = nn.Conv2d(in_channels, ch3x3, 3, padding=1)
        self.branch3 = nn.Conv2d(in_channels, ch5x5, 5, padding=2)
        self.branch4 = nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True)

    def forward(self, x):
        return concat([F.relu(self.branch1(x)), F.relu(self.branch2(x)),
                       F.relu(self.branch3(x)), self.branch4(x)], axis=1)


class InceptionAux(nn.Module):
    """An auxiliary classifier (the paper's section 5): 4x4 average pooling (adaptive here,
    as torchvision), 1x1 conv to 128 channels, fc 1024 with ReLU, dropout 0.7, fc. The paper
    adds its losses with weight 0.3 during training and drops it at inference.

    Examples
    --------
    >>> from visiongrad.models import InceptionAux
    >>> _ = vg.manual_seed(0)
    >>> InceptionAux(512, num_classes=10).eval()(vg.randn(1, 512, 14, 14)).shape
    (1, 10)
    """

    def __init__(self, in_channels: int, num_classes: int, dropout: float = 0.7):
        super().__init__()
        self.conv = BasicConv2d(in_channels, 128, 1)
        self.fc1 = nn.Linear(2048, 1024)
        self.fc2 = nn.Linear(1024, num_classes)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        x = self.conv(F.adaptive_avg_pool2d(x, (4, 4))).flatten(1)
        return self.fc2(self.dropout(F.relu(self.fc1(x))))


INCEPTIONS = {
    "3a": (192, 64, 96, 128, 16, 32, 32), "3b": (256, 128, 128, 192, 32, 96, 64),
    "4a": (480, 192, 96, 208, 16, 48, 64), "4b": (512, 160, 112, 224, 24, 64, 64),
    "4c": (512, 128, 128, 256, 24, 64, 64), "4d": (512, 112, 144, 288, 32, 64, 64),
    "4e": (528, 256, 160, 320, 32, 128, 128), "5a": (832, 256, 160, 320, 32, 128, 128),
    "5b": (832, 384, 192, 384, 48, 128, 128),
}
"""The paper's table 1: in_channels, #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj."""

TRANSFORM_INPUT = ((0.229, 0.485), (0.224, 0.456), (0.225, 0.406))
"""(std, mean) of ImageNet per channel: ``transform_input`` maps inputs normalised with them
to the (x - 0.5) / 0.5 scaling torchvision's GoogLeNet weights were trained on."""


class GoogLeNet(nn.Module):
    """GoogLeNet: nine Inception modules, global average pooling, one linear layer;
    torchvision's ``GoogLeNet`` (arguments, names, state_dict keys, outputs).

    The paper's table 1 (224x224x3 input):

    ==============  ==========  ======  ====  =======  ====  =======  ====  =====
    type            size/stride output  #1x1  #3x3red  #3x3  #5x5red  #5x5  pool
    ==============  ==========  ======  ====  =======  ====  =======  ====  =====
    convolution     7x7/2       112x112x64
    max pool        3x3/2       56x56x64
    convolution     3x3/1       56x56x192 (after a 1x1 of 64)
    max pool        3x3/2       28x28x192
    inception (3a)              28x28x256  64    96    128     16    32     32
    inception (3b)              28x28x480  128   128   192     32    96     64
    max pool        3x3/2       14x14x480
    inception (4a)              14x14x512  192   96    208     16    48     64
    inception (4b)              14x14x512  160   112   224     24    64     64
    inception (4c)              14x14x512  128   128   256     24    64     64
    inception (4d)              14x14x528  112   144   288     32    64     64
    inception (4e)              14x14x832  256   160   320     32    128    128
    max pool        2x2/2 (torchvision; 3x3/2 in the paper)  7x7x832
    inception (5a)              7x7x832    256   160   320     32    128    128
    inception (5b)              7x7x1024   384   192   384     48    128    128
    avg pool        7x7/1       1x1x1024
    dropout (40%; torchvision 20%), linear 1000, softmax
    ==============  ==========  ======  ====  =======  ====  =======  ====  =====

    Auxiliary classifiers (:class:`InceptionAux`) sit on 4a and 4d. 6.8M parameters in the
    paper's count; torchvision's with ``aux_logits=False``: 6,624,904.

    Parameters
    ----------
    num_classes : int
    aux_logits : bool
        Build the two auxiliary classifiers; in training mode ``forward`` then returns
        ``GoogLeNetOutputs(logits, aux_logits2, aux_logits1)``, in evaluation the logits.
    transform_input : bool
        Re-scale ImageNet-normalised input to the (x - 0.5) / 0.5 scale of torchvision's
        weights (see ``TRANSFORM_INPUT``).
    init_weights : bool or None
        Accepted for torchvision's signature. NOTE: unlike torchvision (a truncated normal
        of std 0.01 unless ``init_weights=False``), the layers keep their default
        initialisation either way: weights meant to matter are loaded.
    dropout, dropout_aux : float
    in_channels : int
        Input channels of the first convolution (3 in torchvision).

    Examples
    --------
    >>> from visiongrad.models import GoogLeNet
    >>> _ = vg.manual_seed(0)
    >>> model = GoogLeNet(num_classes=10)
    >>> model.eval()(vg.randn(1, 3, 64, 64)).shape
    (1, 10)
    >>> [out.shape for out in model.train()(vg.randn(2, 3, 64, 64))]
    [(2, 10), (2, 10), (2, 10)]
    """

    def __init__(self, num_classes: int = 1000, aux_logits: bool = True,
                 transform_input: bool = False, init_weights: bool | None = None,
                 dropout: float = 0.2, dropout_aux: float = 0.7, in_channels: int = 3):
        super().__init__()
        check_zoo_args(num_classes, in_channels)
        if transform_input and in_channels != 3:
            raise ValueError(f"transform_input needs 3 input channels, got {in_channels}")
        self.aux_logits, self.transform_input = aux_logits, transform_input
        self.conv1 = BasicConv2d(in_channels, 64, 7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(64, 64, 1)
        self.conv3 = BasicConv2d(64, 192, 3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception3a = Inception(*INCEPTIONS["3a"])
        self.inception3b = Inception(*INCEPTIONS["3b"])
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        for name in ("4a", "4b", "4c", "4d", "4e"):
            setattr(self, f"inception{name}", Inception(*INCEPTIONS[name]))
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.inception5a = Inception(*INCEPTIONS["5a"])
        self.inception5b = Inception(*INCEPTIONS["5b"])
        self.aux1 = InceptionAux(512, num_classes, dropout_aux) if aux_logits else None
        self.aux2 = InceptionAux(528, num_classes, dropout_aux) if aux_logits else None
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(1024, num_classes)

    def _transform_input(self, x):
        if not self.transform_input:
            return x
        return concat([x[:, c:c + 1] * (std / 0.5) + (mean - 0.5) / 0.5
                       for c, (std, mean) in enumerate(TRANSFORM_INPUT)], axis=1)

    def _trunk(self, x, auxiliary: bool):
        """Pooled features (N, 1024) and, if ``auxiliary``, the two auxiliary logits."""
        x = self.maxpool1(self.conv1(self._transform_input(x)))
        x = self.maxpool2(self.conv3(self.conv2(x)))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.inception4a(x)
        aux1 = self.aux1(x) if auxiliary else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux2(x) if auxiliary else None
        x = self.maxpool4(self.inception4e(x))
        x = self.inception5b(self.inception5a(x))
        return self.avgpool(x).flatten(1), aux1, aux2

    def features(self, x):
        """The pooled 1024 features before dropout and ``fc``: (N, C, H, W) -> (N, 1024)."""
        return self._trunk(x, auxiliary=False)[0]

    def forward(self, x):
        features, aux1, aux2 = self._trunk(x, self.training and self.aux1 is not None)
        logits = self.fc(self.dropout(features))
        if self.training and self.aux_logits:
            return GoogLeNetOutputs(logits, aux2, aux1)
        return logits
