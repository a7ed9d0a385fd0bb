"""``visiongrad summary``."""

from visiongrad.cli import main


def test_summary_prints_the_layer_table(capsys):
    assert main(["summary", "three_layer_convnet", "--input-shape", "1", "28", "28"]) == 0
    out = capsys.readouterr().out
    assert "Conv2d" in out and "Linear" in out
