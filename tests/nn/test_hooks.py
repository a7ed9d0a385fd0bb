"""Forward hooks (PyTorch's semantics) and naming a layer of any model."""

import numpy as np
import pytest

import visiongrad as vg
from visiongrad import models, nn
from visiongrad.visualize import get_layer, layer_output, layer_outputs, recording


def _net():
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Sequential(nn.Linear(4, 2), nn.Tanh()))


def test_hook_fires_with_module_inputs_and_output():
    net, calls = _net(), []
    net[0].register_forward_hook(lambda m, inputs, out: calls.append((m, inputs, out)))
    x = vg.tensor(np.ones((5, 3), np.float32))
    out = net(x)
    (module, inputs, hooked), = calls
    assert module is net[0] and inputs[0] is x and hooked.shape == (5, 4)
    np.testing.assert_allclose(out.data, net[2](net[1](hooked)).data)


def test_hook_replaces_the_output_downstream_and_in_the_graph():
    net = _net()
    net[1].register_forward_hook(lambda m, inputs, out: out * 2)
    x = vg.tensor(np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32))
    expected = net[2](vg.functional.relu(net[0](x)) * 2).data
    np.testing.assert_allclose(net(x).data, expected, rtol=1e-6)
    y = vg.tensor(x.data, requires_grad=True)
    net(y).sum().backward()
    assert y.grad is not None and np.abs(y.grad).sum() > 0


def test_removed_hook_no_longer_fires_and_remove_is_idempotent():
    net, calls = _net(), []
    handle = net[2][0].register_forward_hook(lambda m, i, o: calls.append(1))
    net(vg.tensor(np.ones((1, 3), np.float32)))
    handle.remove()
    handle.remove()
    net(vg.tensor(np.ones((1, 3), np.float32)))
    assert calls == [1]
    assert not net[2][0]._forward_hooks


def test_hooks_run_in_registration_order():
    layer, order = nn.Identity(), []
    layer.register_forward_hook(lambda m, i, o: order.append("a"))
    layer.register_forward_hook(lambda m, i, o: order.append("b"))
    layer(vg.tensor(np.zeros(1)))
    assert order == ["a", "b"]


def test_get_layer_names_nested_layers_and_refuses_unknown_names():
    net = _net()
    assert get_layer(net, "2.0") is net[2][0] and get_layer(net, "") is net
    with pytest.raises(ValueError, match="layer must name a submodule.*'2.0'"):
        get_layer(net, "3")


def test_layer_outputs_in_order_and_stop_after_the_last_asked_for_layer():
    net, ran = _net(), []
    net[2][1].register_forward_hook(lambda m, i, o: ran.append("tanh"))
    x = vg.tensor(np.ones((2, 3), np.float32))
    relu, linear = layer_outputs(net, ["1", "2.0"], x)
    assert relu.shape == (2, 4) and linear.shape == (2, 2) and ran == []
    np.testing.assert_allclose(linear.data, net[2][0](relu).data)
    assert not any(m._forward_hooks for m in net.modules() if m is not net[2][1])


def test_layer_output_of_a_zoo_model_and_recording():
    model = models.create("resnet_small", input_shape=(1, 8, 8), num_classes=3)
    name = [n for n, m in model.named_modules() if isinstance(m, nn.Conv2d)][-1]
    x = vg.tensor(np.zeros((1, 1, 8, 8), np.float32))
    assert layer_output(model, name, x).ndim == 4
    with recording(model, name) as outputs:
        model(x)
        model(x)
    assert len(outputs) == 2 and not get_layer(model, name)._forward_hooks
