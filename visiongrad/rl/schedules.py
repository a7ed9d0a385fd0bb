"""Exploration schedules: epsilon (or any coefficient) as a function of the step."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LinearSchedule:
    """``start`` moving linearly to ``end`` over the first ``duration`` steps, then ``end``
    (Stable-Baselines3's exploration schedule, with ``duration = fraction * total``).

    Examples
    --------
    >>> from visiongrad.rl import LinearSchedule
    >>> epsilon = LinearSchedule(start=1.0, end=0.05, duration=100)
    >>> [round(epsilon(step), 3) for step in (0, 50, 100, 1000)]
    [1.0, 0.525, 0.05, 0.05]
    """

    start: float
    end: float
    duration: int

    def __post_init__(self):
        if self.duration < 0:
            raise ValueError(f"LinearSchedule: duration must be >= 0, got {self.duration}")

    def __call__(self, step: int) -> float:
        if step >= self.duration:
            return self.end
        return self.start + (self.end - self.start) * step / self.duration


@dataclass(frozen=True)
class ExponentialSchedule:
    """max(end, start * decay ** step).

    Examples
    --------
    >>> from visiongrad.rl import ExponentialSchedule
    >>> epsilon = ExponentialSchedule(start=1.0, end=0.1, decay=0.5)
    >>> [epsilon(step) for step in (0, 1, 2, 10)]
    [1.0, 0.5, 0.25, 0.1]
    """

    start: float
    end: float
    decay: float

    def __post_init__(self):
        if not 0.0 < self.decay <= 1.0:
            raise ValueError(f"ExponentialSchedule: decay must be in (0, 1], got {self.decay}")

    def __call__(self, step: int) -> float:
        return max(self.end, self.start * self.decay ** step)
