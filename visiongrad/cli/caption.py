"""``visiongrad caption``: image captioning on composed Fashion-MNIST scenes.

``caption train`` trains the scene encoder and a CaptioningRNN (``--cell``, ``--attention``)
and writes ``OUT/checkpoint.safetensors`` (both networks, the config and the vocabulary),
``OUT/metrics.json`` (BLEU-1..4 on the val and test scenes), ``OUT/curves.png`` and
``OUT/report.html``. ``caption sample`` captions image files, or the scenes of a split
(``train``, ``val``, ``test``) as that run composed them, beside their reference captions.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ..models.captioning import CELL_GATES
from .errors import CommandError, user_errors
from .options import batch_size, count, epochs, output_path, positive_float, seed
from .output import output_folder

SCENE_SPLITS = ("train", "val", "test")


def register(commands) -> None:
    parser = commands.add_parser("caption", help="image captioning on composed scenes")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION",
                                    parser_class=type(parser))
    train = actions.add_parser("train", help="train an encoder and a captioning RNN")
    train.add_argument("--cell", choices=sorted(CELL_GATES), default="lstm")
    train.add_argument("--attention", action="store_true",
                       help="soft attention over the encoder's feature map")
    train.add_argument("--scenes", type=count, default=5000, help="training scenes")
    train.add_argument("--val-scenes", type=count, default=500)
    train.add_argument("--test-scenes", type=count, default=1000)
    train.add_argument("--encoder-epochs", type=epochs, default=3)
    train.add_argument("--epochs", type=epochs, default=10)
    train.add_argument("--batch-size", type=batch_size, default=100)
    train.add_argument("--lr", type=positive_float, default=2e-3)
    train.add_argument("--hidden", type=count, default=128, help="hidden_dim H")
    train.add_argument("--wordvec", type=count, default=64, help="wordvec_dim W")
    train.add_argument("--dataset", default="fashion-mnist-mini",
                       help="source of the items (fashion-mnist-mini or fashion-mnist)")
    train.add_argument("--seed", type=seed, default=0)
    train.add_argument("--out", type=output_path, default="visiongrad-caption")
    train.set_defaults(run=run_train)
    sample = actions.add_parser("sample", help="caption images or a split's scenes")
    sample.add_argument("checkpoint")
    sample.add_argument("inputs", nargs="+", metavar="IMAGE_OR_SPLIT")
    sample.add_argument("--limit", type=count, default=10,
                        help="scenes of a split to caption")
    sample.add_argument("--attention-png", default=None, metavar="PNG",
                        help="draw the attention maps (attention checkpoints)")
    sample.set_defaults(run=run_sample)


def run_train(args: argparse.Namespace) -> None:
    from dataclasses import asdict

    from ..recipes.caption import Config, run
    from ..train.run_report import CURVES_NAME, write_run_record

    if not args.lr > 0:
        raise CommandError(f"--lr must be positive, got {args.lr}")
    if args.seed < 0:
        raise CommandError(f"--seed must be >= 0, got {args.seed}")
    config = Config(cell=args.cell, attention=args.attention, scenes=args.scenes,
                           val_scenes=args.val_scenes, test_scenes=args.test_scenes,
                           dataset=args.dataset, encoder_epochs=args.encoder_epochs,
                           epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                           hidden_dim=args.hidden, wordvec_dim=args.wordvec, seed=args.seed)
    out = output_folder(args.out, fresh=True)
    with user_errors(FileNotFoundError, ValueError):
        metrics = run(config, out, command=getattr(args, "command_line", ""))
    for split in ("val", "test"):
        scores = "  ".join(f"BLEU-{n} {metrics[split][f'bleu{n}']:.1f}" for n in range(1, 5))
        print(f"{split}: {scores}")
    if config.attention:
        share = metrics["test"]["attention"]
        print(f"attention inside the named item's box: {share['share_inside_box']:.3f} "
              f"(uniform: {share['uniform_share']:.3f})")
    print(f"checkpoint: {out / 'checkpoint.safetensors'}")
    report = write_run_record(
        out, title=f"captioning ({config.cell}{', attention' if config.attention else ''})",
        curves={"encoder coverage loss": metrics["encoder_loss"],
                "captioner loss": metrics["caption_loss"]},
        summary={f"{split} {name}": metrics[split][key] for split in ("val", "test")
                 for key, name in (("bleu1", "BLEU-1"), ("bleu4", "BLEU-4"),
                                   ("exact_match", "exact match"))},
        config=asdict(config), commands=[getattr(args, "command_line", "")])
    print(f"curves: {out / CURVES_NAME}\nreport: {report}")


def _images(pipeline, inputs: list[str], limit: int):
    """(images, references or None) for a split name or image files."""
    from dataclasses import replace

    from ..data import read_image
    from ..recipes.caption import make_scenes

    config = pipeline.config
    if len(inputs) == 1 and inputs[0] in SCENE_SPLITS:
        counts = {split: limit if split == inputs[0] else 0 for split in SCENE_SPLITS}
        scenes = make_scenes(replace(config, scenes=counts["train"], val_scenes=counts["val"],
                                     test_scenes=counts["test"]))[inputs[0]]
        return scenes.images, [" ".join(refs[0]) for refs in scenes.captions]
    images = []
    for name in inputs:
        if not Path(name).is_file():
            raise CommandError(f"{name} is neither an image file nor a split "
                               f"({', '.join(SCENE_SPLITS)})")
        with user_errors(ValueError, OSError, context=f"{name}: "):
            image = read_image(name, mode="L")
        if image.shape[1:] != (config.size, config.size):
            raise CommandError(f"{name}: the model captions {config.size}x{config.size} "
                               f"images, got {image.shape[2]}x{image.shape[1]}")
        images.append(image)
    return np.stack(images), None


def run_sample(args: argparse.Namespace) -> None:
    from ..recipes.caption import draw_attention, load_pipeline

    with user_errors(FileNotFoundError, ValueError, context="cannot load the checkpoint: "):
        pipeline = load_pipeline(args.checkpoint)
    images, references = _images(pipeline, args.inputs, args.limit)
    captions, weights = pipeline.caption(images)
    names = args.inputs if references is None else \
        [f"{args.inputs[0]}[{n}]" for n in range(len(images))]
    for n, (name, caption) in enumerate(zip(names, captions, strict=True)):
        reference = "" if references is None else f"   (reference: {references[n]})"
        print(f"{name}: {caption}{reference}")
    if args.attention_png:
        if weights is None:
            raise CommandError("--attention-png needs a checkpoint trained with --attention")
        out = Path(args.attention_png)
        if not out.parent.is_dir():
            raise CommandError(f"cannot write {out}: folder {out.parent} not found")
        print(f"attention maps: {draw_attention(images, captions, weights, out)}")
