"""The ``visiongrad`` command end to end on tiny data, and its one-line user errors."""

import json

import numpy as np
import pytest
from PIL import Image

from visiongrad import cli
from visiongrad.cli import main


def assert_user_error(capsys, argv, *fragments):
    """``main(argv)`` fails with exit 1 and a single ``visiongrad: error:`` line."""
    assert main(argv) == 1
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("visiongrad: error: ")
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0]


# ----------------------------------------------------------------------------- helpers


def test_output_folder_never_touches_a_users_files(tmp_path, capsys):
    target = tmp_path / "report"
    assert cli.output_folder(target) == target            # absent: created
    (target / "metrics.json").write_text("{}")
    assert cli.output_folder(target) == target            # ours: reused
    users = tmp_path / "mine"
    users.mkdir()
    (users / "thesis.tex").write_text("precious")
    chosen = cli.output_folder(users)
    assert chosen == tmp_path / "mine-2"
    assert "writing to" in capsys.readouterr().out
    assert sorted(p.name for p in users.iterdir()) == ["thesis.tex"]
    a_file = tmp_path / "plain"
    a_file.write_text("x")
    assert cli.output_folder(a_file) == tmp_path / "plain-2"
    assert cli.output_folder(users) == tmp_path / "mine-2"  # the earlier pick is ours now


def test_format_table_aligns_columns():
    table = cli.format_table(["model", "acc"], [["knn", "0.80"], ["convnet", "0.9"]])
    assert table.splitlines() == ["model    acc", "-------  ----", "knn      0.80",
                                  "convnet  0.9"]


def test_read_images_converts_channels_and_checks_size(tmp_path):
    rgb = np.zeros((4, 5, 3), dtype=np.uint8)
    rgb[..., 0] = 255
    Image.fromarray(rgb).save(tmp_path / "red.png")
    grey = cli.read_images([str(tmp_path / "red.png")], channels=1, size=(4, 5))
    assert grey.shape == (1, 1, 4, 5) and grey.dtype == np.uint8
    assert np.all(grey == 76)                             # ITU-R 601 luma of pure red
    colour = cli.read_images([str(tmp_path / "red.png")], channels=3, size=(4, 5))
    assert colour.shape == (1, 3, 4, 5) and np.all(colour[0, 0] == 255)
    with pytest.raises(cli.CommandError, match=r"red.png is 5x4 pixels but the model takes 4x4"):
        cli.read_images([str(tmp_path / "red.png")], channels=1, size=(4, 4))
    (tmp_path / "notes.png").write_text("not an image")
    with pytest.raises(cli.CommandError, match="cannot read image"):
        cli.read_images([str(tmp_path / "notes.png")], channels=1, size=(4, 5))


# ----------------------------------------------------------------------------- usage


def test_usage_errors_are_argparse_exits(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--epochs", "many"])
    assert exit_info.value.code == 2
    assert "invalid int value" in capsys.readouterr().err


def test_unknown_config_key_is_named(tmp_path, capsys):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"epochs": 1, "learning_rate": 0.1}))
    assert_user_error(capsys, ["train", "--config", str(config)], "'learning_rate'")


def test_config_file_problems(tmp_path, capsys):
    assert_user_error(capsys, ["train", "--config", str(tmp_path / "none.json")], "not found")
    broken = tmp_path / "broken.json"
    broken.write_text("{epochs: 1")
    assert_user_error(capsys, ["train", "--config", str(broken)], "not valid JSON")
    listed = tmp_path / "list.json"
    listed.write_text("[1, 2]")
    assert_user_error(capsys, ["train", "--config", str(listed)], "JSON object")
