"""The generative recipe: building and training the generative models by name, as the
command and benchmarks do.

``run(Config(model="vae"), images, test_images, out=folder)`` is ``visiongrad generate
train``: train, score, save the checkpoint, the metrics and the pictures. Its parts:
``build(name, **options)`` makes a model; ``train(model, images, ...)`` runs its recipe on
8-bit images (N, 1, H, W); ``evaluate`` scores held-out images; ``sample_images`` draws (or,
for an autoencoder, reconstructs) images in [0, 1]; ``train_feature_classifier`` trains
the classifier whose features the GAN metrics use.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import functional as F
from .. import optim
from ..autograd import no_grad
from ..generative.autoencoder import Autoencoder
from ..generative.autoregressive import AutoregressiveModel, PixelCNN, PixelRNN
from ..generative.dcgan import GAN
from ..generative.metrics import FeatureClassifier
from ..generative.vae import VAE, prepare
from ..random import as_generator
from ..train.epochs import descend_epoch
from ..train.progress import Progress
from .checks import check_choice, check_integers, check_positive

MODELS = ("vae", "dcgan", "lsgan", "pixelcnn", "pixelrnn", "ae")
#: Each model's default learning rate (GANs: Adam with beta1 = 0.5, as DCGAN's paper).
LEARNING_RATES = {"vae": 1e-3, "dcgan": 2e-4, "lsgan": 2e-4, "pixelcnn": 1e-3,
                  "pixelrnn": 1e-3, "ae": 1e-3}


@dataclass
class Config:
    """A generative run: the model and its constructor's ``options``, the training and what
    is scored and drawn after it (``lr`` None: the model's own, :data:`LEARNING_RATES`;
    ``train_images`` None: every training image)."""

    model: str = "vae"
    options: dict = field(default_factory=dict)
    epochs: int = 1
    batch_size: int = 64
    lr: float | None = None
    train_images: int | None = None
    test_images: int = 1000
    samples: int = 36
    seed: int = 0

    def __post_init__(self):
        check_choice(self, "model", MODELS)
        if not isinstance(self.options, dict):
            raise ValueError(f"options must be a dict of constructor options, got "
                             f"{self.options!r}")
        check_integers(self, "epochs", "batch_size", "test_images", "samples")
        check_integers(self, "seed", least=0)
        if self.train_images is not None:
            check_integers(self, "train_images")
        if self.lr is not None:
            check_positive(self, "lr")


def run(config: Config, images: np.ndarray, test_images: np.ndarray, out: Path | None = None,
        model=None, checkpoint_config: dict | None = None, log=print) -> dict:
    """Train ``config.model`` (or the given ``model``, built from ``config``) on 8-bit
    ``images`` (N, 1, 28, 28) (a random ``config.train_images`` of them when set), score
    it on the first ``config.test_images`` of ``test_images`` and draw
    ``config.samples`` images. With ``out`` (a folder), write there
    ``checkpoint.safetensors`` (with ``checkpoint_config`` added to its config) and the
    pictures (:func:`save_pictures`). Returns ``{"model", "history", "scores" (held-out),
    "test_images" (how many), "samples", "checkpoint", "pictures"}``."""
    from ..train.checkpoint import save_checkpoint

    if model is None:
        model = build(config.model, rng=config.seed, **config.options)
    rng = np.random.default_rng(config.seed)
    if config.train_images is not None:
        images = images[rng.permutation(len(images))[:config.train_images]]
    history = train(model, images, config.epochs, config.batch_size, config.lr, rng, log)
    test_images = test_images[:config.test_images]
    scores = evaluate(model, test_images, rng=config.seed)
    samples = sample_images(model, config.samples, rng=config.seed, images=test_images)
    result = {"model": model, "history": history, "scores": scores,
              "test_images": len(test_images), "samples": samples, "checkpoint": None,
              "pictures": []}
    if out is not None:
        stored = {"generative_model": config.model, "options": config.options,
                  **(checkpoint_config or {})}
        result["checkpoint"] = save_checkpoint(out / "checkpoint.safetensors", model,
                                               config=stored, history={"epochs": history})
        result["pictures"] = save_pictures(model, config, samples, test_images, out)
    return result


def save_pictures(model, config: Config, samples: np.ndarray, test_images: np.ndarray,
                  out: Path) -> list[str]:
    """``samples.png``, and per model ``latent_walk.png`` and ``latent_manifold.png`` (VAE)
    or ``denoising.png`` / ``reconstructions.png`` (autoencoders); their paths."""
    from ..generative import images as pictures
    from ..imaging import save_grid

    written = [save_grid(samples, out / "samples.png")]
    if config.model == "vae":
        written.append(save_grid(
            pictures.latent_walks(model, test_images, rng=config.seed),
            out / "latent_walk.png", columns=10))
        written.append(save_grid(pictures.latent_manifold(model),
                                          out / "latent_manifold.png", columns=15, scale=1))
    if config.model == "ae":
        name = "denoising.png" if model.kind == "denoising" else "reconstructions.png"
        rows = pictures.denoising_rows(model, test_images, rng=config.seed) if (
            model.kind == "denoising") else np.concatenate([test_images[:10] / 255.0,
                                                            samples[:10]])
        written.append(save_grid(rows, out / name, columns=10))
    return written


def build(name: str, rng=0, **options):
    """The model called ``name`` (one of :data:`MODELS`), with its constructor's options."""
    if name == "vae":
        return VAE(**options)
    if name in ("dcgan", "lsgan"):
        return GAN("gan" if name == "dcgan" else "lsgan", rng=rng, **options)
    if name == "pixelcnn":
        return PixelCNN(**options)
    if name == "pixelrnn":
        return PixelRNN(**options)
    if name == "ae":
        return Autoencoder(**options)
    raise ValueError(f"unknown generative model {name!r} (choose from {', '.join(MODELS)})")


def _batches(n: int, batch_size: int, rng) -> list[np.ndarray]:
    order = rng.permutation(n)
    return [order[i:i + batch_size] for i in range(0, n - batch_size + 1, batch_size)] or [order]


def train(model, images: np.ndarray, epochs: int = 1, batch_size: int = 64,
          lr: float | None = None, rng=0, log: Callable[[str], None] = print) -> list[dict]:
    """Train ``model`` on 8-bit images (N, 1, H, W); return one dict of mean losses per epoch."""
    rng = as_generator(rng)
    name = model_name(model)
    lr = LEARNING_RATES[name] if lr is None else lr
    if isinstance(model, GAN):
        opts = (optim.Adam(model.discriminator.parameters(), lr=lr, betas=(0.5, 0.999)),
                optim.Adam(model.generator.parameters(), lr=lr, betas=(0.5, 0.999)))
    else:
        opts = (optim.Adam(model.parameters(), lr=lr),)
    history, progress = [], Progress(epochs, write=log)
    for epoch in range(epochs):
        model.train()
        start, sums, count = time.perf_counter(), {}, 0
        batches, report = _batches(len(images), batch_size, rng), progress.during(
            f"epoch {epoch + 1}/{epochs}")
        for batch in batches:
            terms = step(model, images[batch], opts, rng)
            for key, value in terms.items():
                sums[key] = sums.get(key, 0.0) + value
            count += 1
            report(count, len(batches))
        means = {key: value / count for key, value in sums.items()}
        means["seconds"] = time.perf_counter() - start
        history.append(means)
        progress.step(f"epoch {epoch + 1}/{epochs}: "
                      + ", ".join(f"{k} {v:.4g}" for k, v in means.items()))
    return history


def step(model, batch_uint8: np.ndarray, opts, rng) -> dict[str, float]:
    """One optimisation step on a batch of 8-bit images; the losses as floats."""
    if isinstance(model, GAN):
        d_opt, g_opt = opts
        real = batch_uint8.astype(np.float32) * (2.0 / 255.0) - 1.0
        fake = model.generator(model.noise(len(real), rng))
        d_opt.zero_grad()
        d_loss = model.discriminator_step_loss(real, fake)
        d_loss.backward()
        d_opt.step()
        g_opt.zero_grad()
        g_loss = model.generator_step_loss(fake)
        g_loss.backward()
        g_opt.step()
        model.update_average()
        return {"d_loss": d_loss.item(), "g_loss": g_loss.item()}
    (opt,) = opts
    opt.zero_grad()
    if isinstance(model, AutoregressiveModel):
        loss = model.nll(batch_uint8)
        terms = {"nll": loss.item()}
    elif isinstance(model, VAE):
        loss, terms = model.loss(prepare(batch_uint8, model.decoder_kind, rng), rng)
    else:
        loss, terms = model.loss(batch_uint8.astype(np.float32) / 255.0, rng)
    loss.backward()
    opt.step()
    return terms


def model_name(model) -> str:
    """The name :func:`build` knows ``model`` by."""
    if isinstance(model, GAN):
        return "dcgan" if model.loss_kind == "gan" else "lsgan"
    for name, kind in (("vae", VAE), ("pixelcnn", PixelCNN), ("pixelrnn", PixelRNN),
                       ("ae", Autoencoder)):
        if isinstance(model, kind):
            return name
    raise TypeError(f"not a generative model: {type(model).__name__}")


def evaluate(model, images: np.ndarray, rng=0, batch_size: int = 100) -> dict[str, float]:
    """Held-out scores: bits/dim for PixelCNN/PixelRNN (exact) and the VAE (the bound, one
    z per image; on binarised images for the Bernoulli decoder), the autoencoder's losses;
    nothing for GANs (their quality is :func:`metrics.gan_quality`)."""
    model.eval()
    if isinstance(model, AutoregressiveModel):
        return {"test_bits_per_dim": model.bits_per_dim(images, batch_size)}
    if isinstance(model, GAN):
        return {}
    rng, sums = as_generator(rng), {}
    with no_grad():
        for start in range(0, len(images), batch_size):
            batch = images[start:start + batch_size]
            if isinstance(model, VAE):
                _, terms = model.loss(prepare(batch, model.decoder_kind, rng), rng)
            else:
                _, terms = model.loss(batch.astype(np.float32) / 255.0, rng)
            for key, value in terms.items():
                sums[key] = sums.get(key, 0.0) + value * len(batch)
    return {f"test_{key}": value / len(images) for key, value in sums.items()}


def sample_images(model, n: int, rng=0, images: np.ndarray | None = None) -> np.ndarray:
    """n images (N, 1, H, W) in [0, 1]: samples of the generative models; for an
    autoencoder, reconstructions of the first n of ``images`` (it has no prior to sample)."""
    model.eval()
    if isinstance(model, Autoencoder):
        if images is None:
            raise ValueError("an autoencoder reconstructs images: pass images")
        with no_grad():
            return model(images[:n].astype(np.float32) / 255.0).data
    if isinstance(model, AutoregressiveModel):
        return model.sample(n, rng).astype(np.float32) / 255.0
    return model.sample(n, rng)


def train_feature_classifier(images_uint8: np.ndarray, labels: np.ndarray, epochs: int = 2,
                             batch_size: int = 128, lr: float = 1e-3, rng=0,
                             log=print) -> FeatureClassifier:
    """Train :class:`FeatureClassifier` with Adam on 8-bit images (N, 1, 28, 28)."""
    rng = as_generator(rng)
    model = FeatureClassifier()
    opt = optim.Adam(model.parameters(), lr=lr)
    x, progress = images_uint8.astype(np.float32) / 255.0, Progress(epochs, write=log)
    for epoch in range(epochs):
        model.train()
        loss = descend_epoch(lambda batch: F.cross_entropy(model(x[batch]), labels[batch]),
                             len(x), batch_size, opt, rng)
        progress.step(f"feature classifier epoch {epoch + 1}/{epochs}: loss {loss:.3f}")
    return model
