"""The segmentation recipe: the FCN labels every pixel of composed scenes with its item's
class (or background), trained and scored (mIoU, pixel accuracy) by the detection
recipe's machinery (:mod:`visiongrad.recipes.detect`), whose checkpoints it shares:
``run(Config(epochs=2), out=folder)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import detect
from .checks import check_choice
from .detect import SEGMENTERS


@dataclass
class Config(detect.Config):
    """The detection recipe's config for a segmenter; the FCN's 1x1 classifier needs the
    larger steps (``lr``)."""

    model: str = "fcn"
    lr: float = 1e-2

    def __post_init__(self):
        super().__post_init__()
        check_choice(self, "model", SEGMENTERS)


def run(config: Config, test_scenes: int = 300, out: Path | None = None, log=print,
        scenes: tuple | None = None) -> dict:
    """Train and score the segmenter: :func:`visiongrad.recipes.detect.run`."""
    return detect.run(config, test_scenes, out, log, scenes)
