"""summary(): output shapes, parameter counts and FLOPs against hand counts."""

import io

import numpy as np
import pytest

import visiongrad as vg
from visiongrad import functional as F
from visiongrad import nn


def test_mlp_by_hand():
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 8), nn.BatchNorm1d(8), nn.ReLU(),
                          nn.Dropout(0.5), nn.Linear(8, 3, bias=False))
    model[1].requires_grad_(False)
    out = io.StringIO()
    result = nn.summary(model, (3, 4), batch_size=2, file=out)
    rows = [(r.name, r.kind, r.output_shape, r.params, r.flops) for r in result.rows]
    assert rows == [
        ("0", "Flatten", (2, 12), 0, 0),
        # 2 examples x 8 outputs: 12 multiply-adds (24 FLOPs) + 1 bias add each
        ("1", "Linear", (2, 8), 12 * 8 + 8, 2 * 8 * (2 * 12) + 2 * 8),
        ("2", "BatchNorm1d", (2, 8), 16, 0),
        ("3", "ReLU", (2, 8), 0, 0),
        ("4", "Dropout", (2, 8), 0, 0),
        ("5", "Linear", (2, 3), 24, 2 * 3 * (2 * 8)),
    ]
    assert result.total_params == 104 + 16 + 24
    assert result.trainable_params == 16 + 24
    assert result.total_flops == 400 + 96
    text = out.getvalue()
    assert text.strip() == str(result).strip()
    assert "multiply-add counts as 2 FLOPs" in text and "Total params: 144" in text


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
    assert result.rows[4].flops == 2 * 10 * 64 + 10
    assert result.total_params == 40 + 650


def test_needs_a_module():
    with pytest.raises(TypeError, match="needs an nn.Module"):
        nn.summary(lambda x: x, (3,))
