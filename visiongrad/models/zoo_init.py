"""What the ImageNet-style zoo (AlexNet to FractalNet) shares: argument checks and the
initialisation torchvision gives VGG and ResNet."""

from __future__ import annotations

from .. import nn


def check_zoo_args(num_classes: int, in_channels: int) -> None:
    """``num_classes`` and ``in_channels`` must be positive integers."""
    for name, value in (("num_classes", num_classes), ("in_channels", in_channels)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


def init_torchvision_style(model: nn.Module, linear_std: float | None = 0.01) -> None:
    """Convolutions ``kaiming_normal_(mode="fan_out", nonlinearity="relu")`` with zero bias,
    batch norm weight 1 and bias 0, linear layers N(0, linear_std^2) with zero bias (left at
    PyTorch's default when ``linear_std`` is None): torchvision's VGG and ResNet."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Linear) and linear_std is not None:
            nn.init.normal_(module.weight, 0.0, linear_std)
            nn.init.zeros_(module.bias)
