"""The run report: one self-contained HTML page of a training run.

The page holds the loss and accuracy curves, the final metrics, the confusion matrix, the
most confidently misclassified test images, the first-layer filters, the options and the
command that made the run, and the machine it ran on. Every figure is drawn by
:mod:`visiongrad.train.plots` and embedded as a base64 PNG (``data:`` URL); the page loads
nothing else (no scripts, style sheets, fonts or links), so it can be mailed or archived as
one file and opened offline.

>>> from visiongrad.train.report import write_report
>>> write_report("run/report.html", title="two_layer on fashion-mnist-mini",
...              history=trainer.history)  # doctest: +SKIP
'run/report.html'
"""

from __future__ import annotations

import base64
import html
import json
import os
import platform
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from .. import accel
from ..accel import machine
from . import plots

__all__ = ["machine_info", "most_confident_mistakes", "render_report", "write_report"]

_STYLE = """
body { font-family: sans-serif; max-width: 1100px; margin: 1em auto; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.5em 0; }
td, th { border: 1px solid #ccc; padding: 2px 8px; text-align: left; }
img { max-width: 100%; } figure { display: inline-block; margin: 0.5em; }
pre { background: #f4f4f4; padding: 0.5em; white-space: pre-wrap; }
.note { color: #a33; }
"""


def machine_info() -> dict[str, object]:
    """The machine a run is on: CPU model, cores, platform, Python, NumPy and visiongrad
    versions."""
    from .. import __version__

    cpu = machine.cpu_model() or platform.processor() or platform.machine()
    return {"CPU": cpu, "cores": os.cpu_count(),
            "cores usable by this process": accel.available_cores(),
            "platform": platform.platform(), "Python": platform.python_version(),
            "NumPy": np.__version__, "visiongrad": __version__}


def most_confident_mistakes(labels: np.ndarray, probabilities: np.ndarray,
                            count: int = 16) -> np.ndarray:
    """Indices of the ``count`` misclassified examples whose wrong top class had the
    highest probability, most confident first (ties: lower index first).

    Parameters
    ----------
    labels : ndarray of int, shape (N,)
    probabilities : ndarray, shape (N, C)
    count : int

    Returns
    -------
    ndarray of int64, at most ``count`` indices
    """
    labels, probabilities = np.asarray(labels), np.asarray(probabilities)
    if probabilities.ndim != 2 or labels.shape != probabilities.shape[:1]:
        raise ValueError(f"labels (N,) and probabilities (N, C) do not match: "
                         f"{labels.shape} and {probabilities.shape}")
    if count < 0:
        raise ValueError(f"count must be non-negative, got {count}")
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != labels)
    confidence = probabilities[wrong, predicted[wrong]]
    return wrong[np.argsort(-confidence, kind="stable")[:count]].astype(np.int64)


def _png(draw: Callable[[str], str]) -> str:
    """``draw(path)`` writes a PNG; return it as an ``<img>`` with a ``data:`` URL."""
    with tempfile.TemporaryDirectory(prefix="visiongrad-report-") as folder:
        data = Path(draw(os.path.join(folder, "figure.png"))).read_bytes()
    return f'<img src="data:image/png;base64,{base64.b64encode(data).decode("ascii")}" alt="">'


def _table(header: Sequence[str], rows: Sequence[Sequence]) -> str:
    head = "".join(f"<th>{html.escape(str(cell))}</th>" for cell in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in row)
                   + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _value(value) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def render_report(*, title: str, history: Mapping | None = None,
                  summary: Mapping | None = None, classes: Sequence[str] | None = None,
                  scores: Mapping | None = None, images: np.ndarray | None = None,
                  labels: np.ndarray | None = None, probabilities: np.ndarray | None = None,
                  first_layer: np.ndarray | None = None, config: Mapping | None = None,
                  commands: Sequence[str] = (), tables: Sequence[tuple] = (),
                  notes: Sequence[str] = (), machine: Mapping | None = None,
                  figures: Sequence[tuple[str, str | os.PathLike]] = ()) -> str:
    """The report as HTML text; every section whose data is not given is left out.

    Parameters
    ----------
    title : str
    history : mapping, optional
        A Trainer's ``history``: the loss curve (per iteration and epoch), accuracy curves
        and update ratios.
    summary : mapping, optional
        Final metrics, name -> value, shown first.
    classes : sequence of str, optional
        Class names (needed with ``scores`` and ``probabilities``).
    scores : mapping, optional
        :func:`~visiongrad.train.metrics.classification_scores` of the test set: its
        confusion matrix and per-class accuracy are drawn.
    images, labels, probabilities : ndarray, optional
        Test images (N, C, H, W), their labels (N,) and predicted probabilities (N, C):
        the most confidently misclassified ones are shown.
    first_layer : ndarray, shape (F, C, kh, kw), optional
        First convolution's weights (C = 1 or 3), drawn as a filter grid.
    config : mapping, optional
        The run's options, shown as JSON.
    commands : sequence of str
        The command lines that made the run (a resumed run has several).
    tables : sequence of (heading, header, rows)
        Further tables (the demo's comparison of classifiers).
    notes : sequence of str
        Sentences shown at the top (what is missing and why).
    machine : mapping, optional
        Default: :func:`machine_info` of this process.
    figures : sequence of (heading, PNG path)
        Further figures, embedded after the tables (an attack's examples and curve, a
        reinforcement-learning run's return curve).
    """
    parts = [f"<h1>{html.escape(title)}</h1>"]
    parts += [f'<p class="note">{html.escape(note)}</p>' for note in notes]
    if summary:
        parts += ["<h2>Final metrics</h2>",
                  _table(["metric", "value"], [[k, _value(v)] for k, v in summary.items()])]
    for heading, header, rows in tables:
        parts += [f"<h2>{html.escape(heading)}</h2>", _table(header, rows)]
    for heading, png in figures:
        parts += [f"<h2>{html.escape(heading)}</h2>", _png(lambda _, png=png: str(png))]
    if history and len(history.get("loss", [])):
        parts += ["<h2>Curves</h2>", _png(lambda path: plots.plot_loss(history, path))]
        if len(history.get("train_accuracy", [])) or len(history.get("val_accuracy", [])):
            parts.append(_png(lambda path: plots.plot_accuracy(history, path)))
        if history.get("update_ratio"):
            parts.append(_png(lambda path: plots.plot_update_ratios(
                history["update_ratio"], path, iterations=history.get("update_ratio_iteration"))))
    if scores is not None and classes is not None:
        rows = [[name, f"{accuracy:.4f}", int(total)] for name, accuracy, total in
                zip(classes, scores["per_class_accuracy"],
                    np.asarray(scores["confusion"]).sum(axis=1), strict=True)]
        parts += ["<h2>Confusion matrix (test set)</h2>",
                  _png(lambda path: plots.plot_confusion_matrix(
                      np.asarray(scores["confusion"]), classes, path,
                      title="Confusion matrix on the test set (rows: true class)")),
                  _table(["class", "accuracy", "test images"], rows)]
    if images is not None and labels is not None and probabilities is not None:
        parts.append("<h2>Most confidently misclassified test images</h2>")
        worst = most_confident_mistakes(labels, probabilities)
        if len(worst):
            predicted = probabilities.argmax(axis=1)
            captions = [f"true: {classes[labels[i]]}\npredicted: {classes[predicted[i]]} "
                        f"({probabilities[i, predicted[i]]:.2f})" for i in worst]
            parts.append(_png(lambda path: plots.plot_images(
                images[worst], captions, path,
                title=f"The {len(worst)} mistakes with the highest predicted probability")))
        else:
            parts.append("<p>No test image is misclassified.</p>")
    if first_layer is not None:
        parts += ["<h2>First-layer filters</h2>",
                  _png(lambda path: plots.plot_filters(
                      first_layer, path, title=f"The {len(first_layer)} first-layer filters"))]
    parts.append("<h2>How the run was made</h2>")
    if commands:
        parts += ["<h3>Command</h3>", "<pre>" + html.escape("\n".join(commands)) + "</pre>"]
    if config:
        parts += ["<h3>Options</h3>",
                  "<pre>" + html.escape(json.dumps(config, indent=2, default=str)) + "</pre>"]
    machine = machine_info() if machine is None else machine
    parts += ["<h2>Machine</h2>", _table(["", "value"], [[k, v] for k, v in machine.items()])]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>\n<body>\n"
            + "\n".join(parts) + "\n</body></html>\n")


def write_report(path: str | os.PathLike, **report) -> str:
    """Write :func:`render_report` ``(**report)`` to ``path`` atomically; return the path."""
    path = Path(path)
    text = render_report(**report)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
    return str(path)
