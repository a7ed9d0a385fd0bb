"""Generative models: quality runs on Fashion-MNIST, and training-step speed against PyTorch.

    python -m benchmarks.generative quality [--models vae,ae,dcgan,pixelcnn,pixelrnn,lsgan]
    python -m benchmarks.generative speed [--turns 10]

``quality`` trains each model on a recipe small enough for a shared 2-core machine (a
subset, a few epochs; the recipe is in :data:`RECIPES` and in each result), then scores it
on the full 10,000-image test set: bits per dimension for PixelCNN and PixelRNN (exact) and
the VAE (its bound, discretised-logistic decoder on the 8-bit pixels); for the GANs, the
Fréchet distance and confidence score on an in-project Fashion-MNIST classifier (NOT
Inception; see ``visiongrad.generative.metrics``) with real test images against real
training images as the floor, and the share of each predicted class among 1,000 samples.
It writes ``benchmarks/results/generative_<model>.json`` and a sample grid
``docs/images/generative_<model>.png`` (plus the VAE's walks and manifold, and the denoising
autoencoder's before/after rows).

``speed`` times a DCGAN training step (D step and G step, batch 64) and a PixelCNN step
(batch 32) in visiongrad and in PyTorch, same process, taking turns, medians. In both, the
G step's pass through D computes no gradient for D's weights (``GAN.generator_step_loss``;
``requires_grad_(False)`` while PyTorch records D's forward pass).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np  # before visiongrad and torch, as in every benchmark here

from .saving import add_write_option, save_json

RESULTS = Path(__file__).parent / "results"
IMAGES = Path(__file__).parent.parent / "docs" / "images"
RECIPES = {
    "pixelcnn": dict(options=dict(channels=32, blocks=4), train=20000, epochs=3, batch_size=32),
    "dcgan": dict(options={}, train=60000, epochs=4, batch_size=64),
    "vae": dict(options=dict(decoder="logistic", latent_dim=16), train=20000, epochs=3,
                batch_size=128),
    "ae": dict(options=dict(kind="denoising", code_dim=64), train=20000, epochs=2,
               batch_size=128),
    "pixelrnn": dict(options=dict(channels=16, layers=1), train=3000, epochs=1, batch_size=32,
                     test=2000),
    "lsgan": dict(options={}, train=5000, epochs=1, batch_size=64),
}
#: Images the feature classifier of the GAN metrics trains on (2 epochs).
CLASSIFIER_TRAIN = 20000
GRID = 36


def _load():
    from visiongrad.data import load_dataset

    return load_dataset("fashion-mnist"), load_dataset("fashion-mnist", split="test")


def _log(message: str) -> None:
    print(message, flush=True)


def quality(name: str, train_set, test_set, classifier_cache: dict,
            checkpoints: str | None = None, write: bool = False) -> dict:
    from visiongrad import imaging
    from visiongrad.generative import images as pictures
    from visiongrad.generative.metrics import gan_quality
    from visiongrad.recipes import generate as training
    from visiongrad.recipes.generate import train_feature_classifier

    recipe = RECIPES[name]
    rng = np.random.default_rng(0)
    subset = train_set.images[rng.permutation(len(train_set.images))[:recipe["train"]]]
    load_before, start = os.getloadavg()[0], time.perf_counter()
    model = training.build(name, **recipe["options"])
    history = training.train(model, subset, recipe["epochs"], recipe["batch_size"], rng=rng,
                             log=_log)
    train_seconds = time.perf_counter() - start
    result = {"model": name, "recipe": recipe, "history": history,
              "train_seconds": train_seconds,
              "command": f"python -m benchmarks.generative quality --models {name}"}
    test_images = test_set.images[:recipe.get("test", len(test_set.images))]
    result["test_images"] = len(test_images)
    result.update(training.evaluate(model, test_images, rng=1))
    if write:  # the documentation's figures
        grid = training.sample_images(model, GRID, rng=2, images=test_set.images)
        imaging.save_grid(grid, IMAGES / f"generative_{name}.png", columns=6)
        if name == "vae":
            imaging.save_grid(pictures.latent_walks(model, test_set.images, 6, 10),
                              IMAGES / "generative_vae_walk.png", columns=10)
            imaging.save_grid(pictures.latent_manifold(model, 12),
                              IMAGES / "generative_vae_manifold.png", columns=12, scale=1)
        if name == "ae":
            imaging.save_grid(pictures.denoising_rows(model, test_set.images, 10),
                              IMAGES / "generative_ae_denoising.png", columns=10)
    if name in ("dcgan", "lsgan"):
        if "model" not in classifier_cache:
            classifier_cache["model"] = train_feature_classifier(
                train_set.images[:CLASSIFIER_TRAIN], train_set.labels[:CLASSIFIER_TRAIN], epochs=2)
            classifier = classifier_cache["model"]
            _, p = classifier.features_and_probabilities(test_set.images / 255.0)
            classifier_cache["accuracy"] = float((p.argmax(1) == test_set.labels).mean())
        samples = training.sample_images(model, 1000, rng=3)
        reference = train_set.images[:10000] / 255.0
        result.update(gan_quality(classifier_cache["model"], samples, reference,
                                  test_set.images / 255.0))
        result["classifier_test_accuracy"] = classifier_cache["accuracy"]
        result["frechet_ratio_to_floor"] = (result["frechet_distance"]
                                            / result["frechet_floor_test_vs_train"])
    if checkpoints is not None:
        from visiongrad.train.checkpoint import save_checkpoint

        save_checkpoint(Path(checkpoints) / f"generative_{name}.safetensors", model,
                        config={"generative_model": name, "options": recipe["options"],
                                "dataset": "fashion-mnist"})
    result["wall_seconds"] = time.perf_counter() - start
    result["load_average_before_after"] = [load_before, os.getloadavg()[0]]
    save_json(RESULTS / f"generative_{name}.json" if write else None, result, indent=2,
              show=False)
    print(json.dumps({k: v for k, v in result.items() if k != "history"}, indent=1), flush=True)
    return result


# ----- speed: the same steps in both frameworks, taking turns -----------------------------

def _torch_gan(torch, width: int = 64, latent_dim: int = 100):
    nn = torch.nn
    generator = nn.Sequential(
        nn.Linear(latent_dim, 2 * width * 49, bias=False), nn.BatchNorm1d(2 * width * 49),
        nn.ReLU(), nn.Unflatten(1, (2 * width, 7, 7)),
        nn.ConvTranspose2d(2 * width, width, 4, 2, 1, bias=False), nn.BatchNorm2d(width),
        nn.ReLU(), nn.ConvTranspose2d(width, 1, 4, 2, 1), nn.Tanh())
    discriminator = nn.Sequential(
        nn.Conv2d(1, width, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(width, 2 * width, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * width),
        nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(2 * width * 49, 1))
    return generator, discriminator


def _torch_pixelcnn(torch, channels: int = 64, blocks: int = 5):
    from visiongrad.generative.autoregressive import causal_mask

    nn = torch.nn

    class Masked(nn.Conv2d):
        def __init__(self, c_in, c_out, k, kind):
            super().__init__(c_in, c_out, k, padding=k // 2)
            self.register_buffer("mask", torch.tensor(causal_mask((k, k), kind)))

        def forward(self, x):
            return nn.functional.conv2d(x, self.weight * self.mask, self.bias,
                                        padding=self.padding)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.reduce = nn.Conv2d(channels, channels // 2, 1)
            self.masked = Masked(channels // 2, channels // 2, 3, "B")
            self.expand = nn.Conv2d(channels // 2, channels, 1)

        def forward(self, x):
            relu = torch.relu
            return x + self.expand(relu(self.masked(relu(self.reduce(relu(x))))))

    return nn.Sequential(Masked(1, channels, 7, "A"), *(Block() for _ in range(blocks)),
                         nn.ReLU(), nn.Conv2d(channels, channels, 1), nn.ReLU(),
                         nn.Conv2d(channels, 256, 1))


def _copy_parameters(ours, theirs) -> None:
    """Copy PyTorch's parameters into ours, in registration order (the same layers)."""
    pairs = list(zip(ours.parameters(), theirs.parameters(), strict=True))
    for mine, reference in pairs:
        mine.data[...] = reference.detach().numpy().reshape(mine.shape)


def speed(turns: int, block: int, write: bool = False) -> dict:
    import torch

    from visiongrad import optim
    from visiongrad.generative import GAN, PixelCNN
    from visiongrad.recipes.generate import step

    torch.set_num_threads(2)
    rng = np.random.default_rng(0)
    real = rng.integers(0, 256, (64, 1, 28, 28)).astype(np.uint8)
    pixels = rng.integers(0, 256, (32, 1, 28, 28)).astype(np.uint8)

    gan = GAN("gan", rng=0)
    t_gen, t_disc = _torch_gan(torch)
    _copy_parameters(gan.generator, t_gen)
    _copy_parameters(gan.discriminator, t_disc)
    vg_gan_opts = (optim.Adam(gan.discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999)),
                   optim.Adam(gan.generator.parameters(), lr=2e-4, betas=(0.5, 0.999)))
    t_d_opt = torch.optim.Adam(t_disc.parameters(), lr=2e-4, betas=(0.5, 0.999))
    t_g_opt = torch.optim.Adam(t_gen.parameters(), lr=2e-4, betas=(0.5, 0.999))
    t_real = torch.tensor(real.astype(np.float32) * (2 / 255) - 1)
    bce = torch.nn.functional.binary_cross_entropy_with_logits

    def torch_gan_step():
        fake = t_gen(torch.randn(64, 100))
        t_d_opt.zero_grad()
        real_logits, fake_logits = t_disc(t_real), t_disc(fake.detach())
        d_loss = (bce(real_logits, torch.ones_like(real_logits))
                  + bce(fake_logits, torch.zeros_like(fake_logits)))
        d_loss.backward()
        t_d_opt.step()
        t_g_opt.zero_grad()
        t_disc.requires_grad_(False)  # as visiongrad's G step: no gradient for D's weights
        fake_logits = t_disc(fake)
        t_disc.requires_grad_(True)
        bce(fake_logits, torch.ones_like(fake_logits)).backward()
        t_g_opt.step()

    pixelcnn = PixelCNN()
    t_pixelcnn = _torch_pixelcnn(torch)
    _copy_parameters(pixelcnn, t_pixelcnn)
    vg_pixel_opt = (optim.Adam(pixelcnn.parameters(), lr=1e-3),)
    t_pixel_opt = torch.optim.Adam(t_pixelcnn.parameters(), lr=1e-3)
    t_pixels = torch.tensor(pixels.astype(np.float32) * (2 / 255) - 1)
    t_labels = torch.tensor(pixels.reshape(32, 28, 28).astype(np.int64))

    def torch_pixel_step():
        t_pixel_opt.zero_grad()
        torch.nn.functional.cross_entropy(t_pixelcnn(t_pixels), t_labels).backward()
        t_pixel_opt.step()

    workloads = {
        "dcgan_step_batch64": (lambda: step(gan, real, vg_gan_opts, rng), torch_gan_step),
        "pixelcnn_step_batch32": (lambda: step(pixelcnn, pixels, vg_pixel_opt, rng),
                                  torch_pixel_step),
    }
    results = {}
    for name, (ours, theirs) in workloads.items():
        times = {"visiongrad": [], "pytorch": []}
        for fn in (ours, theirs):  # untimed warm-up
            for _ in range(2):
                fn()
        for _ in range(turns):
            for label, fn in (("visiongrad", ours), ("pytorch", theirs)):
                for _ in range(block):
                    start = time.perf_counter()
                    fn()
                    times[label].append(time.perf_counter() - start)
        medians = {k: 1000 * statistics.median(v) for k, v in times.items()}
        results[name] = {"median_ms": medians, "ratio": medians["visiongrad"] / medians["pytorch"],
                         "steps_each": turns * block, "load_average": os.getloadavg()[0]}
        print(name, json.dumps(results[name]), flush=True)
    save_json(RESULTS / "generative_speed.json" if write else None, results, indent=2,
              show=write)
    return results


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    q = sub.add_parser("quality")
    q.add_argument("--models", default=",".join(RECIPES))
    q.add_argument("--checkpoints", default=None,
                   help="folder to save each trained model in (for generate sample)")
    s = sub.add_parser("speed")
    s.add_argument("--turns", type=int, default=10)
    s.add_argument("--block", type=int, default=3)
    for command in (q, s):
        add_write_option(command, "benchmarks/results/generative_*.json (and, for quality, "
                                  "the docs/images/generative_*.png figures)")
    args = parser.parse_args(argv)
    if args.what == "quality":
        train_set, test_set = _load()
        cache: dict = {}
        for name in args.models.split(","):
            quality(name, train_set, test_set, cache, args.checkpoints, args.write)
    else:
        speed(args.turns, args.block, args.write)


if __name__ == "__main__":
    main()
