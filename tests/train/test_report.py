"""The run report page: sections from the data given, nothing loaded from elsewhere,
the confidently wrong images chosen right."""

import base64
import io
import re

import numpy as np
import pytest
from PIL import Image

from visiongrad.train.metrics import classification_scores
from visiongrad.train.report import (
    machine_info,
    most_confident_mistakes,
    render_report,
    write_report,
)

CLASSES = ["cat", "dog", "<bird>"]


def embedded_images(page):
    """The PNGs embedded in ``page`` as decoded PIL images."""
    sources = re.findall(r'<img src="([^"]*)"', page)
    assert all(source.startswith("data:image/png;base64,") for source in sources)
    return [Image.open(io.BytesIO(base64.b64decode(source.split(",", 1)[1])))
            for source in sources]


@pytest.fixture
def run():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 30)
    probabilities = rng.dirichlet(np.ones(3), size=30)
    return {
        "history": {"loss": list(2.0 * np.exp(-np.arange(40) / 20)), "epoch_loss": [1.5, 0.9],
                    "train_accuracy": [0.5, 0.7], "val_accuracy": [0.45, 0.6],
                    "val_loss": [1.4, 1.0], "update_ratio": {"0.weight": [1e-3] * 4},
                    "update_ratio_iteration": [0, 10, 20, 30]},
        "images": rng.integers(0, 256, (30, 1, 8, 8)).astype(np.uint8),
        "labels": labels, "probabilities": probabilities,
        "scores": classification_scores(labels, probabilities=probabilities, num_classes=3),
    }


def test_most_confident_mistakes_against_a_sort_by_hand():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 4, 200)
    probabilities = rng.dirichlet(np.ones(4), size=200)
    found = most_confident_mistakes(labels, probabilities, count=7)
    by_hand = sorted((i for i in range(200) if probabilities[i].argmax() != labels[i]),
                     key=lambda i: (-probabilities[i].max(), i))[:7]
    assert found.tolist() == by_hand
    right = np.eye(4)[labels]
    assert most_confident_mistakes(labels, right).size == 0
    with pytest.raises(ValueError, match="do not match"):
        most_confident_mistakes(labels[:5], probabilities)
    with pytest.raises(ValueError, match="count"):
        most_confident_mistakes(labels, probabilities, count=-1)


def test_full_report_is_self_contained_with_every_section(run, tmp_path):
    weights = np.random.default_rng(2).standard_normal((8, 1, 3, 3))
    path = write_report(tmp_path / "report.html", title="a <run>", summary={"accuracy": 0.5},
                        classes=CLASSES, first_layer=weights, config={"lr": 1e-3},
                        commands=["visiongrad train --out r"], notes=["a note"], **run)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert path == str(tmp_path / "report.html")
    for heading in ("Final metrics", "Curves", "Confusion matrix", "Most confidently "
                    "misclassified", "First-layer filters", "How the run was made", "Machine"):
        assert heading in page
    assert "a &lt;run&gt;" in page and "&lt;bird&gt;" in page and "<bird>" not in page
    assert "visiongrad train --out r" in page and "a note" in page
    # nothing is fetched: no scripts, style sheets, frames or links to other resources
    assert not re.search(r"<(script|link|iframe|object|embed)\b", page)
    assert not re.search(r"(src|href)=\"(?!data:image/png;base64,)", page)
    assert "url(" not in page
    figures = embedded_images(page)
    assert len(figures) == 6  # loss, accuracy, ratios, confusion, mistakes, filters
    for figure in figures:
        pixels = np.asarray(figure.convert("L"))
        assert min(figure.size) > 200 and pixels.std() > 5


def test_sections_without_data_are_left_out(tmp_path):
    page = render_report(title="bare", machine={"CPU": "x"})
    assert "Curves" not in page and "Confusion" not in page and "filters" not in page
    assert "<img" not in page and "<td>CPU</td><td>x</td>" in page


def test_no_mistakes_is_said(run):
    perfect = np.eye(3)[run["labels"]]
    page = render_report(title="t", classes=CLASSES, images=run["images"],
                         labels=run["labels"], probabilities=perfect, machine={})
    assert "No test image is misclassified." in page


def test_machine_info_names_versions():
    import platform

    import visiongrad
    info = machine_info()
    assert info["NumPy"] == np.__version__ and info["visiongrad"] == visiongrad.__version__
    assert info["Python"] == platform.python_version()
    assert isinstance(info["cores"], int) and info["cores"] >= 1 and info["CPU"]
