"""Module: registration, traversal, modes, freezing, state_dict and its errors, containers."""

from collections import OrderedDict

import numpy as np
import pytest

import visiongrad as vg
from visiongrad import nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.norm = nn.BatchNorm1d(4)
        self.scale = nn.Parameter(np.ones(1, np.float32))
        self.register_buffer("steps", np.zeros(1))
        self.note = "plain attribute"

    def forward(self, x):
        return self.norm(self.fc(x)) * self.scale


def test_registration_and_names():
    block = Block()
    assert [name for name, _ in block.named_parameters()] == [
        "scale", "fc.weight", "fc.bias", "norm.weight", "norm.bias"]
    assert [name for name, _ in block.named_buffers()] == [
        "steps", "norm.running_mean", "norm.running_var", "norm.num_batches_tracked"]
    assert [type(m).__name__ for m in block.children()] == ["Linear", "BatchNorm1d"]
    assert [name for name, _ in block.named_modules()] == ["", "fc", "norm"]
    assert block.note == "plain attribute" and "note" not in block._parameters
    with pytest.raises(AttributeError, match="has no attribute 'missing'"):
        _ = block.missing


def test_shared_parameter_is_listed_once_but_saved_under_both_names():
    first = nn.Linear(2, 2)
    second = nn.Linear(2, 2)
    second.weight = first.weight
    model = nn.Sequential(first, second)
    assert len(list(model.parameters())) == 3
    assert list(model.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]


def test_assignment_rules():
    layer = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="cannot assign a ndarray to parameter 'weight'"):
        layer.weight = np.zeros((2, 2))
    layer.bias = None
    assert [name for name, _ in layer.named_parameters()] == ["weight"]
    del layer.weight
    assert list(layer.parameters()) == []

    class Forgetful(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match="must call super"):
        Forgetful()


def test_train_eval_reaches_every_submodule():
    model = nn.Sequential(Block(), nn.Dropout(0.5))
    assert all(m.training for m in model.modules())
    model.eval()
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_dropout_and_batch_norm_switch_with_the_mode():
    vg.manual_seed(0)
    x = vg.tensor(np.random.default_rng(0).standard_normal((64, 4)).astype(np.float32) + 3)
    model = nn.Sequential(nn.BatchNorm1d(4), nn.Dropout(0.5))
    y_train = model(x).data
    assert (y_train == 0).mean() == pytest.approx(0.5, abs=0.1)
    assert model[0].num_batches_tracked == 1
    model.eval()
    y_eval, y_again = model(x).data, model(x).data
    np.testing.assert_array_equal(y_eval, y_again)
    assert (y_eval != 0).all()
    # evaluation normalises with the running statistics (after one step: 0.1 of the batch's)
    running_mean, running_var = model[0].running_mean, model[0].running_var
    expected = (x.data - running_mean) / np.sqrt(running_var + 1e-5)
    np.testing.assert_allclose(y_eval, expected, rtol=1e-5)
    assert model[0].num_batches_tracked == 1


def test_freezing_stops_gradients():
    model = nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 1))
    model[0].requires_grad_(False)
    model(vg.tensor(np.ones((2, 3), np.float32))).sum().backward()
    assert model[0].weight.grad is None and model[0].bias.grad is None
    assert model[2].weight.grad is not None
    model.zero_grad()
    assert model[2].weight.grad is None
    model.requires_grad_()
    assert all(p.requires_grad for p in model.parameters())


def net():
    return nn.Sequential(nn.Linear(3, 5), nn.BatchNorm1d(5), nn.ReLU(), nn.Linear(5, 2))


def test_state_dict_round_trip_gives_identical_outputs():
    x = vg.tensor(np.random.default_rng(1).standard_normal((8, 3)).astype(np.float32))
    vg.manual_seed(1)
    source = net()
    source(x)  # move the running statistics away from their initial values
    vg.manual_seed(2)
    target = net()
    result = target.load_state_dict(source.state_dict())
    assert result == {"missing_keys": [], "unexpected_keys": []}
    source.eval(), target.eval()
    np.testing.assert_array_equal(source(x).data, target(x).data)
    assert target[1].num_batches_tracked == 1


def test_state_dict_holds_copies():
    layer = nn.Linear(2, 2)
    state = layer.state_dict()
    layer.weight.data += 1
    assert not np.array_equal(state["weight"], layer.weight.data)


def test_load_errors_name_every_problem_and_change_nothing():
    model = net()
    before = model.state_dict()
    state = model.state_dict()
    del state["3.bias"]
    state["extra.weight"] = np.zeros(1)
    state["0.weight"] = np.zeros((4, 3))
    with pytest.raises(ValueError) as error:
        model.load_state_dict(state)
    message = str(error.value)
    assert "missing keys: 3.bias" in message
    assert "unexpected keys: extra.weight" in message
    assert "0.weight: checkpoint shape (4, 3), model shape (5, 3)" in message
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key])


def test_non_strict_load_reports_but_shapes_still_checked():
    model = net()
    state = {"0.weight": np.ones((5, 3)), "other": np.zeros(2)}
    result = model.load_state_dict(state, strict=False)
    assert result["unexpected_keys"] == ["other"] and "3.bias" in result["missing_keys"]
    np.testing.assert_array_equal(model[0].weight.data, 1)
    assert model[0].weight.dtype == np.float32
    with pytest.raises(ValueError, match="shape mismatch"):
        model.load_state_dict({"0.weight": np.ones((3, 5))}, strict=False)


def test_non_persistent_buffer_is_not_saved():
    module = nn.Module()
    module.register_buffer("cache", np.zeros(2), persistent=False)
    module.register_buffer("kept", np.zeros(2))
    assert list(module.state_dict()) == ["kept"]
    with pytest.raises(ValueError, match="contain no '.'"):
        module.register_buffer("a.b", np.zeros(1))


def test_sequential_and_module_list():
    model = nn.Sequential(OrderedDict(first=nn.Linear(2, 3), act=nn.ReLU()))
    assert list(model.state_dict()) == ["first.weight", "first.bias"]
    assert isinstance(model[-1], nn.ReLU) and len(model) == 2
    assert isinstance(model[:1], nn.Sequential) and len(model[:1]) == 1
    with pytest.raises(IndexError, match="index 2 is out of range"):
        model[2]
    with pytest.raises(TypeError, match="Sequential takes Modules"):
        nn.Sequential(nn.ReLU(), "relu")
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    layers.append(nn.Linear(2, 1))
    assert len(layers) == 4 and len(list(layers.parameters())) == 8
    assert list(layers.state_dict())[-1] == "3.bias"
    with pytest.raises(TypeError, match="needs a Module"):
        layers.append(np.zeros(1))


def test_repr_is_nested_and_readable():
    text = repr(nn.Sequential(nn.Linear(4, 2), nn.Sequential(nn.ReLU())))
    assert text == ("Sequential(\n  (0): Linear(in_features=4, out_features=2, bias=True)\n"
                    "  (1): Sequential(\n    (0): ReLU()\n  )\n)")


def test_forward_hooks_see_and_can_replace_the_output():
    layer = nn.Linear(2, 2)
    seen = []
    handle = layer.register_forward_hook(lambda m, inputs, out: seen.append(out.shape))
    replace = layer.register_forward_hook(lambda m, inputs, out: out * 0)
    out = layer(vg.tensor(np.ones((3, 2), np.float32)))
    assert seen == [(3, 2)] and (out.data == 0).all()
    handle.remove(), replace.remove()
    layer(vg.tensor(np.ones((3, 2), np.float32)))
    assert seen == [(3, 2)]


def test_apply_visits_children_first():
    order = []
    nn.Sequential(nn.ReLU(), nn.Tanh()).apply(lambda m: order.append(type(m).__name__))
    assert order == ["Tanh", "ReLU", "Sequential"]


def test_to_float64_allows_a_gradient_check_of_a_model():
    from helpers import assert_gradcheck

    model = nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4), nn.Tanh(), nn.Linear(4, 2))
    first = model[0].weight
    model.to(np.float64)
    assert model[0].weight is first
    assert all(value.dtype == np.float64 for value in model.state_dict().values())
    x = np.random.default_rng(0).standard_normal((5, 3))
    assert_gradcheck(lambda t: model(t), [x])
    with pytest.raises(ValueError, match="floating dtype"):
        model.to(np.int32)
