"""The zoo's networks without torchvision: the papers' parameter counts (CIFAR ResNets),
shapes through every family on small inputs, the ceil-mode pooling, option-A shortcuts,
FractalNet's joins and drop-path, and stochastic depth's survival schedule."""

import numpy as np
import pytest
from helpers import assert_matches_torch, torch_or_skip

import visiongrad as vg
from visiongrad import models, nn
from visiongrad.models.fractalnet import FractalBlock, local_drop_mask
from visiongrad.models.vgg import CONFIGS, make_features


def count(model):
    return sum(p.size for p in model.parameters())


@pytest.mark.parametrize("depth, paper_millions", [(20, 0.27), (32, 0.46), (44, 0.66),
                                                   (56, 0.85), (110, 1.7)])
def test_cifar_resnets_have_the_papers_parameter_counts(depth, paper_millions):
    model = models.create(f"resnet{depth}")
    assert round(count(model) / 1e6, 2 if depth < 110 else 1) == paper_millions
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) + 1 == depth  # 6n + 1 convolutions and the linear layer, no projections


def test_option_a_shortcut_subsamples_and_pads_with_zeros():
    x = np.random.default_rng(0).standard_normal((2, 16, 8, 8)).astype(np.float32)
    y = models.OptionAShortcut(16, 32, 2)(vg.tensor(x)).data
    assert y.shape == (2, 32, 4, 4)
    np.testing.assert_array_equal(y[:, 8:24], x[:, :, ::2, ::2])
    assert not y[:, :8].any() and not y[:, 24:].any()


@pytest.mark.parametrize("name, size", [("resnet20", 32), ("zfnet", 64), ("fractalnet", 32),
                                        ("resnet110_stochastic_depth", 16)])
def test_models_without_torchvision_give_logits(name, size):
    kwargs = {"channels": (4, 8, 8, 8, 8)} if name == "fractalnet" else {}
    model = models.create(name, num_classes=7, in_channels=1, **kwargs).eval()
    x = np.random.default_rng(1).standard_normal((1, 1, size, size)).astype(np.float32)
    with vg.no_grad():
        assert model(vg.tensor(x)).shape == (1, 7)


def test_vgg_configurations_follow_the_papers_table():
    """The feature stacks (the classifier, the same for all, is tested against torchvision)."""
    def layers(config):
        return [type(m).__name__ for m in make_features(CONFIGS[config], False)]
    assert layers("A-LRN")[:3] == ["Conv2d", "ReLU", "LocalResponseNorm"]
    kernels = [m.kernel_size for m in make_features(CONFIGS["C"], False)
               if isinstance(m, nn.Conv2d)]
    assert kernels.count((1, 1)) == 3 and len(kernels) == 13
    for config, depth in (("A", 11), ("A-LRN", 11), ("B", 13), ("C", 16), ("D", 16), ("E", 19)):
        assert layers(config).count("Conv2d") + 3 == depth
    x = vg.tensor(np.random.default_rng(1).standard_normal((1, 1, 32, 32)).astype(np.float32))
    for config in ("A-LRN", "C"):
        with vg.no_grad():
            assert make_features(CONFIGS[config], False, in_channels=1)(x).shape == (1, 512, 1, 1)
    with pytest.raises(ValueError, match="config must be one of"):
        models.VGG.from_config("F")


def test_ceil_mode_max_pool_matches_torch():
    torch = torch_or_skip()
    x = np.random.default_rng(2).standard_normal((2, 3, 9, 8))
    for kernel, stride, padding in ((3, 2, 0), (2, 2, 0), (3, 1, 1), (3, 2, 1)):
        assert_matches_torch(
            lambda a, k=kernel, s=stride, p=padding: nn.MaxPool2d(k, s, p, ceil_mode=True)(a),
            lambda a, k=kernel, s=stride, p=padding: torch.nn.functional.max_pool2d(
                a, k, s, p, ceil_mode=True), [x], dtype=np.float64)


def test_inception_modules_concatenate_their_branches():
    x = vg.tensor(np.random.default_rng(3).standard_normal((1, 8, 6, 6)).astype(np.float32))
    assert models.NaiveInception(8, 4, 5, 6)(x).shape == (1, 4 + 5 + 6 + 8, 6, 6)
    assert models.Inception(8, 4, 2, 5, 2, 6, 3)(x).shape == (1, 4 + 5 + 6 + 3, 6, 6)


def test_googlenet_returns_auxiliary_outputs_only_in_training():
    model = models.create("googlenet", num_classes=5)
    x = vg.tensor(np.random.default_rng(4).standard_normal((2, 3, 64, 64)).astype(np.float32))
    with vg.no_grad():
        out = model(x)
        assert isinstance(out, models.GoogLeNetOutputs)
        assert [o.shape for o in out] == [(2, 5)] * 3
        assert model.eval()(x).shape == (2, 5)


def test_fractal_block_expansion_rule():
    block = FractalBlock(2, 3, columns=3)
    convs = [m for m in block.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 1 + 2 + 4  # columns of depth 1, 2, 4
    x = vg.tensor(np.random.default_rng(5).standard_normal((1, 2, 4, 4)).astype(np.float32))
    block.eval()
    columns = block.columns_out(x)
    assert len(columns) == 3
    # global drop-path's column 2 is the plain chain of the four deepest units
    chain = block.first.first.conv, block.first.second.conv, block.second.first.conv, \
        block.second.second.conv
    expected = x
    for unit in chain:
        expected = unit(expected)
    np.testing.assert_allclose(block.column(x, 2).data, expected.data, rtol=1e-6)
    np.testing.assert_allclose(block(x).data, np.mean([c.data for c in columns], axis=0),
                               rtol=1e-6, atol=1e-7)


def test_local_drop_path_keeps_one_and_its_join_is_unbiased():
    vg.manual_seed(0)
    masks = np.array([local_drop_mask(3, 0.9) for _ in range(3000)])
    assert masks.any(axis=1).all()  # never all dropped
    branches = [vg.tensor(np.full((1,), value)) for value in (1.0, 2.0, 6.0)]
    draws = [models.fractal_join(branches, p=0.5, training=True).data[0] for _ in range(6000)]
    test_time = models.fractal_join(branches).data[0]
    assert test_time == 3.0
    assert abs(np.mean(draws) - test_time) < 0.1  # std of the estimate about 0.02


def test_fractalnet_global_drop_path_picks_one_column_for_all_blocks(monkeypatch):
    model = models.FractalNet(num_classes=3, columns=2, channels=(2, 2), global_ratio=1.0)
    chosen = []
    for block in model.blocks:
        monkeypatch.setattr(block, "column", lambda x, i, b=block: chosen.append(i) or b.conv(x))
    x = vg.tensor(np.random.default_rng(6).standard_normal((1, 3, 4, 4)).astype(np.float32))
    for _ in range(10):
        chosen.clear()
        model(x)
        assert len(chosen) == 2 and chosen[0] == chosen[1]


def test_stochastic_depth_schedule_and_test_time_expectation():
    assert models.linear_decay_survival(4, 0.5) == [0.875, 0.75, 0.625, 0.5]
    model = models.StochasticDepthResNet(depth=20)
    gates = [m.survival_prob for m in model.modules() if isinstance(m, nn.SurvivalGate)]
    np.testing.assert_allclose(gates, 1 - np.arange(1, 10) / 9 * 0.5)
    # a gated branch: the training-time mean over many draws equals the evaluation output
    gate = nn.SurvivalGate(0.625)
    branch = np.random.default_rng(7).standard_normal((2, 3))
    vg.manual_seed(1)
    draws = [gate(vg.tensor(branch)).data for _ in range(4000)]
    kept = [not np.all(d == 0) for d in draws]
    for d, k in zip(draws, kept, strict=True):  # b f(x) with b in {0, 1}, unscaled
        np.testing.assert_allclose(d, branch if k else 0 * branch)
    assert abs(np.mean(kept) - 0.625) < 0.03
    np.testing.assert_allclose(np.mean(draws, axis=0), gate.eval()(vg.tensor(branch)).data,
                               atol=0.03 * np.abs(branch).max())


def test_zoo_argument_errors():
    with pytest.raises(ValueError, match="num_classes must be a positive integer"):
        models.create("alexnet", num_classes=0)
    with pytest.raises(ValueError, match="depth must be 6n"):
        models.CifarResNet(depth=21)
    with pytest.raises(ValueError, match="survival_probs needs one probability per block"):
        models.CifarResNet(depth=20, survival_probs=[0.5])
    with pytest.raises(ValueError, match="layers must be four"):
        models.ResNet(models.Bottleneck, (1, 2))
    assert models.create("resnet18", input_shape=(1, 28, 28)).conv1.in_channels == 1
