"""Learning-rate schedules, stepped once per epoch (or per iteration) after the optimizer.

As in PyTorch, constructing a schedule records each group's starting rate as
``group["initial_lr"]`` (``base_lrs``) and sets the rate for step 0; each ``step()``
advances the counter ``last_epoch`` and sets the rate for it. Every schedule here
except ``ReduceLROnPlateau`` is a closed form lr(t) of the base rate, so schedules compose
(``LinearWarmup(..., after=CosineAnnealingLR(...))``) and resume exactly from
``state_dict``.

Examples
--------
>>> import visiongrad as vg
>>> from visiongrad import optim
>>> opt = optim.SGD([vg.tensor([1.0], requires_grad=True)], lr=1.0)
>>> schedule = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.1)
>>> rates = []
>>> for epoch in range(4):
...     rates.append(round(opt.param_groups[0]["lr"], 6)); schedule.step()
>>> rates
[1.0, 1.0, 0.1, 0.1]
"""

from __future__ import annotations

import bisect
import copy
import math

from .optimizer import Optimizer, check_range


def _check_optimizer(optimizer) -> None:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"a schedule needs a visiongrad Optimizer, got "
                        f"{type(optimizer).__name__}")


def check_schedule_state(schedule, state_dict) -> dict:
    """``state_dict`` without its ``"type"`` entry, after checking it fits ``schedule``.

    A state saved by another kind of schedule (a StepLR state offered to a cosine
    schedule) would silently give the wrong rates, so it is refused, naming both.
    States saved before the type was recorded are checked by their keys.
    """
    name = type(schedule).__name__
    if not isinstance(state_dict, dict):
        raise ValueError(f"{name}.load_state_dict needs a dict, got {type(state_dict).__name__}")
    state = dict(state_dict)
    saved = state.pop("type", None)
    expected = set(schedule.__dict__) - {"optimizer"}
    if saved is not None and saved != name:
        raise ValueError(f"the loaded state is from a {saved} schedule; this schedule is a "
                         f"{name} (build the same kind of schedule to resume)")
    if set(state) != expected:
        raise ValueError(f"the loaded state does not fit a {name} schedule: it has "
                         f"{sorted(set(state) - expected)} and lacks "
                         f"{sorted(expected - set(state))}")
    return state


class LRScheduler:
    """Base class: subclasses implement ``lr_at(base_lr, t)``, the rate at step t."""

    def __init__(self, optimizer: Optimizer):
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = -1
        self.step()

    def lr_at(self, base_lr: float, t: int) -> float:
        raise NotImplementedError

    def step(self) -> None:
        """Advance one step and set each group's learning rate."""
        self.last_epoch += 1
        for group, base_lr in zip(self.optimizer.param_groups, self.base_lrs, strict=True):
            group["lr"] = self.lr_at(base_lr, self.last_epoch)
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The learning rate of each group after the last ``step``."""
        return list(self._last_lr)

    def state_dict(self) -> dict:
        """Everything but the optimizer (JSON-friendly values), and ``"type"``, the class
        name, which ``load_state_dict`` checks."""
        state = {key: (value.state_dict() if isinstance(value, LRScheduler)
                       else copy.deepcopy(value))
                 for key, value in self.__dict__.items() if key != "optimizer"}
        return {"type": type(self).__name__, **state}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore a state saved by ``state_dict``.

        Raises
        ------
        ValueError
            The state is from another kind of schedule (naming both), or its keys differ.
        """
        for key, value in check_schedule_state(self, state_dict).items():
            current = self.__dict__.get(key)
            if isinstance(current, LRScheduler):
                current.load_state_dict(value)
            else:
                self.__dict__[key] = copy.deepcopy(value)
        for group, lr in zip(self.optimizer.param_groups, self._last_lr, strict=True):
            group["lr"] = lr


class StepLR(LRScheduler):
    """lr(t) = base_lr * gamma ** (t // step_size): multiply by gamma every step_size steps."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1):
        check_range("step_size", step_size, 1)
        check_range("gamma", gamma)
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer)

    def lr_at(self, base_lr: float, t: int) -> float:
        return base_lr * self.gamma ** (t // self.step_size)


class MultiStepLR(LRScheduler):
    """lr(t) = base_lr * gamma ** (number of milestones <= t)."""

    def __init__(self, optimizer: Optimizer, milestones, gamma: float = 0.1):
        self.milestones = sorted(int(m) for m in milestones)
        check_range("gamma", gamma)
        self.gamma = gamma
        super().__init__(optimizer)

    def lr_at(self, base_lr: float, t: int) -> float:
        return base_lr * self.gamma ** bisect.bisect_right(self.milestones, t)


class ExponentialLR(LRScheduler):
    """lr(t) = base_lr * gamma ** t."""

    def __init__(self, optimizer: Optimizer, gamma: float):
        check_range("gamma", gamma)
        self.gamma = gamma
        super().__init__(optimizer)

    def lr_at(self, base_lr: float, t: int) -> float:
        return base_lr * self.gamma**t


class InverseTimeLR(LRScheduler):
    """The course's 1/t decay: lr(t) = base_lr / (1 + decay_rate * t)."""

    def __init__(self, optimizer: Optimizer, decay_rate: float):
        check_range("decay_rate", decay_rate)
        self.decay_rate = decay_rate
        super().__init__(optimizer)

    def lr_at(self, base_lr: float, t: int) -> float:
        return base_lr / (1 + self.decay_rate * t)


class CosineAnnealingLR(LRScheduler):
    """lr(t) = eta_min + (base_lr - eta_min) * (1 + cos(pi * t / T_max)) / 2
    (Loshchilov & Hutter 2017, without restarts): from base_lr down to eta_min at T_max."""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0):  # noqa: N803
        check_range("T_max", T_max, 1)
        check_range("eta_min", eta_min)
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer)

    def lr_at(self, base_lr: float, t: int) -> float:
        cosine = (1 + math.cos(math.pi * t / self.T_max)) / 2
        return self.eta_min + (base_lr - self.eta_min) * cosine


class LinearWarmup(LRScheduler):
    """Linear warm-up over ``warmup_steps`` steps, then constant or another schedule.

    lr(t) = base_lr * (start_factor + (1 - start_factor) * t / warmup_steps)  for t < W,
    lr(t) = after.lr_at(base_lr, t - W) (or base_lr when ``after`` is None) for t >= W.

    ``after`` is built on the same optimizer and then driven by this schedule: step only
    the warm-up. (PyTorch: ``LinearLR`` alone, or ``SequentialLR([LinearLR, after])``.)
    """

    def __init__(self, optimizer: Optimizer, warmup_steps: int, start_factor: float = 0.1,
                 after: LRScheduler | None = None):
        check_range("warmup_steps", warmup_steps, 1)
        check_range("start_factor", start_factor, 0.0, 1.0, high_inclusive=True)
        if after is not None:
            if not isinstance(after, LRScheduler):
                raise TypeError(f"after must be a closed-form schedule (not "
                                f"{type(after).__name__}; ReduceLROnPlateau cannot follow)")
            if after.optimizer is not optimizer:
                raise ValueError("after must schedule the same optimizer as the warm-up")
        self.warmup_steps, self.start_factor, self.after = warmup_steps, start_factor, after
        super().__init__(optimizer)

    def lr_at(self, base_lr: float, t: int) -> float:
        if t < self.warmup_steps:
            return base_lr * (self.start_factor
                              + (1 - self.start_factor) * t / self.warmup_steps)
        return base_lr if self.after is None else self.after.lr_at(base_lr,
                                                                   t - self.warmup_steps)


class ReduceLROnPlateau:
    """Multiply the learning rate by ``factor`` when a metric stops improving.

    ``step(metric)`` after each validation: the metric improves when it beats the best so
    far by ``threshold`` (relative: best * (1 -/+ threshold); absolute: best -/+ threshold,
    for mode "min"/"max"; the relative rule is PyTorch's, meant for positive metrics).
    After more than ``patience`` steps without improvement each group's lr becomes
    max(lr * factor, min_lr) (changes smaller than ``eps`` are skipped), and ``cooldown``
    steps follow in which bad steps are not counted. As PyTorch's.
    """

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1,
                 patience: int = 10, threshold: float = 1e-4, threshold_mode: str = "rel",
                 cooldown: int = 0, min_lr: float | list[float] = 0.0, eps: float = 1e-8):
        _check_optimizer(optimizer)
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        check_range("factor", factor, 0.0, 1.0)
        for name, value in (("patience", patience), ("cooldown", cooldown),
                            ("threshold", threshold), ("eps", eps)):
            check_range(name, value)
        groups = optimizer.param_groups
        min_lrs = list(min_lr) if isinstance(min_lr, (list, tuple)) else [min_lr] * len(groups)
        if len(min_lrs) != len(groups):
            raise ValueError(f"min_lr has {len(min_lrs)} values for {len(groups)} groups")
        self.optimizer = optimizer
        self.mode, self.factor, self.patience = mode, factor, patience
        self.threshold, self.threshold_mode = threshold, threshold_mode
        self.cooldown, self.min_lrs, self.eps = cooldown, min_lrs, eps
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs, self.cooldown_counter, self.last_epoch = 0, 0, 0
        self._last_lr = [group["lr"] for group in groups]

    def is_better(self, value: float) -> bool:
        """Whether ``value`` beats the best so far by the threshold (PyTorch's rule)."""
        best, threshold = self.best, self.threshold
        if self.mode == "min":
            return value < (best * (1 - threshold) if self.threshold_mode == "rel"
                            else best - threshold)
        return value > (best * (1 + threshold) if self.threshold_mode == "rel"
                        else best + threshold)

    def step(self, metric) -> None:
        value = float(metric.item() if hasattr(metric, "item") else metric)
        self.last_epoch += 1
        if self.is_better(value):
            self.best, self.num_bad_epochs = value, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs, strict=True):
                new_lr = max(group["lr"] * self.factor, min_lr)
                if group["lr"] - new_lr > self.eps:
                    group["lr"] = new_lr
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    get_last_lr = LRScheduler.get_last_lr

    def state_dict(self) -> dict:
        state = {key: copy.deepcopy(value) for key, value in self.__dict__.items()
                 if key != "optimizer"}
        return {"type": type(self).__name__, **state}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore a state saved by ``state_dict`` (ValueError if from another schedule)."""
        self.__dict__.update(copy.deepcopy(check_schedule_state(self, state_dict)))
