"""Smoke tests of explain, fool, dream, invert, texture and style on tiny inputs, and their
one-line errors."""

import re

import numpy as np
import pytest
from PIL import Image

from visiongrad.cli import main


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    paths = {}
    for name, shape in (("item", (28, 28)), ("rgb", (20, 24, 3)), ("style", (16, 16, 3))):
        paths[name] = str(folder / f"{name}.png")
        Image.fromarray(rng.integers(0, 255, shape).astype(np.uint8)).save(paths[name])
    return paths


@pytest.mark.parametrize("method", ["saliency", "guided", "occlusion"])
def test_explain_writes_image_and_map(trained, photo, tmp_path, capsys, method):
    out = tmp_path / "map.png"
    argv = ["explain", trained[1], photo["item"], "--method", method, "--out", str(out)]
    assert main(argv + ["--target", "3"]) == 0
    assert f"{method} map of" in capsys.readouterr().out
    picture = np.asarray(Image.open(out))
    assert picture.shape[0] > 250 and picture.shape[1] > 1.5 * picture.shape[0]  # two panels


@pytest.mark.parametrize("options", [[], ["--method", "least_norm"], ["--method", "ascent"],
                                     ["--allowance", "brightness"]])
def test_fool_reaches_the_target(trained, photo, tmp_path, capsys, options):
    out = tmp_path / "fool.png"
    assert main(["fool", trained[1], photo["item"], "--target", "7", "--max-iter", "300",
                 "--out", str(out)] + options) == 0
    line = capsys.readouterr().out
    assert "-> Sneaker (target Sneaker)" in line and "relative L2 change" in line
    assert "largest pixel change" in line and out.is_file()


@pytest.mark.parametrize("command", [
    ["dream", "{rgb}", "--iterations", "2", "--octaves", "2"],
    ["invert", "{rgb}", "--iterations", "3", "--layer", "relu2"],
    ["texture", "{style}", "--iterations", "3", "--optimizer", "adam", "--lr", "0.05"],
    ["style", "{rgb}", "{style}", "--iterations", "3"],
])
def test_photo_commands_write_a_png(photo, tmp_path, command):
    out = tmp_path / "out.png"
    argv = [part.format(**photo) for part in command] + ["--size", "16", "--out", str(out)]
    assert main(argv) == 0
    assert Image.open(out).size[0] == 16


@pytest.mark.parametrize("command", [
    ["invert", "{rgb}", "--iterations", "3", "--layer", "relu2", "--optimizer", "adam"],
    ["texture", "{style}", "--iterations", "3", "--optimizer", "adam", "--lr", "0.05"],
    ["style", "{rgb}", "{style}", "--iterations", "3", "--optimizer", "adam"],
])
def test_photo_optimisers_report_each_step_of_the_whole(photo, tmp_path, capsys, command):
    """train.progress's convention: ``what: step i/N [elapsed, about ... left]``, the last
    ``[... in all]``, on stderr (stdout keeps the one line naming the picture)."""
    argv = [part.format(**photo) for part in command] + ["--size", "16", "--out",
                                                         str(tmp_path / "out.png")]
    assert main(argv) == 0
    captured = capsys.readouterr()
    what = command[0]
    assert re.search(rf"^{what}: step 1/3 \[\d+ s elapsed, about \d+ s left\]$",
                     captured.err, re.M), captured.err
    assert re.search(rf"^{what}: step 3/3 \[\d+ s in all\]$", captured.err, re.M)
    assert len(captured.out.splitlines()) == 1


def test_bad_inputs_give_one_line(trained, photo, tmp_path, user_error):
    out = str(tmp_path / "x.png")
    user_error(["explain", trained[1], str(tmp_path / "none.png"), "--out", out],
               "image not found")
    user_error(["explain", str(tmp_path / "none.ckpt"), photo["item"]], "cannot read checkpoint")
    user_error(["explain", trained[1], photo["item"], "--target", "zebra", "--out", out],
               "unknown class 'zebra'")
    user_error(["explain", trained[1], photo["item"], "--method", "occlusion", "--patch", "40",
                "--out", out], "does not fit")
    user_error(["explain", trained[1], photo["item"], "--method", "lime"], "invalid choice")
    user_error(["fool", trained[1], photo["item"], "--out", out], "--target")
    user_error(["fool", trained[1], photo["item"], "--target", "1", "--method", "fgsm"],
               "invalid choice")
    user_error(["dream", photo["rgb"], "--layer", "conv9", "--out", out], "'conv9'",
               "layers:")
    user_error(["texture", photo["style"], "--out", str(tmp_path / "no" / "x.png")],
               "does not exist")
    user_error(["style", photo["rgb"], photo["style"], "--network", "vgg19", "--out", out],
               "needs weights")
    user_error(["style", photo["rgb"], photo["style"], "--network", "vgg19", "--weights",
                str(tmp_path / "w.pth"), "--out", out], "weights not found")
    user_error(["texture", photo["style"], "--size", "0", "--out", out], "positive integer")
