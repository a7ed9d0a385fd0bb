"""Every model of the zoo through a checkpoint FILE: save -> load -> identical logits in eval
mode -> resume training -> identical to uninterrupted training (issue 14, item 1: batch
norm's 0-d ``num_batches_tracked`` came back as shape (1,) and the model refused it)."""

import numpy as np
import pytest

import visiongrad as vg
from visiongrad import functional as F
from visiongrad import models, nn, optim, train
from visiongrad.train.checkpoint import load_checkpoint, load_model_state, save_checkpoint

INPUT_SHAPE = (1, 16, 16)
SMALL = {"input_shape": INPUT_SHAPE}
#: key -> (registered name, keyword arguments, input shape): every kind of model, small.
CONFIGS = {
    "two_layer": ("two_layer", {**SMALL, "hidden_dim": 8}, INPUT_SHAPE),
    "fc": ("fc", {**SMALL, "hidden_dims": [8, 8], "dropout": 0.2}, INPUT_SHAPE),
    "fc_batchnorm": ("fc", {**SMALL, "hidden_dims": [8, 8], "normalization": "batchnorm"},
                     INPUT_SHAPE),
    "three_layer_convnet": ("three_layer_convnet", {**SMALL, "num_filters": 4, "hidden_dim": 8},
                            INPUT_SHAPE),
    "two_conv_net": ("two_conv_net", {**SMALL, "num_filters": (4, 8), "hidden_dim": 8},
                     INPUT_SHAPE),
    "madry_convnet": ("madry_convnet", {**SMALL, "num_filters": (4, 8), "hidden_dim": 8},
                      INPUT_SHAPE),
    "lenet5": ("lenet5", SMALL, INPUT_SHAPE),
    "lenet_300_100": ("lenet_300_100", SMALL, INPUT_SHAPE),
    "lenet5_caffe": ("lenet5_caffe", SMALL, INPUT_SHAPE),
    "vgg_small": ("vgg_small", {**SMALL, "width": 4, "hidden_dim": 16, "dropout": 0.2},
                  INPUT_SHAPE),
    "resnet_small": ("resnet_small", {**SMALL, "width": 4, "blocks_per_stage": 1},
                     INPUT_SHAPE),
    "resnet20": ("resnet20", {"in_channels": 1}, INPUT_SHAPE),
    "stochastic_depth": ("resnet110_stochastic_depth", {"depth": 8, "in_channels": 1},
                         INPUT_SHAPE),
    "fractalnet": ("fractalnet", {"in_channels": 1, "columns": 2, "channels": (4,) * 5},
                   (1, 32, 32)),
}
#: ImageNet-sized models (tens of millions of weights, 224x224 input): too slow to train in
#: the suite. Their layers (conv, batch norm, LRN, dropout, pooling, residual and inception
#: blocks) all appear in the configurations above.
HEAVY = {"alexnet", "zfnet", "googlenet", "resnet18", "resnet34", "resnet50", "resnet101",
         "resnet152", "vgg11", "vgg11_bn", "vgg11_lrn", "vgg13", "vgg13_bn", "vgg16",
         "vgg16_1x1", "vgg16_bn", "vgg19", "vgg19_bn"}
#: Registered depths of a configured kind (the same class, other depth).
SAME_KIND = {"resnet32", "resnet44", "resnet56", "resnet110"}


def test_every_registered_model_is_covered():
    configured = {name for name, _, _ in CONFIGS.values()}
    assert configured | HEAVY | SAME_KIND == set(models.available())


def build(key, seed):
    vg.manual_seed(seed)
    name, options, _ = CONFIGS[key]
    model = models.create(name, num_classes=5, **options)
    optimizer = optim.Adam(model.parameters(), lr=1e-2)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    return model, optimizer, scheduler


def batches(steps, start=0, shape=INPUT_SHAPE):
    generator = np.random.default_rng(7)
    x = generator.standard_normal((steps + start, 6, *shape)).astype(np.float32)
    y = generator.integers(0, 5, (steps + start, 6))
    return list(zip(x[start:], y[start:], strict=True))


def fit(model, optimizer, scheduler, data):
    model.train()
    for x, y in data:
        loss = F.cross_entropy(model(vg.tensor(x)), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()


def eval_logits(model, x):
    model.eval()
    with vg.no_grad():
        logits = np.array(model(vg.tensor(x)).data)
    model.train()
    return logits


def assert_same_state(a, b):
    state_a, state_b = a.state_dict(), b.state_dict()
    assert state_a.keys() == state_b.keys()
    for name in state_a:
        assert state_a[name].shape == state_b[name].shape, name
        np.testing.assert_array_equal(state_a[name], state_b[name], err_msg=name)


@pytest.mark.parametrize("key", sorted(CONFIGS))
def test_checkpoint_file_round_trip_and_exact_resume(key, tmp_path):
    data = batches(4, shape=CONFIGS[key][2])
    model, optimizer, scheduler = build(key, seed=0)
    fit(model, optimizer, scheduler, data[:2])
    path = save_checkpoint(tmp_path / "ckpt", model, optimizer, scheduler=scheduler)

    contents = load_checkpoint(path)
    for name, value in model.state_dict().items():
        assert contents["model"][name].shape == value.shape, name  # 0-d stays 0-d
    restored, restored_optimizer, restored_scheduler = build(key, seed=1)  # other weights
    load_model_state(restored, contents["model"])
    probe = data[3][0]
    np.testing.assert_array_equal(eval_logits(restored, probe), eval_logits(model, probe))

    restored_optimizer.load_state_dict(contents["optimizer"])
    restored_scheduler.load_state_dict(contents["scheduler"])
    vg.manual_seed(99)  # whatever ran in between: the checkpoint restores the generator
    vg.random.set_state(contents["rng"])
    fit(restored, restored_optimizer, restored_scheduler, data[2:])
    vg.random.set_state(contents["rng"])
    fit(model, optimizer, scheduler, data[2:])  # the uninterrupted run
    assert_same_state(restored, model)
    assert restored_scheduler.get_last_lr() == scheduler.get_last_lr()


def test_module_load_state_dict_round_trips_a_zero_d_buffer_and_accepts_legacy_shape():
    layer = nn.BatchNorm2d(3)
    layer(vg.tensor(np.ones((2, 3, 2, 2), dtype=np.float32)))
    state = layer.state_dict()
    assert state["num_batches_tracked"].shape == ()
    fresh = nn.BatchNorm2d(3)
    fresh.load_state_dict(state)
    assert fresh.num_batches_tracked.shape == () and int(fresh.num_batches_tracked) == 1
    # checkpoints written before the fix hold (1,): loaded as PyTorch loads old files
    state["num_batches_tracked"] = np.array([5])
    fresh.load_state_dict(state)
    assert fresh.num_batches_tracked.shape == () and int(fresh.num_batches_tracked) == 5
    state["num_batches_tracked"] = np.array([5, 6])
    with pytest.raises(ValueError, match=r"num_batches_tracked: checkpoint shape \(2,\)"):
        fresh.load_state_dict(state)


def test_trainer_end_to_end_with_batch_norm(tmp_path):
    generator = np.random.default_rng(3)
    x = generator.standard_normal((48, *INPUT_SHAPE)).astype(np.float32)
    y = generator.integers(0, 5, 48)

    def trainer(epochs, **options):
        model, optimizer, scheduler = build("vgg_small", seed=0)
        return train.Trainer(model, optimizer, scheduler=scheduler, epochs=epochs,
                             batch_size=16, progress=False, restore_best=False, **options)

    straight = trainer(3).fit(x[:32], y[:32], x[32:], y[32:])
    trainer(2, checkpoint_path=tmp_path / "run").fit(x[:32], y[:32], x[32:], y[32:])
    resumed = trainer(3).load_checkpoint(tmp_path / "run.safetensors")
    resumed.fit(x[:32], y[:32], x[32:], y[32:])
    assert_same_state(resumed.model, straight.model)
    np.testing.assert_array_equal(eval_logits(resumed.model, x), eval_logits(straight.model, x))


def test_batch_norm_state_dict_loads_into_pytorch_with_identical_logits(tmp_path):
    torch = pytest.importorskip("torch")
    safetensors_torch = pytest.importorskip("safetensors.torch")
    model, optimizer, scheduler = build("vgg_small", seed=0)
    fit(model, optimizer, scheduler, batches(3))  # non-trivial running statistics
    path = tmp_path / "weights.safetensors"
    from safetensors.numpy import save_file
    save_file({name: np.asarray(value, order="C") for name, value in
               model.state_dict().items()}, str(path))

    layers = []
    for layer in model:
        kind = type(layer).__name__
        if kind == "Conv2d":
            layers.append(torch.nn.Conv2d(layer.in_channels, layer.out_channels,
                                          layer.kernel_size, stride=layer.stride,
                                          padding=layer.padding, bias=layer.bias is not None))
        elif kind == "BatchNorm2d":
            layers.append(torch.nn.BatchNorm2d(layer.num_features, eps=layer.eps))
        elif kind == "Linear":
            layers.append(torch.nn.Linear(*layer.weight.data.shape[::-1]))
        elif kind == "MaxPool2d":
            layers.append(torch.nn.MaxPool2d(2))
        else:
            layers.append({"ReLU": torch.nn.ReLU, "Flatten": torch.nn.Flatten,
                           "Dropout": torch.nn.Dropout}[kind]())
    reference = torch.nn.Sequential(*layers)
    reference.load_state_dict(safetensors_torch.load_file(str(path)))  # strict: shapes match
    reference.eval()
    x = np.random.default_rng(5).standard_normal((4, *INPUT_SHAPE)).astype(np.float32)
    with torch.no_grad():
        expected = reference(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(eval_logits(model, x), expected, rtol=1e-4, atol=1e-5)
