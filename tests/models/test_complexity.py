"""The zoo table of ``visiongrad summary --all``: measured counts beside the papers'."""

import pytest

from visiongrad import models
from visiongrad.cli import main
from visiongrad.models import complexity


def test_every_paper_figure_names_a_zoo_network_and_a_source():
    assert set(complexity.PAPER_FIGURES) <= set(models.ZOO)
    for params, gmacs, source in complexity.PAPER_FIGURES.values():
        assert params is not None or gmacs is not None
        assert source in complexity.SOURCES
    assert set(complexity.CIFAR_MODELS) <= set(models.ZOO)


def test_cifar_resnet_row_against_the_paper_and_a_hand_count():
    row = complexity.measure("resnet20")
    assert row.input_size == 32 and row.params == 269_722
    assert round(row.params / 1e6, 2) == row.paper_params_m == 0.27
    # 3x3 convolutions: stem 3->16 at 32x32, three stages of 6 convs (16 @ 32x32,
    # 32 @ 16x16, 64 @ 8x8), the first of stages 2 and 3 taking half the channels in;
    # then the 64 -> 10 classifier. Option-A shortcuts have no weights.
    stem = 32 * 32 * 16 * 3 * 9
    stage1 = 6 * 32 * 32 * 16 * 16 * 9
    stage2 = 16 * 16 * 32 * 9 * (16 + 5 * 32)
    stage3 = 8 * 8 * 64 * 9 * (32 + 5 * 64)
    assert row.macs == stem + stage1 + stage2 + stage3 + 64 * 10
    table = complexity.zoo_table([row])
    assert "| resnet20 | 32x32 | 269,722 | 0.27M | 0.0406 | - |" in table
    assert "He et al. 2016, table 6" in table


def test_googlenet_counted_without_auxiliary_classifiers():
    row = complexity.measure("googlenet")
    assert row.params == 6_624_904 and row.input_size == 224
    assert abs(row.macs / 1e9 - row.paper_gmacs) < 0.05


def test_measure_refuses_a_small_model():
    with pytest.raises(ValueError, match="unknown zoo network 'lenet5'"):
        complexity.measure("lenet5")


def test_cli_all_prints_the_table(monkeypatch, capsys):
    monkeypatch.setattr(models, "ZOO", {"resnet20": models.ZOO["resnet20"]})
    assert main(["summary", "--all"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("| network | input | parameters | paper | GMACs | paper |")
    assert "| resnet20 | 32x32 | 269,722 | 0.27M |" in out


@pytest.mark.parametrize("argv, message", [
    (["summary"], "needs a model name (or --all)"),
    (["summary", "lenet5", "--all"], "not both")])
def test_cli_usage_errors(argv, message, capsys):
    assert main(argv) == 1
    assert message in capsys.readouterr().err
