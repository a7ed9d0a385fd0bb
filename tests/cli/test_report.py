"""``visiongrad report``: the page of a real run, rendered in headless Chromium."""

import re
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from visiongrad.cli import main

TAB_BLUE = np.array([31, 119, 180])  # matplotlib's first colour: the loss curve


def screenshot(page, out, profile, height=2000):
    """Render ``page`` in headless Chromium (Debian's ``chromium``) to the PNG ``out``."""
    browser = shutil.which("chromium")
    if browser is None:
        pytest.skip("chromium is not installed (apt-get install chromium; .ci/run does)")
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
               f"--screenshot={out}", f"--window-size=1200,{height}", page.as_uri()]
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    with Image.open(out) as image:
        return np.asarray(image.convert("RGB")).astype(np.int64)


def near(pixels, colour, tolerance=40):
    """Mask of pixels within ``tolerance`` (per channel) of ``colour``."""
    return np.all(np.abs(pixels - colour) <= tolerance, axis=-1)


def test_report_command_writes_a_page_chromium_shows_with_its_plots(trained, tmp_path,
                                                                     capsys):
    out, _ = trained
    target = tmp_path / "again.html"
    assert main(["report", str(out), "--out", str(target), "--limit", "10"]) == 0
    assert f"report: {target}" in capsys.readouterr().out
    page = target.read_text(encoding="utf-8")
    assert "test accuracy (10 images)" in page
    shot = screenshot(target, tmp_path / "page.png", tmp_path / "profile")
    assert shot.shape == (2000, 1200, 3)
    assert shot.std() > 20, "the screenshot is (nearly) blank"
    blue = near(shot, TAB_BLUE)
    assert blue.sum() > 300, "no loss curve drawn"
    rows = np.flatnonzero(blue.any(axis=1))
    assert rows.min() > 200  # below the metrics table, in the curves' region
    # the same page without its images shows none of the plots' colour: the pixels above
    # are the embedded plots as Chromium decoded and drew them
    bare = tmp_path / "bare.html"
    bare.write_text(re.sub(r"<img [^>]*>", "", page), encoding="utf-8")
    assert near(screenshot(bare, tmp_path / "bare.png", tmp_path / "profile2"),
                TAB_BLUE).sum() == 0


def test_report_errors(tmp_path, trained, user_error):
    user_error(["report", str(tmp_path)], "holds no checkpoint.safetensors")
    out, _ = trained
    user_error(["report", str(out), "--out", str(tmp_path / "nowhere" / "r.html")],
               "cannot write")


def test_report_notes_a_missing_test_split(trained, tmp_path, capsys):
    out, _ = trained
    missing = tmp_path / "moved"
    target = tmp_path / "r.html"
    assert main(["report", str(out), "--data-dir", str(missing), "--out", str(target)]) == 0
    page = target.read_text(encoding="utf-8")
    assert f"no test set is scored: data folder not found: {missing}" in page
    assert "Curves" in page
    assert "Confusion matrix" not in page
