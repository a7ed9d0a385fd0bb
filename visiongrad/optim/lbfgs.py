"""L-BFGS for full-batch problems, closure-based as ``torch.optim.LBFGS``."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ..autograd import Tensor
from ..backend import xp
from .optimizer import Optimizer, check_range

LINE_SEARCHES = (None, "strong_wolfe", "backtracking")


def _as_float(loss) -> float:
    return loss.item() if isinstance(loss, Tensor) else float(loss)


def cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None) -> float:
    """The minimiser of the cubic through (x1, f1) and (x2, f2) with slopes g1, g2, clipped
    to ``bounds`` (default: the interval between x1 and x2); its midpoint if the cubic
    has no minimum there."""
    low, high = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 * d1 - g1 * g2
    if d2_square < 0:
        return (low + high) / 2
    d2 = math.sqrt(d2_square)
    if x1 <= x2:
        position = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        position = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(position, low), high)


def strong_wolfe(evaluate: Callable, t: float, d, f: float, g, gtd: float, c1: float = 1e-4,
                 c2: float = 0.9, tolerance_change: float = 1e-9, max_ls: int = 25):
    """Line search for a step t satisfying the strong Wolfe conditions
    f(x + t d) <= f + c1 t g.d and |g(x + t d).d| <= c2 |g.d| (Nocedal & Wright, alg. 3.5
    and 3.6: bracketing, then zooming with cubic interpolation), as PyTorch's.

    ``evaluate(t)`` returns (loss, flat gradient) at x + t d. Returns
    (f_new, g_new, t, number of evaluations).
    """
    d_norm = float(xp.abs(d).max())
    f_new, g_new = evaluate(t)
    evaluations = 1
    gtd_new = float(g_new @ d)
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
    done, ls_iter = False, 0
    while ls_iter < max_ls:
        if f_new > f + c1 * t * gtd or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new], [gtd_prev, gtd_new]
            break
        # extrapolate: the minimum lies beyond t
        t_next = cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                                   bounds=(t + 0.01 * (t - t_prev), t * 10))
        t_prev, f_prev, g_prev, gtd_prev = t, f_new, g_new, gtd_new
        t = t_next
        f_new, g_new = evaluate(t)
        evaluations += 1
        gtd_new = float(g_new @ d)
        ls_iter += 1
    if ls_iter == max_ls:
        bracket, bracket_f, bracket_g = [0.0, t], [f, f_new], [g, g_new]

    # zoom: shrink the bracket until the conditions hold
    insufficient_progress = False
    low, high = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0],
                              bracket[1], bracket_f[1], bracket_gtd[1])
        # keep t away from the bracket's ends, or it makes no progress
        margin = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < margin:
            if insufficient_progress or t >= max(bracket) or t <= min(bracket):
                t = (max(bracket) - margin if abs(t - max(bracket)) < abs(t - min(bracket))
                     else min(bracket) + margin)
                insufficient_progress = False
            else:
                insufficient_progress = True
        else:
            insufficient_progress = False
        f_new, g_new = evaluate(t)
        evaluations += 1
        gtd_new = float(g_new @ d)
        ls_iter += 1
        if f_new > f + c1 * t * gtd or f_new >= bracket_f[low]:
            bracket[high], bracket_f[high], bracket_g[high], bracket_gtd[high] = (
                t, f_new, g_new, gtd_new)
            low, high = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high] - bracket[low]) >= 0:
                bracket[high], bracket_f[high] = bracket[low], bracket_f[low]
                bracket_g[high], bracket_gtd[high] = bracket_g[low], bracket_gtd[low]
            bracket[low], bracket_f[low], bracket_g[low], bracket_gtd[low] = (
                t, f_new, g_new, gtd_new)
    return bracket_f[low], bracket_g[low], bracket[low], evaluations


def backtracking(evaluate: Callable, t: float, f: float, gtd: float, c1: float = 1e-4,
                 shrink: float = 0.5, max_ls: int = 25):
    """Armijo backtracking: halve t until f(x + t d) <= f + c1 t g.d (at most ``max_ls``
    evaluations). Returns (f_new, g_new, t, number of evaluations)."""
    evaluations = 0
    while True:
        f_new, g_new = evaluate(t)
        evaluations += 1
        if f_new <= f + c1 * t * gtd or evaluations >= max_ls:
            return f_new, g_new, t, evaluations
        t *= shrink


class LBFGS(Optimizer):
    """Limited-memory BFGS for full-batch problems (as ``torch.optim.LBFGS``).

    ``step(closure)`` runs up to ``max_iter`` iterations; ``closure()`` must clear the
    gradients, compute the loss, call ``backward`` and return the loss.

    Algorithm, with x and g the parameters and gradient flattened into one vector, and
    the last ``history_size`` pairs s_i = x_{i+1} - x_i, y_i = g_{i+1} - g_i kept
    (a pair is kept only when y.s > 1e-10, which keeps the inverse Hessian positive)::

        first iteration:  d = -g,  t = min(1, 1 / sum|g|) * lr
        later:            d = -H g by the two-loop recursion
                              q = -g
                              for i newest..oldest: a_i = (s_i.q) / (y_i.s_i); q -= a_i y_i
                              r = q * (y.s / y.y)           (newest pair: H0 = gamma I)
                              for i oldest..newest: b = (y_i.r) / (y_i.s_i); r += (a_i - b) s_i
                              d = r,  t = lr
        line search:      t chosen by strong Wolfe or backtracking (if set), else fixed
        x <- x + t d

    It stops when max|g| <= tolerance_grad, the step or the loss change falls below
    tolerance_change, or after ``max_iter`` iterations or ``max_eval`` evaluations.

    Parameters
    ----------
    params : iterable of Tensor
        One group only.
    lr : float
    max_iter : int
        Iterations per ``step``.
    max_eval : int, optional
        Closure evaluations per ``step`` (default ``max_iter * 5 // 4``).
    tolerance_grad, tolerance_change : float
    history_size : int
        Number of (s, y) pairs kept.
    line_search_fn : {None, "strong_wolfe", "backtracking"}
        ``"backtracking"`` (Armijo, halving) is visiongrad's; PyTorch has the other two.
    """

    def __init__(self, params, lr: float = 1.0, max_iter: int = 20, max_eval: int | None = None,
                 tolerance_grad: float = 1e-7, tolerance_change: float = 1e-9,
                 history_size: int = 100, line_search_fn: str | None = None):
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        super().__init__(params, {"lr": lr, "max_iter": max_iter, "max_eval": max_eval,
                                  "tolerance_grad": tolerance_grad,
                                  "tolerance_change": tolerance_change,
                                  "history_size": history_size,
                                  "line_search_fn": line_search_fn})
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS does not support parameter groups (give one list)")
        self._params = self.param_groups[0]["params"]

    def check_group(self, group: dict) -> None:
        super().check_group(group)
        for name in ("max_iter", "max_eval", "history_size"):
            check_range(name, group[name], 1)
        if group["line_search_fn"] not in LINE_SEARCHES:
            raise ValueError(f"line_search_fn must be one of {LINE_SEARCHES}, got "
                             f"{group['line_search_fn']!r}")

    def add_param_group(self, group) -> None:
        if self.param_groups:
            raise ValueError("LBFGS does not support parameter groups (give one list)")
        super().add_param_group(group)

    # ----- flat views --------------------------------------------------------------------
    def _flat_grad(self):
        return xp.concatenate([
            (xp.zeros(p.size, dtype=p.data.dtype) if p.grad is None
             else xp.asarray(p.grad, dtype=p.data.dtype).ravel()) for p in self._params])

    def _add_step(self, t: float, d) -> None:
        offset = 0
        for p in self._params:
            p.data += (t * d[offset:offset + p.size]).reshape(p.shape).astype(p.data.dtype)
            offset += p.size

    def _evaluate_at(self, closure: Callable, t: float, d):
        """(loss, flat gradient) at x + t d; the parameters are put back to x afterwards."""
        saved = [p.data.copy() for p in self._params]
        self._add_step(t, d)
        loss = _as_float(closure())
        flat_grad = self._flat_grad()
        for p, data in zip(self._params, saved, strict=True):
            p.data[...] = data
        return loss, flat_grad

    def step(self, closure: Callable | None = None):
        """Run up to ``max_iter`` L-BFGS iterations; return the loss of the first closure
        evaluation (as PyTorch)."""
        if closure is None:
            raise ValueError("LBFGS.step needs a closure that recomputes the loss and its "
                             "gradients")
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        state = self.state.setdefault(id(self._params[0]), {})
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        first_loss = closure()
        loss = _as_float(first_loss)
        evaluations = 1
        state["func_evals"] += 1
        flat_grad = self._flat_grad()
        if float(xp.abs(flat_grad).max()) <= tolerance_grad:
            return first_loss

        # the search direction, step length and curvature pairs of the last step (none yet
        # on the first, which starts them from the gradient)
        d: Any = state.get("d")
        t: Any = state.get("t")
        old_dirs: list = state.get("old_dirs", [])
        old_steps: list = state.get("old_stps", [])
        ro: list = state.get("ro", [])
        h_diag, prev_flat_grad = state.get("H_diag"), state.get("prev_flat_grad")
        iteration = 0
        while iteration < max_iter:
            iteration += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_steps, ro, h_diag = [], [], [], 1.0
            else:
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = float(y @ s)
                if ys > 1e-10:
                    if len(old_dirs) == group["history_size"]:
                        old_dirs.pop(0)
                        old_steps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_steps.append(s)
                    ro.append(1.0 / ys)
                    h_diag = ys / float(y @ y)
                alphas = [0.0] * len(old_dirs)
                q = -flat_grad
                for i in range(len(old_dirs) - 1, -1, -1):
                    alphas[i] = float(old_steps[i] @ q) * ro[i]
                    q = q - alphas[i] * old_dirs[i]
                d = q * h_diag
                for i in range(len(old_dirs)):
                    beta = float(old_dirs[i] @ d) * ro[i]
                    d = d + (alphas[i] - beta) * old_steps[i]
            prev_flat_grad = flat_grad.copy()
            prev_loss = loss
            t = min(1.0, 1.0 / float(xp.abs(flat_grad).sum())) * lr if state["n_iter"] == 1 \
                else lr
            gtd = float(flat_grad @ d)
            if gtd > -tolerance_change:  # not a descent direction
                break

            line_evaluations = 0
            search = group["line_search_fn"]
            if search is not None:
                def evaluate(step, direction=d):
                    return self._evaluate_at(closure, step, direction)
                if search == "strong_wolfe":
                    loss, flat_grad, t, line_evaluations = strong_wolfe(
                        evaluate, t, d, loss, flat_grad, gtd, max_ls=max_eval - evaluations)
                else:
                    loss, flat_grad, t, line_evaluations = backtracking(
                        evaluate, t, loss, gtd, max_ls=max(1, max_eval - evaluations))
                self._add_step(t, d)
                optimal = float(xp.abs(flat_grad).max()) <= tolerance_grad
            else:
                self._add_step(t, d)
                optimal = False
                if iteration != max_iter:
                    loss = _as_float(closure())
                    flat_grad = self._flat_grad()
                    optimal = float(xp.abs(flat_grad).max()) <= tolerance_grad
                    line_evaluations = 1
            evaluations += line_evaluations
            state["func_evals"] += line_evaluations

            if (iteration == max_iter or evaluations >= max_eval or optimal
                    or float(xp.abs(d * t).max()) <= tolerance_change
                    or abs(loss - prev_loss) < tolerance_change):
                break

        state.update(d=d, t=t, old_dirs=old_dirs, old_stps=old_steps, ro=ro, H_diag=h_diag,
                     prev_flat_grad=prev_flat_grad, prev_loss=prev_loss)
        return first_loss
