"""The zoo against torchvision 0.28: the same names, state_dict keys, shapes and parameter
counts, and the same logits (1e-4 relative, float32) under the same weights.

torchvision is a test-only reference. Its wheel is a CUDA build whose compiled ops do not
load on the CPU torch; its pure-Python model code does once the module registering those
ops (``torchvision._meta_registrations``) is replaced by an empty one. Reference models are
built on torch's "meta" device (no memory, no initialisation) and given our weights with
``load_state_dict(assign=True)``.
"""

import numpy as np
import pytest
from helpers import torch_or_skip
from zoo_reference import randomize_batch_norm, shapes, torchvision_model

import visiongrad as vg
from visiongrad import models
from visiongrad.models.vgg import CONFIGS, make_features

LOGIT_TOLERANCE = 1e-4
TORCHVISION_COUNTS = {"resnet18": 11_689_512, "vgg16": 138_357_544}  # the figures


def assert_same_logits(ours, reference, x, train=False):
    """Copy our weights into the reference and compare outputs on ``x``."""
    torch = torch_or_skip()
    state = ours.state_dict()
    assert shapes(state) == {k: tuple(v.shape) for k, v in reference.state_dict().items()}
    assert list(state) == list(reference.state_dict())  # same order, too
    reference.load_state_dict({k: torch.tensor(v) for k, v in state.items()}, assign=True)
    ours.train(train)
    reference.train(train)
    with vg.no_grad():
        out = ours(vg.tensor(x))
    with torch.no_grad():
        expected = reference(torch.tensor(x))
    outs = (out,) if not train else tuple(out)
    expecteds = (expected,) if not train else tuple(expected)
    assert len(outs) == len(expecteds)
    for ours_out, ref_out in zip(outs, expecteds, strict=True):
        ref_out = ref_out.numpy()
        assert ours_out.shape == ref_out.shape
        error = np.abs(ours_out.data - ref_out).max() / np.abs(ref_out).max()
        assert error < LOGIT_TOLERANCE, f"relative logit difference {error:.2e}"


def images(n, size, seed=0):
    return np.random.default_rng(seed).standard_normal((n, 3, size, size)).astype(np.float32)


@pytest.mark.parametrize("name, kwargs", [
    ("alexnet", {}), ("resnet18", {}), ("resnet34", {}), ("resnet50", {}), ("resnet101", {}),
    ("resnet152", {}), ("googlenet", {"aux_logits": False}), ("googlenet", {"aux_logits": True}),
], ids=str)
def test_parameter_counts_and_keys_equal_torchvision(name, kwargs):
    reference = torchvision_model(name, **kwargs, **({"init_weights": False}
                                                     if name == "googlenet" else {}))
    ours = models.create(name, **kwargs)
    assert shapes(ours.state_dict()) == shapes(reference.state_dict())
    count = sum(p.size for p in ours.parameters())
    assert count == sum(p.numel() for p in reference.parameters())
    if name == "googlenet" and not kwargs["aux_logits"]:
        assert count == 6_624_904
    if name in TORCHVISION_COUNTS:
        assert count == TORCHVISION_COUNTS[name]


@pytest.mark.parametrize("name, config, batch_norm", [
    (f"vgg{depth}{suffix}", config, bool(suffix))
    for depth, config in ((11, "A"), (13, "B"), (16, "D"), (19, "E")) for suffix in ("", "_bn")])
def test_vgg_features_equal_torchvision(name, config, batch_norm):
    """Every VGG is ``make_features(config)`` plus one classifier; the classifier (and a
    whole network) is compared in the vgg16 test below, each feature stack here."""
    reference = torchvision_model(name)
    ours = make_features(CONFIGS[config], batch_norm)
    assert shapes(ours.state_dict()) == shapes(reference.features.state_dict())
    assert models.VGG_MODELS[name].__doc__.startswith(f"VGG configuration {config} ")


@pytest.mark.slow
def test_vgg16_count_and_logits_equal_torchvision():
    ours = models.create("vgg16")
    assert sum(p.size for p in ours.parameters()) == TORCHVISION_COUNTS["vgg16"]
    assert_same_logits(ours, torchvision_model("vgg16"), images(1, 32))


def test_vgg11_bn_features_logits_equal_torchvision():
    ours = make_features(CONFIGS["A"], batch_norm=True)
    randomize_batch_norm(ours)
    assert_same_logits(ours, torchvision_model("vgg11_bn").features, images(1, 32))


@pytest.mark.parametrize("name, size", [("alexnet", 64), ("resnet18", 64), ("resnet50", 64)])
def test_logits_equal_torchvision(name, size):
    ours = models.create(name)
    randomize_batch_norm(ours)
    assert_same_logits(ours, torchvision_model(name), images(1, size))


def test_googlenet_logits_equal_torchvision():
    ours = models.create("googlenet", aux_logits=False)
    randomize_batch_norm(ours)
    assert_same_logits(ours, torchvision_model("googlenet", aux_logits=False,
                                               init_weights=False), images(1, 64))


def test_googlenet_training_outputs_with_aux_and_transform_input_equal_torchvision():
    """Training mode: batch statistics, and GoogLeNetOutputs(logits, aux2, aux1); dropout
    off so both compute the same thing; an odd input size exercises the ceil-mode pools."""
    kwargs = {"aux_logits": True, "transform_input": True, "dropout": 0.0, "dropout_aux": 0.0}
    ours = models.create("googlenet", **kwargs)
    reference = torchvision_model("googlenet", init_weights=False, **kwargs)
    assert_same_logits(ours, reference, images(2, 67), train=True)
