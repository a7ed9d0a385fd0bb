"""Plots: each writes a real PNG atomically; the filter grid places every pixel correctly."""

import os

import numpy as np
import pytest
from PIL import Image

from visiongrad.train import plots

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_png(path, min_bytes=5_000):
    """A decodable PNG of a plausible size for a drawn figure (not empty, not a stub)."""
    assert os.path.getsize(path) > min_bytes
    with open(path, "rb") as handle:
        assert handle.read(8) == PNG_SIGNATURE
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        width, height = image.size
        pixels = np.asarray(image.convert("L"))
    assert 200 < width < 3000 and 200 < height < 3000
    assert pixels.std() > 5, "the image is (nearly) blank"


@pytest.fixture
def history():
    rng = np.random.default_rng(1)
    steps = 60
    return {
        "loss": list(2.3 * np.exp(-np.arange(steps) / 30) + 0.1 * rng.random(steps)),
        "train_accuracy": [0.5, 0.7, 0.8],
        "val_accuracy": [0.48, 0.66, 0.72],
        "lr": [1e-3] * steps,
        "update_ratio": [{"0.weight": 1e-3 * (1 + 0.1 * i), "2.weight": 3e-4}
                         for i in range(steps)],
    }


def test_loss_plot(tmp_path, history):
    path = tmp_path / "loss.png"
    assert plots.plot_loss(history, path) == str(path)
    assert_png(path)
    assert os.stat(path).st_mode & 0o777 == 0o644


def test_accuracy_plot_with_only_train_series(tmp_path, history):
    assert_png(plots.plot_accuracy(history, tmp_path / "acc.png"))
    assert_png(plots.plot_accuracy({"train_accuracy": [0.1, 0.2]}, tmp_path / "train.png"))
    with pytest.raises(ValueError, match="neither"):
        plots.plot_accuracy({"loss": [1.0]}, tmp_path / "none.png")


@pytest.mark.parametrize("as_mapping", [False, True])
def test_update_ratio_plot_accepts_both_layouts(tmp_path, history, as_mapping):
    ratios = history["update_ratio"]
    if as_mapping:
        ratios = {name: [step[name] for step in ratios] for name in ratios[0]}
    assert_png(plots.plot_update_ratios(ratios, tmp_path / "ratios.png",
                                        iterations=range(10, 10 * len(history["loss"]) + 1, 10)))


def test_confusion_matrix_plot_and_shape_checks(tmp_path):
    matrix = np.array([[8, 2, 0], [1, 9, 0], [0, 0, 0]])
    names = ["cat", "dog", "bird"]
    assert_png(plots.plot_confusion_matrix(matrix, names, tmp_path / "cm.png"))
    with pytest.raises(ValueError, match="2 class names"):
        plots.plot_confusion_matrix(matrix, names[:2], tmp_path / "bad.png")
    with pytest.raises(ValueError, match="square"):
        plots.plot_confusion_matrix(matrix[:2], names, tmp_path / "bad.png")


def test_search_plot_with_a_cut_trial_and_zero_regularisation(tmp_path):
    path = plots.plot_search([1e-4, 1e-3, 1e-2, 1e-1], [0.0, 1e-4, 1e-3, 1e-2],
                             [0.6, 0.8, 0.7, float("nan")], tmp_path / "search.png")
    assert_png(path)
    with pytest.raises(ValueError, match="equal length"):
        plots.plot_search([1e-3], [1e-3, 1e-2], [0.5], tmp_path / "bad.png")


def test_smooth_matches_the_bias_corrected_average():
    values = [4.0, 2.0, 6.0]
    weight = 0.5
    # s1 = 2, s2 = 1 + 1 = 2, s3 = 1 + 3 = 4; corrected by 1 - 0.5**t
    expected = [2.0 / 0.5, 2.0 / 0.75, 4.0 / 0.875]
    np.testing.assert_allclose(plots.smooth(values, weight), expected)
    np.testing.assert_allclose(plots.smooth(values, 0.0), values)
    with pytest.raises(ValueError):
        plots.smooth(values, 1.0)


def test_filter_grid_places_each_normalised_filter_in_its_tile():
    # 5 grey 2x2 filters -> 3 columns, 2 rows, padding 1: shape (2*3+1, 3*3+1) = (7, 10)
    weights = np.stack([np.arange(4.0).reshape(1, 2, 2) * (i + 1) - i for i in range(5)])
    weights[4] = 7.0  # a constant filter
    grid = plots.filter_grid(weights, padding=1)
    assert grid.shape == (7, 10)
    ramp = np.array([[0.0, 1 / 3], [2 / 3, 1.0]])
    for index in range(4):
        top, left = 1 + 3 * (index // 3), 1 + 3 * (index % 3)
        np.testing.assert_allclose(grid[top:top + 2, left:left + 2], ramp)
    np.testing.assert_allclose(grid[4:6, 4:6], 0.5)
    # separators and the unused sixth tile are white
    tiles = np.zeros_like(grid, dtype=bool)
    for index in range(5):
        top, left = 1 + 3 * (index // 3), 1 + 3 * (index % 3)
        tiles[top:top + 2, left:left + 2] = True
    assert np.all(grid[~tiles] == 1.0)


def test_filter_grid_rgb_normalises_over_all_channels_of_a_filter():
    weights = np.zeros((1, 3, 1, 2))
    weights[0, 0] = [[-1.0, 1.0]]  # red channel spans the filter's range
    grid = plots.filter_grid(weights, padding=0)
    assert grid.shape == (1, 2, 3)
    np.testing.assert_allclose(grid[0, 0], [0.0, 0.5, 0.5])
    np.testing.assert_allclose(grid[0, 1], [1.0, 0.5, 0.5])
    with pytest.raises(ValueError, match="C = 1 or 3"):
        plots.filter_grid(np.zeros((4, 2, 3, 3)))


def test_filter_plot(tmp_path):
    weights = np.random.default_rng(0).normal(size=(16, 1, 5, 5))
    assert_png(plots.plot_filters(weights, tmp_path / "filters.png"))


def test_interrupted_write_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "loss.png"
    path.write_bytes(b"previous good plot")

    def interrupted(self, handle, **kwargs):
        handle.write(PNG_SIGNATURE)
        raise KeyboardInterrupt

    monkeypatch.setattr(plots.Figure, "savefig", interrupted)
    with pytest.raises(KeyboardInterrupt):
        plots.plot_loss({"loss": [1.0, 0.5]}, path)
    assert path.read_bytes() == b"previous good plot"
    assert os.listdir(tmp_path) == ["loss.png"]
    monkeypatch.undo()
    plots.plot_loss({"loss": [1.0, 0.5]}, path)
    assert_png(path, min_bytes=1_000)
    assert os.listdir(tmp_path) == ["loss.png"]


@pytest.fixture
def figures(monkeypatch):
    """The figures the plot functions draw, captured instead of written."""
    drawn = []
    monkeypatch.setattr(plots, "_save", lambda figure, path: drawn.append(figure) or str(path))
    return drawn


def x_ticks(figure):
    figure.canvas.draw()
    axes = figure.axes[0]
    low, high = axes.get_xlim()
    return [tick for tick in axes.get_xticks() if low <= tick <= high]


@pytest.mark.parametrize("epochs", [1, 3, 7])
def test_titles_say_what_is_drawn_and_epoch_ticks_are_integers(figures, tmp_path, epochs):
    history = {"loss": list(np.linspace(2.0, 1.0, 5 * epochs)),
               "epoch_loss": list(np.linspace(1.8, 1.1, epochs)),
               "val_loss": list(np.linspace(1.9, 1.2, epochs)),
               "train_accuracy": list(np.linspace(0.3, 0.8, epochs)),
               "val_accuracy": list(np.linspace(0.3, 0.7, epochs))}
    plots.plot_loss(history, tmp_path / "loss.png")
    plots.plot_accuracy(history, tmp_path / "acc.png")
    plots.plot_accuracy({"val_accuracy": history["val_accuracy"]}, tmp_path / "val.png")
    plots.plot_loss({"loss": history["loss"]}, tmp_path / "raw.png")
    loss, accuracy, validation, raw = figures
    assert loss.axes[0].get_title() == ("Training loss per iteration and epoch mean, "
                                        "validation loss per epoch")
    assert accuracy.axes[0].get_title() == "Training and validation accuracy per epoch"
    assert validation.axes[0].get_title() == "Validation accuracy per epoch"
    assert raw.axes[0].get_title() == "Training loss per iteration"
    ticks = x_ticks(accuracy)
    assert ticks and all(float(tick).is_integer() for tick in ticks)
    assert set(range(1, epochs + 1)) >= set(ticks) and 1 in ticks
    assert all(float(tick).is_integer() for tick in x_ticks(loss))
    # the epoch means sit at the iteration that ended each epoch
    epoch_line = next(line for line in loss.axes[0].get_lines()
                      if line.get_label() == "epoch mean")
    np.testing.assert_allclose(epoch_line.get_xdata(), 5 * np.arange(1, epochs + 1))


def test_image_grid(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (5, 1, 28, 28)).astype(np.uint8)
    assert_png(plots.plot_images(images, [f"image {i}" for i in range(5)],
                                 tmp_path / "grid.png", title="five"))
    colour = np.random.default_rng(1).random((2, 3, 8, 8))
    path = plots.plot_images(colour, ["a", "b"], tmp_path / "rgb.png", title="two")
    assert_png(path, min_bytes=2_000)
    with Image.open(path) as image:
        pixels = np.asarray(image.convert("RGB")).astype(int)
    assert (pixels.max(axis=2) - pixels.min(axis=2) > 60).sum() > 500  # drawn in colour
    with pytest.raises(ValueError, match="2 captions for 5 images"):
        plots.plot_images(images, ["a", "b"], tmp_path / "bad.png", title="x")
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        plots.plot_images(images[:, 0], ["a"] * 5, tmp_path / "bad.png", title="x")
