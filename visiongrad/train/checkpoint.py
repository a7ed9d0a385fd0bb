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
``{"__items__": [[key, value], ...]}`` so their keys come back with their types. The JSON
is strict (RFC 8259): NaN and the infinities, which it cannot spell, are stored as
``{"__float__": "nan"}`` (``"inf"``, ``"-inf"``), and a header holding ``NaN`` or
``-Infinity`` literals is refused on reading. A header that does not have this shape (a
missing tensor, a list where a dict belongs, nesting deeper than :data:`MAX_DEPTH`) raises
:class:`CheckpointError` (a ``ValueError``) naming the file.

Temporary files of writes killed half-way (``.<name>.<random>.tmp`` beside the checkpoint)
are removed by the next successful write of the same checkpoint; no other file is touched.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import tempfile
import time
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
#: Deepest nesting of lists and dicts a checkpoint header may have.
MAX_DEPTH = 64
_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
#: Seconds after which a leftover temporary file cannot belong to a write in progress.
STALE_TEMPORARY_SECONDS = 60.0


class CheckpointError(ValueError):
    """A file is not a readable visiongrad checkpoint; the message names the file."""


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
    if isinstance(value, float) and not math.isfinite(value):
        return {"__float__": repr(value)}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot store a {type(value).__name__} at {path!r} in a checkpoint")


def _decode(value, tensors: Mapping[str, np.ndarray], depth: int = 0):
    """Inverse of :func:`_encode`; ``_Malformed`` for anything it cannot have written."""
    if depth > MAX_DEPTH:
        raise _Malformed(f"nesting deeper than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        if set(value) == {"__tensor__"}:
            if value["__tensor__"] not in tensors:
                raise _Malformed(f"the header refers to tensor {value['__tensor__']!r:.80}, "
                                 "which the file does not hold")
            return tensors[value["__tensor__"]]
        if set(value) == {"__float__"}:
            if value["__float__"] not in _NON_FINITE:
                raise _Malformed(f"unknown float {value['__float__']!r:.20}")
            return _NON_FINITE[value["__float__"]]
        if set(value) == {"__items__"}:
            items = value["__items__"]
            if not isinstance(items, list) or not all(
                    isinstance(item, list) and len(item) == 2 for item in items):
                raise _Malformed("'__items__' must be a list of [key, value] pairs")
            decoded = {}
            for key, item in items:
                key = _decode(key, tensors, depth + 1)
                if not isinstance(key, (int, str, bool, float)) and key is not None:
                    raise _Malformed(f"a dict key must be a number or string, got "
                                     f"{type(key).__name__}")
                decoded[key] = _decode(item, tensors, depth + 1)
            return decoded
        return {key: _decode(item, tensors, depth + 1) for key, item in value.items()}
    if isinstance(value, list):
        return [_decode(item, tensors, depth + 1) for item in value]
    return value


class _Malformed(ValueError):
    """Raised while decoding; :func:`load_checkpoint` adds the file's name."""


def _strict_constant(name: str):
    raise _Malformed(f"the header is not strict JSON (it holds {name})")


def checkpoint_path(path: str | os.PathLike) -> Path:
    """``path`` with the ``.safetensors`` suffix added when it has none."""
    path = Path(path)
    return path if path.suffix else path.with_suffix(SUFFIX)


def new_file_mode() -> int:
    """The mode ``open`` gives a new file: 0o666 less the process's umask (0o644 under the
    usual umask 022). ``tempfile.mkstemp`` makes its files private (0o600), so an atomic
    write sets this mode before it renames the file into place."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new, never a part.

    The bytes go to a temporary file in the same folder, which is flushed and fsync'ed and
    then renamed over ``path`` (``os.replace`` is atomic on POSIX and Windows) with the
    mode a new file gets (:func:`new_file_mode`). On any error the temporary file is
    removed and ``path`` is left as it was.
    """
    path = Path(path)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                             suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, new_file_mode())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _remove_stale_temporaries(path)
    if hasattr(os, "O_DIRECTORY"):  # make the rename itself durable
        folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


def _remove_stale_temporaries(path: Path) -> None:
    """Delete ``.<name>.<8 random characters>.tmp`` files beside ``path`` older than
    :data:`STALE_TEMPORARY_SECONDS`: what :func:`atomic_write_bytes` leaves when its
    process is killed (SIGKILL) mid-write. Only that exact name pattern is touched."""
    pattern = re.compile(rf"\.{re.escape(path.name)}\.[A-Za-z0-9_]{{8}}\.tmp")
    now = time.time()
    for entry in os.scandir(path.parent):
        if pattern.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
            with contextlib.suppress(OSError):  # gone already, or not ours to delete
                if now - entry.stat(follow_symlinks=False).st_mtime > STALE_TEMPORARY_SECONDS:
                    os.unlink(entry.path)


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

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import train
    >>> import visiongrad as vg
    >>> from visiongrad import nn, optim
    >>> _ = vg.manual_seed(0)
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
    >>> x = np.random.default_rng(0).random((6, 1, 2, 2)).astype(np.float32)
    >>> y = np.array([0, 1, 2, 0, 1, 2])
    >>> import tempfile, os
    >>> folder = tempfile.mkdtemp()
    >>> target = os.path.join(folder, 'model.safetensors')
    >>> path = train.save_checkpoint(target, model, config={'lr': 0.1})
    >>> sorted(train.load_checkpoint(path))[:4]
    ['config', 'format', 'history', 'model']
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
    header = json.dumps(_encode(contents, "", tensors), allow_nan=False)
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
    CheckpointError
        (a ``ValueError``) If the file is not a visiongrad checkpoint, or its header is
        malformed: not strict JSON, not a dict, nested too deep, referring to a tensor
        the file lacks, or with model weights that are not a dict of arrays.

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import train
    >>> import visiongrad as vg
    >>> from visiongrad import nn, optim
    >>> _ = vg.manual_seed(0)
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
    >>> x = np.random.default_rng(0).random((6, 1, 2, 2)).astype(np.float32)
    >>> y = np.array([0, 1, 2, 0, 1, 2])
    >>> import tempfile, os
    >>> path = train.save_checkpoint(os.path.join(tempfile.mkdtemp(), 'model.safetensors'), model)
    >>> sorted(train.load_checkpoint(path)['model'])
    ['1.bias', '1.weight']
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        with safe_open(str(path), framework="np") as handle:
            metadata = handle.metadata() or {}
        tensors = load_tensors(path.read_bytes())
    except Exception as error:  # noqa: BLE001 - safetensors raises its own error types
        raise CheckpointError(f"{path} is not a safetensors file ({error})") from None
    if _METADATA_KEY not in metadata:
        raise CheckpointError(f"{path} is a safetensors file but not a visiongrad checkpoint "
                              f"(no {_METADATA_KEY!r} metadata)")
    try:
        header = json.loads(metadata[_METADATA_KEY], parse_constant=_strict_constant)
        if not isinstance(header, dict):
            raise _Malformed(f"the header must be a JSON object, got {type(header).__name__}")
        if header.get("format") != FORMAT:
            raise _Malformed(f"unsupported checkpoint format {header.get('format')!r:.80} "
                             f"(this version reads {FORMAT!r})")
        contents = _decode(header, tensors)
        if not _is_weights(contents.get("model")):
            raise _Malformed("'model' must map names to tensors")
    except (_Malformed, ValueError, RecursionError) as error:
        raise CheckpointError(f"{path}: malformed checkpoint header ({str(error):.300})"
                              ) from None
    return contents


_TRAINER_SERIES = ("loss", "epoch_loss", "train_accuracy", "val_loss", "val_accuracy", "lr",
                   "epoch_seconds", "update_ratio_iteration")
"""The history lists every ``Trainer`` keeps (other keys, a recipe's, are lists alike)."""

_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "Philox", "SFC64", "MT19937")
"""NumPy's bit generators, whose states a checkpoint may hold."""


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_real(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_series(value) -> bool:
    return isinstance(value, list) and all(v is None or _is_real(v) for v in value)


def _is_weights(value) -> bool:
    return isinstance(value, dict) and all(isinstance(v, np.ndarray) for v in value.values())


def _generator_problem(state) -> str | None:
    """Why ``state`` is not a NumPy bit generator's state, or None where it is: NumPy
    checks it on a scratch generator of the kind the state names."""
    kind = state.get("bit_generator") if isinstance(state, dict) else None
    if kind not in _BIT_GENERATORS:
        return f"not a NumPy bit generator state (bit_generator {kind!r:.40})"
    try:
        getattr(np.random, kind)().state = state
    except (TypeError, ValueError, KeyError, OverflowError) as error:
        return f"not a valid {kind} state ({str(error):.80})"
    return None


def _history_problems(history) -> list[str]:
    if not isinstance(history, dict):
        return ["history must be an object"]
    problems = [f"history {key!r} must be a list of numbers" for key in _TRAINER_SERIES
                if not _is_series(history.get(key))]
    ratios = history.get("update_ratio")
    if not (isinstance(ratios, dict) and all(_is_series(v) for v in ratios.values())):
        problems.append("history 'update_ratio' must map names to lists of numbers")
    if not isinstance(history.get("stop_reason"), (str, type(None))):
        problems.append("history 'stop_reason' must be text or null")
    others = set(history) - set(_TRAINER_SERIES) - {"update_ratio", "stop_reason"}
    return problems + [f"history {key!r:.40} must be a list of numbers"
                       for key in sorted(others) if not _is_series(history[key])]


def load_trainer_checkpoint(path) -> tuple[dict, dict]:
    """:func:`load_checkpoint`'s contents and the trainer state in them, every field of the
    state checked against what ``Trainer.save_checkpoint`` writes (counters, best accuracy,
    weights, generator states, history), so that a crafted or damaged file is refused when
    it is loaded, naming the file and the fields, and not half-way into a resumed run.

    Raises
    ------
    CheckpointError
        As :func:`load_checkpoint`, and if the file holds no trainer state or a malformed one.
    """
    contents = load_checkpoint(path)
    state = contents["state"]
    if not isinstance(state, dict) or "epoch" not in state:
        raise CheckpointError(f"{path} has no trainer state (it was not written by a Trainer)")
    problems = [f"{key} must be a whole number >= 0" for key in ("epoch", "iteration")
                if not _is_count(state.get(key))]
    best_epoch = state.get("best_epoch")
    if best_epoch is not None and not (_is_count(best_epoch) and _is_count(state.get("epoch"))
                                       and best_epoch <= state["epoch"]):
        problems.append("best_epoch must be a whole number from 0 to epoch, or null")
    if not _is_real(state.get("best_val_accuracy")):
        problems.append("best_val_accuracy must be a number")
    problems += [f"{key} must map names to tensors" for key in ("best_state", "trained_state")
                 if state.get(key) is not None and not _is_weights(state[key])]
    if state.get("ema") is not None and not isinstance(state["ema"], dict):
        problems.append("ema must be an object")
    loader = state.get("loader")
    generators = loader.get("generators") if isinstance(loader, dict) else None
    if loader is not None and not isinstance(generators, list):
        problems.append("loader must hold a list of generator states")
    for k, generator in enumerate(generators or []):
        problem = _generator_problem(generator)
        problems += [] if problem is None else [f"loader generator {k}: {problem}"]
    problem = _generator_problem(contents["rng"])
    problems += ([] if problem is None else [f"rng: {problem}"]) + _history_problems(
        contents["history"])
    if problems:
        raise CheckpointError(f"{path}: malformed trainer state ({'; '.join(problems)[:400]})")
    return contents, state


def _dtype_family(kind: str) -> str:
    """Floating, integer (signed or not) or boolean: a value loads into its own family."""
    return {"f": "float", "i": "int", "u": "int", "b": "bool"}.get(kind, kind)


def _first_few(names: list[str], shown: int = 4) -> str:
    """The first ``shown`` names and how many more: a whole architecture's keys would
    bury the message."""
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def copy_model_state(model) -> dict[str, np.ndarray]:
    """A deep copy of ``model.state_dict()`` as NumPy arrays."""
    return {name: np.array(value.data if isinstance(value, Tensor) else value, copy=True)
            for name, value in model.state_dict().items()}


def load_model_state(model, state: Mapping[str, np.ndarray], source: str = "checkpoint") -> None:
    """Load ``state`` into ``model`` after checking that every key and shape matches.

    Raises
    ------
    ValueError
        Naming the missing keys, unexpected keys, shape mismatches (checkpoint shape
        versus model shape) and dtype mismatches (an integer array for floating weights),
        for example when the checkpoint is from another architecture (the first four of
        each, and how many more).

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import train
    >>> import visiongrad as vg
    >>> from visiongrad import nn, optim
    >>> _ = vg.manual_seed(0)
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
    >>> x = np.random.default_rng(0).random((6, 1, 2, 2)).astype(np.float32)
    >>> y = np.array([0, 1, 2, 0, 1, 2])
    >>> other = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
    >>> train.load_model_state(other, model.state_dict())
    >>> bool(np.array_equal(other[1].weight.data, model[1].weight.data))
    True
    """
    expected = {name: np.shape(_as_array(value)) for name, value in model.state_dict().items()}
    missing = [name for name in expected if name not in state]
    unexpected = [name for name in state if name not in expected]
    mismatched = [f"{name} (checkpoint {tuple(np.shape(state[name]))}, model {shape})"
                  for name, shape in expected.items()
                  if name in state and not shape_fits(np.shape(state[name]), shape)]
    kinds = {name: np.asarray(_as_array(value)).dtype.kind
             for name, value in model.state_dict().items()}
    wrong_kind = [f"{name} (checkpoint {np.asarray(state[name]).dtype}, model kind "
                  f"{kinds[name]!r})" for name in expected if name in state
                  and _dtype_family(np.asarray(state[name]).dtype.kind)
                  != _dtype_family(kinds[name])]
    problems = [f"{label}: {_first_few(names)}" for label, names in
                (("missing keys", missing), ("unexpected keys", unexpected),
                 ("shape mismatches", mismatched), ("dtype mismatches", wrong_kind)) if names]
    if problems:
        raise ValueError(f"{source} does not fit {type(model).__name__}: " + "; ".join(problems))
    model.load_state_dict(dict(state))
