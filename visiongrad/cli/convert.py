"""``visiongrad convert IN.pth OUT.safetensors``: a PyTorch state_dict file as safetensors,
read without PyTorch and without running anything from the file
(``visiongrad.io.convert_torch_checkpoint``)."""

from __future__ import annotations

import argparse
import pickle
import zipfile
from pathlib import Path

from .errors import CommandError, user_errors
from .options import output_path

_UNREADABLE = (pickle.UnpicklingError, ValueError, TypeError, KeyError, IndexError,
               AttributeError, EOFError, RecursionError, MemoryError, UnicodeDecodeError,
               zipfile.BadZipFile, zipfile.LargeZipFile)
"""What a damaged or hostile checkpoint can raise while it is read: each becomes one line."""


def register(commands) -> None:
    parser = commands.add_parser("convert", help="convert a PyTorch .pth/.pt state_dict to "
                                                 ".safetensors (no PyTorch needed, nothing in "
                                                 "the file runs)")
    parser.add_argument("source", metavar="IN.pth")
    parser.add_argument("out", type=output_path, metavar="OUT.safetensors")
    parser.add_argument("--force", action="store_true", help="replace an existing OUT")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> None:
    from visiongrad.io import convert_torch_checkpoint
    from visiongrad.train.checkpoint import new_file_mode

    source, out = Path(args.source), Path(args.out)
    if not source.is_file():
        raise CommandError(f"checkpoint not found: {source}")
    if out.suffix != ".safetensors":
        raise CommandError(f"the output file must end in .safetensors, got {out}")
    if not out.parent.is_dir():
        raise CommandError(f"cannot write {out}: folder {out.parent} not found")
    if out.exists() and not args.force:
        raise CommandError(f"{out} exists; pass --force to replace it")
    partial = out.with_name(out.name + ".partial")
    try:
        with user_errors(*_UNREADABLE, context=f"cannot convert {source}: "):
            state = convert_torch_checkpoint(source, partial)
        partial.chmod(new_file_mode())  # safetensors writes it private
        partial.replace(out)
    except OSError as error:
        raise CommandError(f"cannot convert {source} to {out}: {error.strerror}") from None
    finally:
        partial.unlink(missing_ok=True)
    values = sum(int(value.size) for value in state.values())
    print(f"{source}: {len(state)} tensors ({values:,} values) written to {out}")
