"""``visiongrad segment``: semantic segmentation of composed scenes with the FCN.

``segment train`` writes ``OUT/checkpoint.safetensors``, ``OUT/metrics.json`` (mIoU
and pixel accuracy on the test scenes), ``OUT/curves.png`` and ``OUT/report.html``;
``segment evaluate`` prints a checkpoint's mIoU, ``segment predict`` draws the predicted
label map over an image (with a legend of the classes it shows). The actions are
``visiongrad detect``'s (see ``cli/detect.py``).
"""

from __future__ import annotations

from .detect import add_actions


def register(commands) -> None:
    from ..recipes.detect import SEGMENTERS

    parser = commands.add_parser("segment", help="semantic segmentation of composed scenes")
    add_actions(parser, SEGMENTERS, "fcn", 1e-2,  # its 1x1 classifier needs the larger steps
                scored=False)  # a label map: no scores to threshold
