"""Binary or ternary weights for a trained classifier, as ``visiongrad quantize --weights
binary|ternary`` runs it: wrap its convolutions and linear layers in
``compress.low_bit_weights``, train the latent float weights (and the ternary scales)
through them for a few epochs from the trained float model, then bake the low-bit weights
into the model and score float and low-bit on the test split.

The checkpoint written holds the baked weights as float32 values (each layer's weights
are exactly {-W_n, 0, +W_p} for ternary, {-a_f, +a_f} per output channel for binary), so
that ``evaluate``, ``predict``, ``export`` and ``quantize`` read it as any trained run; the
per-layer table gives what the weights take deployed (``compress.deployed_weights``: 2 bits
per ternary weight, 1 per binary one, plus the scales).

>>> result = run(Config(out="run3", weights="ternary", epochs=2), model, normalize, info,
...              train, test)  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

import visiongrad as vg

from .. import functional as F
from .. import nn, optim
from ..compress.ternary import KINDS, LowBitWeights, deployed_weights, low_bit_weights
from ..train.checkpoint import save_checkpoint
from ..train.epochs import descend_epoch
from ..train.predict import evaluate
from ..train.progress import Progress

BITS = {"binary": 1, "ternary": 2}


@dataclass
class Config:
    """Options of :func:`run` (validated on construction; ``ValueError`` names the bad one).

    weights : "binary" or "ternary"
    epochs, lr, batch_size : Adam's training through the low-bit weights
    threshold : ternary only: weights within ``threshold`` x max|w| of 0 become 0, in (0, 1)
    keep_first_last : leave the first and last Conv2d/Linear in float (the TTQ and
        XNOR-Net papers' choice)
    """

    out: str
    weights: str = "ternary"
    epochs: int = 1
    lr: float = 1e-4
    batch_size: int = 128
    threshold: float = 0.05
    keep_first_last: bool = True
    seed: int = 0

    def __post_init__(self):
        if self.weights not in KINDS:
            raise ValueError(f"weights must be one of {', '.join(KINDS)}, got {self.weights!r}")
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        if not 0.0 < self.threshold < 1.0:
            raise ValueError(f"threshold must be in (0, 1), got {self.threshold}")


def layer_rows(low_bit: nn.Sequential) -> list[dict]:
    """One row per Conv2d/Linear of ``low_bit`` (a ``low_bit_weights`` model): its index,
    kind, weight shape, bits, float32 bytes, deployed bytes (packed codes + float32
    scales) and fraction of zero weights."""
    deployed = deployed_weights(low_bit)
    rows = []
    for name, module in low_bit.named_children():
        layer = module.layer if isinstance(module, LowBitWeights) else module
        if not isinstance(layer, (nn.Conv2d, nn.Linear)):
            continue
        weight = module.weight().data if isinstance(module, LowBitWeights) else layer.weight.data
        kind = module.kind if isinstance(module, LowBitWeights) else "float32"
        bits = BITS.get(kind, 32)
        stored = -(-weight.size * bits // 8)
        if kind != "float32":
            stored += deployed[f"{name}.scales"].size * 4
        rows.append({"layer": name, "kind": kind, "shape": list(weight.shape), "bits": bits,
                     "float32_bytes": weight.size * 4, "deployed_bytes": int(stored),
                     "zeros": float(np.mean(weight == 0))})
    return rows


def check_model(model: nn.Module, info: dict, config: Config) -> None:
    """Raise ``ValueError`` unless ``config`` leaves some layer of ``model`` to make low-bit
    (with ``keep_first_last``, a net of two Conv2d/Linear layers has none)."""
    layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    if len(layers) <= (2 if config.keep_first_last else 0):
        raise ValueError(f"{info['model']} has no Conv2d/Linear layer between its first and "
                         f"last; make them {config.weights} too (keep_first_last=False, the "
                         f"command's --all-layers)")


def run(config: Config, model: nn.Module, normalize, info: dict, train, test,
        log=print) -> dict:
    """Train ``model`` (a trained ``Sequential`` classifier, changed in place) with
    ``config.weights`` weights and write ``config.out``/checkpoint.safetensors.

    ``train`` and ``test`` are datasets (``.images`` uint8 or float, ``.labels``),
    normalised here with ``normalize``. Returns ``{"accuracy": {"float32", WEIGHTS},
    "layers": layer_rows, "checkpoint", "config"}``.
    """
    check_model(model, info, config)
    low_bit = low_bit_weights(model, config.weights, config.threshold, config.keep_first_last)
    x_test, classes = normalize(test.images), len(info["classes"])
    before = float(evaluate(model, x_test, test.labels, num_classes=classes)["accuracy"])
    images, labels = normalize(train.images), train.labels
    optimizer = optim.Adam(low_bit.parameters(), lr=config.lr)
    rng = np.random.default_rng(config.seed)
    vg.manual_seed(config.seed)
    low_bit.train()
    progress = Progress(config.epochs, write=log)
    for epoch in range(config.epochs):
        loss = descend_epoch(lambda batch: F.cross_entropy(low_bit(vg.tensor(images[batch])),
                                                           labels[batch]),
                             len(labels), config.batch_size, optimizer, rng,
                             on_batch=progress.during(f"epoch {epoch + 1}/{config.epochs}"))
        progress.step(f"epoch {epoch + 1}/{config.epochs}: loss {loss:.4f}")
    low_bit.eval()
    layers = layer_rows(low_bit)
    for module in low_bit:  # bake: the model computes with the low-bit weights from now on
        if isinstance(module, LowBitWeights):
            module.layer.weight.data = module.weight().data.copy()
    after = float(evaluate(model, x_test, test.labels, num_classes=classes)["accuracy"])
    path = save_checkpoint(Path(config.out) / "checkpoint.safetensors", model, config={
        **info, "low_bit": {**asdict(config), "layers": layers}})
    return {"accuracy": {"float32": before, config.weights: after}, "layers": layers,
            "checkpoint": path, "test_images": int(len(test.labels)), "config": asdict(config)}
