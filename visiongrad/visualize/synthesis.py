"""Images made by following gradients with respect to the input: class model
visualisation (Simonyan et al., 2014; Yosinski et al., 2015), fooling images (Szegedy et
al., 2014), DeepDream (Mordvintsev et al., 2015) and feature inversion (Mahendran &
Vedaldi, 2015).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..autograd import Tensor, no_grad
from ..random import as_generator
from .imageops import gaussian_blur, jitter, resize
from .layers import as_batch, check_targets, class_scores, frozen, layer_output, model_dtype
from .losses import content_loss, tv_loss


def _per_image_norm(grad: np.ndarray) -> np.ndarray:
    return np.sqrt((grad.astype(np.float64) ** 2).sum(axis=(1, 2, 3), keepdims=True)) + 1e-12


def _clamped(images: np.ndarray, clamp) -> np.ndarray:
    if clamp is None:
        return images
    return np.clip(images, clamp[0], clamp[1]).astype(images.dtype, copy=False)


def class_visualization(model, target, shape, iterations: int = 100,
                        learning_rate: float = 25.0, l2_reg: float = 1e-3,
                        max_jitter: int = 2, blur_every: int = 10, blur_sigma: float = 0.5,
                        clamp=None, seed=0) -> np.ndarray:
    """An image that the model scores highly as ``target``, by regularised gradient ascent.

    Each step (the course's algorithm), with I jittered by a random roll of up to
    ``max_jitter`` pixels first and rolled back after:

        L = s_target(I) - l2_reg |I|^2;   I <- I + learning_rate * dL/dI / |dL/dI|

    then I is clipped to ``clamp`` = (low, high) if given, and blurred (Gaussian,
    ``blur_sigma``) every ``blur_every`` steps.

    Parameters
    ----------
    target : int or sequence of int   one image per class
    shape : (C, H, W)   the model's input shape

    Returns
    -------
    ndarray (len(targets), C, H, W) in the model's dtype
    """
    targets = np.atleast_1d(np.asarray(target))
    targets = check_targets(targets, len(targets))
    if len(shape) != 3:
        raise ValueError(f"shape must be (C, H, W), got {shape!r}")
    rng = as_generator(seed)
    dtype = model_dtype(model)
    images = rng.standard_normal((len(targets), *shape)).astype(dtype)
    with frozen(model):
        for step in range(iterations):
            dy, dx = rng.integers(-max_jitter, max_jitter + 1, size=2)
            x = Tensor(jitter(images, dy, dx), requires_grad=True)
            (class_scores(model, x, targets) - l2_reg * (x * x).sum()).backward()
            images = jitter(x.data + learning_rate * x.grad / _per_image_norm(x.grad),
                            -dy, -dx).astype(dtype)
            images = _clamped(images, clamp)
            if blur_every and (step + 1) % blur_every == 0:
                images = gaussian_blur(images, blur_sigma)
    return images


FOOLING_METHODS = ("least_norm", "ascent")
_TIE_BREAK = 1e-4  # logits: a target tied with its rival still moves past it


def fooling_image(model, x, target, learning_rate: float = 1.0, max_iter: int = 100,
                  clamp=None, method: str = "least_norm", overshoot: float = 0.02
                  ) -> np.ndarray:
    """Images close to ``x`` that the model classifies as ``target``.

    Each step moves only the images whose prediction is not yet the target, and each
    image stops as soon as it is (or after ``max_iter`` steps: check the predictions of
    the result). ``method``:

    * ``"least_norm"`` (the default; a targeted DeepFool, Moosavi-Dezfooli et al., 2016):
      with m = s_o - s_t the margin of the best other class o over the target t and
      w = d(s_t - s_o)/dX, the smallest step that crosses the linearised boundary,

          X <- X + min((1 + overshoot) m / |w|, learning_rate) * w / |w|,

      so the change is about as small as the boundary's distance (``learning_rate``
      caps one step's length; m gets 1e-4 more so that a tie still crosses). With
      ``clamp`` = (low, high), the components of w that would push a pixel already at a
      bound past it are dropped first (clipping would undo them).
    * ``"ascent"`` (the course's): normalised gradient ascent on the target score,

          X <- X + learning_rate * dS_t/dX / |dS_t/dX|,

      whose fixed step overshoots the boundary by up to ``learning_rate``.

    Returns
    -------
    ndarray like ``x``: the fooling images
    """
    if method not in FOOLING_METHODS:
        raise ValueError(f"method must be one of {FOOLING_METHODS}, got {method!r}")
    if overshoot < 0:
        raise ValueError(f"overshoot must be >= 0, got {overshoot}")
    images = as_batch(x).copy()
    targets = check_targets(target, len(images))
    active = np.arange(len(images))
    with frozen(model):
        for _ in range(max_iter):
            inputs = Tensor(images[active], requires_grad=True)
            scores = model(inputs)
            moving = np.flatnonzero(scores.data.argmax(axis=1) != targets[active])
            active = active[moving]
            if not len(active):
                break
            wanted = targets[active]
            if method == "ascent":
                scores[moving, wanted].sum().backward()
                grad = inputs.grad[moving]
                length = learning_rate
            else:
                others = scores.data[moving]
                others[np.arange(len(moving)), wanted] = -np.inf
                rival = others.argmax(axis=1)
                (scores[moving, wanted] - scores[moving, rival]).sum().backward()
                grad = _inward(inputs.grad[moving], images[active], clamp)
                margin = (scores.data[moving, rival] - scores.data[moving, wanted])
                length = np.minimum(((1 + overshoot) * margin[:, None, None, None] + _TIE_BREAK)
                                    / _per_image_norm(grad), learning_rate)
            step = length * grad / _per_image_norm(grad)
            images[active] = _clamped(images[active] + step.astype(images.dtype), clamp)
    return images


def _inward(grad: np.ndarray, images: np.ndarray, clamp) -> np.ndarray:
    """``grad`` without the components that would push pixels already at a ``clamp``
    bound past it (clipping would undo them), so the step's length is spent inside."""
    if clamp is None:
        return grad
    return np.where(((images <= clamp[0]) & (grad < 0)) | ((images >= clamp[1]) & (grad > 0)),
                    0, grad)


def deep_dream(model, layer: str, image, octaves: int = 3, octave_scale: float = 1.4,
               iterations: int = 10, learning_rate: float = 1.5, max_jitter: int = 8,
               clamp=None, seed=0) -> np.ndarray:
    """DeepDream: amplify whatever ``layer`` sees in ``image``, coarse to fine.

    At each octave (the image scaled by octave_scale^-k, smallest first, with the detail
    added at the previous octave upsampled onto it) ``iterations`` steps of

        L = 1/2 sum(a^2) (a: the layer's activations);  I <- I + lr * dL/dI / mean|dL/dI|

    on a randomly jittered image.

    Returns
    -------
    ndarray like ``image`` (N, C, H, W)
    """
    base = as_batch(image, "image")
    if octaves < 1 or octave_scale <= 1:
        raise ValueError(f"octaves must be >= 1 and octave_scale > 1, got {octaves} and "
                         f"{octave_scale}")
    rng = as_generator(seed)
    height, width = base.shape[2:]
    sizes = [(max(1, round(height / octave_scale ** k)), max(1, round(width / octave_scale ** k)))
             for k in reversed(range(octaves))]
    detail = np.zeros_like(base[:, :, :1, :1])
    with frozen(model):
        for size in sizes:
            scaled = resize(base, *size)
            dream = scaled + resize(detail, *size)
            for _ in range(iterations):
                dy, dx = rng.integers(-max_jitter, max_jitter + 1, size=2)
                x = Tensor(jitter(dream, dy, dx), requires_grad=True)
                activation = layer_output(model, layer, x)
                (0.5 * (activation * activation).sum()).backward()
                grad = jitter(x.grad, -dy, -dx)
                dream = _clamped(dream + learning_rate * grad / (np.abs(grad).mean() + 1e-12),
                                 clamp).astype(base.dtype)
            detail = dream - scaled
    return dream


def optimise_image(start: np.ndarray, loss_fn: Callable[[Tensor], Tensor],
                   iterations: int, optimizer: str = "adam", learning_rate: float = 0.05,
                   clamp=None) -> np.ndarray:
    """Minimise ``loss_fn(image)`` over the pixels from ``start`` with Adam or L-BFGS
    (``visiongrad.optim``), clipping to ``clamp`` after every step; return the image."""
    from .. import optim

    image = Tensor(start.copy(), requires_grad=True)

    def closure():
        image.grad = None
        loss = loss_fn(image)
        loss.backward()
        return loss

    if optimizer == "adam":
        solver = optim.Adam([image], lr=learning_rate)
        steps = iterations
    elif optimizer == "lbfgs":
        per_step = max(1, min(20, iterations))
        solver = optim.LBFGS([image], lr=learning_rate, max_iter=per_step, history_size=10,
                             line_search_fn="strong_wolfe")
        steps = -(-iterations // per_step)  # L-BFGS iterations in all, clipped between steps
    else:
        raise ValueError(f"optimizer must be 'adam' or 'lbfgs', got {optimizer!r}")
    for _ in range(steps):
        solver.step(closure)
        if clamp is not None:
            image.data[...] = np.clip(image.data, clamp[0], clamp[1])
    return image.data


def invert_features(model, layer: str, image, tv_weight: float = 1e-2,
                    iterations: int = 200, learning_rate: float = 0.05,
                    optimizer: str = "adam", clamp=None, seed=0,
                    noise_mean: float = 0.0) -> np.ndarray:
    """An image whose ``layer`` features match ``image``'s, from noise (``noise_mean`` +
    0.1 N(0, 1): 0 for standardised inputs, 0.5 for RGB in [0, 1]):

        minimise |phi(x) - phi(image)|^2 / |phi(image)|^2 + tv_loss(x, tv_weight)

    (total variation keeps it image-like). Returns (N, C, H, W) like ``image``.
    """
    target_image = as_batch(image, "image")
    with frozen(model):
        with no_grad():
            target = layer_output(model, layer, Tensor(target_image)).data
        scale = 1.0 / max(float((target.astype(np.float64) ** 2).sum()), 1e-12)
        start = (noise_mean + 0.1 * as_generator(seed).standard_normal(target_image.shape)
                 ).astype(target_image.dtype)
        return optimise_image(
            start, lambda x: content_loss(scale, layer_output(model, layer, x), target)
            + tv_loss(x, tv_weight), iterations, optimizer, learning_rate, clamp)
