"""Output folders, tables and image reading shared by the commands."""

import numpy as np
import pytest
from PIL import Image

from visiongrad.cli.errors import CommandError
from visiongrad.cli.images import read_images
from visiongrad.cli.output import format_table, output_folder


def test_output_folder_never_touches_a_users_files(tmp_path, capsys):
    target = tmp_path / "report"
    assert output_folder(target) == target            # absent: created
    (target / "metrics.json").write_text("{}")
    assert output_folder(target) == target            # ours: reused
    users = tmp_path / "mine"
    users.mkdir()
    (users / "thesis.tex").write_text("precious")
    chosen = output_folder(users)
    assert chosen == tmp_path / "mine-2"
    assert "writing to" in capsys.readouterr().out
    assert sorted(p.name for p in users.iterdir()) == ["thesis.tex"]
    a_file = tmp_path / "plain"
    a_file.write_text("x")
    assert output_folder(a_file) == tmp_path / "plain-2"
    assert output_folder(users) == tmp_path / "mine-2"  # the earlier pick is ours now


def test_format_table_aligns_columns():
    table = format_table(["model", "acc"], [["knn", "0.80"], ["convnet", "0.9"]])
    assert table.splitlines() == ["model    acc", "-------  ----", "knn      0.80",
                                  "convnet  0.9"]


def test_read_images_converts_channels_and_checks_size(tmp_path):
    rgb = np.zeros((4, 5, 3), dtype=np.uint8)
    rgb[..., 0] = 255
    Image.fromarray(rgb).save(tmp_path / "red.png")
    grey = read_images([str(tmp_path / "red.png")], channels=1, size=(4, 5))
    assert grey.shape == (1, 1, 4, 5) and grey.dtype == np.uint8
    assert np.all(grey == 76)                             # ITU-R 601 luma of pure red
    colour = read_images([str(tmp_path / "red.png")], channels=3, size=(4, 5))
    assert colour.shape == (1, 3, 4, 5) and np.all(colour[0, 0] == 255)
    with pytest.raises(CommandError, match=r"red.png is 5x4 pixels but the model takes 4x4"):
        read_images([str(tmp_path / "red.png")], channels=1, size=(4, 4))
    (tmp_path / "notes.png").write_text("not an image")
    with pytest.raises(CommandError, match="cannot read image"):
        read_images([str(tmp_path / "notes.png")], channels=1, size=(4, 5))
