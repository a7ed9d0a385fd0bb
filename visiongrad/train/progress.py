"""Progress lines of long work: what is being done, how far, and how long the whole run
still needs.

Every command that runs for more than a few seconds reports through :class:`Progress`, in
one format::

    epoch 3/10: loss 0.4312, val acc 0.8710 [1 min 05 s elapsed, about 2 min 32 s left]
    stage 1/2, trial 3/8: lr 1.00e-03, weight decay 1.00e-05 [40 s elapsed, about 1 min 47 s left]
    model 4/12 (resnet18) [20 s elapsed, about 41 s left]

The position (``epoch 3/10``, ``trial 3/8``, ``step 1200/5000``) is the caller's words;
the bracket is the helper's: the time since the run started and the estimate of what
the WHOLE run still needs,

    left = elapsed / (done - start) x (total - done),

``done`` and ``total`` counted in units of work (epochs, trials weighed by their epochs,
models, seconds of a time budget) and ``start`` the units already done when the clock
started (a resumed run's earlier epochs took no time here). The estimate assumes the
units still to do cost as much as those done; before the first unit there is none.

A line goes where the command writes its log (``write``; by default a stream that a
departed reader cannot break: stderr, or whatever ``stream`` is). :func:`quiet_progress`
silences every progress line and bar in the block (the Ray workers of a search: their
output would reach the driver as log spam).

>>> clock = iter([0.0, 30.0]).__next__
>>> progress = Progress(4, clock=clock, write=None)
>>> progress.step("epoch 1/4: loss 0.52")
'epoch 1/4: loss 0.52 [30 s elapsed, about 1 min 30 s left]'
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
from collections.abc import Callable, Iterator

__all__ = ["PROGRESS_SECONDS", "Progress", "format_duration", "progress_shown",
           "quiet_progress"]

PROGRESS_SECONDS = 30.0
"""The least time between two lines :meth:`Progress.update` writes on its own (the first
line and the last are always written)."""

_quiet_depth = 0


@contextlib.contextmanager
def quiet_progress() -> Iterator[None]:
    """No progress line (:class:`Progress`) and no Trainer bar or epoch line in the block."""
    global _quiet_depth
    _quiet_depth += 1
    try:
        yield
    finally:
        _quiet_depth -= 1


def progress_shown() -> bool:
    """False inside :func:`quiet_progress`."""
    return _quiet_depth == 0


def format_duration(seconds: float) -> str:
    """``"42 s"``, ``"3 min 05 s"`` or ``"1 h 02 min"`` (rounded to the unit shown).

    >>> format_duration(4.4), format_duration(185), format_duration(3725)
    ('4 s', '3 min 05 s', '1 h 02 min')
    """
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"a duration must be a finite non-negative number, got {seconds!r}")
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min"


def _writer(stream) -> Callable[[str], None]:
    """Write a line to ``stream`` (default: the current stderr) until it fails: a reader
    that has gone (a closed pipe) never stops the work; the lines after go nowhere."""
    broken = []

    def write(line: str) -> None:
        if broken:
            return
        try:
            target = sys.stderr if stream is None else stream
            target.write(line + "\n")
            target.flush()
        except (OSError, ValueError):  # BrokenPipeError, or a closed file
            broken.append(True)
    return write


class Progress:
    """Where a run stands and how long all of it still needs (see the module's docstring).

    Parameters
    ----------
    total : float
        Units of work in the whole run (epochs, trials, models, seconds), > 0.
    done : float
        Units already done when the run (re)starts: a resumed run's finished epochs.
    write : callable or None
        ``write(line)`` for each line :meth:`step` and :meth:`update` produce (``print``
        to join a command's log on stdout); ``None``: only return the lines. Default: a
        line on ``stream`` that a closed pipe cannot break.
    stream : file, optional
        The default writer's stream (default: ``sys.stderr``).
    every : float
        :meth:`update` writes at most one line per this many seconds (``step`` always).
        Default: :data:`PROGRESS_SECONDS`.
    clock : callable
        Seconds, monotonic (``time.monotonic``); injected by tests.
    """

    def __init__(self, total: float, *, done: float = 0.0, write=..., stream=None,
                 every: float = PROGRESS_SECONDS, clock: Callable[[], float] = time.monotonic):
        if not total > 0 or not math.isfinite(total):
            raise ValueError(f"total must be a positive number, got {total!r}")
        if not 0 <= done <= total:
            raise ValueError(f"done must be between 0 and total={total}, got {done!r}")
        self.total, self.done, self.start, self.every = float(total), float(done), done, every
        self.completed = float(done)  # whole units (epochs) done: step counts them
        self.write = _writer(stream) if write is ... else write
        self.clock = clock
        self.started = clock()
        self.last_written = -math.inf

    def elapsed(self) -> float:
        """Seconds since the progress started."""
        return max(self.clock() - self.started, 0.0)

    def remaining(self, done: float | None = None, elapsed: float | None = None
                  ) -> float | None:
        """Seconds the run still needs when ``done`` units (default: ``self.done``) are done
        after ``elapsed`` seconds (default: now): ``elapsed / (done - start) * (total -
        done)``; None before any unit was done."""
        done = self.done if done is None else done
        if done <= self.start:
            return None
        elapsed = self.elapsed() if elapsed is None else elapsed
        return elapsed / (done - self.start) * max(self.total - done, 0.0)

    def timing(self, done: float | None = None, elapsed: float | None = None) -> str:
        """``"40 s elapsed, about 1 min 47 s left"`` (``"2 min 03 s in all"`` at the end)."""
        done = self.done if done is None else done
        elapsed = self.elapsed() if elapsed is None else elapsed
        left = self.remaining(done, elapsed)
        if done >= self.total:
            return f"{format_duration(elapsed)} in all"
        if left is None:
            return f"{format_duration(elapsed)} elapsed"
        return f"{format_duration(elapsed)} elapsed, about {format_duration(left)} left"

    def update(self, done: float, message: str, *, force: bool = False) -> str | None:
        """Set the units done and write ``message [timing]``; at most one line per
        ``every`` seconds unless ``force`` (or the run is done). Returns the line, or
        None when it was not the time for one."""
        self.done = min(max(float(done), self.start), self.total)
        now = self.elapsed()
        if not (force or self.done >= self.total or now - self.last_written >= self.every):
            return None
        self.last_written = now
        line = f"{message} [{self.timing(self.done, now)}]"
        if self.write is not None and progress_shown():
            self.write(line)
        return line

    def step(self, message: str, units: float = 1.0) -> str:
        """``units`` more done (one epoch, one trial); write and return its line."""
        self.completed += units
        line = self.update(self.completed, message, force=True)
        assert line is not None
        return line

    def during(self, what: str) -> Callable[[int, int], None]:
        """A callback ``(parts done, parts in all)`` for the unit under way (the batches of
        an epoch): it writes ``"{what}, batch i/n [timing]"`` (at most one line per
        ``every`` seconds), counting the unit's done fraction in the estimate."""
        def report(done: int, count: int) -> None:
            if done < count:  # the unit's end is the caller's step
                self.update(self.completed + done / count, f"{what}, batch {done}/{count}")
        return report
