"""Test helpers shared by the zoo's torchvision comparisons and the checkpoint tests."""

import sys
import types

import numpy as np
import pytest
from helpers import torch_or_skip

import visiongrad as vg


def torchvision_or_skip():
    torch_or_skip()
    sys.modules.setdefault("torchvision._meta_registrations",
                           types.ModuleType("torchvision._meta_registrations"))
    return pytest.importorskip("torchvision", reason="torchvision is a test-only reference")


def torchvision_model(name, **kwargs):
    """torchvision's ``name`` on the meta device: structure only, nothing allocated."""
    torch, torchvision = torch_or_skip(), torchvision_or_skip()
    with torch.device("meta"):
        return getattr(torchvision.models, name)(weights=None, **kwargs)


def shapes(state):
    return {key: tuple(value.shape) for key, value in state.items()}


def randomize_batch_norm(model, seed=0):
    """Non-trivial running statistics and affine parameters, so evaluation-mode batch norm
    is tested, not skipped over as the identity."""
    rng = np.random.default_rng(seed)
    for module in model.modules():
        if isinstance(module, vg.nn.BatchNorm2d):
            c = module.num_features
            module.running_mean[...] = rng.normal(0, 0.1, c)
            module.running_var[...] = rng.uniform(0.5, 1.5, c)
            module.weight.data[...] = rng.normal(1, 0.1, c)
            module.bias.data[...] = rng.normal(0, 0.1, c)
