"""The Deep Compression recipe (Han, Mao and Dally, ICLR 2016) on a trained classifier:
prune -> retrain (iterated) -> k-means weight sharing -> fine-tune the centroids -> code
(fixed widths, or Huffman) into a ``.vgz`` file, whose decoded weights are what the
accuracy after is measured on.

>>> result = run(Config(out="run2", checkpoint="run1", prune=0.9))  # doctest: +SKIP
>>> result = run(Config(out="run2"), model, info, (x, y), (x_test, y_test))  # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

import visiongrad as vg

from .. import functional as F
from .. import nn, optim
from ..compress import (
    MaskedOptimizer,
    apply_masks,
    encode_vgz,
    geometric_sparsities,
    magnitude_masks,
    materialize,
    share_weights,
)
from ..compress.pruning import SCOPES, prunable_weights
from ..compress.report import layer_rows
from ..compress.vgz import decode_vgz
from ..train.checkpoint import atomic_write_bytes
from ..train.epochs import descend_epoch
from ..train.predict import evaluate
from ..train.progress import Progress

VGZ_NAME = "model.vgz"
REPORT_NAME = "compression.json"
STORED_CONFIG = ("model", "input_shape", "classes", "normalize", "input_ranges")
"""What of the run's config the file keeps: what ``evaluate`` and ``predict`` need."""


@dataclass
class Config:
    """Options of :func:`run` (validated on construction; ``ValueError`` names the bad one).

    prune : target fraction of the Linear/Conv2d weights removed, in [0, 1)
    prune_scope : "global" (one magnitude threshold) or "layer" (each layer loses ``prune``)
    prune_steps : prune -> retrain rounds on the geometric schedule to ``prune``
    cluster_bits : bits per shared weight of Linear layers (``2**b - 1`` centroids + zero)
    conv_cluster_bits : the same for Conv2d layers (the paper: 8 for conv, 5 for fc)
    huffman : Huffman-code both streams (else fixed widths)
    half : store the codebooks and the biases (every unshared float) in float16
    retrain_epochs : epochs of retraining after each pruning round, and of centroid
        fine-tuning after clustering (0: none)
    lr : Adam's learning rate for retraining and fine-tuning
    """

    out: str
    checkpoint: str | None = None
    dataset: str | None = None
    data_dir: str | None = None
    prune: float = 0.9
    prune_scope: str = "global"
    prune_steps: int = 3
    cluster_bits: int = 5
    conv_cluster_bits: int = 8
    huffman: bool = True
    half: bool = False
    retrain_epochs: int = 1
    lr: float = 1e-4
    batch_size: int = 128
    seed: int = 0

    def __post_init__(self):
        if not 0.0 <= self.prune < 1.0:
            raise ValueError(f"prune must be in [0, 1), got {self.prune}")
        if self.prune_scope not in SCOPES:
            raise ValueError(f"prune_scope must be one of {SCOPES}, got {self.prune_scope!r}")
        for name in ("cluster_bits", "conv_cluster_bits"):
            if not 1 <= getattr(self, name) <= 16:
                raise ValueError(f"{name} must be in [1, 16], got {getattr(self, name)}")
        for name, low in (("prune_steps", 1), ("retrain_epochs", 0), ("batch_size", 1)):
            if getattr(self, name) < low:
                raise ValueError(f"{name} must be at least {low}, got {getattr(self, name)}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        for name in ("checkpoint", "dataset", "data_dir"):
            if getattr(self, name) is not None and not isinstance(getattr(self, name), str):
                raise ValueError(f"{name} must be a path or name, got {getattr(self, name)!r}")


def _retrain(model, optimizer, data, config: Config, rng: np.random.Generator,
             progress: Progress, stage: str) -> None:
    images, labels = data
    model.train()

    def loss_of(batch):
        return F.cross_entropy(model(vg.tensor(images[batch])), labels[batch])

    for epoch in range(config.retrain_epochs):
        where = f"{stage}: retraining epoch {epoch + 1}/{config.retrain_epochs}"
        descend_epoch(loss_of, len(labels), config.batch_size, optimizer, rng,
                      on_batch=progress.during(where))
        progress.step(where)
    model.eval()


def _accuracy(model, data) -> float:
    model.eval()
    return float(evaluate(model, data[0], data[1])["accuracy"])


def _load(config: Config):
    """The trained run ``config.checkpoint`` with its normalised train and test splits."""
    from .classify_network import load_run

    if config.checkpoint is None:
        raise ValueError("compress: give config.checkpoint (a trained run) or a model")
    model, normalize, info, data = load_run(config.checkpoint, config.dataset,
                                            config.data_dir)
    train, test = ((normalize(data[split].images), data[split].labels)
                   for split in ("train", "test"))
    return model, info, train, test


def run(config: Config, model: nn.Module | None = None, info: dict | None = None,
        train: tuple | None = None, test: tuple | None = None,
        log: Callable[[str], None] | None = None) -> dict:
    """Compress ``model`` (trained; changed in place) and write ``config.out``/model.vgz.

    Parameters
    ----------
    model : nn.Module, optional
        None: the run ``config.checkpoint`` (a folder or checkpoint), retrained and scored
        on ``config.dataset`` (None: the data it trained on), normalised as it was.
    info : dict
        The checkpoint's config (model name, input shape, classes, normaliser), stored in
        the file so that ``evaluate`` and ``predict`` rebuild the model from it.
    train, test : (images, labels)
        Normalised float32 images (N, C, H, W) and their labels: retraining data and the
        data the accuracies are measured on.
    log : callable, optional
        Receives a progress line after each retraining epoch (the pruning step or weight
        sharing, the epoch of how many, the whole run's elapsed time and ETA).

    Returns
    -------
    dict
        ``accuracy_before``, ``accuracy_pruned``, ``accuracy_after`` (of the weights
        decoded from the file), ``rows`` (:func:`~visiongrad.compress.report.layer_rows`),
        ``total`` (weights, density, rates over the whole file), ``file``, ``file_bytes``,
        ``float32_bytes``.
    """
    if model is None:
        model, info, train, test = _load(config)
    rng = np.random.default_rng(config.seed)
    vg.manual_seed(config.seed)
    before = _accuracy(model, test)
    sparsities = geometric_sparsities(config.prune, config.prune_steps)
    progress = Progress(max(1, (len(sparsities) + 1) * config.retrain_epochs), write=log)
    for step, sparsity in enumerate(sparsities, 1):
        masks = magnitude_masks(model, sparsity, scope=config.prune_scope)
        apply_masks(model, masks)
        optimizer = MaskedOptimizer(optim.Adam(model.parameters(), lr=config.lr), model, masks)
        _retrain(model, optimizer, train, config, rng, progress,
                 f"pruning step {step}/{len(sparsities)} (sparsity {sparsity:.3f})")
    pruned = _accuracy(model, test)
    bits = {name: config.conv_cluster_bits if weight.data.ndim == 4 else config.cluster_bits
            for name, weight in prunable_weights(model).items()}
    share_weights(model, bits, init="linear")
    _retrain(model, optim.Adam(model.parameters(), lr=config.lr), train, config, rng, progress,
             "weight sharing")
    materialize(model)
    state = model.state_dict()
    stored = {key: info[key] for key in STORED_CONFIG if key in info}
    fixed_data, fixed = encode_vgz(state, stored, bits, use_huffman=False, half=config.half)
    coded_data, coded = encode_vgz(state, stored, bits, use_huffman=True, half=config.half)
    data = coded_data if config.huffman else fixed_data
    decoded, _ = decode_vgz(data, VGZ_NAME)
    model.load_state_dict(decoded)
    after = _accuracy(model, test)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out / VGZ_NAME, data)
    densities = {name: float(np.count_nonzero(state[name]) / state[name].size) for name in bits}
    parameters = sum(math.prod(np.shape(value)) for value in state.values()
                     if np.asarray(value).dtype.kind == "f")
    weights = sum(state[name].size for name in bits)
    total = {"weights": weights, "density": sum(densities[n] * state[n].size for n in bits)
             / weights, "rate": 4 * parameters / len(fixed_data),
             "rate_huffman": 4 * parameters / len(coded_data)}
    result = {"config": asdict(config), "accuracy_before": before, "accuracy_pruned": pruned,
              "accuracy_after": after, "rows": layer_rows(fixed, coded, densities),
              "total": total, "file": str(out / VGZ_NAME), "file_bytes": len(data),
              "float32_bytes": 4 * parameters}
    atomic_write_bytes(out / REPORT_NAME, json.dumps(result, indent=1).encode())
    return result
