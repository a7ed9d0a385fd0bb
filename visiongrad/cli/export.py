"""``visiongrad export``: a checkpoint's weights as a plain state_dict in safetensors, or
the whole network as an ONNX graph (``--format onnx``).

safetensors: the file holds only the model's ``state_dict()`` under its own names (no
optimizer state, no best-weights copy, no prefixes), so ``safetensors.torch.load_file`` reads it and
``torch.nn.Module.load_state_dict`` of the same architecture built in PyTorch accepts it.

onnx: a graph ONNX Runtime runs (``compress/onnx_export.py``; needs the ``onnx`` extra),
input ``images`` float32 (N, C, H, W) in [0, 1] with the run's normalisation inside, output
``logits``; float for a trained run, QDQ-int8 for a ``visiongrad quantize`` checkpoint.

Either is written atomically with the usual mode of a new file; an existing OUT is kept
unless ``--force`` (as ``visiongrad convert``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from .errors import CommandError, user_errors
from .network import load_network
from .options import output_path


def register(commands) -> None:
    parser = commands.add_parser("export", help="write a checkpoint's weights as a plain "
                                                "state_dict (.safetensors) for PyTorch, or the "
                                                "network as ONNX (--format onnx)")
    parser.add_argument("checkpoint")
    parser.add_argument("out", type=output_path, metavar="OUT.safetensors|OUT.onnx")
    parser.add_argument("--format", choices=FORMATS, default=None,
                        help="safetensors or onnx (default: from OUT's suffix)")
    parser.add_argument("--force", action="store_true", help="replace an existing OUT")
    parser.set_defaults(run=run)


FORMATS = ("safetensors", "onnx")


def run(args: argparse.Namespace) -> None:
    from safetensors.numpy import save

    from visiongrad.train.checkpoint import atomic_write_bytes

    out = Path(args.out)
    export_format = args.format or ("onnx" if out.suffix == ".onnx" else "safetensors")
    if out.suffix != f".{export_format}":
        raise CommandError(f"the {export_format} export file must end in .{export_format}, "
                           f"got {out}")
    if not out.parent.is_dir():
        raise CommandError(f"cannot write {out}: folder {out.parent} not found")
    if out.exists() and not args.force:
        raise CommandError(f"{out} exists; pass --force to replace it")
    model, normalize, info = load_network(args.checkpoint)
    if export_format == "onnx":
        write_onnx(model, normalize, info, out)
        return
    state = {name: np.ascontiguousarray(np.asarray(getattr(value, "data", value)))
             for name, value in model.state_dict().items()}
    try:
        atomic_write_bytes(out, save(state, metadata={"visiongrad_model": info["model"]}))
    except OSError as error:
        raise CommandError(f"cannot write {out}: {error.strerror}") from None
    print(f"{info['model']}: {len(state)} tensors written to {out}")


def write_onnx(model, normalize, info: dict, out: Path) -> None:
    """The network as an ONNX graph (float, or QDQ-int8 for an int8 checkpoint), written
    atomically."""
    from visiongrad.compress import QuantizedClassifier
    from visiongrad.train.checkpoint import atomic_write_bytes

    try:
        from visiongrad.compress import onnx_export
        onnx_export._onnx()
    except ImportError as error:
        raise CommandError(str(error)) from None
    if normalize.scale != 255.0:
        raise CommandError(f"the ONNX graph takes images in [0, 1]; this run's normaliser "
                           f"divides by {normalize.scale}, not 255")
    arguments = (info["input_shape"], normalize.mean_, normalize.std_, info["model"])
    with user_errors(ValueError, context=f"cannot export {info['model']} to ONNX: "):
        graph = (onnx_export.qdq_graph(model, *arguments) if isinstance(model, QuantizedClassifier)
                 else onnx_export.float_graph(model, *arguments))
    try:
        atomic_write_bytes(out, graph.SerializeToString())
    except OSError as error:
        raise CommandError(f"cannot write {out}: {error.strerror}") from None
    kind = "int8 (QDQ)" if isinstance(model, QuantizedClassifier) else "float32"
    print(f"{info['model']}: {kind} ONNX graph ({len(graph.graph.node)} nodes) written to {out}")
