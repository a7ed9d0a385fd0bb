"""The plots people look at while training a classifier, written as PNG files.

Every function takes plain data (a history dict, NumPy arrays, lists) and a path, draws
with matplotlib's object API on the Agg canvas (no pyplot, no global state, no display
needed), writes the file atomically (a temporary file in the same folder, then
``os.replace``, so an interrupted run never leaves a half-written PNG) and returns the path.

>>> from visiongrad.train import plots
>>> plots.plot_loss({"loss": [2.3, 2.1, 1.9]}, "loss.png")  # doctest: +SKIP
'loss.png'
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..imaging import image_grid
from .checkpoint import new_file_mode

#: The course's rule of thumb for a healthy learning rate: each update changes a weight
#: matrix by about a thousandth of its size.
UPDATE_RATIO_GUIDE = 1e-3


def _new_figure(width: float = 6.4, height: float = 4.8) -> tuple[Figure, object]:
    """A figure on an Agg canvas, with one axes."""
    figure = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot(1, 1, 1)


def _integer_ticks(axes) -> None:
    """Integer ticks on the x axis (epochs, iterations), even for one point."""
    axes.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))


def _save(figure: Figure, path: str | os.PathLike) -> str:
    """Write ``figure`` to ``path`` as PNG atomically; return the path as a string."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=".plot-", suffix=".png", dir=folder)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            figure.savefig(handle, format="png", bbox_inches="tight")
        os.chmod(temporary, new_file_mode())  # mkstemp creates it private
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
    return path


def smooth(values: Sequence[float], weight: float = 0.9) -> np.ndarray:
    """Exponential moving average with bias correction (as TensorBoard draws it).

    ``s_t = weight * s_{t-1} + (1 - weight) * x_t`` with ``s_0 = 0``, reported as
    ``s_t / (1 - weight ** t)`` so the first values are not pulled towards zero.

    Parameters
    ----------
    values : sequence of float
        The raw series (e.g. the loss at every iteration).
    weight : float
        Smoothing weight in [0, 1); 0 returns the series unchanged.

    Returns
    -------
    ndarray of float64, same length as ``values``
    """
    if not 0.0 <= weight < 1.0:
        raise ValueError(f"weight must be in [0, 1), got {weight}")
    values = np.asarray(values, dtype=np.float64)
    smoothed = np.empty_like(values)
    average = 0.0
    for t, value in enumerate(values, start=1):
        average = weight * average + (1.0 - weight) * value
        smoothed[t - 1] = average / (1.0 - weight**t)
    return smoothed


def plot_loss(history: Mapping, path: str | os.PathLike, smoothing: float = 0.9) -> str:
    """Training loss per iteration, raw (faint) and smoothed, with the epoch means.

    Each epoch's mean training loss (``history["epoch_loss"]``) and validation loss
    (``history["val_loss"]``), where present, are drawn at the iteration that ended the
    epoch (epochs are assumed to have equally many iterations); the title names what is
    drawn.

    Parameters
    ----------
    history : mapping
        Needs ``history["loss"]``, one value per iteration; ``"epoch_loss"`` and
        ``"val_loss"`` (one value per epoch) are optional.
    path : path-like
        Where to write the PNG.
    smoothing : float
        Weight of :func:`smooth` for the bold curve.

    Returns
    -------
    str
        ``path``.
    """
    loss = np.asarray(history["loss"], dtype=np.float64)
    figure, axes = _new_figure()
    iterations = np.arange(1, len(loss) + 1)
    axes.plot(iterations, loss, color="tab:blue", alpha=0.3, linewidth=0.8,
              label="loss per iteration")
    axes.plot(iterations, smooth(loss, smoothing), color="tab:blue", linewidth=2.0,
              label=f"smoothed ({smoothing:g})")
    title = "Training loss per iteration"
    per_epoch = {"epoch_loss": ("epoch mean", "tab:orange"),
                 "val_loss": ("validation loss per epoch", "tab:green")}
    drawn = []
    for key, (label, colour) in per_epoch.items():
        values = np.asarray(history.get(key, []), dtype=np.float64)
        if values.size and len(loss):
            ends = np.arange(1, len(values) + 1) * (len(loss) / len(values))
            axes.plot(ends, values, marker="o", color=colour, label=label)
            drawn.append(label)
    if drawn:
        title += " and " + ", ".join(drawn)
    _integer_ticks(axes)
    axes.set_xlabel("iteration")
    axes.set_ylabel("loss")
    axes.set_title(title[0].upper() + title[1:])
    axes.grid(alpha=0.3)
    axes.legend()
    return _save(figure, path)


def plot_curves(curves: Mapping[str, Sequence[float | None]], path: str | os.PathLike,
                title: str = "Training curves", x_label: str = "epoch",
                x: Sequence[float] | None = None) -> str:
    """Any run's metric histories, one panel per metric (each on its own scale), titled
    with the metric's name; a missing value (None or NaN) leaves a gap.

    Parameters
    ----------
    curves : mapping
        Metric name -> one value per epoch (or per evaluation); series may differ in
        length (an encoder's epochs and a captioner's).
    path : path-like
        Where to write the PNG.
    title : str
    x_label : str
        What a point is (epoch, step).
    x : sequence of float, optional
        The position of each point of the series as long as it (default: 1, 2, 3, ...).

    Returns
    -------
    str
        ``path``.
    """
    series = {name: np.array([np.nan if v is None else v for v in values], dtype=np.float64)
              for name, values in curves.items() if len(values)}
    if not series:
        raise ValueError("no metric history to plot")
    columns = min(len(series), 3)
    rows = math.ceil(len(series) / columns)
    figure = Figure(figsize=(4.2 * columns, 3.2 * rows + 0.5), dpi=100)
    FigureCanvasAgg(figure)
    for index, (name, values) in enumerate(series.items()):
        axes = figure.add_subplot(rows, columns, index + 1)
        steps = (np.asarray(x, dtype=np.float64) if x is not None and len(x) == len(values)
                 else np.arange(1, len(values) + 1))
        axes.plot(steps, values, marker="o" if len(values) < 30 else None, markersize=3)
        _integer_ticks(axes)
        axes.set_xlabel(x_label)
        axes.set_title(name)
        axes.grid(alpha=0.3)
    figure.suptitle(title)
    figure.tight_layout()
    return _save(figure, path)


def plot_accuracy(history: Mapping, path: str | os.PathLike) -> str:
    """Training and validation accuracy per epoch (the gap shows over-fitting); the
    title names the series drawn, the epoch axis has integer ticks.

    Parameters
    ----------
    history : mapping
        ``history["train_accuracy"]`` and/or ``history["val_accuracy"]``, one value per
        epoch.
    path : path-like
        Where to write the PNG.

    Returns
    -------
    str
        ``path``.
    """
    series = {"training": history.get("train_accuracy"),
              "validation": history.get("val_accuracy")}
    series = {name: values for name, values in series.items()
              if values is not None and len(values)}
    if not series:
        raise ValueError("history has neither 'train_accuracy' nor 'val_accuracy'")
    figure, axes = _new_figure()
    for name, values in series.items():
        epochs = np.arange(1, len(values) + 1)
        axes.plot(epochs, values, marker="o", label=name)
    axes.set_xlim(0.5, max(map(len, series.values())) + 0.5)
    _integer_ticks(axes)
    axes.set_xlabel("epoch")
    axes.set_ylabel("accuracy")
    axes.set_title(" and ".join(series).capitalize() + " accuracy per epoch")
    axes.grid(alpha=0.3)
    axes.legend()
    return _save(figure, path)


def _ratios_by_layer(update_ratio: Mapping | Sequence[Mapping]) -> dict[str, np.ndarray]:
    """Accept ``{layer: [r_1, r_2, ...]}`` or ``[{layer: r_1, ...}, ...]``; return the former."""
    if isinstance(update_ratio, Mapping):
        return {name: np.asarray(values, dtype=np.float64)
                for name, values in update_ratio.items()}
    names = list(dict.fromkeys(name for step in update_ratio for name in step))
    return {name: np.array([step.get(name, np.nan) for step in update_ratio], dtype=np.float64)
            for name in names}


def plot_update_ratios(update_ratio: Mapping | Sequence[Mapping], path: str | os.PathLike,
                       iterations: Sequence[int] | None = None) -> str:
    """Per-layer ratio ``||lr * update|| / ||weights||`` over time, on a log scale.

    The dashed line marks the course's guide, about 1e-3: far below it the learning rate
    is too low, far above it too high.

    Parameters
    ----------
    update_ratio : mapping or sequence of mappings
        Either ``{layer_name: [ratio per step]}`` or one ``{layer_name: ratio}`` per step
        (the Trainer's ``history["update_ratio"]``).
    path : path-like
        Where to write the PNG.
    iterations : sequence of int, optional
        The iteration of each sample (the Trainer's ``history["update_ratio_iteration"]``);
        by default 1, 2, 3, ...

    Returns
    -------
    str
        ``path``.
    """
    ratios = _ratios_by_layer(update_ratio)
    if not ratios:
        raise ValueError("no update ratios to plot")
    figure, axes = _new_figure(7.5, 4.8)
    for name, values in ratios.items():
        steps = np.arange(1, len(values) + 1) if iterations is None else iterations
        axes.plot(steps, values, linewidth=1.2, label=name,
                  marker="o" if len(values) < 20 else None, markersize=3)
    axes.axhline(UPDATE_RATIO_GUIDE, color="black", linestyle="--", linewidth=1.0,
                 label="1e-3 guide")
    axes.set_yscale("log")
    _integer_ticks(axes)
    axes.set_xlabel("iteration")
    axes.set_ylabel("update / weight ratio")
    axes.set_title("Update / weight ratio per layer and iteration")
    axes.grid(alpha=0.3, which="both")
    axes.legend(fontsize="small", loc="center left", bbox_to_anchor=(1.0, 0.5))
    return _save(figure, path)


def plot_confusion_matrix(matrix: np.ndarray, class_names: Sequence[str],
                          path: str | os.PathLike, title: str = "Confusion matrix") -> str:
    """Confusion matrix with counts, rows = true class, columns = predicted class.

    Cell colour is the row-normalised rate (so a rare class is as readable as a common
    one); the number written in each cell is the count.

    Parameters
    ----------
    matrix : ndarray, shape (C, C)
        ``matrix[i, j]`` = number of samples of class ``i`` predicted as ``j``.
    class_names : sequence of str, length C
    path : path-like
        Where to write the PNG.
    title : str

    Returns
    -------
    str
        ``path``.
    """
    matrix = np.asarray(matrix)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"confusion matrix must be square, got shape {matrix.shape}")
    if len(class_names) != matrix.shape[0]:
        raise ValueError(f"{len(class_names)} class names for a {matrix.shape[0]}-class matrix")
    totals = matrix.sum(axis=1, keepdims=True)
    rates = np.divide(matrix, totals, out=np.zeros(matrix.shape), where=totals > 0)
    size = max(4.8, 0.6 * len(class_names) + 2.0)
    figure, axes = _new_figure(size + 1.0, size)
    image = axes.imshow(rates, cmap="Blues", vmin=0.0, vmax=1.0)
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04, label="fraction of true class")
    ticks = np.arange(len(class_names))
    axes.set_xticks(ticks, labels=class_names, rotation=45, ha="right")
    axes.set_yticks(ticks, labels=class_names)
    for i, j in np.ndindex(matrix.shape):
        axes.text(j, i, f"{matrix[i, j]:g}", ha="center", va="center", fontsize="small",
                  color="white" if rates[i, j] > 0.5 else "black")
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title)
    return _save(figure, path)


def filter_grid(weights: np.ndarray, padding: int = 1) -> np.ndarray:
    """Tile convolution filters into one image, each filter scaled to [0, 1] on its own.

    Filters are laid out row by row (:func:`visiongrad.imaging.image_grid`) in a grid of
    ``ceil(sqrt(F))`` columns; the
    ``padding`` pixels between and around tiles, and any unused tile, are 1 (white).
    A constant filter becomes 0.5.

    Parameters
    ----------
    weights : ndarray, shape (F, C, kh, kw) with C = 1 (grey) or 3 (RGB)
        First-layer convolution weights.
    padding : int
        Pixels between tiles.

    Returns
    -------
    ndarray of float64
        Shape (rows * (kh + padding) + padding, cols * (kw + padding) + padding) for C = 1,
        with a trailing axis of 3 for C = 3.
    """
    weights = np.asarray(weights, dtype=np.float64)
    if weights.ndim != 4 or weights.shape[1] not in (1, 3):
        raise ValueError("filter_grid needs weights of shape (F, C, kh, kw) with C = 1 or 3, "
                         f"got {weights.shape}")
    low = weights.min(axis=(1, 2, 3), keepdims=True)
    span = weights.max(axis=(1, 2, 3), keepdims=True) - low
    scaled = np.divide(weights - low, span, out=np.full(weights.shape, 0.5), where=span > 0)
    return image_grid(scaled, padding=padding)


def plot_filters(weights: np.ndarray, path: str | os.PathLike,
                 title: str = "First-layer filters") -> str:
    """Draw :func:`filter_grid` of ``weights`` (grey or RGB), pixels unsmoothed.

    Parameters
    ----------
    weights : ndarray, shape (F, C, kh, kw), C = 1 or 3
    path : path-like
        Where to write the PNG.
    title : str

    Returns
    -------
    str
        ``path``.
    """
    grid = filter_grid(weights)
    figure, axes = _new_figure(6.0, 6.0 * grid.shape[0] / grid.shape[1] + 0.6)
    axes.imshow(grid, cmap="gray" if grid.ndim == 2 else None, vmin=0.0, vmax=1.0,
                interpolation="nearest")
    axes.set_axis_off()
    axes.set_title(title)
    return _save(figure, path)


def plot_images(images: np.ndarray, captions: Sequence[str], path: str | os.PathLike,
                title: str, columns: int = 4) -> str:
    """A grid of images, each with its caption (misclassified examples, for instance).

    Parameters
    ----------
    images : ndarray, shape (N, C, H, W), C = 1 (grey) or 3 (RGB)
        Integer images are drawn as 0-255; float images are scaled to [0, 1] per image.
    captions : sequence of str, length N
    path : path-like
        Where to write the PNG.
    title : str
    columns : int
        Images per row.

    Returns
    -------
    str
        ``path``.
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[1] not in (1, 3) or not len(images):
        raise ValueError(f"images must have shape (N, C, H, W) with N > 0 and C = 1 or 3, "
                         f"got {images.shape}")
    if len(captions) != len(images):
        raise ValueError(f"{len(captions)} captions for {len(images)} images")
    if columns < 1:
        raise ValueError(f"columns must be positive, got {columns}")
    columns = min(columns, len(images))
    rows = math.ceil(len(images) / columns)
    figure = Figure(figsize=(2.4 * columns, 2.6 * rows + 0.4), dpi=100)
    FigureCanvasAgg(figure)
    for index, (image, caption) in enumerate(zip(images, captions, strict=True)):
        axes = figure.add_subplot(rows, columns, index + 1)
        pixels = image.transpose(1, 2, 0).astype(np.float64)
        if images.dtype.kind in "iu":
            pixels = pixels / 255.0
        else:
            low, span = pixels.min(), np.ptp(pixels)
            pixels = (pixels - low) / span if span > 0 else np.full(pixels.shape, 0.5)
        axes.imshow(pixels[..., 0] if pixels.shape[2] == 1 else pixels, cmap="gray",
                    vmin=0.0, vmax=1.0, interpolation="nearest")
        axes.set_axis_off()
        axes.set_title(caption, fontsize="small")
    figure.suptitle(title)
    return _save(figure, path)


def plot_search(learning_rates: Sequence[float], regularizations: Sequence[float],
                accuracies: Sequence[float], path: str | os.PathLike,
                title: str = "Hyperparameter search") -> str:
    """Validation accuracy over learning rate x regularisation, both axes logarithmic.

    Each trial is a dot coloured by its validation accuracy; the best is ringed in red.
    Trials with a non-positive regularisation are drawn at the bottom edge of the plot.

    Parameters
    ----------
    learning_rates, regularizations, accuracies : sequences of float, one entry per trial
        A trial cut for exploding has accuracy NaN and is drawn as a grey cross.
    path : path-like
        Where to write the PNG.
    title : str

    Returns
    -------
    str
        ``path``.
    """
    lr = np.asarray(learning_rates, dtype=np.float64)
    reg = np.asarray(regularizations, dtype=np.float64)
    accuracy = np.asarray(accuracies, dtype=np.float64)
    if not lr.shape == reg.shape == accuracy.shape or lr.ndim != 1 or lr.size == 0:
        raise ValueError("learning_rates, regularizations and accuracies must be non-empty "
                         f"and of equal length, got {lr.shape}, {reg.shape}, {accuracy.shape}")
    positive = reg[reg > 0]
    floor = positive.min() / 10.0 if positive.size else 1e-6
    reg = np.where(reg > 0, reg, floor)
    finished = np.isfinite(accuracy)
    figure, axes = _new_figure(7.0, 5.0)
    if finished.any():
        points = axes.scatter(lr[finished], reg[finished], c=accuracy[finished], cmap="viridis",
                              s=60, edgecolors="black", linewidths=0.5)
        figure.colorbar(points, ax=axes, label="validation accuracy")
        best = np.nanargmax(accuracy)
        axes.scatter([lr[best]], [reg[best]], s=200, facecolors="none", edgecolors="red",
                     linewidths=2.0, label=f"best {accuracy[best]:.3f}")
    if not finished.all():
        axes.scatter(lr[~finished], reg[~finished], marker="x", color="grey", label="cut")
    axes.legend(loc="best")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("learning rate")
    axes.set_ylabel("regularisation")
    axes.set_title(title)
    axes.grid(alpha=0.3, which="both")
    return _save(figure, path)
