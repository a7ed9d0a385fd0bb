"""Losses: softmax cross-entropy, multiclass hinge (SVM), MSE, L1, BCE with logits, and
the L1 / L2 / elastic-net weight penalties.

Classification losses take scores of shape (N, C) (or (N, C, d1, ...), the class axis
second, as in PyTorch) and integer labels of shape (N,) (or (N, d1, ...)) in [0, C).
``reduction`` is "mean" (over the per-example losses), "sum" or "none" (one loss per
example; then the gradient of each comes from the upstream gradient of the same shape).
"""

from __future__ import annotations

from .. import accel
from ..autograd import Function
from ..backend import xp
from .activation import log_softmax, sigmoid

REDUCTIONS = ("mean", "sum", "none")


def check_reduction(name: str, reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"{name}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def reduce_loss(losses, reduction: str):
    """The per-example ``losses`` averaged, summed, or left as they are."""
    if reduction == "none":
        return losses
    return xp.asarray(losses.mean() if reduction == "mean" else losses.sum())


def per_example_grad(grad_out, shape, reduction: str):
    """d(loss)/d(per-example losses): dy / count for "mean", dy for "sum", broadcast."""
    if reduction == "none":
        return grad_out
    count = 1
    for size in shape:
        count *= size
    return xp.broadcast_to(grad_out / count if reduction == "mean" else grad_out, shape)


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
    log_probs = log_softmax(scores, 1)
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
        upstream = per_example_grad(grad_out, self.labels_shape, self.reduction)
        if self.kernel is not None:
            return self.kernel.backward(upstream), None
        return self.score_grad * xp.expand_dims(upstream, 1), None


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
        grad = 2 * self.margins if self.squared else (self.margins > 0).astype(grad_out.dtype)
        xp.put_along_axis(grad, self.picked, -grad.sum(axis=1, keepdims=True), axis=1)
        upstream = per_example_grad(grad_out, self.picked.shape[:1] + self.picked.shape[2:],
                                    self.reduction)
        return grad * xp.expand_dims(upstream, 1), None


class _ElementwiseLoss(Function):
    """A loss l(x, t) applied elementwise to an input and a target of the same shape.

    Subclasses define ``elementwise(x, t)`` returning the values l, dl/dx and dl/dt.
    Backward: dx = dl/dx * dL_k, dt = dl/dt * dL_k, with dL_k = dL / size for "mean".
    """

    name = ""

    def elementwise(self, x, target):
        raise NotImplementedError

    def forward(self, x, target, reduction="mean"):
        check_reduction(self.name, reduction)
        if x.shape != target.shape:
            # NOTE: unlike PyTorch, which broadcasts with a warning, a mismatch is an error
            raise ValueError(f"{self.name}: input of shape {x.shape} and target of shape "
                             f"{target.shape} differ")
        values, self.d_input, self.d_target = self.elementwise(x, target)
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
        diff = x - target
        sign = xp.sign(diff)
        return xp.abs(diff), sign, -sign


class BCEWithLogits(_ElementwiseLoss):
    """Binary cross-entropy on logits x with targets t in [0, 1].

    l = -(t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))), computed stably as
    l = max(x, 0) - x t + log(1 + e^-|x|)   (no exponent is positive)
    dl/dx = sigmoid(x) - t,  dl/dt = -x
    """

    name = "binary_cross_entropy_with_logits"

    def elementwise(self, x, target):
        values = xp.maximum(x, 0) - x * target + xp.log1p(xp.exp(-xp.abs(x)))
        return values, sigmoid(x) - target, -x


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
        if strength < 0:
            raise ValueError(f"penalty strength must be non-negative, got {strength}")
        if not 0 <= l1_ratio <= 1:
            raise ValueError(f"l1_ratio must be between 0 and 1, got {l1_ratio}")
        self.w, self.l1, self.l2 = w, strength * l1_ratio, strength * (1 - l1_ratio)
        return xp.asarray(self.l1 * xp.abs(w).sum() + self.l2 * (w * w).sum(), dtype=w.dtype)

    def backward(self, grad_out):
        return grad_out * (self.l1 * xp.sign(self.w) + (2 * self.l2) * self.w)
