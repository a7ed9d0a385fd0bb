"""The classifier a classify run trains, and what its checkpoint records to rebuild it:
the model by name, the fitted per-channel normalisation, and ``load_network``.

A checkpoint's config (``network_info``) holds ``model``, ``input_shape``, ``classes``,
``normalize`` (``scale``, ``mean``, ``std``), ``input_ranges`` (what the training images
looked like), the run's ``options`` and the ``commands`` that made it; everything read
back from it is checked before use, so a damaged or crafted file is a
:class:`~visiongrad.recipes.errors.RecipeError` naming it, never NaN output.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from .errors import RecipeError, describe, did_you_mean, recipe_errors

CHECKPOINT_NAME = "checkpoint.safetensors"

MAX_INPUT_VALUES = 3 * 512 * 512
"""The most values (C x H x W) one input image of a model may have: checked before a
model is built, since layer sizes (and memory) grow with the image."""


def check_choice(kind: str, name, known: Sequence[str]) -> None:
    """Raise a :class:`RecipeError` naming ``name`` and the known choices unless it is one."""
    if name not in known:
        raise RecipeError(f"unknown {kind} {describe(name)}{did_you_mean(name, known)} "
                          f"(choose from {', '.join(known)})")


def check_input_size(input_shape) -> None:
    """Refuse an input shape that is not (C, H, W) of positive ints or is too large
    (:data:`MAX_INPUT_VALUES`), before anything is allocated for it."""
    shape = list(input_shape) if isinstance(input_shape, (list, tuple)) else None
    if (shape is None or len(shape) != 3
            or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in shape)):
        raise RecipeError(f"input shape must be three positive integers C H W, got "
                          f"{describe(input_shape)}")
    if math.prod(shape) > MAX_INPUT_VALUES:
        raise RecipeError(f"input shape {tuple(shape)} has {math.prod(shape)} values per "
                          f"image; the limit is {MAX_INPUT_VALUES} (3 x 512 x 512)")


def build_model(name: str, input_shape: Sequence[int], num_classes: int):
    """``models.create`` for images of ``input_shape`` (C, H, W), unknown names as errors."""
    from visiongrad import models

    check_choice("model", name, sorted(models.available()))
    check_input_size(input_shape)
    with recipe_errors(ValueError, TypeError, context=f"cannot build {name}: "):
        return models.create(name, input_shape=tuple(input_shape), num_classes=num_classes)


def fit_normalizer(images: np.ndarray):
    """Per-channel standardisation of ``images / 255``, fitted on training images."""
    from visiongrad.data import ChannelNormalizer

    return ChannelNormalizer(scale=255.0).fit(images)


def normalizer_state(normalizer) -> dict:
    """The fitted statistics of a ``ChannelNormalizer``, JSON-ready (stored in checkpoints)."""
    return {"scale": normalizer.scale, "mean": normalizer.mean_.tolist(),
            "std": normalizer.std_.tolist()}


def _statistic(state: Mapping, key: str, channels: int) -> np.ndarray:
    values = state.get(key)
    if (not isinstance(values, list) or len(values) != channels
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                       and math.isfinite(v) for v in values)):
        raise RecipeError(f"normalisation {key} must be {channels} finite numbers (one per "
                          f"input channel), got {describe(values)}")
    return np.asarray(values, dtype=np.float64)


def restore_normalizer(state, image_shape: Sequence[int]):
    """The ``ChannelNormalizer`` whose statistics :func:`normalizer_state` recorded, after
    checking them: one finite mean and one positive std per channel, a positive scale."""
    from visiongrad.data import ChannelNormalizer

    if not isinstance(state, Mapping):
        raise RecipeError(f"normalisation must be a mapping, got {describe(state)}")
    scale = state.get("scale")
    if (not isinstance(scale, (int, float)) or isinstance(scale, bool)
            or not (math.isfinite(scale) and scale > 0)):
        raise RecipeError(f"normalisation scale must be a positive number, got "
                          f"{describe(scale)}")
    mean = _statistic(state, "mean", image_shape[0])
    std = _statistic(state, "std", image_shape[0])
    if not np.all(std > 0):
        raise RecipeError(f"normalisation std must be positive in every channel, got "
                          f"{std.tolist()}")
    normalizer = ChannelNormalizer(scale=scale)
    normalizer.mean_, normalizer.std_ = mean, std
    normalizer.image_shape_ = tuple(image_shape)
    return normalizer


def network_info(options: Mapping, images: np.ndarray, classes: Sequence[str], normalize,
                 commands: Sequence[str] = ()) -> dict:
    """What a checkpoint needs to rebuild and feed its model, plus how it was trained
    (``options``, which name the ``model``, and the ``commands`` that made it) and what
    its training images looked like (``input_ranges``, see
    :mod:`~visiongrad.recipes.input_check`)."""
    from .input_check import input_ranges

    return {"model": options["model"], "input_shape": list(images.shape[1:]),
            "classes": list(classes), "normalize": normalizer_state(normalize),
            "input_ranges": input_ranges(images, normalize.scale),
            "options": dict(options), "commands": list(commands)}


_WRITERS = {"scenes_model": "visiongrad detect", "pipeline": "visiongrad caption",
            "generative_model": "visiongrad generate", "algo": "visiongrad rl",
            "kind": "visiongrad lm"}
"""A key of a checkpoint's config that names the command that wrote it, when that command
is not ``visiongrad train``."""


def _writer(config: Mapping) -> str | None:
    """The command of another kind of model that wrote a checkpoint with ``config``."""
    from .detect import SEGMENTERS

    scenes_model = config.get("scenes_model")
    if isinstance(scenes_model, dict) and scenes_model.get("model") in SEGMENTERS:
        return "visiongrad segment"
    return next((command for key, command in _WRITERS.items() if key in config), None)


def load_network(path: str, model_name: str | None = None):
    """Rebuild a checkpoint's model and preprocessing; return ``(model, normalize, info)``.

    ``path`` is a checkpoint or the run folder holding it. ``info`` is the checkpoint's
    config as :func:`network_info` wrote it. The architecture
    is the checkpoint's own (``info["model"]``) unless ``model_name`` is given; weights that
    do not fit it, or normalisation statistics that do not fit its input (a wrong number
    of channels, a std of 0), are a :class:`RecipeError` naming the file.
    """
    from visiongrad.train.checkpoint import load_checkpoint, load_model_state

    if Path(path).is_dir():  # a run folder
        path = str(Path(path) / CHECKPOINT_NAME)
    with recipe_errors(FileNotFoundError, ValueError, KeyError, TypeError, RecursionError,
                       context=f"cannot read checkpoint {path}: "):
        if str(path).endswith(".vgz"):  # written by 'visiongrad compress'
            from visiongrad.compress.vgz import read_vgz_checkpoint

            checkpoint = read_vgz_checkpoint(path)
        else:
            checkpoint = load_checkpoint(path)
    if not isinstance(checkpoint, dict) or not isinstance(checkpoint.get("config"), dict):
        raise RecipeError(f"checkpoint {path} was not written by the visiongrad command "
                          f"(it has no config)")
    info = dict(checkpoint["config"])
    missing = [key for key in ("input_shape", "classes", "normalize") if key not in info]
    if missing and _writer(info):
        raise RecipeError(f"checkpoint {path} was written by '{_writer(info)}', not by "
                          f"'visiongrad train': use {_writer(info)}'s own actions on it")
    if missing:
        raise RecipeError(f"checkpoint {path} was not written by the visiongrad command "
                          f"(its config lacks {', '.join(missing)})")
    stored = info.get("model")
    info["model"] = model_name or stored
    if info["model"] is None:
        raise RecipeError(f"checkpoint {path} does not name its model; pass --model")
    if not isinstance(info["model"], str) or not isinstance(info["classes"], list):
        raise RecipeError(f"checkpoint {path} has a damaged config (model or classes)")
    if "int8" in info:  # written by 'visiongrad quantize': rebuilt from its layer spec
        from visiongrad.compress import QuantizedClassifier

        with recipe_errors(ValueError, KeyError, TypeError, IndexError,
                           context=f"checkpoint {path} has a damaged int8 model: "):
            model = QuantizedClassifier.from_spec(info["int8"], checkpoint["model"])
            return model, restore_normalizer(info["normalize"], info["input_shape"]), info
    model = build_model(info["model"], info["input_shape"], len(info["classes"]))
    holds = f" holds a {stored} model and" if stored not in (None, info["model"]) else ""
    with recipe_errors(ValueError, KeyError, TypeError,
                       context=f"checkpoint {path}{holds} does not fit a {info['model']} model: "):
        load_model_state(model, checkpoint["model"], source="its state")
        normalize = restore_normalizer(info["normalize"], info["input_shape"])
    model.eval()
    return model, normalize, info


def check_input_shape(info: Mapping, shape: Sequence[int], source: str) -> None:
    """Refuse images of another shape than the checkpoint's model takes."""
    expected = tuple(info["input_shape"])
    if tuple(shape) != expected:
        raise RecipeError(f"{source} has images of shape {tuple(shape)} but the checkpoint's "
                          f"{info['model']} takes {expected}")


def run_dataset(info: Mapping, dataset: str | None = None,
                data_dir: str | None = None) -> tuple[str, str | None]:
    """The dataset a trained run is scored on: ``dataset`` (in ``data_dir``) where given,
    else the one the run trained on (the embedded subset for runs that do not say)."""
    options = info.get("options") if isinstance(info.get("options"), Mapping) else {}
    if dataset:
        return dataset, data_dir
    return options.get("dataset") or "fashion-mnist-mini", data_dir or options.get("data_dir")


def load_run(path, dataset: str | None = None, data_dir: str | None = None,
             splits: Sequence[str] = ("train", "test")):
    """A trained run (its folder or checkpoint) and the splits of its data:
    ``(model, normalize, info, {split: dataset})``; a dataset whose images or labels do not
    fit the run is a :class:`RecipeError`."""
    from .classify import load_split

    model, normalize, info = load_network(str(path))
    name, folder = run_dataset(info, dataset, data_dir)
    data = {split: load_split(name, split, folder) for split in splits}
    for split, part in data.items():
        check_input_shape(info, part.images.shape[1:], f"{name} {split}")
        if len(part.labels) and int(part.labels.max()) >= len(info["classes"]):
            raise RecipeError(f"{name} has labels beyond the run's {len(info['classes'])} "
                              f"classes")
    return model, normalize, info, data
