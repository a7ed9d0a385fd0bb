"""A character-level language model: embedding -> multi-layer LSTM (GRU, RNN) -> linear.

The model reads a text one character at a time and predicts the next one (Karpathy's
char-rnn, the course's RNN lecture). Training (:func:`fit`) uses truncated
backpropagation through time: the training text is cut into ``batch_size`` contiguous
streams, each step reads the next ``seq_len`` characters of every stream, and the hidden
state is carried from one chunk to the next, detached, so the model sees long contexts
while gradients flow through ``seq_len`` steps only. The update is Adam with gradient
clipping by global norm and a cosine learning-rate decay over the step or time budget.

Losses are in nats per character (the mean cross-entropy with natural logarithms);
bits per character = loss / ln 2 and perplexity = exp(loss).

>>> from visiongrad.data import load_text, split_text
>>> from visiongrad.models.char_lm import CharRNN, fit
>>> train, val = split_text(load_text())
>>> model = CharRNN(sorted(set(train + val)), hidden_size=256)  # doctest: +SKIP
>>> history = fit(model, train, val, seconds=60)                 # doctest: +SKIP
>>> model.sample("HAMLET.\\n", 200, temperature=0.8, seed=0)     # doctest: +SKIP
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from .. import functional as F
from .. import nn, optim
from ..autograd import Tensor, no_grad
from ..data.text import CharVocabulary

CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


def check_cell(cell: str) -> None:
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {', '.join(CELLS)}, got {cell!r}")


def bits_per_char(loss: float) -> float:
    """A loss in nats per character in bits per character: loss / ln 2."""
    return loss / math.log(2)


def loss_metrics(loss: float) -> dict[str, float]:
    """``{"loss": nats/char, "bits_per_char": loss / ln 2, "perplexity": exp(loss)}``."""
    return {"loss": float(loss), "bits_per_char": bits_per_char(loss),
            "perplexity": math.exp(min(loss, 700.0))}


class CharRNN(nn.Module):
    """Character-level language model: ``Embedding`` -> ``LSTM``/``GRU``/``RNN`` -> ``Linear``.

    logits_t = W h_t^(L) + b,  h^(l) the l-th recurrent layer over the embedded characters;
    p(char_{t+1} | char_1..t) = softmax(logits_t).

    Parameters
    ----------
    vocabulary : CharVocabulary or iterable of str
        The characters the model reads and writes (an iterable is made a
        ``CharVocabulary``, sorted by code point).
    embedding_dim, hidden_size, num_layers : int
    cell : {"lstm", "gru", "rnn"}
    dropout : float
        Dropout between recurrent layers (training only), as ``nn.LSTM``'s.

    NOTE: unlike ``nn.LSTM``'s default initialisation, the LSTM's forget-gate biases start
    at b_ih = 1, b_hh = 0 (Jozefowicz et al. 2015), so the cells remember from the start.

    Shapes: indices (N, T) integers -> logits (N, T, V); the recurrent state is the layer's
    (h (L, N, H), or (h, c) for the LSTM).
    """

    def __init__(self, vocabulary, embedding_dim: int = 64, hidden_size: int = 256,
                 num_layers: int = 2, cell: str = "lstm", dropout: float = 0.0):
        super().__init__()
        check_cell(cell)
        self.vocabulary = vocabulary if isinstance(vocabulary, CharVocabulary) \
            else CharVocabulary(vocabulary)
        self.cell = cell
        self.embedding = nn.Embedding(len(self.vocabulary), embedding_dim)
        self.rnn = CELLS[cell](embedding_dim, hidden_size, num_layers, batch_first=True,
                               dropout=dropout)
        self.head = nn.Linear(hidden_size, len(self.vocabulary))
        if cell == "lstm":
            forget = slice(hidden_size, 2 * hidden_size)  # gate order i, f, g, o
            for layer in range(num_layers):
                getattr(self.rnn, f"bias_ih_l{layer}").data[forget] = 1.0
                getattr(self.rnn, f"bias_hh_l{layer}").data[forget] = 0.0

    def config(self) -> dict:
        """The constructor's arguments as JSON-able values (the vocabulary as one string)."""
        return {"vocabulary": "".join(self.vocabulary.idx_to_char),
                "embedding_dim": self.embedding.embedding_dim,
                "hidden_size": self.rnn.hidden_size, "num_layers": self.rnn.num_layers,
                "cell": self.cell, "dropout": self.rnn.dropout}

    def forward(self, indices, state=None):
        """(logits (N, T, V), state after the last step) from indices (N, T)."""
        output, state = self.rnn(self.embedding(indices), state)
        return self.head(output), state

    def loss(self, inputs, targets, state=None) -> tuple[Tensor, object]:
        """(mean cross-entropy in nats per character, final state): inputs and targets
        (N, T), targets[:, t] the character after inputs[:, t]."""
        logits, state = self(inputs, state)
        V = logits.shape[-1]
        return F.cross_entropy(logits.reshape(-1, V), np.asarray(targets).reshape(-1)), state

    @staticmethod
    def detach_state(state):
        """The state cut from the graph (truncated BPTT): the next chunk starts from its
        values, but no gradient flows back into the chunk that made it."""
        if isinstance(state, tuple):
            return tuple(s.detach() for s in state)
        return state.detach()

    def evaluate(self, text: str | np.ndarray, batch_size: int = 32,
                 seq_len: int = 256) -> dict[str, float]:
        """Loss (nats/char), bits per char and perplexity of the model on ``text``.

        The text is cut into ``batch_size`` contiguous streams read in chunks of
        ``seq_len`` with the state carried along (as in training), so every character
        but the first of each stream is predicted from its stream's whole past; the mean
        is over every predicted character. Evaluation mode, no graph.
        """
        data = self.vocabulary.encode(text) if isinstance(text, str) else np.asarray(text)
        batch_size = max(1, min(batch_size, (len(data) - 1) // 2))
        length = (len(data) - 1) // batch_size
        if length < 1:
            raise ValueError(f"evaluate: a text of {len(data)} characters is too short")
        streams = data[:batch_size * length + 1]
        inputs = streams[:-1].reshape(batch_size, length)
        targets = streams[1:batch_size * length + 1].reshape(batch_size, length)
        was_training, total, state = self.training, 0.0, None
        self.eval()
        try:
            with no_grad():
                for start in range(0, length, seq_len):
                    chunk = slice(start, start + seq_len)
                    loss, state = self.loss(inputs[:, chunk], targets[:, chunk], state)
                    total += float(loss.item()) * inputs[:, chunk].size
        finally:
            self.train(was_training)
        return loss_metrics(total / inputs.size)

    def sample(self, prime: str, length: int, temperature: float = 1.0,
               seed: int | None = None, top_k: int | None = None) -> str:
        """``prime`` followed by ``length`` characters drawn one at a time.

        Each character is drawn from softmax(logits / temperature) (restricted to the
        ``top_k`` most likely ones, if given), then fed back in. A low temperature
        approaches always taking the most likely character; 1 samples the model's own
        distribution; higher flattens it. ``seed`` makes the draw reproducible.

        Raises
        ------
        ValueError
            An empty prime or one with characters outside the vocabulary, temperature
            <= 0, length < 0, top_k < 1.
        """
        if not prime:
            raise ValueError("prime must hold at least one character")
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        if length < 0:
            raise ValueError(f"length must be >= 0, got {length}")
        if top_k is not None and top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {top_k}")
        indices = self.vocabulary.encode(prime)
        rng = np.random.default_rng(seed)
        drawn = []
        was_training = self.training
        self.eval()
        try:
            with no_grad():
                logits, state = self(indices[None, :])
                for _ in range(length):
                    scores = logits.data[0, -1].astype(np.float64) / temperature
                    if top_k is not None and top_k < len(scores):
                        scores[scores < np.partition(scores, -top_k)[-top_k]] = -np.inf
                    p = np.exp(scores - scores.max())
                    drawn.append(int(rng.choice(len(p), p=p / p.sum())))
                    logits, state = self(np.array([[drawn[-1]]]), state)
        finally:
            self.train(was_training)
        return prime + self.vocabulary.decode(np.array(drawn, dtype=np.int64))


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
        on_eval: Callable[[dict], None] | None = None) -> dict:
    """Train ``model`` on ``train_text`` for ``steps`` updates or ``seconds`` of wall time.

    Truncated BPTT over contiguous streams (:func:`chunk_batches`), the state detached
    between chunks and reset at each pass; Adam with the learning rate following
    lr_t = lr (f + (1 - f) (1 + cos(pi u)) / 2), u the fraction of the budget used and
    f = ``min_lr_fraction``; gradients clipped to global norm ``clip``. The validation
    loss is measured every ``eval_every`` seconds and at the end.

    Parameters
    ----------
    optimizer, history : optional
        To resume: the Adam optimizer over ``model.parameters()`` and the history of the
        earlier run (its time and step counts continue).
    on_eval : callable, optional
        Called with the history after each evaluation (to save a checkpoint, print).

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

    def used() -> float:
        if steps is not None:
            return (history["step"] - start_step) / steps
        return (history["seconds"] - start_seconds) / seconds

    def evaluate() -> None:
        metrics = model.evaluate(val)
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
        if history["seconds"] - last_eval >= eval_every and used() < 1:
            last_eval = history["seconds"]
            evaluate()
    evaluate()
    return history


def load_char_rnn(config: dict, state: dict) -> CharRNN:
    """A :class:`CharRNN` from its ``config()`` and ``state_dict()`` (a checkpoint's)."""
    from ..train.checkpoint import load_model_state

    model = CharRNN(**config)
    load_model_state(model, state)
    return model


__all__: Sequence[str] = ["CELLS", "CharRNN", "bits_per_char", "chunk_batches", "fit",
                          "load_char_rnn", "loss_metrics", "stream_length"]
