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

    Examples
    --------
    >>> from visiongrad.visualize import class_visualization
    >>> _ = vg.manual_seed(0)
    >>> model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(),
    ...                       nn.Flatten(), nn.Linear(4 * 8 * 8, 3))
    >>> class_visualization(model, target=1, shape=(1, 8, 8), iterations=3).shape
    (1, 1, 8, 8)
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


FOOLING_METHODS = ("min_norm", "least_norm", "ascent")
_TIE_BREAK = 1e-4  # logits: a target tied with its rival still moves past it


def fooling_image(model, x, target, learning_rate: float = 1.0, max_iter: int = 100,
                  clamp=None, method: str = "min_norm", overshoot: float = 0.02,
                  refine_steps: int = 100, allowance=None) -> np.ndarray:
    """Images close to ``x`` that the model classifies as ``target``.

    Distances are measured as |(X - x) / a| (L2), with a = ``allowance`` (how much each
    pixel may change, relative to the others; 1 everywhere by default, 0 keeps a pixel):
    every method works on u = (X - x) / a and the gradient a * dS/dX, and X = x + a * u.
    With s the class scores (logits), t the target, o = argmax_{c != t} s_c its strongest
    rival, g = s_t - s_o the margin (an image is fooled when g > 0) and w = a * dg/dX,
    ``method``:

    * ``"least_norm"`` (a targeted DeepFool, Moosavi-Dezfooli et al., 2016): each step is
      the smallest that crosses the linearised boundary,

          u <- u + min(((1 + overshoot) (-g) + 1e-4) / |w|, learning_rate) * w / |w|,

      until g > 0 (or ``max_iter`` steps: check the predictions of the result).
      ``learning_rate`` caps one step's length; 1e-4 more margin makes a tie cross.
    * ``"min_norm"`` (the default): ``"least_norm"``, then ``refine_steps`` steps that walk
      along the boundary towards x (as DDN, Rony et al. 2019, and FAB, Croce & Hein 2020,
      do): shrink u by a factor (1 - gamma) and project back onto the linearised boundary
      g = kappa,

          u <- (1 - gamma) u + c w / |w|,   c = (kappa - g + gamma w.u) / |w|

      (c clipped to +-``learning_rate``), keeping per image the smallest-|u| fooled image
      seen. On a flat boundary this keeps the part of u across the boundary and shrinks
      the part along it by (1 - gamma) a step, so u goes to the least change there is.
      gamma falls from 0.1 to 0.01 over the steps (a cosine); kappa, per image, doubles
      after a step that lands short of the target and shrinks by 1.5 after one that lands
      on it, so the walk stays just on the target's side. Why the default: the first
      crossing of ``"least_norm"`` is seldom the nearest one, and a fooling image should
      change as little as it can; the walk costs a forward and backward pass a step and
      never returns a larger change than a first crossing that fooled the model.
    * ``"ascent"`` (the course's): normalised gradient ascent on the target score,

          u <- u + learning_rate * a dS_t/dX / |a dS_t/dX|,

      whose fixed step overshoots the boundary by up to ``learning_rate``.

    With ``clamp`` = (low, high) (numbers, or arrays broadcastable to x such as per-channel
    bounds) every X is clipped into that range; for the two norm methods the components of
    dg/dX that would push a pixel already at a bound past it are dropped first (clipping
    would undo them).

    Parameters
    ----------
    x : (N, C, H, W) images
    target : int or N ints
    allowance : array broadcastable to x, >= 0, or None (see :func:`brightness_allowance`)

    Returns
    -------
    ndarray like ``x``: the fooling images

    Examples
    --------
    >>> from visiongrad.visualize import fooling_image
    >>> _ = vg.manual_seed(0)
    >>> model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(),
    ...                       nn.Flatten(), nn.Linear(4 * 8 * 8, 3))
    >>> x = np.random.default_rng(0).random((2, 1, 8, 8)).astype(np.float32)
    >>> fooled = fooling_image(model, x, target=np.array([2, 2]))
    >>> model.eval()(vg.tensor(fooled)).data.argmax(axis=1)
    array([2, 2])
    """
    if method not in FOOLING_METHODS:
        raise ValueError(f"method must be one of {FOOLING_METHODS}, got {method!r}")
    if overshoot < 0:
        raise ValueError(f"overshoot must be >= 0, got {overshoot}")
    if learning_rate <= 0:
        raise ValueError(f"learning_rate must be positive, got {learning_rate}")
    if int(refine_steps) != refine_steps or refine_steps < 0:
        raise ValueError(f"refine_steps must be an integer >= 0, got {refine_steps!r}")
    start = as_batch(x)
    targets = check_targets(target, len(start))
    scale = _allowance(allowance, start)
    with frozen(model):
        images = _cross(model, start, targets, scale, learning_rate, max_iter, clamp, method,
                        overshoot)
        if method == "min_norm" and refine_steps:
            images = _walk_boundary(model, start, images, targets, scale, learning_rate,
                                    int(refine_steps), clamp)
    return images


def brightness_allowance(x, clamp, floor: float = 0.1) -> np.ndarray:
    """A crude visibility model for ``fooling_image``'s ``allowance``: a change shows most
    on a flat dark background, so each pixel may change in proportion to its brightness
    plus a ``floor`` (a fraction of white),

        a = (mean_c (x - low) / (high - low) + floor) / (1 + floor),   (low, high) = clamp

    from floor / (1 + floor) on black to 1 on white (low and high: numbers, or arrays
    broadcastable to x, such as per-channel bounds). Returns (N, 1, H, W).

    Examples
    --------
    >>> from visiongrad.visualize import brightness_allowance
    >>> x = np.array([[[[0.0, 0.5, 1.0]]]], np.float32)
    >>> brightness_allowance(x, clamp=(0.0, 1.0)).round(3)
    array([[[[0.091, 0.545, 1.   ]]]], dtype=float32)
    """
    images = as_batch(x)
    if clamp is None or len(clamp) != 2 or not np.all(np.asarray(clamp[1]) > clamp[0]):
        raise ValueError(f"clamp must be (low, high) with low < high, got {clamp!r}")
    if not floor > 0:
        raise ValueError(f"floor must be positive, got {floor}")
    low, high = (np.asarray(bound, dtype=np.float64) for bound in clamp)
    brightness = ((images - low) / (high - low)).mean(axis=1, keepdims=True)
    return ((np.clip(brightness, 0, 1) + floor) / (1 + floor)).astype(images.dtype)


def _allowance(allowance, images: np.ndarray) -> np.ndarray:
    if allowance is None:
        return np.ones_like(images)
    try:
        scale = np.broadcast_to(np.asarray(allowance, dtype=np.float64), images.shape)
    except ValueError:
        raise ValueError(f"allowance must broadcast to x's shape {images.shape}, got shape "
                         f"{np.shape(allowance)}") from None
    if not np.isfinite(scale).all() or scale.min() < 0:
        raise ValueError("allowance must be finite and >= 0")
    if not scale.reshape(len(images), -1).max(axis=1).all():
        raise ValueError("allowance must be positive somewhere in every image")
    return scale.astype(images.dtype)


def _margin_and_gradient(model, images: np.ndarray, targets: np.ndarray, clamp,
                         of_target_only: bool = False):
    """g = s_t - max_{c != t} s_c per image, and dg/dX (or dS_t/dX) with the outward
    components at ``clamp``'s bounds dropped (kept for ``of_target_only``)."""
    inputs = Tensor(images, requires_grad=True)
    scores = model(inputs)
    if scores.ndim != 2 or targets.min() < 0 or targets.max() >= scores.shape[1]:
        raise ValueError(f"target classes must lie in [0, {scores.shape[-1]}) of the model's "
                         f"(N, classes) scores, got {sorted(set(targets.tolist()))}")
    rows = np.arange(len(images))
    others = scores.data.copy()
    others[rows, targets] = -np.inf
    rival = others.argmax(axis=1)
    objective = scores[rows, targets]
    if not of_target_only:
        objective = objective - scores[rows, rival]
    objective.sum().backward()
    margin = scores.data[rows, targets] - scores.data[rows, rival]
    grad = inputs.grad if of_target_only else _inward(inputs.grad, images, clamp)
    return margin.astype(np.float64), grad


def _cross(model, start, targets, scale, learning_rate, max_iter, clamp, method, overshoot):
    """``"least_norm"``'s or ``"ascent"``'s steps, each image until it is fooled."""
    images = start.copy()
    active = np.arange(len(images))
    for _ in range(max_iter):
        margin, grad = _margin_and_gradient(model, images[active], targets[active], clamp,
                                            of_target_only=method == "ascent")
        moving = margin <= 0
        active, margin = active[moving], margin[moving]
        if not len(active):
            break
        w = scale[active] * grad[moving]
        length = learning_rate if method == "ascent" else np.minimum(
            ((1 + overshoot) * -margin + _TIE_BREAK) / _norms(w), learning_rate)
        step = scale[active] * _per_image(length) * w / _per_image(_norms(w))
        images[active] = _clamped(images[active] + step.astype(images.dtype), clamp)
    return images


def _walk_boundary(model, start, images, targets, scale, learning_rate, steps, clamp):
    """``"min_norm"``'s refinement of fooled ``images`` (see fooling_image)."""
    best, best_norm = images.copy(), np.full(len(images), np.inf)
    kappa = np.full(len(images), _TIE_BREAK)
    safe = np.where(scale > 0, scale, 1)
    for k in range(steps + 1):
        margin, grad = _margin_and_gradient(model, images, targets, clamp)
        u = np.where(scale > 0, (images - start) / safe, 0).astype(np.float64)
        fooled, size = margin > 0, _norms(u)
        better = fooled & (size < best_norm)
        best[better], best_norm[better] = images[better], size[better]
        if k == steps:
            break
        gamma = 0.01 + 0.045 * (1 + np.cos(np.pi * k / steps))
        kappa = np.where(fooled, kappa / 1.5, kappa * 2)
        w = scale * grad.astype(np.float64)
        c = np.clip((kappa - margin + gamma * (w * u).sum(axis=(1, 2, 3))) / _norms(w),
                    -learning_rate, learning_rate)
        u = (1 - gamma) * u + _per_image(c) * w / _per_image(_norms(w))
        images = _clamped((start + scale * u).astype(start.dtype), clamp)
    return best


def _norms(values: np.ndarray) -> np.ndarray:
    """Each image's L2 norm (float64, never 0), shape (N,)."""
    return _per_image_norm(values).reshape(-1)


def _per_image(values) -> np.ndarray:
    """Per-image values (N,) (or one scalar) shaped to scale (N, C, H, W) images."""
    return np.reshape(values, (-1, 1, 1, 1))


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

    Examples
    --------
    >>> from visiongrad.visualize import deep_dream
    >>> _ = vg.manual_seed(0)
    >>> model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(),
    ...                       nn.Flatten(), nn.Linear(4 * 8 * 8, 3))
    >>> x = np.random.default_rng(0).random((2, 1, 8, 8)).astype(np.float32)
    >>> deep_dream(model, '1', x[:1], octaves=2, iterations=2).shape
    (1, 1, 8, 8)
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
                   clamp=None, on_step: Callable[[int, int], None] | None = None
                   ) -> np.ndarray:
    """Minimise ``loss_fn(image)`` over the pixels from ``start`` with Adam or L-BFGS
    (``visiongrad.optim``), clipping to ``clamp`` after every step; return the image.
    ``on_step(done, total)`` is called after each step (an Adam step, or a run of up to 20
    L-BFGS iterations), for a progress line.

    Examples
    --------
    >>> from visiongrad.visualize import optimise_image
    >>> target = np.full((1, 1, 2, 2), 0.5, np.float32)
    >>> start = np.zeros((1, 1, 2, 2), np.float32)
    >>> def loss(x):
    ...     return ((x - vg.tensor(target)) ** 2).sum()
    >>> result = optimise_image(start, loss, iterations=200, learning_rate=0.05)
    >>> bool(np.abs(result - target).max() < 0.01)
    True
    """
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
    for done in range(1, steps + 1):
        solver.step(closure)
        if clamp is not None:
            image.data[...] = np.clip(image.data, clamp[0], clamp[1])
        if on_step is not None:
            on_step(done, steps)
    return image.data


def invert_features(model, layer: str, image, tv_weight: float = 1e-2,
                    iterations: int = 200, learning_rate: float = 0.05,
                    optimizer: str = "adam", clamp=None, seed=0,
                    noise_mean: float = 0.0,
                    on_step: Callable[[int, int], None] | None = None) -> np.ndarray:
    """An image whose ``layer`` features match ``image``'s, from noise (``noise_mean`` +
    0.1 N(0, 1): 0 for standardised inputs, 0.5 for RGB in [0, 1]; ``on_step`` as
    :func:`optimise_image`'s):

        minimise |phi(x) - phi(image)|^2 / |phi(image)|^2 + tv_loss(x, tv_weight)

    (total variation keeps it image-like). Returns (N, C, H, W) like ``image``.

    Examples
    --------
    >>> from visiongrad.visualize import invert_features
    >>> _ = vg.manual_seed(0)
    >>> model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(),
    ...                       nn.Flatten(), nn.Linear(4 * 8 * 8, 3))
    >>> x = np.random.default_rng(0).random((2, 1, 8, 8)).astype(np.float32)
    >>> invert_features(model, '1', x[:1], iterations=3).shape
    (1, 1, 8, 8)
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
            + tv_loss(x, tv_weight), iterations, optimizer, learning_rate, clamp, on_step)
