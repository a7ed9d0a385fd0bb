"""A character-level language model: embedding -> multi-layer LSTM (GRU, RNN) -> linear.

The model reads a text one character at a time and predicts the next one (Karpathy's
char-rnn, the course's RNN lecture). Training (:mod:`visiongrad.recipes.char_lm`) uses truncated
backpropagation through time: the training text is cut into ``batch_size`` contiguous
streams, each step reads the next ``seq_len`` characters of every stream, and the hidden
state is carried from one chunk to the next, detached, so the model sees long contexts
while gradients flow through ``seq_len`` steps only. The update is Adam with gradient
clipping by global norm and a cosine learning-rate decay over the step or time budget.

Losses are in nats per character (the mean cross-entropy with natural logarithms);
bits per character = loss / ln 2 and perplexity = exp(loss).

>>> from visiongrad.data import load_text, split_text
>>> from visiongrad.models.char_lm import CharRNN
>>> from visiongrad.recipes.char_lm import fit
>>> train, val = split_text(load_text())
>>> model = CharRNN(sorted(set(train + val)), hidden_size=256)  # doctest: +SKIP
>>> history = fit(model, train, val, seconds=60)                 # doctest: +SKIP
>>> model.sample("HAMLET.\\n", 200, temperature=0.8, seed=0)     # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .. import functional as F
from .. import nn
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


__all__: Sequence[str] = ["CELLS", "CharRNN", "bits_per_char", "check_cell", "loss_metrics"]
