"""Checkpoint formats: PyTorch ``.pth`` files read without PyTorch (nothing in them runs),
converted to safetensors."""

from .torch_checkpoint import (
    CheckpointFormatError,
    UnsafeCheckpointError,
    convert_torch_checkpoint,
    load_torch_checkpoint,
)

__all__ = ["CheckpointFormatError", "UnsafeCheckpointError", "convert_torch_checkpoint",
           "load_torch_checkpoint"]
