"""The captioning recipe on composed Fashion-MNIST scenes: train a small convnet to say
which item covers each cell of its 8x8 feature map (what is where, not only what is
there: the captions' relations need the positions), freeze it, train a CaptioningRNN on
its features, measure
BLEU-1..4 on held-out scenes, and (with attention) how much of the attention falls on the
item a word names.

Used by ``visiongrad caption train|sample`` and ``benchmarks/captioning.py``:
``run(Config(epochs=2), out=folder)``.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from .. import functional as F
from .. import nn, optim
from ..autograd import no_grad
from ..data.coco_captions import decode_captions
from ..data.scenes import ITEM_WORDS, MAX_CAPTION_WORDS, SceneSet, compose_scenes
from ..models.captioning import CELL_GATES, CaptioningRNN, SceneEncoder
from ..random import manual_seed
from ..train.bleu import bleu_scores
from ..train.checkpoint import load_checkpoint, load_model_state, save_checkpoint
from ..train.epochs import descend_epoch
from ..train.progress import Progress
from .checks import check_choice, check_integers, check_positive

PIPELINE = "caption-pipeline"


@dataclass
class Config:
    """Everything a captioning run depends on (stored in its checkpoint)."""

    cell: str = "lstm"
    attention: bool = False
    scenes: int = 8000
    val_scenes: int = 500
    test_scenes: int = 1000
    size: int = 64
    dataset: str = "fashion-mnist-mini"
    encoder_epochs: int = 4
    encoder_pos_weight: float = 5.0
    epochs: int = 12
    batch_size: int = 64
    lr: float = 2e-3
    hidden_dim: int = 192
    wordvec_dim: int = 64
    seed: int = 0

    def __post_init__(self):
        check_choice(self, "cell", sorted(CELL_GATES))
        check_integers(self, "size", "encoder_epochs", "epochs", "batch_size", "hidden_dim",
                       "wordvec_dim")
        check_integers(self, "scenes", "val_scenes", "test_scenes", "seed", least=0)
        check_positive(self, "lr", "encoder_pos_weight")

    @classmethod
    def from_dict(cls, values: dict) -> Config:
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in values.items() if key in known})


class CaptionPipeline(nn.Module):
    """Encoder and captioner in one module, so one checkpoint holds both."""

    def __init__(self, config: Config, word_to_idx: dict):
        super().__init__()
        self.config = config
        self.encoder = SceneEncoder(num_classes=len(ITEM_WORDS))
        encoder = self.encoder
        input_dim = encoder.out_channels + encoder.num_classes + 2 if config.attention else \
            encoder.num_classes * (config.size // encoder.stride) ** 2
        self.captioner = CaptioningRNN(word_to_idx, input_dim=input_dim,
                                       wordvec_dim=config.wordvec_dim,
                                       hidden_dim=config.hidden_dim, cell_type=config.cell,
                                       attention=config.attention, dtype=np.float32)

    def features(self, images: np.ndarray, batch_size: int = 250) -> np.ndarray:
        """Frozen encoder features of uint8 images (N, 1, S, S): ``attention_map``
        (attention) or ``features`` (plain, the per-cell class probabilities)."""
        self.encoder.eval()
        out = []
        with no_grad():
            for start in range(0, len(images), batch_size):
                x = images[start:start + batch_size].astype(np.float32) / 255
                f = self.encoder.attention_map(x) if self.config.attention else \
                    self.encoder.features(x)
                out.append(f.data)
        return np.concatenate(out)

    def caption(self, images: np.ndarray, max_length: int = MAX_CAPTION_WORDS + 1):
        """(captions as strings, attention weights or None) for uint8 images."""
        self.captioner.eval()
        out = self.captioner.sample(self.features(images), max_length=max_length)
        indices, weights = out if self.config.attention else (out, None)
        return decode_captions(indices, self.captioner.idx_to_word), weights


def train_encoder(pipeline: CaptionPipeline, scenes: SceneSet, log=print) -> list[float]:
    """Train the encoder to say which items cover each cell of its feature map
    (multi-label per cell, ``SceneSet.coverage``); return the mean loss of each epoch."""
    config, encoder = pipeline.config, pipeline.encoder
    opt = optim.Adam(encoder.parameters(), lr=config.lr)
    # (N, h, w, classes): pos_weight acts on the last axis
    targets = scenes.coverage(config.size // encoder.stride).transpose(0, 2, 3, 1)
    pos_weight = np.full(len(ITEM_WORDS), config.encoder_pos_weight, dtype=np.float32)
    rng, losses = np.random.default_rng(config.seed), []
    progress = Progress(config.encoder_epochs, write=log)
    encoder.train()
    for epoch in range(config.encoder_epochs):
        started = time.perf_counter()
        losses.append(descend_epoch(
            lambda batch: F.binary_cross_entropy_with_logits(
                encoder(scenes.images[batch].astype(np.float32) / 255).transpose(0, 2, 3, 1),
                targets[batch], pos_weight=pos_weight),
            len(scenes), config.batch_size, opt, rng,
            on_batch=progress.during(f"encoder epoch {epoch + 1}/{config.encoder_epochs}")))
        progress.step(f"encoder epoch {epoch + 1}/{config.encoder_epochs}: coverage loss "
                      f"{losses[-1]:.4f} ({time.perf_counter() - started:.0f} s)")
    return losses


def train_captioner(pipeline: CaptionPipeline, features: np.ndarray, scenes: SceneSet,
                    log=print) -> list[float]:
    """Train the captioner on frozen features, each epoch with one of each scene's valid
    captions drawn at random; return the mean loss of each epoch."""
    config, model = pipeline.config, pipeline.captioner
    opt = optim.Adam(model.parameters(), lr=config.lr)
    schedule = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=config.epochs)
    rng, losses = np.random.default_rng(config.seed + 1), []
    progress = Progress(config.epochs, write=log)
    model.train()
    for epoch in range(config.epochs):
        captions = scenes.encoded(which=None, rng=rng)
        started = time.perf_counter()
        losses.append(descend_epoch(
            lambda batch, captions=captions: model.loss(features[batch], captions[batch]),
            len(scenes), config.batch_size, opt, rng, clip_norm=5.0,
            on_batch=progress.during(f"captioner epoch {epoch + 1}/{config.epochs}")))
        schedule.step()
        progress.step(f"captioner epoch {epoch + 1}/{config.epochs}: loss {losses[-1]:.4f} "
                      f"({time.perf_counter() - started:.0f} s)")
    return losses


def attention_on_items(weights: np.ndarray, captions: list[str], scenes: SceneSet) -> dict:
    """How much attention falls inside the box of the item a word names, when the word is
    emitted: the mean over every emitted item word whose item is in the scene, against
    the share a uniform attention would give (the boxes' share of the canvas); also at
    the step before (the one that emits the "a" or "," before the word: a captioner may
    look at an item one step ahead and carry what it saw in its state)."""
    shares, before, uniform, absent = [], [], [], 0
    size = scenes.images.shape[-1]
    for n, caption in enumerate(captions):
        cell = size // weights.shape[-1]
        pixels = np.kron(weights[n], np.ones((cell, cell))) / (cell * cell)
        for t, word in enumerate(caption.split()):
            if word not in ITEM_WORDS:
                continue
            inside = np.zeros((size, size), dtype=bool)
            for (x0, y0, x1, y1), label in zip(scenes.boxes[n], scenes.labels[n], strict=True):
                if ITEM_WORDS[label] == word:
                    inside[y0:y1, x0:x1] = True
            if not inside.any():
                absent += 1
                continue
            shares.append(float(pixels[t][inside].sum()))
            before.append(float(pixels[t - 1][inside].sum()) if t else float("nan"))
            uniform.append(float(inside.mean()))
    return {"share_inside_box": float(np.mean(shares)) if shares else float("nan"),
            "share_inside_box_step_before": float(np.nanmean(before)) if shares else
            float("nan"),
            "uniform_share": float(np.mean(uniform)) if uniform else float("nan"),
            "item_words": len(shares), "words_naming_absent_items": absent}


def layout_match(captions: list[str], references: list[list[str]]) -> float:
    """The share of captions that equal one of their references once every item word is
    replaced by the same placeholder: the layout told right (count, relation, order),
    whatever the items' classes."""
    def layout(text: str) -> str:
        return " ".join("<item>" if word in ITEM_WORDS else word for word in text.split())

    return float(np.mean([layout(c) in {layout(r) for r in refs}
                          for c, refs in zip(captions, references, strict=True)]))


def evaluate(pipeline: CaptionPipeline, scenes: SceneSet) -> dict:
    """BLEU-1..4 of greedy captions against every valid caption of each scene (and the
    attention measure with attention), with a few examples."""
    captions, weights = pipeline.caption(scenes.images)
    references = [[" ".join(ref) for ref in refs] for refs in scenes.captions]
    result = bleu_scores(captions, references)
    result["exact_match"] = float(np.mean([c in refs for c, refs in zip(captions, references,
                                                                          strict=True)]))
    result["layout_match"] = layout_match(captions, references)
    if weights is not None:
        result["attention"] = attention_on_items(weights, captions, scenes)
    result["examples"] = [{"caption": c, "reference": refs[0]}
                          for c, refs in zip(captions[:8], references[:8], strict=True)]
    return result


def make_scenes(config: Config) -> dict[str, SceneSet]:
    """The run's train, val and test scenes (fixed by the config's seed)."""
    counts = {"train": config.scenes, "val": config.val_scenes, "test": config.test_scenes}
    return {split: compose_scenes(count, split, seed=config.seed, size=config.size,
                                  dataset=config.dataset) for split, count in counts.items()}


def run(config: Config, out: Path | None = None, log=print, command: str = "",
        encoder: SceneEncoder | None = None) -> dict:
    """Train the encoder and the captioner, evaluate on val and test and return the
    metrics; with ``out`` (a folder), save the checkpoint (``out/checkpoint.safetensors``)
    and ``out/metrics.json`` there.

    ``encoder``: an encoder already trained on this config's scenes (by an earlier run with
    the same scenes, size and seed) to reuse as it is, instead of training one (its
    losses are then not in the metrics)."""
    manual_seed(config.seed)
    started = time.perf_counter()
    scenes = make_scenes(config)
    pipeline = CaptionPipeline(config, scenes["train"].word_to_idx)
    if encoder is None:
        encoder_losses = train_encoder(pipeline, scenes["train"], log)
    else:
        pipeline.encoder.load_state_dict(encoder.state_dict())
        encoder_losses = []
    features = pipeline.features(scenes["train"].images)
    caption_losses = train_captioner(pipeline, features, scenes["train"], log)
    metrics = {"config": asdict(config), "command": command,
               "encoder_loss": encoder_losses, "caption_loss": caption_losses,
               "val": evaluate(pipeline, scenes["val"]), "test": evaluate(pipeline, scenes["test"]),
               "seconds": round(time.perf_counter() - started, 1)}
    if out is not None:
        save_pipeline(pipeline, out / "checkpoint.safetensors", command)
        (out / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n",
                                          encoding="utf-8")
    return metrics


def save_pipeline(pipeline: CaptionPipeline, path: Path, command: str = "") -> str:
    """A checkpoint with both networks, the config and the vocabulary."""
    return save_checkpoint(path, pipeline, config={
        "pipeline": PIPELINE, "caption": asdict(pipeline.config),
        "word_to_idx": pipeline.captioner.word_to_idx, "command": command})


def load_pipeline(path) -> CaptionPipeline:
    """The pipeline saved by :func:`save_pipeline` (ValueError for another checkpoint)."""
    contents = load_checkpoint(path)
    config = contents.get("config") or {}
    if not isinstance(config, dict) or config.get("pipeline") != PIPELINE:
        raise ValueError(f"{path} is not a captioning checkpoint (visiongrad caption train "
                         f"writes those)")
    pipeline = CaptionPipeline(Config.from_dict(config["caption"]), config["word_to_idx"])
    load_model_state(pipeline, contents["model"], source=str(path))
    return pipeline


def draw_attention(images: np.ndarray, captions: list[str], weights: np.ndarray, path,
                   columns: int = 6) -> str:
    """A PNG with one row per image: the image, then the attention over it (upsampled,
    red) at each emitted word, titled with the word."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(1.6 * (columns + 1), 1.8 * len(images)))
    FigureCanvasAgg(figure)
    size = images.shape[-1]
    for row, (image, caption) in enumerate(zip(images, captions, strict=True)):
        words = caption.split()[:columns]
        axes = figure.add_subplot(len(images), columns + 1, row * (columns + 1) + 1)
        axes.imshow(image[0], cmap="gray", vmin=0, vmax=255)
        axes.set_title("image", fontsize=8)
        axes.axis("off")
        for t, word in enumerate(words):
            axes = figure.add_subplot(len(images), columns + 1, row * (columns + 1) + t + 2)
            cell = size // weights.shape[-1]
            heat = np.kron(weights[row, t], np.ones((cell, cell)))
            axes.imshow(image[0], cmap="gray", vmin=0, vmax=255)
            axes.imshow(heat, cmap="Reds", alpha=0.55, vmin=0, vmax=heat.max() or 1)
            axes.set_title(word, fontsize=9)
            axes.axis("off")
    figure.suptitle("attention at each emitted word (first words of each caption)", fontsize=9)
    figure.tight_layout()
    figure.savefig(str(path), dpi=80)
    return str(path)
