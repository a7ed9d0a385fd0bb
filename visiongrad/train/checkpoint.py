"""Checkpoints: one safetensors file holding the arrays and, in its header, the JSON rest.

A checkpoint is a single ``.safetensors`` file. Every array (model weights and buffers,
optimizer moment estimates, the best weights so far, ...) is a named tensor; everything
else (config, history, optimizer and scheduler scalars, the epoch, the random generator's
state) is JSON stored in the file's header metadata under the key ``"visiongrad"``, where
``safetensors.safe_open(path, "np").metadata()`` shows it without loading any weights.
Keeping both in one file makes the write atomic: the file is written to a temporary name
in the same folder, flushed and fsync'ed, then moved over the old one with ``os.replace``,
so a write interrupted at any point leaves the previous checkpoint intact.

Nested structures are stored as JSON with each array replaced by ``{"__tensor__": key}``
(``key`` is its path, for example ``"model/fc1.weight"``); dicts whose keys are not all
strings (a PyTorch-style optimizer state keyed by parameter index) are stored as
``{"__items__": [[key, value], ...]}`` so their keys come back with their types.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load as load_tensors
from safetensors.numpy import save as save_tensors

from .. import random as vg_random
from ..autograd import Tensor
from ..nn.module import shape_fits

FORMAT = "visiongrad-checkpoint/1"
SUFFIX = ".safetensors"
_METADATA_KEY = "visiongrad"


def _as_array(value):
    return value.data if isinstance(value, Tensor) else value


def _join(path: str, key) -> str:
    return f"{path}/{key}" if path else str(key)


def _encode(value, path: str, tensors: dict[str, np.ndarray]):
    """JSON-ready copy of ``value`` with its arrays moved into ``tensors``."""
    value = _as_array(value)
    if isinstance(value, np.ndarray):
        # np.asarray, not np.ascontiguousarray: the latter turns a 0-d array (batch norm's
        # num_batches_tracked) into shape (1,), and the model then refuses its own checkpoint
        tensors[path] = np.asarray(value, order="C")
        return {"__tensor__": path}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        if all(isinstance(key, str) for key in value):
            return {key: _encode(item, _join(path, key), tensors) for key, item in value.items()}
        return {"__items__": [[_encode(key, path, {}), _encode(item, _join(path, key), tensors)]
                              for key, item in value.items()]}
    if isinstance(value, (list, tuple)):
        return [_encode(item, _join(path, i), tensors) for i, item in enumerate(value)]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot store a {type(value).__name__} at {path!r} in a checkpoint")


def _decode(value, tensors: Mapping[str, np.ndarray]):
    """Inverse of :func:`_encode`."""
    if isinstance(value, dict):
        if set(value) == {"__tensor__"}:
            return tensors[value["__tensor__"]]
        if set(value) == {"__items__"}:
            return {_decode(key, tensors): _decode(item, tensors)
                    for key, item in value["__items__"]}
        return {key: _decode(item, tensors) for key, item in value.items()}
    if isinstance(value, list):
        return [_decode(item, tensors) for item in value]
    return value


def checkpoint_path(path: str | os.PathLike) -> Path:
    """``path`` with the ``.safetensors`` suffix added when it has none."""
    path = Path(path)
    return path if path.suffix else path.with_suffix(SUFFIX)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new, never a part.

    The bytes go to a temporary file in the same folder, which is flushed and fsync'ed and
    then renamed over ``path`` (``os.replace`` is atomic on POSIX and Windows). On any
    error the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                             suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    if hasattr(os, "O_DIRECTORY"):  # make the rename itself durable
        folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


def save_checkpoint(path: str | os.PathLike, model, optimizer=None, *, scheduler=None,
                    history: Mapping | None = None, config: Mapping | None = None,
                    state: Mapping | None = None) -> str:
    """Write a checkpoint atomically; return its path.

    Parameters
    ----------
    path : str or path-like
        Destination; ``.safetensors`` is appended when the name has no suffix. Its folder
        is created if needed.
    model : nn.Module
        Its ``state_dict()`` (parameters and buffers) is stored under ``"model/..."``.
    optimizer, scheduler : optional
        Objects with ``state_dict()``; arrays become tensors, the rest JSON.
    history, config, state : mapping, optional
        Training history, the run's configuration, and any further state (the Trainer
        stores its epoch counter, best weights and EMA weights here). May hold arrays.

    Returns
    -------
    str
        The path written. The random generator's state (``visiongrad.random.get_state()``)
        is always included, under ``"rng"``.
    """
    path = checkpoint_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    contents = {
        "format": FORMAT,
        "model": model.state_dict(),
        "optimizer": None if optimizer is None else optimizer.state_dict(),
        "scheduler": None if scheduler is None else scheduler.state_dict(),
        "history": history, "config": config, "state": state,
        "rng": vg_random.get_state(),
    }
    tensors: dict[str, np.ndarray] = {}
    header = json.dumps(_encode(contents, "", tensors))
    atomic_write_bytes(path, save_tensors(tensors, metadata={_METADATA_KEY: header}))
    return str(path)


def load_checkpoint(path: str | os.PathLike) -> dict:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Returns
    -------
    dict
        Keys ``"model"`` (a state dict of NumPy arrays), ``"optimizer"``, ``"scheduler"``,
        ``"history"``, ``"config"``, ``"state"`` (as given to ``save_checkpoint``, arrays
        as NumPy arrays) and ``"rng"`` (the generator state, not applied).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not a visiongrad checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        with safe_open(str(path), framework="np") as handle:
            metadata = handle.metadata() or {}
        tensors = load_tensors(path.read_bytes())
    except Exception as error:  # safetensors raises its own error types for bad files
        raise ValueError(f"{path} is not a safetensors file ({error})") from None
    if _METADATA_KEY not in metadata:
        raise ValueError(f"{path} is a safetensors file but not a visiongrad checkpoint "
                         f"(no {_METADATA_KEY!r} metadata)")
    contents = _decode(json.loads(metadata[_METADATA_KEY]), tensors)
    if contents.get("format") != FORMAT:
        raise ValueError(f"{path}: unsupported checkpoint format {contents.get('format')!r} "
                         f"(this version reads {FORMAT!r})")
    return contents


def load_model_state(model, state: Mapping[str, np.ndarray], source: str = "checkpoint") -> None:
    """Load ``state`` into ``model`` after checking that every key and shape matches.

    Raises
    ------
    ValueError
        Naming the missing keys, unexpected keys and shape mismatches (checkpoint shape
        versus model shape), for example when the checkpoint is from another architecture.
    """
    expected = {name: np.shape(_as_array(value)) for name, value in model.state_dict().items()}
    missing = [name for name in expected if name not in state]
    unexpected = [name for name in state if name not in expected]
    mismatched = [f"{name} (checkpoint {tuple(np.shape(state[name]))}, model {shape})"
                  for name, shape in expected.items()
                  if name in state and not shape_fits(np.shape(state[name]), shape)]
    problems = [f"{label}: {', '.join(names)}" for label, names in
                (("missing keys", missing), ("unexpected keys", unexpected),
                 ("shape mismatches", mismatched)) if names]
    if problems:
        raise ValueError(f"{source} does not fit {type(model).__name__}: " + "; ".join(problems))
    model.load_state_dict(dict(state))
