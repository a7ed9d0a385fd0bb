import math

import numpy as np
import pytest

import visiongrad as vg
from visiongrad import models, train

SMALL = {"vgg_small": {"width": 4, "hidden_dim": 16}, "resnet_small": {"width": 4},
         "three_layer_convnet": {"num_filters": 4},
         "two_conv_net": {"num_filters": (4, 8), "hidden_dim": 16},
         "madry_convnet": {"num_filters": (4, 8), "hidden_dim": 16}}


@pytest.mark.parametrize("name", models.SMALL_MODELS)
@pytest.mark.parametrize("input_shape", [(1, 28, 28), (3, 32, 32)])
def test_output_shape(name, input_shape):
    model = models.create(name, input_shape=input_shape, num_classes=7, **SMALL.get(name, {}))
    x = vg.random.get_generator().standard_normal((2, *input_shape)).astype(np.float32)
    assert model(vg.tensor(x)).shape == (2, 7)


@pytest.mark.parametrize("name", models.SMALL_MODELS)
def test_initial_loss_is_log_10(name):
    x = vg.random.get_generator().standard_normal((16, 1, 28, 28)).astype(np.float32)
    y = np.arange(16) % 10
    result = train.check_initial_loss(models.create(name), x, y)
    assert result["expected"] == pytest.approx(math.log(10))
    assert result["ok"], f"{name}: initial loss {result['loss']:.3f}, expected about log(10)"


def test_fc_net_layers_follow_the_options():
    plain = models.FullyConnectedNet([20, 10], input_shape=(1, 4, 4))
    assert [tuple(p.data.shape) for _, p in plain.named_parameters()] == [
        (20, 16), (20,), (10, 20), (10,), (10, 10), (10,)]
    for normalization, layer in (("batchnorm", "BatchNorm1d"), ("layernorm", "LayerNorm")):
        net = models.FullyConnectedNet([20, 10], input_shape=(1, 4, 4),
                                       normalization=normalization, dropout=0.5)
        kinds = [type(m).__name__ for m in net.modules()]
        assert kinds.count(layer) == 2 and kinds.count("Dropout") == 2
    two_layer = models.TwoLayerNet(input_shape=(1, 4, 4), hidden_dim=5)
    assert [tuple(p.data.shape) for _, p in two_layer.named_parameters()] == [
        (5, 16), (5,), (10, 5), (10,)]


def test_resnet_uses_projection_shortcuts_only_where_the_shape_changes():
    net = models.SmallResNet()
    blocks = [m for m in net.modules() if isinstance(m, models.ResidualBlock)]
    assert len(blocks) == 6
    projections = [any(type(m).__name__ == "Conv2d" for m in b.shortcut.modules())
                   for b in blocks]
    assert projections == [False, False, True, False, True, False]
    x = vg.random.get_generator().standard_normal((2, 16, 8, 8)).astype(np.float32)
    assert blocks[2](vg.tensor(x)).shape == (2, 32, 4, 4)


def test_registry_errors():
    with pytest.raises(ValueError, match=r"unknown model 'lenet6' \(available: alexnet, fc"):
        models.create("lenet6")
    with pytest.raises(ValueError, match="normalization"):
        models.create("fc", normalization="groupnorm")
    with pytest.raises(ValueError, match="input_shape"):
        models.create("lenet5", input_shape=(28, 28))
    with pytest.raises(ValueError, match="too small"):
        models.create("lenet5", input_shape=(1, 4, 4))
