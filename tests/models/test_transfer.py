"""Transfer learning: requires_grad_, freezing (no gradient, no update, batch norm kept in
evaluation mode), parameter groups against PyTorch, head replacement, features."""

import numpy as np
import pytest
from helpers import torch_or_skip

import visiongrad as vg
from visiongrad import functional as F
from visiongrad import models, nn, optim

SMALL = {"input_shape": (1, 16, 16), "num_classes": 5}


def batch(n=4, shape=(1, 16, 16), seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, *shape)).astype(np.float32), rng.integers(0, 5, n)


def train_step(model, optimizer, x, y):
    optimizer.zero_grad()
    F.cross_entropy(model(vg.tensor(x)), y).backward()
    optimizer.step()


def test_requires_grad_freezes_like_pytorch():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    assert model[0].requires_grad_(False) is model[0]
    assert [p.requires_grad for p in model.parameters()] == [False, False, True, True]
    model(vg.tensor(np.ones((2, 3), np.float32))).sum().backward()
    assert model[0].weight.grad is None and model[0].bias.grad is None
    assert model[2].weight.grad is not None
    model.requires_grad_()
    assert all(p.requires_grad for p in model.parameters())


def test_frozen_features_get_no_gradient_and_no_update_and_batch_norm_stays_put():
    vg.manual_seed(0)
    model = models.create("vgg_small", width=4, hidden_dim=8, **SMALL)
    head = models.replace_head(model, 3)
    models.freeze(model, except_head=True)
    frozen = {name: p.data.copy() for name, p in model.named_parameters()
              if not name.startswith("17.")}
    buffers = {name: b.copy() for name, b in model.named_buffers()}
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=0.1)
    model.train()
    x, _ = batch()
    for seed in range(3):
        train_step(model, optimizer, x + seed, np.array([0, 1, 2, 0]))
    assert [type(m).__name__ for m in model][:2] == ["Conv2d", "FrozenBatchNorm2d"]
    assert model.training and not model[1].training and model[0].training
    for name, p in model.named_parameters():
        if name in frozen:
            assert p.grad is None and np.array_equal(p.data, frozen[name]), name
    assert all(np.array_equal(b, buffers[n]) for n, b in model.named_buffers())
    assert head.weight.grad is not None and not np.allclose(head.weight.data, 0)
    # keys unchanged: a frozen model's checkpoint loads into a plain one
    plain = models.create("vgg_small", width=4, hidden_dim=8, input_shape=(1, 16, 16),
                          num_classes=3)
    plain.load_state_dict(model.state_dict())
    models.unfreeze(model)
    assert type(model[1]) is nn.BatchNorm2d and model[1].training
    assert all(p.requires_grad for p in model.parameters())


def test_frozen_batch_norm_matches_torch_eval_under_train():
    torch = torch_or_skip()
    layer = nn.BatchNorm2d(3)
    layer.running_mean[...] = [0.5, -1.0, 2.0]
    layer.running_var[...] = [2.0, 0.5, 1.5]
    reference = torch.nn.BatchNorm2d(3)
    reference.load_state_dict({k: torch.from_numpy(np.asarray(v))
                               for k, v in layer.state_dict().items()})
    models.freeze(layer).train()
    x = np.random.default_rng(1).normal(size=(2, 3, 4, 4)).astype(np.float32)
    expected = reference.eval()(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(layer(vg.tensor(x)).data, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name, optimizer, options", [
    ("SGD", "SGD", {"momentum": 0.9, "weight_decay": 1e-2}), ("Adam", "Adam", {}),
    ("AdamW", "AdamW", {"weight_decay": 0.1}), ("RMSProp", "RMSprop", {}),
    ("AdaGrad", "Adagrad", {})])
def test_parameter_groups_with_their_own_rates_match_pytorch(name, optimizer, options):
    """The PyTorch idiom: the new head at 1e-2, the pretrained body at the default 1e-3."""
    torch = torch_or_skip()
    vg.manual_seed(0)
    model = models.create("three_layer_convnet", filter_size=3, num_filters=4, hidden_dim=8,
                          **SMALL)
    reference = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(4 * 8 * 8, 8), torch.nn.ReLU(),
        torch.nn.Linear(8, 5))
    reference.load_state_dict({k: torch.from_numpy(v.copy())
                               for k, v in model.state_dict().items()})
    ours = getattr(optim, name)([{"params": model[6].parameters(), "lr": 1e-2},
                                 {"params": model[:6].parameters()}], lr=1e-3, **options)
    theirs = getattr(torch.optim, optimizer)(
        [{"params": reference[6].parameters(), "lr": 1e-2},
         {"params": reference[:6].parameters()}], lr=1e-3, **options)
    assert [g["lr"] for g in ours.param_groups] == [1e-2, 1e-3]
    for seed in range(5):
        x, y = batch(seed=seed)
        train_step(model, ours, x, y)
        theirs.zero_grad()
        torch.nn.functional.cross_entropy(reference(torch.from_numpy(x)),
                                          torch.from_numpy(y)).backward()
        theirs.step()
    for key, value in reference.state_dict().items():
        np.testing.assert_allclose(model.state_dict()[key], value.numpy(), rtol=1e-4,
                                   atol=1e-6, err_msg=key)


@pytest.mark.parametrize("name, kwargs, head, in_features", [
    ("resnet18", {}, "fc", 512), ("alexnet", {}, "classifier.6", 4096),
    ("resnet20", {}, "fc", 64),
    ("fractalnet", {"channels": (8, 8, 8, 8, 8)}, "fc", 8),
    ("lenet5", SMALL, "11", 84), ("vgg_small", SMALL, "17", 256),
    ("three_layer_convnet", SMALL, "6", 100), ("resnet_small", SMALL, "fc", 64),
    ("fc", SMALL, "5", 100)])
def test_replace_head_and_features(name, kwargs, head, in_features):
    vg.manual_seed(0)
    model = models.create(name, **kwargs)
    old = dict(model.named_parameters())
    assert models.head_names(model) == [head]
    new = models.replace_head(model, 7)
    assert (new.in_features, new.out_features) == (in_features, 7)
    # the new layer is registered where the old one was: parameters, state_dict, forward
    names = [n for n, _ in model.named_parameters()]
    assert names[-2:] == [f"{head}.weight", f"{head}.bias"] and len(names) == len(old)
    assert model.state_dict()[f"{head}.weight"].shape == (7, in_features)
    assert {id(p) for p in optim.SGD(model.parameters()).parameters()} >= {
        id(new.weight), id(new.bias)}
    assert id(old[f"{head}.weight"]) not in {id(p) for p in model.parameters()}
    if name in ("resnet18", "alexnet"):
        return  # full-size networks: the head's bookkeeping is enough here
    model.eval()
    shape = kwargs.get("input_shape", (3, 32, 32))
    x = vg.tensor(np.random.default_rng(0).normal(size=(2, *shape)).astype(np.float32))
    features = model.features(x)
    assert features.shape == (2, in_features)
    np.testing.assert_allclose(model(x).data, new(features).data, rtol=1e-5, atol=1e-6)


def test_googlenet_auxiliary_heads_are_replaced_too():
    vg.manual_seed(0)
    model = models.create("googlenet").eval()
    x = vg.tensor(np.random.default_rng(0).normal(size=(1, 3, 64, 64)).astype(np.float32))
    np.testing.assert_allclose(model(x).data, model.fc(model.features(x)).data, rtol=1e-5,
                               atol=1e-6)
    assert model.features(x).shape == (1, 1024)
    assert models.head_names(model) == ["fc", "aux1.fc2", "aux2.fc2"]
    heads = models.replace_head(model, 4)
    assert [h.out_features for h in heads] == [4, 4, 4]
    assert model.aux1.fc2 is heads[1] and model.fc is heads[0]


def test_bad_head_arguments():
    model = models.create("lenet5", **SMALL)
    with pytest.raises(ValueError, match="num_classes"):
        models.replace_head(model, 1)
    with pytest.raises(TypeError, match="no Linear classifier head"):
        models.head_names(nn.Sequential(nn.Linear(2, 2), nn.ReLU()))


def test_train_calls_each_childs_train():
    calls = []

    class Recorder(nn.Module):
        def train(self, mode=True):
            calls.append(mode)
            return super().train(mode)

    model = nn.Sequential(nn.Sequential(Recorder()), nn.ReLU())
    model.eval()
    model.train()
    assert calls == [False, True]
