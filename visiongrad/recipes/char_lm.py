"""The character-level language model's recipe: truncated backpropagation through time
over contiguous streams of a text (:func:`fit`), as ``visiongrad lm train`` and
``benchmarks/char_lm.py`` run it: ``run(Config(steps=100), train_text, val_text)``.

The model is :class:`visiongrad.models.char_lm.CharRNN`; losses are in nats per character.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from .. import optim
from ..data.text import CharVocabulary
from ..models.char_lm import CharRNN, check_cell
from ..train.checkpoint import load_model_state
from ..train.progress import Progress, format_duration
from .checks import check_integers, check_positive


@dataclass
class Config:
    """A language-model run: the model's shape (``CharRNN``'s arguments) and its training
    (:func:`fit`'s), with exactly one budget of ``steps`` or ``seconds``."""

    cell: str = "lstm"
    embedding_dim: int = 64
    hidden_size: int = 256
    num_layers: int = 2
    dropout: float = 0.1
    seq_len: int = 100
    batch_size: int = 64
    lr: float = 3e-3
    clip: float = 5.0
    steps: int | None = None
    seconds: float | None = 1800.0
    eval_every: float = 150.0
    seed: int = 0

    def __post_init__(self):
        check_cell(self.cell)
        check_integers(self, "embedding_dim", "hidden_size", "num_layers", "seq_len",
                       "batch_size")
        check_integers(self, "seed", least=0)
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
        check_positive(self, "lr", "clip", "eval_every")
        if (self.steps is None) == (self.seconds is None):
            raise ValueError(f"give exactly one of steps and seconds, got steps={self.steps}, "
                             f"seconds={self.seconds}")
        if self.steps is not None:
            check_integers(self, "steps")
        else:
            check_positive(self, "seconds")


def build_model(config: Config, text: str) -> CharRNN:
    """A fresh :class:`CharRNN` of ``config``'s shape over the characters of ``text``."""
    return CharRNN(CharVocabulary.from_text(text), embedding_dim=config.embedding_dim,
                   hidden_size=config.hidden_size, num_layers=config.num_layers,
                   cell=config.cell, dropout=config.dropout)


def run(config: Config, train_text: str, val_text: str, model: CharRNN | None = None,
        optimizer=None, history: dict | None = None,
        on_eval: Callable[[dict], None] | None = None,
        log: Callable[[str], None] | None = None) -> dict:
    """Train ``model`` (default: :func:`build_model` over both texts) on ``train_text`` by
    :func:`fit` with ``config``'s budget and settings; the history. ``optimizer`` and
    ``history`` resume an earlier run; ``on_eval`` is called after each evaluation and
    ``log`` with each progress line."""
    if model is None:
        model = build_model(config, train_text + val_text)
    return fit(model, train_text, val_text, steps=config.steps, seconds=config.seconds,
               batch_size=config.batch_size, seq_len=config.seq_len, lr=config.lr,
               clip=config.clip, eval_every=config.eval_every, seed=config.seed,
               optimizer=optimizer, history=history, on_eval=on_eval, log=log)


def stream_length(chars: int, batch_size: int, seq_len: int) -> int:
    """Characters per stream of :func:`chunk_batches` (a multiple of ``seq_len``); a
    ``ValueError`` when a text of ``chars`` characters cannot fill one chunk per stream."""
    length = (chars - seq_len - 1) // batch_size // seq_len * seq_len
    if length < seq_len:
        raise ValueError(f"a training text of {chars} characters is too short for "
                         f"batch_size={batch_size} and seq_len={seq_len}")
    return length


def chunk_batches(data: np.ndarray, batch_size: int, seq_len: int,
                  rng: np.random.Generator) -> Iterator[tuple[np.ndarray, np.ndarray, bool]]:
    """Endless (inputs, targets, new_pass) batches of (batch_size, seq_len) for TBPTT.

    Each pass over ``data`` starts at a random offset below ``seq_len`` (so chunk borders
    move between passes), cuts the rest into ``batch_size`` contiguous streams and yields
    their consecutive chunks; ``new_pass`` is True on a pass's first chunk, when the
    carried state must be reset.
    """
    length = stream_length(len(data), batch_size, seq_len)
    while True:
        offset = int(rng.integers(0, seq_len))
        span = data[offset:offset + batch_size * length + 1]
        inputs = span[:-1].reshape(batch_size, length)
        targets = span[1:].reshape(batch_size, length)
        for start in range(0, length, seq_len):
            chunk = slice(start, start + seq_len)
            yield inputs[:, chunk], targets[:, chunk], start == 0


def fit(model: CharRNN, train_text: str, val_text: str, *, steps: int | None = None,
        seconds: float | None = None, batch_size: int = 64, seq_len: int = 100,
        lr: float = 3e-3, min_lr_fraction: float = 0.05, clip: float = 5.0,
        eval_every: float = 150.0, seed: int = 0, optimizer=None, history: dict | None = None,
        on_eval: Callable[[dict], None] | None = None, log: Callable[[str], None] | None = None
        ) -> dict:
    """Train ``model`` on ``train_text`` for ``steps`` updates or ``seconds`` of wall time,
    the final validation pass included.

    Truncated BPTT over contiguous streams (:func:`chunk_batches`), the state detached
    between chunks and reset at each pass; Adam with the learning rate following
    lr_t = lr (f + (1 - f) (1 + cos(pi u)) / 2), u the fraction of the budget used and
    f = ``min_lr_fraction``; gradients clipped to global norm ``clip``. The validation
    loss is measured every ``eval_every`` seconds and at the end.

    With ``seconds``, training stops early enough for the final validation pass to end
    within the budget: it keeps the last validation pass's duration in reserve (before
    the first, a pass over one chunk of ``val_text`` timed and scaled to the whole text),
    and the learning rate's cosine runs over the budget less that reserve.

    Parameters
    ----------
    optimizer, history : optional
        To resume: the Adam optimizer over ``model.parameters()`` and the history of the
        earlier run (its time and step counts continue).
    on_eval : callable, optional
        Called with the history after each evaluation (to save a checkpoint, print).
    log : callable, optional
        Receives a progress line (:class:`~visiongrad.train.progress.Progress`: the step,
        of how many or of what time budget, the whole run's elapsed time and ETA) every
        :data:`~visiongrad.train.progress.PROGRESS_SECONDS`.

    Returns
    -------
    dict
        ``step``, ``seconds`` (wall time, evaluations included), ``train_loss`` (one
        per step), and per evaluation ``eval_step``, ``eval_seconds``, ``val_loss``,
        ``val_bits_per_char``, ``val_perplexity``, ``eval_train_loss`` (mean training
        loss since the previous evaluation).
    """
    if (steps is None) == (seconds is None):
        raise ValueError("give exactly one of steps and seconds")
    if (steps is not None and steps < 1) or (seconds is not None and not seconds > 0):
        raise ValueError(f"the budget must be positive, got steps={steps}, seconds={seconds}")
    data = model.vocabulary.encode(train_text)
    val = model.vocabulary.encode(val_text)
    optimizer = optimizer or optim.Adam(model.parameters(), lr=lr)
    history = history or {"step": 0, "seconds": 0.0, "train_loss": [], "eval_step": [],
                          "eval_seconds": [], "val_loss": [], "val_bits_per_char": [],
                          "val_perplexity": [], "eval_train_loss": []}
    start_step, start_seconds = history["step"], history["seconds"]
    batches = chunk_batches(data, batch_size, seq_len, np.random.default_rng(seed + start_step))
    state, since_eval, last_eval = None, [], start_seconds
    clock = time.perf_counter() - start_seconds
    reserve = 0.0 if seconds is None else evaluation_seconds(model, val)
    progress = Progress(steps or seconds, write=log)
    budget = f"/{steps}" if seconds is None else f" of a {format_duration(seconds)} budget"

    def used() -> float:
        if steps is not None:
            return (history["step"] - start_step) / steps
        return (history["seconds"] - start_seconds) / max(seconds - reserve, 1e-9)

    def evaluate() -> None:
        nonlocal reserve
        started = time.perf_counter()
        metrics = model.evaluate(val)
        reserve = time.perf_counter() - started
        history["eval_step"].append(history["step"])
        history["seconds"] = time.perf_counter() - clock
        history["eval_seconds"].append(round(history["seconds"], 2))
        for key in ("loss", "bits_per_char", "perplexity"):
            history[f"val_{key}"].append(metrics[key])
        history["eval_train_loss"].append(float(np.mean(since_eval)) if since_eval else None)
        since_eval.clear()
        if on_eval is not None:
            on_eval(history)

    model.train()
    while used() < 1:
        inputs, targets, new_pass = next(batches)
        if new_pass:
            state = None
        for group in optimizer.param_groups:
            group["lr"] = lr * (min_lr_fraction + (1 - min_lr_fraction)
                                * (1 + math.cos(math.pi * used())) / 2)
        loss, state = model.loss(inputs, targets, state)
        optimizer.zero_grad()
        loss.backward()
        optim.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        state = model.detach_state(state)
        value = float(loss.item())
        history["train_loss"].append(value)
        since_eval.append(value)
        history["step"] += 1
        history["seconds"] = time.perf_counter() - clock
        progress.update(history["step"] - start_step if steps is not None
                        else history["seconds"] - start_seconds,
                        f"step {history['step'] - start_step}{budget}: loss {value:.3f}")
        if history["seconds"] - last_eval >= eval_every and used() < 1:
            last_eval = history["seconds"]
            evaluate()
    evaluate()
    return history


def evaluation_seconds(model: CharRNN, val: np.ndarray) -> float:
    """How long ``model.evaluate(val)`` will take: one chunk of its default shape (32
    streams of 256 characters) timed and scaled to the whole text (the chunks all cost
    the same)."""
    probe = val[:32 * 256 + 1]
    started = time.perf_counter()
    model.evaluate(probe)
    return (time.perf_counter() - started) * (len(val) - 1) / max(len(probe) - 1, 1)


def load_char_rnn(config: dict, state: dict) -> CharRNN:
    """A :class:`CharRNN` from its ``config()`` and ``state_dict()`` (a checkpoint's)."""
    model = CharRNN(**config)
    load_model_state(model, state)
    return model
