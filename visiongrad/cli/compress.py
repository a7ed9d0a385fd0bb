"""``visiongrad compress``: Deep Compression of a trained run into ``OUT/model.vgz``.

Prunes, retrains, clusters, fine-tunes and codes the run's model
(``visiongrad.recipes.compress``), prints the per-layer table in the paper's format and the
test accuracy before and after; ``evaluate`` and ``predict`` take ``OUT/model.vgz``.
"""

from __future__ import annotations

import argparse

from visiongrad.recipes.classify_network import load_run, run_dataset

from .errors import user_errors
from .network import CHECKPOINT_NAME
from .output import format_table, output_folder


def register(commands) -> None:
    parser = commands.add_parser("compress", help="prune, share weights and Huffman-code a "
                                                  "run's model into a .vgz file")
    parser.add_argument("run_or_checkpoint", metavar="RUN",
                        help=f"a run folder (holding {CHECKPOINT_NAME}) or a checkpoint")
    parser.add_argument("--prune", type=float, default=0.9,
                        help="fraction of the Linear/Conv2d weights to remove")
    parser.add_argument("--prune-scope", default="global", choices=("global", "layer"),
                        help="one magnitude threshold over all layers, or per layer")
    parser.add_argument("--prune-steps", type=int, default=3,
                        help="prune -> retrain rounds (geometric schedule)")
    parser.add_argument("--cluster-bits", type=int, default=5,
                        help="bits per shared weight of the fully connected layers")
    parser.add_argument("--conv-cluster-bits", type=int, default=8,
                        help="bits per shared weight of the convolutions")
    parser.add_argument("--huffman", action="store_true",
                        help="Huffman-code the weights and positions (else fixed widths)")
    parser.add_argument("--half", action="store_true",
                        help="store the codebooks and biases in float16")
    parser.add_argument("--retrain-epochs", type=int, default=1,
                        help="epochs after each pruning round and of centroid fine-tuning")
    parser.add_argument("--lr", type=float, default=1e-4, help="Adam's learning rate")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dataset", default=None,
                        help="retraining and test data (default: the run's own dataset)")
    parser.add_argument("--data-dir", default=None,
                        help="folder holding the dataset's files (default: the run's)")
    parser.add_argument("--out", required=True, help="output folder (gets model.vgz)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> None:
    """``visiongrad compress``: write ``OUT/model.vgz``, print the table and accuracies."""
    from visiongrad.compress.report import HEADER, format_rows
    from visiongrad.recipes import compress as recipe

    with user_errors(ValueError, context="compress: "):
        config = recipe.Config(
            out=args.out, checkpoint=args.run_or_checkpoint, dataset=args.dataset,
            data_dir=args.data_dir, prune=args.prune, prune_scope=args.prune_scope,
            prune_steps=args.prune_steps, cluster_bits=args.cluster_bits,
            conv_cluster_bits=args.conv_cluster_bits, huffman=args.huffman, half=args.half,
            retrain_epochs=args.retrain_epochs, lr=args.lr, batch_size=args.batch_size,
            seed=args.seed)
    model, normalize, info, data = load_run(args.run_or_checkpoint, args.dataset,
                                            args.data_dir)
    config.out = str(output_folder(args.out))
    result = recipe.run(config, model, info,
                        *[(normalize(data[split].images), data[split].labels)
                          for split in ("train", "test")], log=print)
    dataset = run_dataset(info, args.dataset, args.data_dir)[0]
    print(format_table(list(HEADER), format_rows(result["rows"], result["total"])))
    print(f"{info['model']} on {dataset} test: accuracy {result['accuracy_before']:.4f} "
          f"before, {result['accuracy_pruned']:.4f} pruned, {result['accuracy_after']:.4f} "
          f"after (decoded from the file)")
    print(f"{result['file']}: {result['file_bytes']:,} bytes, "
          f"{result['float32_bytes'] / result['file_bytes']:.1f}x smaller than the "
          f"{result['float32_bytes']:,} bytes of float32 parameters")
