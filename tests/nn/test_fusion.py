"""Inference through fused layers (``nn/fusion.py``): under ``vg.no_grad()`` each network
gives the logits of its layers called one by one (the reference: the same model with a
graph recorded) to float32 rounding, and keeps giving them when weights, running
statistics or modes change between calls; hooks, subclasses and training-mode batch norms
are left unfused."""

import numpy as np
import pytest

import visiongrad as vg
from benchmarks import train_step
from visiongrad import models, nn
from visiongrad.models.resnet_imagenet import Bottleneck
from visiongrad.models.vgg import CONFIGS, make_features
from visiongrad.nn import fusion
from visiongrad.nn.fusion import fused_runs
from visiongrad.ops.conv_eval import conv2d_eval


def randomize_statistics(model, seed=0):
    """Running statistics and affine parameters away from 0 and 1, so a batch norm that
    were skipped or misapplied would show."""
    rng = np.random.default_rng(seed)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            c = module.num_features
            module.running_mean[...] = rng.normal(0, 0.2, c)
            module.running_var[...] = rng.uniform(0.5, 2.0, c)
            module.weight.data[...] = rng.uniform(0.5, 1.5, c)
            module.bias.data[...] = rng.normal(0, 0.2, c)
    return model


def fused_and_reference(model, x):
    model.eval()
    with vg.no_grad():
        fused = model(vg.tensor(x)).numpy()
    reference = model(vg.tensor(x))  # a graph recorded: every layer called as it is
    assert reference.requires_grad
    return fused, reference.numpy()


def assert_same_logits(model, x):
    fused, reference = fused_and_reference(model, x)
    assert np.abs(fused - reference).max() <= 1e-5 * max(1.0, np.abs(reference).max())


def bottleneck_net():
    down = nn.Sequential(nn.Conv2d(16, 64, 1, stride=2, bias=False), nn.BatchNorm2d(64))
    return nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
                         Bottleneck(16, 16, stride=2, downsample=down), nn.GlobalAvgPool2d(),
                         nn.Flatten(), nn.Linear(64, 10))


NETWORKS = {  # builder, input shape
    "three-layer convnet": (lambda: train_step.convnet(nn), (4, 1, 28, 28)),
    "small VGG": (lambda: train_step.vgg(nn), (4, 1, 28, 28)),
    "small ResNet (benchmark, BasicBlock)": (lambda: train_step.resnet(nn), (4, 1, 28, 28)),
    "SmallResNet": (lambda: models.SmallResNet(), (4, 1, 28, 28)),
    "ResNet-18": (lambda: models.create("resnet18", num_classes=10), (2, 3, 32, 32)),
    "VGG-11 with batch norm, features": (lambda: make_features(CONFIGS["A"], True), (2, 3, 32, 32)),
    "VGG-11 features": (lambda: make_features(CONFIGS["A"], False), (2, 3, 32, 32)),
    "Bottleneck block": (bottleneck_net, (2, 3, 16, 16)),
}


@pytest.mark.parametrize("name", NETWORKS)
def test_fused_inference_gives_the_unfused_logits(name, monkeypatch):
    vg.manual_seed(0)
    build, shape = NETWORKS[name]
    model = randomize_statistics(build())
    x = np.random.default_rng(1).random(shape, dtype=np.float32)
    calls = []

    def counted(x, weight, bias, stride, padding, dilation, groups, scale, shift, residual,
                relu):
        calls.append(residual is not None)
        return conv2d_eval(x, weight, bias, stride, padding, dilation, groups, scale, shift,
                           residual, relu)

    monkeypatch.setattr(fusion, "conv2d_eval", counted)
    assert_same_logits(model, x)
    assert calls  # some layers did run fused
    if name in ("SmallResNet", "ResNet-18", "Bottleneck block"):
        assert any(calls)  # and the residual blocks' sums


def small_vgg_and_input():
    vg.manual_seed(0)
    model = randomize_statistics(train_step.vgg(nn)).eval()
    return model, np.random.default_rng(1).random((4, 1, 28, 28), dtype=np.float32)


@pytest.mark.parametrize("change", ["conv weight in place", "conv bias replaced",
                                    "running variance in place", "batch norm weight",
                                    "load_state_dict"])
def test_changes_between_two_eval_calls_are_seen(change):
    model, x = small_vgg_and_input()
    conv, norm = model[3], model[4]
    before, _ = fused_and_reference(model, x)
    if change == "conv weight in place":
        conv.weight.data *= 1.5
    elif change == "conv bias replaced":
        conv.bias = nn.Parameter(conv.bias.data + 0.3)
    elif change == "running variance in place":
        norm.running_var *= 3.0
    elif change == "batch norm weight":
        norm.weight.data[:] = -norm.weight.data
    else:
        state = model.state_dict()
        state["4.running_mean"] = state["4.running_mean"] + 0.5
        model.load_state_dict(state)
    fused, reference = fused_and_reference(model, x)
    assert np.abs(fused - before).max() > 1e-3  # the change shows in the logits
    assert np.abs(fused - reference).max() <= 1e-5 * np.abs(reference).max()


def test_switching_between_train_and_eval_follows_the_mode():
    """A batch norm in training mode normalises with the batch's statistics: not fused, and
    back in evaluation mode its updated running statistics are used."""
    model, x = small_vgg_and_input()
    twin, _ = small_vgg_and_input()
    eval_logits, _ = fused_and_reference(model, x)
    model.train()
    twin.train()
    with vg.no_grad():
        train_logits = model(vg.tensor(x)).numpy()
    expected = twin(vg.tensor(x)).numpy()  # graph recorded, layers one by one
    np.testing.assert_allclose(train_logits, expected, rtol=1e-5, atol=1e-6)
    assert np.abs(train_logits - eval_logits).max() > 1e-3
    after, reference = fused_and_reference(model, x)  # running statistics moved by one batch
    assert np.abs(after - eval_logits).max() > 1e-4
    assert np.abs(after - reference).max() <= 1e-5 * np.abs(reference).max()


def test_one_batch_norm_left_in_training_mode_is_not_fused():
    model, _ = small_vgg_and_input()
    model[1].train()
    runs = fused_runs(list(model))
    assert runs[0] is model[0] and runs[1] is model[1]  # conv alone, then the batch norm
    assert runs[3] == (model[3], model[4], True)


def test_hooked_and_subclassed_layers_run_as_they_are():
    class ScaledConv(nn.Conv2d):
        def forward(self, x):
            return super().forward(x) * 2.0

    vg.manual_seed(0)
    model = randomize_statistics(nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        ScaledConv(16, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        nn.Conv2d(16, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU())).eval()
    seen = []
    model[1].register_forward_hook(lambda module, inputs, output: seen.append(output.numpy()))
    assert fused_runs(list(model))[:3] == [model[0], model[1], model[2]]
    assert fused_runs(list(model))[3] is model[3]
    model[8].forward = lambda x: x * 2.0  # an instance's own forward (guided backprop's way)
    assert fused_runs(list(model))[6] == (model[6], model[7], False)
    x = np.random.default_rng(1).random((2, 1, 8, 8), dtype=np.float32)
    fused, reference = fused_and_reference(model, x)
    np.testing.assert_allclose(fused, reference, rtol=1e-5, atol=1e-6)
    assert len(seen) == 2 and np.array_equal(seen[0], seen[1])  # the hook saw the BN output


def test_eval_mode_with_a_graph_still_gives_gradients():
    """Saliency and attacks run eval-mode models with gradients: nothing is fused there."""
    model, x = small_vgg_and_input()
    image = vg.tensor(x, requires_grad=True)
    model(image).sum().backward()
    assert image.grad is not None and np.abs(image.grad).sum() > 0


def test_a_batch_norm_of_the_wrong_width_raises_its_own_error():
    model = nn.Sequential(nn.Conv2d(1, 16, 3), nn.BatchNorm2d(8), nn.ReLU()).eval()
    assert fused_runs(list(model))[0] is model[0]
    with vg.no_grad(), pytest.raises(ValueError, match="8 channels|does not match"):
        model(vg.ones(1, 1, 5, 5))
