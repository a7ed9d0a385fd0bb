"""``visiongrad export``: a checkpoint's weights as a plain state_dict in safetensors.

The file holds only the model's ``state_dict()`` under its own names (no optimizer state,
no best-weights copy, no prefixes), so ``safetensors.torch.load_file`` reads it and
``torch.nn.Module.load_state_dict`` of the same architecture built in PyTorch accepts it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from .errors import CommandError
from .network import load_network
from .options import output_path


def register(commands) -> None:
    parser = commands.add_parser("export", help="write a checkpoint's weights as a plain "
                                                "state_dict (.safetensors) for PyTorch")
    parser.add_argument("checkpoint")
    parser.add_argument("out", type=output_path, metavar="OUT.safetensors")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> None:
    from safetensors.numpy import save_file

    model, _, info = load_network(args.checkpoint)
    out = Path(args.out)
    if out.suffix != ".safetensors":
        raise CommandError(f"the export file must end in .safetensors, got {out}")
    if not out.parent.is_dir():
        raise CommandError(f"cannot write {out}: folder {out.parent} not found")
    state = {name: np.ascontiguousarray(np.asarray(getattr(value, "data", value)))
             for name, value in model.state_dict().items()}
    try:
        save_file(state, str(out), metadata={"visiongrad_model": info["model"]})
    except OSError as error:
        raise CommandError(f"cannot write {out}: {error.strerror}") from None
    print(f"{info['model']}: {len(state)} tensors written to {out}")
