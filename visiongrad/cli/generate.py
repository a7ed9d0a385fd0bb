"""``visiongrad generate``: train a generative model, or draw samples from its checkpoint.

    visiongrad generate train --model vae|dcgan|lsgan|pixelcnn|pixelrnn|ae [...] --out RUN_DIR
    visiongrad generate sample RUN_DIR/checkpoint.safetensors -n 64 --out grid.png

``train`` writes into RUN_DIR: ``checkpoint.safetensors``, ``metrics.json`` (losses per
epoch and held-out scores: bits per dimension for PixelCNN, PixelRNN and the VAE's bound),
``samples.png``, and per model ``latent_walk.png`` and ``latent_manifold.png`` (VAE) or
``denoising.png`` (denoising autoencoder: clean, corrupted, restored rows; other
autoencoders: ``reconstructions.png``), ``curves.png`` (the losses per epoch) and
``report.html``.
"""

from __future__ import annotations

import argparse
import os

from .errors import CommandError, check_choice, user_errors
from .network import load_split
from .options import (
    add_data_options,
    batch_size,
    count,
    epochs,
    int_between,
    output_path,
    positive_float,
    seed,
)
from .output import output_folder, write_json

#: Which constructor option each command-line option sets, for the models it applies to.
MODEL_OPTIONS = {
    "latent_dim": ("latent_dim", {"vae", "dcgan", "lsgan"}),
    "decoder": ("decoder", {"vae"}),
    "kind": ("kind", {"ae"}),
    "code_dim": ("code_dim", {"ae"}),
    "channels": ("channels", {"pixelcnn", "pixelrnn"}),
    "blocks": ("blocks", {"pixelcnn"}),
    "layers": ("layers", {"pixelrnn"}),
    "width": ("width", {"dcgan", "lsgan"}),
}


def register(commands) -> None:
    parser = commands.add_parser("generate", help="generative models: train, sample")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    train = actions.add_parser("train", help="train a generative model on 8-bit grey images")
    train.add_argument("--model", required=True,
                       help="vae, dcgan, lsgan, pixelcnn, pixelrnn or ae")
    add_data_options(train)
    train.add_argument("--epochs", type=epochs, default=1)
    train.add_argument("--batch-size", type=batch_size, default=64)
    train.add_argument("--lr", type=positive_float, default=None,
                       help="learning rate (default: the model's own)")
    train.add_argument("--train-images", type=count, default=None,
                       help="train on this many images of the training split (default: all)")
    train.add_argument("--test-images", type=count, default=1000,
                       help="held-out images scored after training")
    train.add_argument("--samples", type=int_between(1, 10_000), default=36,
                       help="images in samples.png")
    train.add_argument("--seed", type=seed, default=0)
    train.add_argument("--latent-dim", type=count, default=None)
    train.add_argument("--decoder", default=None, help="VAE decoder: bernoulli, gaussian, logistic")
    train.add_argument("--kind", default=None, help="autoencoder: undercomplete, sparse_l1, "
                                                    "sparse_kl, denoising, contractive")
    train.add_argument("--code-dim", type=count, default=None)
    train.add_argument("--channels", type=count, default=None)
    train.add_argument("--blocks", type=int_between(1, 100), default=None)
    train.add_argument("--layers", type=int_between(1, 100), default=None)
    train.add_argument("--width", type=count, default=None)
    train.add_argument("--out", type=output_path, default="visiongrad-generate", help="run folder")
    train.set_defaults(run=run_train)

    sample = actions.add_parser("sample", help="a grid of samples from a checkpoint")
    sample.add_argument("checkpoint")
    sample.add_argument("-n", type=int_between(1, 10_000), default=64, help="number of images")
    sample.add_argument("--seed", type=seed, default=0)
    sample.add_argument("--data-dir", default=None,
                        help="where the autoencoder's dataset is (it reconstructs test images)")
    sample.add_argument("--out", type=output_path, default="samples.png", help="PNG file to write")
    sample.set_defaults(run=run_sample)


def _model_options(args: argparse.Namespace) -> dict:
    options = {}
    for flag, (name, models) in MODEL_OPTIONS.items():
        value = getattr(args, flag)
        if value is None:
            continue
        if args.model not in models:
            raise CommandError(f"--{flag.replace('_', '-')} does not apply to --model "
                               f"{args.model} (only to {', '.join(sorted(models))})")
        options[name] = value
    return options


def run_train(args: argparse.Namespace) -> None:
    """``visiongrad generate train``."""
    from dataclasses import asdict
    from pathlib import Path

    from visiongrad.recipes import generate
    from visiongrad.train.run_report import CURVES_NAME, by_metric, write_run_record

    check_choice("generative model", args.model, generate.MODELS)
    options = _model_options(args)
    train_set = load_split(args.dataset, "train", args.data_dir)
    test_set = load_split(args.dataset, "test", args.data_dir)
    if train_set.images.shape[1:] != (1, 28, 28):
        raise CommandError(f"generative models take 1 x 28 x 28 grey images; {args.dataset} "
                           f"has {' x '.join(map(str, train_set.images.shape[1:]))}")
    config = generate.Config(model=args.model, options=options, epochs=args.epochs,
                             batch_size=args.batch_size, lr=args.lr,
                             train_images=args.train_images, test_images=args.test_images,
                             samples=args.samples, seed=args.seed)
    with user_errors(ValueError, context=f"--model {args.model}: "):
        model = generate.build(args.model, rng=args.seed, **options)
    folder = output_folder(args.out, fresh=True)
    result = generate.run(config, train_set.images, test_set.images, out=folder, model=model,
                          checkpoint_config={"dataset": args.dataset,
                                             "command": args.command_line})
    for name, value in result["scores"].items():
        print(f"{name}: {value:.4f}")
    print(f"checkpoint: {result['checkpoint']}")
    write_json(folder / "metrics.json", {"history": result["history"],
                                          "test_images": result["test_images"],
                                          **result["scores"]})
    print("images: " + ", ".join(map(str, result["pictures"])))
    report = write_run_record(
        folder, title=f"{args.model} on {args.dataset}", curves=by_metric(result["history"]),
        summary={"test images": result["test_images"], **result["scores"]},
        config={**asdict(config), "dataset": args.dataset},
        commands=[getattr(args, "command_line", "")],
        figures=[(Path(picture).stem.replace("_", " "), Path(picture).name)
                 for picture in result["pictures"]])
    print(f"curves: {folder / CURVES_NAME}\nreport: {report}")


def run_sample(args: argparse.Namespace) -> None:
    """``visiongrad generate sample``."""
    from visiongrad.imaging import save_grid
    from visiongrad.recipes import generate as training
    from visiongrad.train.checkpoint import CheckpointError, load_checkpoint, load_model_state

    if not args.out.lower().endswith(".png"):
        raise CommandError(f"--out must name a .png file, got {args.out!r}")
    with user_errors(FileNotFoundError, CheckpointError):
        contents = load_checkpoint(args.checkpoint)
    config = contents.get("config") or {}
    if not isinstance(config, dict) or config.get("generative_model") not in training.MODELS:
        raise CommandError(f"{args.checkpoint} is not a generative model's checkpoint "
                           "(written by visiongrad generate train)")
    with user_errors(ValueError, TypeError, context=f"{args.checkpoint}: "):
        model = training.build(config["generative_model"], **dict(config.get("options") or {}))
        load_model_state(model, contents["model"])
    images = None
    if config["generative_model"] == "ae":
        images = load_split(config.get("dataset", "fashion-mnist-mini"), "test",
                            args.data_dir).images
    samples = training.sample_images(model, args.n, rng=args.seed, images=images)
    folder = os.path.dirname(args.out)
    if folder and not os.path.isdir(folder):
        raise CommandError(f"folder of --out not found: {folder}")
    print(f"{len(samples)} images: {save_grid(samples, args.out)}")
