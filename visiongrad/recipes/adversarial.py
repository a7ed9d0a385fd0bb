"""The adversarial recipe: attack a trained classifier and report how robust it is.

``run(Config(method="pgd", eps=0.1, steps=40), model, images, labels, out=folder)`` is
``visiongrad attack RUN``: the clean and robust accuracy on the first ``config.images``
images, the accuracy-vs-eps curve, optionally the gradient-masking checks, and with
``out`` the files ``metrics.json``, ``examples.png`` (clean / perturbation / adversarial
images with their true and predicted labels), ``accuracy_vs_eps.png`` and ``report.html``.

The model takes pixels in [0, 1] (``adversarial.OnPixels`` puts a run's standardisation
in front of its network; :func:`load_classifier` does so for a run of ``visiongrad
train``), so eps is in pixel units.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..adversarial import METHODS, accuracy_curve, build_attack, gradient_masking_checks
from ..adversarial.arguments import predict_scores
from ..train.progress import Progress
from .checks import check_choice, check_integers

BOX = (0.0, 1.0)


@dataclass
class Config:
    """One attack run. ``eps`` is an L-inf radius in pixels (L2 for pgd-l2, deepfool, cw);
    ``alpha`` None: 2.5 eps / steps for PGD, eps / steps for BIM and MI-FGSM; ``epsilons``:
    the curve's radii (its attack is ``method`` with ``steps`` steps at each);
    ``examples``: images in the grid; ``checks``: run the gradient-masking checks too."""

    method: str = "pgd"
    eps: float = 0.1
    steps: int = 40
    restarts: int = 1
    alpha: float | None = None
    epsilons: tuple = (0.0, 0.025, 0.05, 0.1, 0.15, 0.2)
    images: int = 1000
    batch_size: int = 256
    examples: int = 8
    queries: int = 1000
    checks: bool = False
    seed: int = 0
    checkpoint: str | None = None
    dataset: str | None = None
    data_dir: str | None = None

    def __post_init__(self):
        check_choice(self, "method", METHODS)
        check_integers(self, "steps", "restarts", "images", "batch_size", "examples",
                       "queries")
        check_integers(self, "seed", least=0)
        for name in ("eps", "alpha"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, (int, float)) and 0 < value
                                          < float("inf")):
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        self.epsilons = tuple(self.epsilons)
        if not self.epsilons or not all(isinstance(e, (int, float)) and 0 <= e < float("inf")
                                        for e in self.epsilons):
            raise ValueError(f"epsilons must be numbers >= 0, got {self.epsilons!r}")

    def attack(self, eps: float | None = None):
        """This config's attack at ``eps`` (default: ``self.eps``)."""
        return build_attack(self.method, self.eps if eps is None else eps, self.steps,
                            restarts=self.restarts, alpha=self.alpha if eps is None else None,
                            box=BOX, queries=self.queries, seed=self.seed)


def load_classifier(path) -> tuple:
    """A run of ``visiongrad train`` (its folder or checkpoint) as a classifier of pixels
    in [0, 1]: ``(OnPixels(network, mean, std) in eval mode, the checkpoint's config)``."""
    from ..adversarial import OnPixels
    from .classify_network import load_network

    network, normalize, info = load_network(str(path))
    return OnPixels(network, normalize.mean_, normalize.std_).eval(), info


def load_test_images(config: Config) -> tuple:
    """The classifier of ``config.checkpoint`` with the first ``config.images`` test images
    of its data (``config.dataset``, None: the data it trained on) as pixels in [0, 1]:
    ``(classifier, images, labels, classes)``."""
    from ..adversarial import OnPixels
    from .classify_network import load_run

    if config.checkpoint is None:
        raise ValueError("attack: give config.checkpoint (a trained run) or a model")
    network, normalize, info, data = load_run(config.checkpoint, config.dataset,
                                              config.data_dir, splits=("test",))
    classifier = OnPixels(network, normalize.mean_, normalize.std_).eval()
    test = data["test"]
    images = (test.images[:config.images] / np.float32(normalize.scale)).astype(np.float32)
    return classifier, images, test.labels[:config.images], info["classes"]


def run(config: Config, model=None, images: np.ndarray | None = None,
        labels: np.ndarray | None = None, classes=None, out: Path | None = None, log=print,
        commands=()) -> dict:
    """Attack ``model`` (pixels in [0, 1] in, eval mode) on the first ``config.images`` of
    ``images`` (float, (N, C, H, W), in [0, 1]) and ``labels``; with ``out``, write the
    files of the module docstring there. Returns ``{"clean_accuracy", "robust_accuracy",
    "curve": {"eps": [...], "accuracy": [...]}, "checks" (or None), "files"}``. With no
    ``model``, the run ``config.checkpoint`` is attacked on its test images
    (:func:`load_test_images`)."""
    if model is None:
        model, images, labels, classes = load_test_images(config)
    images = np.asarray(images)[:config.images]
    labels = np.asarray(labels)[:config.images]
    data = (images, labels)
    attack = config.attack()
    progress = Progress(1 + len(config.epsilons), write=log)  # passes over the images
    starts = range(0, len(images), config.batch_size)
    report, attacked = progress.during(f"{config.method} at eps {config.eps:g}"), []
    for number, start in enumerate(starts, 1):
        batch = slice(start, start + config.batch_size)
        attacked.append(attack(model, images[batch], labels[batch]))
        report(number, len(starts))
    adversarial = np.concatenate(attacked)
    clean_predicted = predict_scores(model, images).argmax(axis=1)
    predicted = predict_scores(model, adversarial).argmax(axis=1)
    result = {"clean_accuracy": float(np.mean(clean_predicted == labels)),
              "robust_accuracy": float(np.mean(predicted == labels)), "images": len(labels)}
    progress.step(f"{config.method} at eps {config.eps:g}: accuracy "
                  f"{result['clean_accuracy']:.4f} clean, {result['robust_accuracy']:.4f} "
                  f"under attack ({len(labels)} images)")
    points: list[float] = []

    def point(eps: float, accuracy: float) -> None:
        points.append(eps)
        progress.step(f"accuracy curve {len(points)}/{len(config.epsilons)}: eps {eps:g}, "
                      f"accuracy {accuracy:.4f}")

    curve = accuracy_curve(model, data, config.attack, config.epsilons, config.batch_size,
                           on_point=point)
    result["curve"] = {"eps": list(config.epsilons), "accuracy": curve.tolist()}
    result["checks"] = gradient_masking_checks(
        model, data, config.eps, box=BOX, seed=config.seed, batch_size=config.batch_size
    ) if config.checks else None
    result["files"] = [] if out is None else write_outputs(
        Path(out), config, result, images, adversarial, labels, clean_predicted, predicted,
        classes, commands)
    return result


def write_outputs(folder: Path, config: Config, result: dict, images, adversarial, labels,
                  clean_predicted, predicted, classes, commands) -> list[str]:
    """``metrics.json``, ``examples.png``, ``accuracy_vs_eps.png`` and ``report.html``."""
    from ..train import plots
    from ..train.report import write_report

    names = classes if classes is not None else [str(c) for c in range(labels.max() + 1)]
    shown = np.arange(min(config.examples, len(labels)))
    grid, captions = [], []
    for i in shown:
        grid += [images[i], adversarial[i] - images[i], adversarial[i]]
        captions += [f"{names[labels[i]]}\npredicted {names[clean_predicted[i]]}",
                     f"perturbation\nmax |d| {np.abs(adversarial[i] - images[i]).max():.3f}",
                     f"adversarial\npredicted {names[predicted[i]]}"]
    examples = plots.plot_images(np.stack(grid), captions, folder / "examples.png",
                                 title=f"clean / perturbation (scaled) / adversarial: "
                                       f"{config.method}, eps {config.eps:g}", columns=3)
    curve = plot_curve(result["curve"], config, folder / "accuracy_vs_eps.png")
    metrics = {"config": asdict(config), **{k: v for k, v in result.items() if k != "files"}}
    temporary = folder / ".metrics.json.tmp"
    temporary.write_text(json.dumps(metrics, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(temporary, folder / "metrics.json")
    summary = {"images attacked": result["images"], "clean accuracy": result["clean_accuracy"],
               f"accuracy under {config.method} (eps {config.eps:g})":
               result["robust_accuracy"]}
    tables = [("Accuracy vs eps", ["eps", "accuracy"],
               [[f"{e:g}", f"{a:.4f}"] for e, a in zip(result["curve"]["eps"],
                                                       result["curve"]["accuracy"],
                                                       strict=True)])]
    if result["checks"] is not None:
        tables.append(("Gradient-masking checks", ["check", "passed"],
                       [[k, v] for k, v in result["checks"]["checks"].items()]))
        tables.append(("Accuracy under the checks' attacks", ["attack", "accuracy"],
                       [[k, f"{v:.4f}"] for k, v in result["checks"]["accuracy"].items()]))
    report = write_report(folder / "report.html", title=f"{config.method} attack",
                          summary=summary, tables=tables, config=asdict(config),
                          commands=list(commands),
                          figures=[("Clean, perturbation, adversarial", examples),
                                   ("Accuracy vs eps", curve)])
    return [str(folder / "metrics.json"), examples, curve, report]


def plot_curve(curve: dict, config: Config, path) -> str:
    """Accuracy against eps, written as a PNG; returns the path."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.4, 4.2), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.plot(curve["eps"], curve["accuracy"], marker="o")
    axes.set_xlabel("eps (pixels in [0, 1])")
    axes.set_ylabel("accuracy")
    axes.set_ylim(0, 1)
    axes.grid(alpha=0.3)
    axes.set_title(f"Accuracy under {config.method} ({config.steps} steps) vs eps")
    figure.savefig(path)
    return str(path)
