"""Post-training int8 quantization of a trained classifier, as ``visiongrad quantize``
runs it: calibrate on training images, quantize, score float and int8 on the test split,
write the int8 checkpoint (which ``evaluate``, ``predict`` and ``export`` read) and its
per-layer table.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..compress import layer_table, quantize_model
from ..compress.observers import METHODS
from ..data import load_dataset
from ..train.checkpoint import save_checkpoint
from ..train.predict import evaluate


@dataclass
class Config:
    """What ``run`` does.

    Parameters
    ----------
    out : str
        Folder of the int8 checkpoint (``checkpoint.safetensors``) and ``metrics.json``.
    calibration : int
        Training images the activation ranges are calibrated on (drawn with ``seed``).
    method : {"minmax", "percentile", "mse"}
        How each activation's range is chosen (``compress.observers``).
    percentile : float
        For ``method="percentile"``.
    dataset, data_dir : str
        Where the calibration (train split) and test images come from (None: the data the
        run trained on).
    checkpoint : str, optional
        The trained run (its folder or checkpoint) ``run(config)`` quantizes when it is
        given no model.
    seed : int
    """

    out: str
    checkpoint: str | None = None
    calibration: int = 1000
    method: str = "minmax"
    percentile: float = 99.99
    dataset: str | None = None
    data_dir: str | None = None
    seed: int = 0

    def __post_init__(self):
        if isinstance(self.calibration, bool) or not isinstance(self.calibration, int) \
                or self.calibration < 1:
            raise ValueError(f"calibration must be a positive number of images, got "
                             f"{self.calibration!r}")
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}, got {self.method!r}")
        if not 50.0 < self.percentile <= 100.0:
            raise ValueError(f"percentile must be in (50, 100], got {self.percentile}")


def run(config: Config, model=None, normalize=None, info: dict | None = None,
        source: str = "", log=print) -> dict:
    """Quantize ``model`` (its preprocessing ``normalize``, its checkpoint config ``info``;
    None: the run ``config.checkpoint``) and write the result to ``config.out``.

    Returns the metrics written to ``metrics.json``: float and int8 test accuracy, the
    per-layer table (``compress.layer_table``) and the checkpoint's path.
    """
    from .classify_network import load_network, run_dataset

    if model is None:
        if config.checkpoint is None:
            raise ValueError("quantize: give config.checkpoint (a trained run) or a model")
        model, normalize, info = load_network(config.checkpoint)
        source = source or config.checkpoint
    dataset, data_dir = run_dataset(info, config.dataset, config.data_dir)
    train = load_dataset(dataset, split="train", data_dir=data_dir)
    test = load_dataset(dataset, split="test", data_dir=data_dir)
    count = min(config.calibration, len(train.labels))
    picked = np.random.default_rng(config.seed).choice(len(train.labels), count, replace=False)
    calibration = normalize(train.images[np.sort(picked)])
    quantized = quantize_model(model, calibration, method=config.method,
                               percentile=config.percentile)
    x_test, classes = normalize(test.images), len(info["classes"])
    accuracy = {name: float(evaluate(net, x_test, test.labels, num_classes=classes)["accuracy"])
                for name, net in (("float32", model), ("int8", quantized))}
    layers = layer_table(model, quantized, calibration[:256])
    out = Path(config.out)
    path = save_checkpoint(out / "checkpoint.safetensors", quantized, config={
        **info, "int8": quantized.spec(),
        "quantized": {"source": source, "calibration": count, "method": config.method,
                      "percentile": config.percentile, "dataset": dataset}})
    log(f"calibrated on {count} {dataset} training images ({config.method})")
    return {"accuracy": accuracy, "test_images": int(len(test.labels)), "layers": layers,
            "checkpoint": path, "calibration": count, "method": config.method}
