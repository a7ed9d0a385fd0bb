"""Losses: softmax cross-entropy, negative log-likelihood with PyTorch's options (class
weights, ignore_index, label smoothing, probability targets), multiclass hinge (SVM), MSE,
L1, BCE with logits (weight, pos_weight), and the L1 / L2 / elastic-net weight penalties.
More elementwise losses (BCE on probabilities, smooth L1, Huber, KL) are in
``loss_elementwise.py``.

Classification losses take scores of shape (N, C) (or (N, C, d1, ...), the class axis
second, as in PyTorch) and integer labels of shape (N,) (or (N, d1, ...)) in [0, C).
``reduction`` is "mean" (over the per-example losses), "sum" or "none" (one loss per
example; then the gradient of each comes from the upstream gradient of the same shape);
``kl_div`` also takes "batchmean" (the sum over the first axis's size).
"""

from __future__ import annotations

from .. import accel
from ..autograd import Function, Tensor, array_of
from ..backend import array_module
from .activation import array_log_softmax, array_sigmoid, array_softplus, log_softmax
from .shape import Reshape

REDUCTIONS = ("mean", "sum", "none")


def check_reduction(name: str, reduction: str, allowed=REDUCTIONS) -> None:
    if reduction not in allowed:
        names = [repr(r) for r in allowed]
        raise ValueError(f"{name}: reduction must be {', '.join(names[:-1])} or {names[-1]}, "
                         f"got {reduction!r}")


def divisor(shape, reduction: str) -> int:
    """What "mean" (every element) or "batchmean" (the first axis) divides the sum by."""
    if reduction == "batchmean":
        return shape[0] if shape else 1
    count = 1
    for size in shape:
        count *= size
    return count if reduction == "mean" else 1


def reduce_loss(losses, reduction: str):
    """The per-example ``losses`` averaged, summed, or left as they are."""
    xp = array_module(losses)
    if reduction == "none":
        return losses
    return xp.asarray(losses.sum() / divisor(losses.shape, reduction), dtype=losses.dtype)


def per_example_grad(grad_out, shape, reduction: str):
    """d(loss)/d(per-example losses): dy / count for "mean", dy for "sum", broadcast."""
    xp = array_module(grad_out)
    if reduction == "none":
        return grad_out
    return xp.broadcast_to(grad_out / divisor(shape, reduction), shape)


def check_labels(name: str, scores, labels) -> None:
    """Labels are integers in [0, C), one per score vector along the class axis 1."""
    check_label_shape(name, scores, labels)
    check_label_range(name, scores, labels)


def check_label_shape(name: str, scores, labels) -> None:
    """Labels are integers, one per score vector along the class axis 1."""
    if labels.dtype.kind not in "iu":
        raise TypeError(f"{name}: labels must be integers, got dtype {labels.dtype}")
    if scores.ndim < 2:
        raise ValueError(f"{name}: scores of shape {scores.shape} need axes (N, C, ...)")
    expected = scores.shape[:1] + scores.shape[2:]
    if labels.shape != expected:
        raise ValueError(f"{name}: scores of shape {scores.shape} and labels of shape "
                         f"{labels.shape} do not match (expected labels of shape {expected})")


def check_label_range(name: str, scores, labels) -> None:
    """Labels lie in [0, C), C = scores.shape[1]."""
    classes = scores.shape[1]
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        bad = labels[(labels < 0) | (labels >= classes)].reshape(-1)[0]
        raise ValueError(f"{name}: label {bad} is out of range for {classes} classes "
                         f"(valid: 0 to {classes - 1})")


def cross_entropy_reference(scores, labels):
    """Per-example softmax cross-entropy and its gradient, in plain NumPy: the formulas of
    ``CrossEntropy``, for scores (N, C, ...) and in-range labels (N, ...).

    Returns L_i = -log softmax(s_i)_{y_i} (labels' shape) and dL_i/ds_i =
    softmax(s_i) - onehot(y_i) (scores' shape).
    """
    xp = array_module(scores)
    log_probs = array_log_softmax(scores, 1)
    picked = xp.expand_dims(labels, 1)
    losses = -xp.take_along_axis(log_probs, picked, axis=1).squeeze(1)
    grad = xp.exp(log_probs)  # softmax
    xp.put_along_axis(grad, picked, xp.take_along_axis(grad, picked, axis=1) - 1, axis=1)
    return losses, grad


class CrossEntropy(Function):
    """Softmax cross-entropy: the negative log-probability of the correct class.

    Forward:  L_i = -log softmax(s_i)_{y_i} = -(s_{i,y_i} - m_i - log sum_j e^(s_ij - m_i)),
              m_i = max_j s_ij (so logits of 1e4 neither overflow nor lose the answer);
              L = mean_i L_i (or sum, or none)
    Backward: ds_i = (softmax(s_i) - onehot(y_i)) * dL_i, with dL_i = dL / N for "mean"
    Shapes:   s (N, C) or (N, C, d1, ...), y (N,) or (N, d1, ...) integers -> L scalar
              (or y's shape for reduction="none")
    (float32 (N, C) scores with int64 labels: both passes compiled, ``accel.cross_entropy``;
    everything else: ``cross_entropy_reference``)
    """

    def forward(self, logits, labels, reduction="mean"):
        check_reduction("cross_entropy", reduction)
        check_label_shape("cross_entropy", logits, labels)
        self.reduction, self.labels_shape = reduction, labels.shape
        self.kernel = accel.cross_entropy(logits, labels)
        if self.kernel is not None:
            return reduce_loss(self.kernel.losses, reduction)
        check_label_range("cross_entropy", logits, labels)
        losses, self.score_grad = cross_entropy_reference(logits, labels)
        return reduce_loss(losses, reduction)

    def backward(self, grad_out):
        xp = array_module(grad_out)
        upstream = per_example_grad(grad_out, self.labels_shape, self.reduction)
        if self.kernel is not None:
            return self.kernel.backward(upstream), None
        return self.score_grad * xp.expand_dims(upstream, 1), None


class NLLLoss(Function):
    """Negative log-likelihood of log-probabilities x against class indices or class
    probabilities, with PyTorch's class ``weight``, ``ignore_index`` and label smoothing
    (``cross_entropy`` is this after ``log_softmax``).

    Forward:  L_i = -sum_c q_ic x_ic with the target weights q (x's shape):
                class index y_i:  q_ic = w_c ((1 - e) [c = y_i] + e / C), 0 where
                                  y_i = ignore_index
                probabilities t_i: q_ic = w_c ((1 - e) t_ic + e / C)
              (w = 1 without weight, e = label_smoothing); "mean" divides sum_i L_i by
              D = sum of w_{y_i} over the targets not ignored (class indices; NaN if all
              are ignored, as in PyTorch) or by the number of targets N (probabilities)
    Backward: dx_ic = -q_ic dL_i;  dt_ic = -(1 - e) w_c x_ic dL_i (probability targets),
              with dL_i = dL / D for "mean"
    Shapes:   x (N, C) or (N, C, d1, ...); y (N,) or (N, d1, ...) integers, or t like x;
              weight (C,) -> L scalar (or (N, d1, ...) for reduction="none")
    """

    def forward(self, x, target, weight=None, ignore_index=-100, label_smoothing=0.0,
                reduction="mean", op="nll_loss"):
        xp = array_module(x)
        check_reduction(op, reduction)
        if not 0 <= label_smoothing <= 1:
            raise ValueError(f"{op}: label_smoothing must be between 0 and 1, got "
                             f"{label_smoothing}")
        classes = x.shape[1] if x.ndim > 1 else 0
        if weight is not None and weight.shape != (classes,):
            raise ValueError(f"{op}: weight of shape {weight.shape} does not match the "
                             f"{classes} classes of input of shape {x.shape}")
        w = xp.ones(classes, dtype=x.dtype) if weight is None else weight.astype(x.dtype)
        w = w.reshape((1, classes) + (1,) * (x.ndim - 2))
        self.soft = target.dtype.kind == "f"
        if self.soft:
            if ignore_index != -100:  # as PyTorch
                raise ValueError(f"{op}: ignore_index is not supported for probability "
                                 f"targets, got {ignore_index}")
            if target.shape != x.shape:
                raise ValueError(f"{op}: target of dtype {target.dtype} and shape "
                                 f"{target.shape}: class indices must be integers, and "
                                 f"probabilities must have the input's shape {x.shape}")
            self.w_target = (1 - label_smoothing) * w
            q = self.w_target * target + (label_smoothing / classes) * w
            total = x.size // classes
        else:
            check_label_shape(op, x, target)
            ignored = target == ignore_index
            picked = xp.where(ignored, 0, target)
            check_label_range(op, x, picked)
            hot = xp.zeros(x.shape, dtype=x.dtype)
            xp.put_along_axis(hot, xp.expand_dims(picked, 1), 1, axis=1)
            q = w * ((1 - label_smoothing) * hot + label_smoothing / classes)
            q *= ~xp.expand_dims(ignored, 1)
            total = (w * hot).sum(axis=1)[~ignored].sum()
        self.x, self.q, self.reduction = x, q, reduction
        losses = -(q * x).sum(axis=1)
        if reduction == "none":
            self.scale = 1
            return losses
        with xp.errstate(divide="ignore", invalid="ignore"):  # all ignored: 0 / 0 = NaN,
            self.scale = 1 / xp.asarray(total, dtype=x.dtype) if reduction == "mean" else 1
            return xp.asarray(losses.sum() * self.scale)      # as in PyTorch

    def backward(self, grad_out):
        xp = array_module(grad_out)
        upstream = xp.expand_dims(grad_out * self.scale, 1) if self.reduction == "none" \
            else grad_out * self.scale
        dx = -self.q * upstream if self.needs_input_grad[0] else None
        dt = None
        if self.soft and self.needs_input_grad[1]:
            dt = -self.w_target * self.x * upstream
        return dx, dt


class MulticlassHinge(Function):
    """The multiclass SVM loss of the course (Weston-Watkins), with margin Delta.

    Forward:  margin_ij = max(0, s_ij - s_{i,y_i} + Delta) for j != y_i (0 for j = y_i);
              L_i = sum_j margin_ij  (squared=True: sum_j margin_ij^2);
              L = mean_i L_i (or sum, or none)
    Backward: ds_ij = [margin_ij > 0] * dL_i           (squared: 2 margin_ij dL_i), j != y_i
              ds_{i,y_i} = -sum_{j != y_i} ds_ij
    Shapes:   s (N, C) (or (N, C, d1, ...)), y (N,) integers -> L scalar

    NOTE: PyTorch's ``multi_margin_loss(p=1 or 2, margin=Delta)`` divides each L_i by the
    number of classes C; this loss is C times it.
    """

    def forward(self, scores, labels, margin=1.0, squared=False, reduction="mean"):
        xp = array_module(scores)
        check_reduction("multiclass_hinge", reduction)
        check_labels("multiclass_hinge", scores, labels)
        self.picked = xp.expand_dims(labels, 1)
        self.reduction, self.squared = reduction, squared
        correct = xp.take_along_axis(scores, self.picked, axis=1)
        margins = xp.maximum(scores - correct + margin, 0)
        xp.put_along_axis(margins, self.picked, 0, axis=1)
        self.margins = margins
        losses = (margins * margins if squared else margins).sum(axis=1)
        return reduce_loss(losses, reduction)

    def backward(self, grad_out):
        xp = array_module(grad_out)
        grad = 2 * self.margins if self.squared else (self.margins > 0).astype(grad_out.dtype)
        xp.put_along_axis(grad, self.picked, -grad.sum(axis=1, keepdims=True), axis=1)
        upstream = per_example_grad(grad_out, self.picked.shape[:1] + self.picked.shape[2:],
                                    self.reduction)
        return grad * xp.expand_dims(upstream, 1), None


class _ElementwiseLoss(Function):
    """A loss l(x, t) applied elementwise to an input and a target of the same shape,
    each element optionally scaled by ``weight`` (broadcast to x's shape, a constant).

    Subclasses define ``elementwise(x, t, **options)`` returning the values l, dl/dx and
    dl/dt. Backward: dx = dl/dx * dL_k, dt = dl/dt * dL_k, with dL_k = dL / size for "mean".
    """

    name = ""
    reductions: tuple[str, ...] = REDUCTIONS

    def elementwise(self, x, target, **options):
        raise NotImplementedError

    def forward(self, x, target, reduction="mean", weight=None, **options):
        xp = array_module(x)
        check_reduction(self.name, reduction, self.reductions)
        if x.shape != target.shape:
            # NOTE: unlike PyTorch, which broadcasts with a warning, a mismatch is an error
            raise ValueError(f"{self.name}: input of shape {x.shape} and target of shape "
                             f"{target.shape} differ")
        if x.dtype.kind != "f":
            raise TypeError(f"{self.name}: input must be floating point, got {x.dtype}")
        values, self.d_input, self.d_target = self.elementwise(x, target, **options)
        if weight is not None:
            weight = xp.broadcast_to(xp.asarray(weight, dtype=x.dtype), x.shape)
            values, self.d_input, self.d_target = (values * weight, self.d_input * weight,
                                                   self.d_target * weight)
        self.reduction = reduction
        return reduce_loss(values, reduction)

    def backward(self, grad_out):
        upstream = per_example_grad(grad_out, self.d_input.shape, self.reduction)
        dx = upstream * self.d_input if self.needs_input_grad[0] else None
        dt = upstream * self.d_target if self.needs_input_grad[1] else None
        return dx, dt


class MSELoss(_ElementwiseLoss):
    """Mean squared error. l = (x - t)^2; dl/dx = 2 (x - t), dl/dt = -2 (x - t)."""

    name = "mse_loss"

    def elementwise(self, x, target):
        diff = x - target
        return diff * diff, 2 * diff, -2 * diff


class L1Loss(_ElementwiseLoss):
    """Mean absolute error. l = |x - t|; dl/dx = sign(x - t) (0 at 0), dl/dt = -sign(x - t)."""

    name = "l1_loss"

    def elementwise(self, x, target):
        xp = array_module(x)
        diff = x - target
        sign = xp.sign(diff)
        return xp.abs(diff), sign, -sign


class BCEWithLogits(_ElementwiseLoss):
    """Binary cross-entropy on logits x with targets t in [0, 1], positives weighted by p
    (``pos_weight``, broadcast along the last axis; 1 by default) and every element by
    ``weight``.

    l = -(p t log sigmoid(x) + (1 - t) log(1 - sigmoid(x)))
      = p t softplus(-x) + (1 - t) softplus(x)     (stable: see ``softplus``)
    dl/dx = (1 - t) sigmoid(x) - p t sigmoid(-x)   (= sigmoid(x) - t for p = 1)
    dl/dt = p softplus(-x) - softplus(x)           (= -x for p = 1)
    """

    name = "binary_cross_entropy_with_logits"

    def elementwise(self, x, target, pos_weight=None):
        xp = array_module(x)
        up, down = array_softplus(x), array_softplus(-x)  # -log sigmoid(-x), -log sigmoid(x)
        p = 1 if pos_weight is None else xp.asarray(pos_weight, dtype=x.dtype)
        values = p * target * down + (1 - target) * up
        d_input = (1 - target) * array_sigmoid(x) - p * target * array_sigmoid(-x)
        return values, d_input, p * down - up


class ElasticNetPenalty(Function):
    """Weight penalty for regularisation, added to the data loss.

    Forward:  R(w) = strength * (l1_ratio * sum |w| + (1 - l1_ratio) * sum w^2)
              l1_ratio = 1: the L1 penalty strength * sum |w|;
              l1_ratio = 0: the L2 penalty strength * sum w^2 (the course's reg * sum(W * W),
              with no 1/2, so its gradient is 2 * reg * W)
    Backward: dw = dR * strength * (l1_ratio * sign(w) + 2 (1 - l1_ratio) w)
    Shapes:   w any -> R scalar
    """

    def forward(self, w, strength=0.0, l1_ratio=0.5):
        xp = array_module(w)
        if strength < 0:
            raise ValueError(f"penalty strength must be non-negative, got {strength}")
        if not 0 <= l1_ratio <= 1:
            raise ValueError(f"l1_ratio must be between 0 and 1, got {l1_ratio}")
        self.w, self.l1, self.l2 = w, strength * l1_ratio, strength * (1 - l1_ratio)
        return xp.asarray(self.l1 * xp.abs(w).sum() + self.l2 * (w * w).sum(), dtype=w.dtype)

    def backward(self, grad_out):
        xp = array_module(grad_out)
        return grad_out * (self.l1 * xp.sign(self.w) + (2 * self.l2) * self.w)


# ----- functional forms (``torch.nn.functional``'s names and arguments) --------------


def cross_entropy(input, target, weight=None, *, ignore_index: int = -100,  # noqa: A002
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy of scores (N, C, ...) against class indices (N, ...) or class
    probabilities (like the scores), with PyTorch's options (see ``ops.loss.NLLLoss``).
    Plain class indices with no option take ``CrossEntropy`` (compiled where it fits).
    Scores (C,) are one unbatched sample, with a 0-d class index or (C,) probabilities.

    Examples
    --------
    >>> scores = vg.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    >>> F.cross_entropy(scores, np.array([0, 1]))
    Tensor(0.6691)
    >>> F.cross_entropy(scores, np.array([0, 1]), reduction='none')
    Tensor([0.2395 1.0986])
    """
    if array_of(input).ndim == 1:
        scores, labels = (Reshape.apply(t, shape=(1,) + tuple(array_of(t).shape))
                          for t in (input, target))
        loss = cross_entropy(scores, labels, weight, ignore_index=ignore_index,
                             reduction=reduction, label_smoothing=label_smoothing)
        return Reshape.apply(loss, shape=()) if reduction == "none" else loss
    labels = array_of(target)
    if (weight is None and label_smoothing == 0 and labels.dtype.kind in "iu"
            and not (labels == ignore_index).any()):
        return CrossEntropy.apply(input, target, reduction=reduction)
    return NLLLoss.apply(log_softmax(input, 1), target, weight=array_of(weight),
                         ignore_index=ignore_index, label_smoothing=label_smoothing,
                         reduction=reduction, op="cross_entropy")


def nll_loss(input, target, weight=None, *, ignore_index: int = -100,  # noqa: A002
             reduction: str = "mean") -> Tensor:
    """-sum of w_y x_{i, y_i} over log-probabilities x (N, C, ...) and class indices y,
    averaged over the weights of the targets not ignored (PyTorch's ``nll_loss``).

    Examples
    --------
    >>> F.nll_loss(vg.tensor([[-0.5, -1.0], [-2.0, -0.1]]), np.array([0, 1]))
    Tensor(0.3)
    """
    return NLLLoss.apply(input, target, weight=array_of(weight), ignore_index=ignore_index,
                         reduction=reduction)


def multiclass_hinge(scores, labels, margin: float = 1.0, squared: bool = False,
                     reduction: str = "mean") -> Tensor:
    """The course's SVM loss: sum_{j != y} max(0, s_j - s_y + margin) (squared if asked).

    Examples
    --------
    >>> F.multiclass_hinge(vg.tensor([[3.0, 1.0, 2.5]]), np.array([0]))
    Tensor(0.5)
    """
    return MulticlassHinge.apply(scores, labels, margin=margin, squared=squared,
                                 reduction=reduction)


def mse_loss(x, target, *, reduction: str = "mean") -> Tensor:
    """Mean (or sum, or none) of (x - target)^2; x and target of one shape.

    Examples
    --------
    >>> F.mse_loss(vg.tensor([1.0, 2.0]), vg.tensor([0.0, 4.0]))
    Tensor(2.5)
    """
    return MSELoss.apply(x, target, reduction=reduction)


def l1_loss(x, target, *, reduction: str = "mean") -> Tensor:
    """Mean (or sum, or none) of |x - target|; x and target of one shape.

    Examples
    --------
    >>> F.l1_loss(vg.tensor([1.0, 2.0]), vg.tensor([0.0, 4.0]))
    Tensor(1.5)
    """
    return L1Loss.apply(x, target, reduction=reduction)


def binary_cross_entropy_with_logits(x, target, weight=None, *, reduction: str = "mean",
                                     pos_weight=None) -> Tensor:
    """-(p t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))), times ``weight``; p is
    ``pos_weight`` (one per class, the last axis).

    Examples
    --------
    >>> F.binary_cross_entropy_with_logits(vg.tensor([0.0, 2.0]), vg.tensor([1.0, 0.0]))
    Tensor(1.41)
    """
    return BCEWithLogits.apply(x, target, reduction=reduction, weight=array_of(weight),
                               pos_weight=array_of(pos_weight))


def l1_penalty(w, strength: float) -> Tensor:
    """strength * sum |w|.

    Examples
    --------
    >>> F.l1_penalty(vg.tensor([1.0, -2.0]), strength=0.1)
    Tensor(0.3)
    """
    return ElasticNetPenalty.apply(w, strength=strength, l1_ratio=1.0)


def l2_penalty(w, strength: float) -> Tensor:
    """strength * sum w^2 (the course's reg * sum(W * W); gradient 2 * strength * w).

    Examples
    --------
    >>> F.l2_penalty(vg.tensor([1.0, -2.0]), strength=0.1)
    Tensor(0.5)
    """
    return ElasticNetPenalty.apply(w, strength=strength, l1_ratio=0.0)


def elastic_net_penalty(w, strength: float, l1_ratio: float = 0.5) -> Tensor:
    """strength * (l1_ratio * sum |w| + (1 - l1_ratio) * sum w^2).

    Examples
    --------
    >>> F.elastic_net_penalty(vg.tensor([1.0, -2.0]), strength=0.1)
    Tensor(0.4)
    """
    return ElasticNetPenalty.apply(w, strength=strength, l1_ratio=l1_ratio)
