"""What every attack shares: its argument checks (one clear error each), the model held
still while it is attacked, and the loss gradient with respect to the images.

An attack takes a classifier (an ``nn.Module`` mapping images (N, C, H, W) to class scores
(N, classes)), images inside a box [lo, hi] and their labels. It never writes into the
arrays it is given and returns new images of the same shape and dtype, inside the box.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import numpy as np

from .. import functional as F
from ..autograd import Tensor, no_grad
from ..nn.frozen import frozen


def check_box(box) -> tuple[float, float]:
    """``box`` = (lo, hi) as two finite floats with lo < hi."""
    try:
        lo, hi = (float(bound) for bound in box)
    except (TypeError, ValueError):
        raise ValueError(f"box must be (lo, hi), two numbers, got {box!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"box must be (lo, hi) with finite lo < hi, got {box!r}")
    return lo, hi


def check_batch(images, labels, box) -> tuple[np.ndarray, np.ndarray, float, float]:
    """An attack's images, labels and box checked: ``(images, labels as int64, lo, hi)``."""
    lo, hi = check_box(box)
    x = check_images(images, (lo, hi))
    return x, check_labels(labels, len(x)), lo, hi


def check_positive(name: str, value, allow_zero: bool = True) -> float:
    """A finite number >= 0 (> 0 without ``allow_zero``), named in the error."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        wanted = "a finite number >= 0" if allow_zero else "a finite number > 0"
        raise ValueError(f"{name} must be {wanted}, got {value!r}")
    return number


def check_count(name: str, value, minimum: int = 1) -> int:
    """An integer >= ``minimum``, named in the error."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_images(images, box: tuple[float, float]) -> np.ndarray:
    """``images`` (array or Tensor, (N, C, H, W), floating) inside ``box``, as an array
    (the caller's own: attacks copy before they change anything)."""
    array = images.data if isinstance(images, Tensor) else np.asarray(images)
    if array.ndim != 4 or array.dtype.kind != "f":
        raise ValueError(f"images must be a floating array (N, C, H, W), got {array.dtype} "
                         f"of shape {array.shape}")
    if not len(array):
        raise ValueError("images must hold at least one image, got none")
    if not np.isfinite(array).all():
        raise ValueError("images must be finite")
    slack = 4 * np.finfo(array.dtype).eps * max(1.0, abs(box[0]), abs(box[1]))  # rounding
    if array.min() < box[0] - slack or array.max() > box[1] + slack:
        raise ValueError(f"images must lie inside the box [{box[0]:g}, {box[1]:g}], got "
                         f"values in [{array.min():g}, {array.max():g}]")
    return array


def check_labels(labels, count: int, name: str = "labels") -> np.ndarray:
    """One class index per image, as int64 (the range is checked against the scores)."""
    array = np.asarray(labels.data if isinstance(labels, Tensor) else labels)
    if array.shape != (count,) or array.dtype.kind not in "iu":
        raise ValueError(f"{name} must be {count} integer classes, one per image, got "
                         f"{array.dtype} of shape {array.shape}")
    return array.astype(np.int64)


def check_classes(scores: Tensor, labels: np.ndarray, name: str = "labels") -> None:
    """Refuse scores that are not (N, classes) or labels outside [0, classes)."""
    if scores.ndim != 2 or scores.shape[0] != len(labels):
        raise ValueError(f"the model must return scores of shape ({len(labels)}, classes), "
                         f"got {scores.shape}")
    if labels.min() < 0 or labels.max() >= scores.shape[1]:
        outside = labels[(labels < 0) | (labels >= scores.shape[1])]
        raise ValueError(f"{name} must be classes in [0, {scores.shape[1]}), got "
                         f"{sorted(set(outside.tolist()))}")


def updates_statistics(model) -> bool:
    """Whether running ``model`` now would change batch-norm running statistics."""
    return any(module.training and getattr(module, "track_running_stats", False)
               and getattr(module, "running_mean", None) is not None
               for module in model.modules())


@contextlib.contextmanager
def attacking(model) -> Iterator:
    """The model held still for an attack: eval mode and no parameter gradients inside
    (:func:`visiongrad.nn.frozen`), every module's mode and flag restored after.

    Raises
    ------
    ValueError
        If the model is in training mode and has batch-norm layers tracking running
        statistics: attacking it in training mode would use (and change) batch statistics,
        so the caller must choose (``model.eval()``, as PyTorch's attack libraries do).
    """
    if updates_statistics(model):
        raise ValueError(f"{type(model).__name__} is in training mode, where its batch-norm "
                         "layers would use batch statistics and change their running ones: "
                         "call model.eval() before attacking it")
    with frozen(model):
        yield model


def model_dtype(model) -> np.dtype:
    """The dtype of the model's first parameter (float32 for a model without any)."""
    parameter = next(iter(model.parameters()), None)
    return np.dtype(np.float32) if parameter is None else parameter.data.dtype


def model_input(model, images: np.ndarray, requires_grad: bool = False) -> Tensor:
    """``images`` as a Tensor of the model's dtype (its first parameter's)."""
    return Tensor(images.astype(model_dtype(model), copy=False), requires_grad=requires_grad)


def into_box(images: np.ndarray, lo: float, hi: float, dtype) -> np.ndarray:
    """``images`` clipped to [lo, hi] in ``dtype`` (the attacks' last step)."""
    return np.clip(images.astype(dtype, copy=False), lo, hi).astype(dtype, copy=False)


def loss_gradient(model, images: np.ndarray, labels: np.ndarray,
                  loss_fn=F.cross_entropy) -> tuple[np.ndarray, np.ndarray]:
    """d loss_fn(model(images), labels) / d images, and the scores (N, classes)."""
    inputs = model_input(model, images, requires_grad=True)
    scores = model(inputs)
    check_classes(scores, labels)
    loss_fn(scores, labels).backward()
    return inputs.grad, scores.data


def predict_scores(model, images: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """The model's scores on ``images`` in batches, without a graph (model mode as is)."""
    with no_grad():
        return np.concatenate([np.asarray(model(model_input(model, images[start:end])).data)
                               for start, end in _spans(len(images), batch_size)])


def _spans(count: int, size: int):
    return ((start, min(start + size, count)) for start in range(0, count, size))


def per_image(values) -> np.ndarray:
    """Per-image values (N,) shaped to scale (N, C, H, W) images."""
    return np.reshape(values, (-1, 1, 1, 1))


def l2_norms(values: np.ndarray) -> np.ndarray:
    """Each image's L2 norm, shape (N,), in the values' dtype."""
    return np.sqrt((values * values).reshape(len(values), -1).sum(axis=1))


def margins(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """s_y - max_{j != y} s_j per image: negative once the image is misclassified."""
    rows = np.arange(len(labels))
    others = np.array(scores, dtype=np.float64)
    true = others[rows, labels].copy()
    others[rows, labels] = -np.inf
    return true - others.max(axis=1)
