"""Figures a person can read: explain's title and colour bar, fool's captioned panels and
its adversarial image alone (which predict then calls the adversarial class), the
segmentation overlay's legend in distinct colours, detection captions that never overlap."""

import itertools

import numpy as np
import pytest
from PIL import Image, ImageDraw

from visiongrad import imaging
from visiongrad.cli import explain, fool, main
from visiongrad.detection.drawing import draw_detections, draw_segmentation
from visiongrad.detection.scenes import CLASSES


@pytest.fixture
def item(tmp_path):
    path = tmp_path / "item.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (28, 28)).astype(np.uint8)).save(path)
    return str(path)


@pytest.fixture
def drawn(monkeypatch):
    """The panels and title each ``save_panels`` call of explain and fool drew."""
    calls = []

    def record(panels, path, title):
        calls.append((panels, title))
        return imaging.save_panels(panels, path, title)

    monkeypatch.setattr(explain, "save_panels", record)
    monkeypatch.setattr(fool, "save_panels", record)
    return calls


def test_explain_has_a_title_and_a_colour_bar(trained, item, tmp_path, drawn):
    out = tmp_path / "map.png"
    assert main(["explain", trained[1], item, "--target", "3", "--out", str(out)]) == 0
    (panels, title), = drawn
    assert "Dress" in title and "saliency" in title
    figure = imaging.panels_figure(panels, title)
    assert figure._suptitle.get_text() == title
    bars = [axes for axes in figure.axes if axes.get_ylabel()]
    assert len(figure.axes) == 3 and len(bars) == 1  # two panels and the map's colour bar
    assert "gradient" in bars[0].get_ylabel()
    assert [axes.get_title() for axes in figure.axes[:2]][1] == "saliency map of Dress"
    assert out.stat().st_size > 10_000


def test_fool_captions_its_panels_and_saves_the_adversarial_image(trained, item, tmp_path,
                                                                  drawn, capsys):
    out = tmp_path / "fool.png"
    assert main(["fool", trained[1], item, "--target", "7", "--max-iter", "300",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    (panels, title), = drawn
    captions = [caption for caption, _, _ in panels]
    assert captions[0].startswith("original: ") and captions[1].startswith("perturbation")
    assert captions[2].startswith("adversarial: Sneaker (")
    assert panels[1][2] is not None  # the perturbation's colour bar
    assert "-> Sneaker (target Sneaker)" in title
    alone = tmp_path / "fool-adversarial.png"
    assert f"the adversarial image alone: {alone}" in printed
    with Image.open(alone) as picture:
        assert picture.size == (28, 28) and picture.mode == "L"
    confidence = captions[2].split("(")[1].rstrip(")")
    capsys.readouterr()
    assert main(["predict", trained[1], str(alone)]) == 0
    row = capsys.readouterr().out.strip().splitlines()[-1].split()
    assert row[1] == "Sneaker"  # predict reads the file fool called Sneaker
    assert float(row[2]) == pytest.approx(float(confidence), abs=0.006)


def test_fool_refuses_one_file_for_both(trained, item, tmp_path, user_error):
    out = str(tmp_path / "f.png")
    user_error(["fool", trained[1], item, "--target", "7", "--out", out,
                "--adversarial-out", out], "--adversarial-out must differ")
    user_error(["fool", trained[1], item, "--target", "7", "--out", out,
                "--adversarial-out", str(tmp_path / "a.jpg")], ".png")


def test_the_palette_gives_every_scene_class_its_own_colour():
    colours = [np.array(imaging.label_colour(c), dtype=float) for c in range(1, len(CLASSES))]
    assert len(colours) == 10
    for a, b in itertools.combinations(colours, 2):
        assert np.linalg.norm(a - b) > 75
    assert all(np.linalg.norm(colour) > 100 for colour in colours)  # none near black


def test_segmentation_overlay_has_a_legend_of_the_classes_shown(tmp_path):
    labels = np.zeros((20, 20), dtype=np.int64)
    labels[:10, :10], labels[10:, 10:] = 2, 9  # trouser and bag
    path = draw_segmentation(np.zeros((20, 20)), labels, tmp_path / "seg.png", scale=4)
    picture = np.asarray(Image.open(path))
    assert picture.shape[0] == 80 + 2 * 14 + 4 and picture.shape[1] >= 80
    for row, label in ((1, 2), (2, 9)):  # each legend row's swatch is its class's colour
        y = 80 + 2 + (row - 1) * 14 + 6
        np.testing.assert_array_equal(picture[y, 9], imaging.PALETTE[label])
    legend = picture[80:]
    assert (legend == 0).all(axis=-1).sum() > 20  # the names, in black


def _sizes(captions):
    pen = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    return [(pen.textbbox((0, 0), c)[2] + 4, pen.textbbox((0, 0), c)[3] + 2) for c in captions]


def test_captions_of_overlapping_boxes_do_not_overlap():
    boxes = [(10, 30, 60, 80), (12, 32, 62, 82), (14, 30, 58, 78), (40, 60, 120, 120),
             (0, 0, 30, 20)]
    captions = ["sneaker 0.91", "sandal 0.88", "ankle boot 0.55", "bag 0.70", "coat 0.60"]
    places = imaging.place_captions(boxes, _sizes(captions), 128, 128)
    for a, b in itertools.combinations(places, 2):
        assert not imaging._overlaps(a, b), (a, b)
    for (x1, y1, x2, y2), (w, h) in zip(places, _sizes(captions), strict=True):
        assert 0 <= x1 and 0 <= y1 and x2 <= 128 and y2 <= 128 and (x2 - x1, y2 - y1) == (w, h)
    assert places[0][3] == 30  # the first caption sits just above its box


def test_detection_drawing_with_overlapping_boxes(tmp_path):
    found = {"boxes": np.array([[4, 8, 20, 24], [5, 9, 21, 25], [6, 8, 19, 22]], float),
             "scores": np.array([0.9, 0.8, 0.7]), "labels": np.array([7, 6, 9])}
    path = draw_detections(np.zeros((32, 32)), found, tmp_path / "boxes.png", scale=4)
    picture = np.asarray(Image.open(path))
    for label in (7, 6, 9):  # each caption's filled background shows its class colour
        assert (picture == imaging.PALETTE[label]).all(axis=-1).sum() > 50
