"""summary(): output shapes, parameter counts, multiply-adds and activation memory against
hand counts and against PyTorch's FlopCounterMode on torchvision's networks."""

import io

import numpy as np
import pytest
from helpers import torch_or_skip
from zoo_reference import torchvision_model

import visiongrad as vg
from visiongrad import functional as F
from visiongrad import models, nn
from visiongrad.nn.summary import format_bytes


def test_mlp_by_hand():
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 8), nn.BatchNorm1d(8), nn.ReLU(),
                          nn.Dropout(0.5), nn.Linear(8, 3, bias=False))
    model[1].requires_grad_(False)
    out = io.StringIO()
    result = nn.summary(model, (3, 4), batch_size=2, file=out)
    rows = [(r.name, r.kind, r.output_shape, r.params, r.macs, r.flops, r.activation_bytes)
            for r in result.rows]
    assert rows == [
        ("0", "Flatten", (2, 12), 0, 0, 0, 2 * 12 * 4),
        # 2 examples x 8 outputs: 12 multiply-adds (24 FLOPs) + 1 bias add each
        ("1", "Linear", (2, 8), 12 * 8 + 8, 2 * 8 * 12, 2 * 8 * (2 * 12) + 2 * 8, 2 * 8 * 4),
        ("2", "BatchNorm1d", (2, 8), 16, 0, 0, 2 * 8 * 4),
        ("3", "ReLU", (2, 8), 0, 0, 0, 2 * 8 * 4),
        ("4", "Dropout", (2, 8), 0, 0, 0, 2 * 8 * 4),
        ("5", "Linear", (2, 3), 24, 2 * 3 * 8, 2 * 3 * (2 * 8), 2 * 3 * 4),
    ]
    assert result.total_params == 104 + 16 + 24
    assert result.trainable_params == 16 + 24
    assert result.param_bytes == 144 * 4
    assert result.total_macs == 192 + 48
    assert result.total_flops == 400 + 96
    assert result.activation_bytes == 4 * (24 + 4 * 16 + 6)
    text = out.getvalue()
    assert text.strip() == str(result).strip()
    assert "FLOPs = 2 x MACs" in text and "Total params: 144 (576 B)" in text
    assert "Activation memory (forward, this input): 376 B" in text


def test_modes_restored_and_generator_untouched():
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
    model[1].eval()
    state = vg.random.get_state()
    nn.summary(model, (4,), file=None)
    assert model.training and model[0].training and not model[1].training
    assert vg.random.get_state() == state


def test_custom_module_and_shared_layer_called_twice():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = nn.Linear(3, 3)
            self.gate = nn.Parameter(np.ones(3, np.float32))

        def forward(self, x):
            return self.layer(self.layer(x)) * self.gate

    result = nn.summary(Twice(), (3,), file=None)
    names = [(row.name, row.params, row.flops) for row in result.rows]
    assert names == [("layer", 12, 21), ("layer", 0, 21), ("", 3, 0)]
    assert [row.macs for row in result.rows] == [9, 9, 0]
    assert result.total_params == 15


@pytest.mark.skipif(not hasattr(F, "conv2d"), reason="the conv ops have not landed")
def test_convnet_by_hand():
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(4 * 4 * 4, 10))
    result = nn.summary(model, (1, 8, 8), file=None)
    shapes = [row.output_shape for row in result.rows]
    assert shapes == [(1, 4, 8, 8), (1, 4, 8, 8), (1, 4, 4, 4), (1, 64), (1, 10)]
    conv_outputs = 4 * 8 * 8
    assert result.rows[0].params == 4 * 9 + 4
    assert result.rows[0].flops == 2 * conv_outputs * 9 + conv_outputs
    assert result.rows[0].macs == conv_outputs * 9
    assert result.rows[0].activation_bytes == conv_outputs * 4
    assert result.rows[4].flops == 2 * 10 * 64 + 10
    assert result.total_params == 40 + 650


def test_needs_a_module_and_a_batch():
    with pytest.raises(TypeError, match="needs an nn.Module"):
        nn.summary(lambda x: x, (3,))
    with pytest.raises(ValueError, match="batch_size"):
        nn.summary(nn.Linear(3, 3), (3,), batch_size=0)


def test_transposed_convolution_counts_input_positions():
    layer = nn.ConvTranspose2d(2, 3, 3, stride=2)
    result = nn.summary(layer, (2, 4, 5), file=None)
    assert result.rows[0].output_shape == (1, 3, 9, 11)
    assert result.total_macs == (2 * 4 * 5) * 3 * 9
    assert result.total_params == 2 * 3 * 9 + 3


def test_format_bytes():
    assert [format_bytes(n) for n in (0, 1023, 1024, 1536, 3 << 20, 5 << 30)] == [
        "0 B", "1023 B", "1 KB", "1.5 KB", "3 MB", "5 GB"]


@pytest.mark.parametrize("name, size, kwargs", [
    ("resnet18", 64, {}), ("resnet50", 64, {}), ("alexnet", 64, {}),
    ("googlenet", 64, {"aux_logits": False}), ("vgg11_bn", 32, {})])
def test_macs_and_params_match_torch_flop_counter(name, size, kwargs):
    """An independent count: PyTorch's FlopCounterMode (2 FLOPs per multiply-add of every
    convolution and matrix product) over torchvision's network, on the meta device."""
    torch = torch_or_skip()
    from torch.utils.flop_counter import FlopCounterMode

    reference = torchvision_model(name, **kwargs).eval()
    counter = FlopCounterMode(display=False)
    with counter, torch.device("meta"):
        reference(torch.empty(1, 3, size, size))
    model = models.create(name, **kwargs)
    ours = nn.summary(model, (3, size, size), file=None)
    assert ours.total_macs * 2 == counter.get_total_flops()
    assert ours.total_params == sum(p.size for p in model.parameters())
    assert ours.total_params == sum(p.numel() for p in reference.parameters())
