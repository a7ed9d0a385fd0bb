"""Image captioning: the course's CaptioningRNN (rnn, lstm or gru), its soft-attention
variant (Show, Attend and Tell), and a small convolutional encoder for the scenes.

The course's conventions hold as they are: ``word_to_idx`` maps words to indices and must
hold ``<NULL>`` (padding, masked out of the loss); ``<START>`` begins every caption fed in
and ``<END>`` ends it (both needed to sample). The parameters keep the course's names and
layouts (``W_proj`` (D, H), ``b_proj`` (H,), ``W_embed`` (V, W), ``Wx`` (W, G*H), ``Wh``
(H, G*H), ``b`` (G*H,), ``W_vocab`` (H, V), ``b_vocab`` (V,), with G = 1, 4, 3 gate
blocks for rnn, lstm (gate order i, f, o, g), gru; with attention also ``Wattn`` (H, G*H)
and ``Wattn_vocab`` (H, V)), reachable as ``model.params[name]``
(arrays, assignable as in the course) and as module parameters (``model.W_proj``,
``state_dict``, optimizers).

NOTE: unlike the course, ``loss`` returns the scalar loss as a tensor; ``loss.backward()``
fills each parameter's ``.grad`` (the course returns ``(loss, grads)``).

>>> model = CaptioningRNN(word_to_idx, input_dim=512, cell_type="lstm")  # doctest: +SKIP
>>> model.loss(features, captions).backward()                             # doctest: +SKIP
>>> captions = model.sample(features, max_length=30)                      # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping

import numpy as np

from .. import functional as F
from .. import nn
from ..autograd import Tensor, as_tensor, concat, no_grad, stack
from ..backend import get_default_dtype
from ..nn.linear import check_positive
from ..ops.attention import DotProductAttention, attention_weights
from ..random import GeneratorLike, as_generator

NULL, START, END = "<NULL>", "<START>", "<END>"
CELL_GATES = {"rnn": 1, "lstm": 4, "gru": 3}
"""Gate blocks G of each cell: Wx is (W, G*H)."""


def check_vocabulary(word_to_idx) -> dict[str, int]:
    """A copy of ``word_to_idx`` after checking it: words (str) to distinct non-negative
    integers, ``<NULL>`` among them. ValueError (TypeError for wrong types) otherwise.

    The vocabulary size is ``len(word_to_idx)`` as in the course, whose own loss check uses
    ``{"<NULL>": 0, "cat": 2, "dog": 3}`` with V = 3: indices are not required to be
    0..V-1; captions are checked against V."""
    if not isinstance(word_to_idx, Mapping):
        raise TypeError(f"word_to_idx must be a dict of words to indices, got "
                        f"{type(word_to_idx).__name__}")
    vocabulary = {}
    for word, index in word_to_idx.items():
        if not isinstance(word, str) or isinstance(index, bool) or \
                not isinstance(index, (int, np.integer)) or index < 0:
            raise ValueError(f"word_to_idx must map words to non-negative integers, got "
                             f"{word!r}: {index!r}")
        vocabulary[word] = int(index)
    if NULL not in vocabulary:
        raise ValueError(f"word_to_idx must hold the special token {NULL} (padding); "
                         f"it has {len(vocabulary)} words")
    if len(set(vocabulary.values())) != len(vocabulary):
        raise ValueError("word_to_idx gives two words the same index")
    if vocabulary[NULL] >= len(vocabulary):
        raise ValueError(f"word_to_idx: {NULL}'s index {vocabulary[NULL]} is outside the "
                         f"vocabulary of {len(vocabulary)}")
    return vocabulary


class _Params(MutableMapping):
    """``model.params``: the course's dict of parameter arrays, kept in the module.

    Reading gives the parameter's array; assigning (``params["Wx"] = array``) writes the
    value into the parameter, which keeps its dtype, after checking the shape."""

    def __init__(self, model: CaptioningRNN):
        self._model = model

    def __getitem__(self, name: str) -> np.ndarray:
        return self._parameter(name).data

    def __setitem__(self, name: str, value) -> None:
        parameter = self._parameter(name)
        value = np.asarray(getattr(value, "data", value))
        if value.shape != parameter.shape:
            raise ValueError(f"params[{name!r}] must have shape {parameter.shape}, got "
                             f"{value.shape}")
        parameter.data = value.astype(parameter.dtype, copy=True)

    def __delitem__(self, name: str) -> None:
        raise TypeError("the parameters of a CaptioningRNN cannot be deleted")

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._model.named_parameters())

    def __len__(self) -> int:
        return sum(1 for _ in self._model.parameters())

    def _parameter(self, name: str):
        parameters = dict(self._model.named_parameters())
        if name not in parameters:
            raise KeyError(f"no parameter {name!r} (have {', '.join(parameters)})")
        return parameters[name]


class CaptioningRNN(nn.Module):
    """The course's captioning RNN: image features set the first hidden state, word
    vectors go in, vocabulary scores come out.

    Forward (loss): h0 = features W_proj + b_proj; x_t = W_embed[caption_t];
    h = cell(x, h0) over T - 1 steps (rnn, lstm or gru: ``F.rnn``, ``F.lstm``, ``F.gru``);
    scores_t = h_t W_vocab + b_vocab; loss = ``F.temporal_softmax_loss`` of the scores
    against the caption shifted by one word, with ``<NULL>`` targets masked out.

    With ``attention=True`` (Show, Attend and Tell; the course's attention LSTM) the
    features are a map (N, D, h, w): A = W_proj^T features_l + b_proj at every position l
    (N, H, h, w), h0 = mean_l A_l (c0 = h0 for the lstm); at each step the context
    c_t = ``DotProductAttention``(h_{t-1}, A) joins the step's input through ``Wattn``
    (H, G*H): the pre-activation is x_t Wx + h_{t-1} Wh + c_t Wattn + b; and the context
    also enters the step's scores: scores_t = h_t W_vocab + c_t Wattn_vocab + b_vocab.

    NOTE: unlike the course's attention LSTM, the context feeds the scores directly (the
    "deep output" of Show, Attend and Tell, eq. 7). Without it the word emitted at step t
    depends on c_t only through h_t, and a trained model looks one word ahead (the "a"
    attends the item the next word names, which the cell then carries). With it, each
    map looks at what its own word names. ``model.params["Wattn_vocab"] = 0`` gives the
    course's model exactly.

    Parameters
    ----------
    word_to_idx : dict
        Words to indices, with ``<NULL>`` (and ``<START>``/``<END>`` to sample);
        V = len(word_to_idx).
    input_dim, wordvec_dim, hidden_dim : int
        D, W and H.
    cell_type : {"rnn", "lstm", "gru"}
    attention : bool
        Soft attention over a spatial feature map (features (N, D, h, w)).
    dtype : NumPy dtype, optional
        Of the parameters (default: the default dtype; float64 for gradient checks).
    rng : seed or Generator, optional
        For the initial values (default: visiongrad's seeded generator).

    Notes
    -----
    Initial values are the course's: W_embed ~ N(0, 1) / 100, W_proj ~ N(0, 1) / sqrt(D),
    Wx ~ N(0, 1) / sqrt(W), Wh, Wattn, W_vocab and Wattn_vocab ~ N(0, 1) / sqrt(H),
    biases zero.

    Examples
    --------
    >>> from visiongrad.models import CaptioningRNN
    >>> _ = vg.manual_seed(0)
    >>> words = {'<NULL>': 0, '<START>': 1, '<END>': 2, 'a': 3, 'cat': 4}
    >>> model = CaptioningRNN(words, input_dim=6, wordvec_dim=4, hidden_dim=5)
    >>> features, captions = vg.randn(2, 6), np.array([[1, 3, 4, 2], [1, 4, 2, 0]])
    >>> model.loss(features, captions).shape, model.sample(features, max_length=3).shape
    ((), (2, 3))
    """

    def __init__(self, word_to_idx, input_dim: int = 512, wordvec_dim: int = 128,
                 hidden_dim: int = 128, cell_type: str = "rnn", attention: bool = False,
                 dtype=None, rng: GeneratorLike = None):
        super().__init__()
        if cell_type not in CELL_GATES:
            raise ValueError(f"cell_type must be one of {', '.join(CELL_GATES)}, got "
                             f"{cell_type!r}")
        check_positive("CaptioningRNN", input_dim=input_dim, wordvec_dim=wordvec_dim,
                       hidden_dim=hidden_dim)
        self.word_to_idx = check_vocabulary(word_to_idx)
        self.idx_to_word = {index: word for word, index in self.word_to_idx.items()}
        self.cell_type, self.attention = cell_type, bool(attention)
        self.input_dim, self.wordvec_dim, self.hidden_dim = input_dim, wordvec_dim, hidden_dim
        self._null = self.word_to_idx[NULL]
        self._start, self._end = self.word_to_idx.get(START), self.word_to_idx.get(END)
        dtype = np.dtype(get_default_dtype() if dtype is None else dtype)
        generator = as_generator(rng)
        V, D, W, H, G = len(self.word_to_idx), input_dim, wordvec_dim, hidden_dim, \
            CELL_GATES[cell_type]

        def normal(scale: float, *shape: int) -> nn.Parameter:
            return nn.Parameter((generator.standard_normal(shape) * scale).astype(dtype))

        self.W_proj, self.b_proj = normal(D ** -0.5, D, H), nn.Parameter(np.zeros(H, dtype))
        self.W_embed = normal(0.01, V, W)
        self.Wx, self.Wh = normal(W ** -0.5, W, G * H), normal(H ** -0.5, H, G * H)
        self.b = nn.Parameter(np.zeros(G * H, dtype))
        if self.attention:
            self.Wattn = normal(H ** -0.5, H, G * H)
        self.W_vocab, self.b_vocab = normal(H ** -0.5, H, V), nn.Parameter(np.zeros(V, dtype))
        if self.attention:
            self.Wattn_vocab = normal(H ** -0.5, H, V)
        self.params = _Params(self)

    def extra_repr(self) -> str:
        return (f"vocabulary={len(self.word_to_idx)}, input_dim={self.input_dim}, "
                f"wordvec_dim={self.wordvec_dim}, hidden_dim={self.hidden_dim}, "
                f"cell_type={self.cell_type!r}, attention={self.attention}")

    # ----- checks --------------------------------------------------------------------------
    def _check_features(self, features) -> Tensor:
        features = as_tensor(features)
        want = "(N, D, h, w)" if self.attention else "(N, D)"
        if features.ndim != (4 if self.attention else 2) or features.shape[1] != self.input_dim:
            raise ValueError(f"features must be {want} with D = input_dim = {self.input_dim}, "
                             f"got shape {features.shape}")
        return features

    def _check_captions(self, captions, batch: int) -> np.ndarray:
        captions = np.asarray(getattr(captions, "data", captions))
        if captions.dtype.kind not in "iu":
            raise TypeError(f"captions must be integer word indices, got dtype {captions.dtype}")
        if captions.ndim != 2 or captions.shape[0] != batch or captions.shape[1] < 2:
            raise ValueError(f"captions must be (N, T) with N = {batch} (the features' batch) "
                             f"and T >= 2, got shape {captions.shape}")
        V = len(self.word_to_idx)
        outside = (captions < 0) | (captions >= V)
        if outside.any():
            raise ValueError(f"captions hold index {captions[outside][0]}, outside the "
                             f"vocabulary of {V} (valid: 0 to {V - 1})")
        return captions.astype(np.int64)

    # ----- the network ---------------------------------------------------------------------
    def _initial_state(self, features: Tensor):
        """(h0, c0, A): the first hidden and cell state and the projected map (or None)."""
        if not self.attention:
            h0 = features @ self.W_proj + self.b_proj
            c0 = Tensor(np.zeros(h0.shape, h0.dtype)) if self.cell_type == "lstm" else None
            return h0, c0, None
        A = (features.transpose(0, 2, 3, 1) @ self.W_proj + self.b_proj).transpose(0, 3, 1, 2)
        h0 = A.mean(axis=(2, 3))
        return h0, (h0 if self.cell_type == "lstm" else None), A

    def _input_weights(self) -> Tensor:
        """Wx, or [Wx; Wattn] with attention: the step's input is then [x_t, context_t]."""
        return concat([self.Wx, self.Wattn], axis=0) if self.attention else self.Wx

    def _step(self, x: Tensor, h: Tensor, c, A, W_in: Tensor):
        """One step of the cell from (h, c): the next (h, c) and the step's context (c None
        but for the lstm, the context None without attention)."""
        context = None
        if A is not None:
            context = DotProductAttention.apply(h, A)
            x = concat([x, context], axis=1)
        if self.cell_type == "lstm":
            return (*F.lstm_step(x, h, c, W_in, self.Wh, self.b), context)
        step = F.rnn_step if self.cell_type == "rnn" else F.gru_step
        return step(x, h, W_in, self.Wh, self.b), None, context

    def hidden_states(self, features, captions_in):
        """h (N, T, H) for the input words ``captions_in`` (N, T), teacher-forced; with
        attention ``(h, contexts)``, the contexts c_t also (N, T, H)."""
        features = self._check_features(features)
        h0, c0, A = self._initial_state(features)
        x = F.embedding(captions_in, self.W_embed)
        if not self.attention:
            if self.cell_type == "lstm":
                return F.lstm(x, h0, self.Wx, self.Wh, self.b)
            sequence = F.rnn if self.cell_type == "rnn" else F.gru
            return sequence(x, h0, self.Wx, self.Wh, self.b)
        W_in, h, c, states, contexts = self._input_weights(), h0, c0, [], []
        for t in range(x.shape[1]):
            h, c, context = self._step(x[:, t], h, c, A, W_in)
            states.append(h)
            contexts.append(context)
        return stack(states, axis=1), stack(contexts, axis=1)

    def scores(self, features, captions_in) -> Tensor:
        """The vocabulary scores (N, T, V) after each input word of ``captions_in`` (N, T):
        h_t W_vocab + b_vocab (+ c_t Wattn_vocab with attention)."""
        if not self.attention:
            return F.temporal_affine(self.hidden_states(features, captions_in), self.W_vocab,
                                     self.b_vocab)
        h, contexts = self.hidden_states(features, captions_in)
        return F.temporal_affine(h, self.W_vocab, self.b_vocab) + contexts @ self.Wattn_vocab

    def loss(self, features, captions) -> Tensor:
        """The scalar training loss for ``features`` and ``captions`` (N, T) (word indices,
        each caption ``<START> ... <END> <NULL>...``): words 0..T-2 go in, 1..T-1 are the
        targets, ``<NULL>`` targets masked out. Summed over time, averaged over the batch."""
        features = self._check_features(features)
        captions = self._check_captions(captions, features.shape[0])
        captions_in, captions_out = captions[:, :-1], captions[:, 1:]
        mask = captions_out != self._null
        return F.temporal_softmax_loss(self.scores(features, captions_in), captions_out, mask)

    def forward(self, features, captions) -> Tensor:
        """Same as :meth:`loss`."""
        return self.loss(features, captions)

    def sample(self, features, max_length: int = 30, temperature: float = 0.0,
               rng: GeneratorLike = None):
        """Captions for ``features``, one word at a time from ``<START>``.

        Each step feeds the previous word back in and picks the next one: the highest
        score (``temperature=0``, greedy, the course's) or a draw from
        softmax(scores / temperature). A caption stops at its first ``<END>`` (kept);
        later positions hold ``<NULL>``, and sampling stops once every caption has ended.

        Returns
        -------
        captions : ndarray (N, max_length) int64
        weights : ndarray (N, max_length, h, w)
            Only with attention (then the return value is ``(captions, weights)``): the
            attention over the feature map at the step that emitted each word (zeros
            after ``<END>``).
        """
        if self._start is None or self._end is None:
            raise ValueError(f"sample needs {START} and {END} in word_to_idx")
        if int(max_length) != max_length or max_length < 1:
            raise ValueError(f"max_length must be a positive integer, got {max_length}")
        if not temperature >= 0:
            raise ValueError(f"temperature must be >= 0, got {temperature}")
        features = self._check_features(features)
        generator = as_generator(rng) if temperature > 0 else None
        N = features.shape[0]
        captions = np.full((N, max_length), self._null, dtype=np.int64)
        weights = np.zeros((N, max_length, *features.shape[2:]), features.dtype) \
            if self.attention else None
        word, ended = np.full(N, self._start, dtype=np.int64), np.zeros(N, dtype=bool)
        with no_grad():
            h, c, A = self._initial_state(features)
            W_in = self._input_weights()
            for t in range(max_length):
                if A is not None:
                    weights[~ended, t] = attention_weights(h.data, A.data)[~ended]
                h, c, context = self._step(F.embedding(word, self.W_embed), h, c, A, W_in)
                scores = h @ self.W_vocab + self.b_vocab
                if context is not None:
                    scores = scores + context @ self.Wattn_vocab
                scores = scores.data
                word = self._pick(scores, temperature, generator)
                captions[~ended, t] = word[~ended]
                ended |= word == self._end
                if ended.all():
                    break
        return (captions, weights) if self.attention else captions

    @staticmethod
    def _pick(scores: np.ndarray, temperature: float, generator) -> np.ndarray:
        """argmax of each row (temperature 0), else a draw from softmax(scores / T)."""
        if temperature == 0:
            return scores.argmax(axis=1)
        logits = scores / temperature
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        cumulative = np.cumsum(p / p.sum(axis=1, keepdims=True), axis=1)
        draws = generator.random((len(scores), 1))
        return np.minimum((cumulative < draws).sum(axis=1), scores.shape[1] - 1)


class SceneEncoder(nn.Module):
    """A small convnet for captioning: four [conv 3x3 - batch norm - ReLU] blocks, the first
    three followed by 2x2 max pooling (an 8x8 map for a 64x64 image, receptive field 38
    pixels), and a per-cell head (a 1x1 convolution) trained to say which items cover each
    cell of the map (multi-label, ``F.binary_cross_entropy_with_logits`` against
    ``SceneSet.coverage``), so that the map keeps where each item is, which the captions'
    relations need, and not only what the scene holds.

    ``features(x)`` (N, num_classes*h*w), the per-cell class probabilities flattened (what
    is where, every position kept), feeds the plain captioner's first hidden state;
    ``attention_map(x)`` (N, C + num_classes + 2, h, w), the map, those probabilities and
    each cell's (x, y) in [-1, 1], feeds an attention captioner (the coordinates let the
    context, a weighted sum over positions, say where the attended item is).

    Shapes: x (N, in_channels, S, S) with S a multiple of 8 -> logits (N, num_classes,
    S / 8, S / 8)

    Examples
    --------
    >>> import numpy as np
    >>> from visiongrad import models
    >>> import visiongrad as vg
    >>> models.SceneEncoder()(vg.randn(1, 1, 64, 64)).shape
    (1, 10, 8, 8)
    """

    def __init__(self, in_channels: int = 1, channels=(16, 32, 64, 64), num_classes: int = 10):
        super().__init__()
        layers, previous = [], in_channels
        for k, width in enumerate(channels):
            layers += [nn.Conv2d(previous, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU()]
            if k < len(channels) - 1:
                layers.append(nn.MaxPool2d(2))
            previous = width
        self.body = nn.Sequential(*layers)
        self.head = nn.Conv2d(previous, num_classes, 1)
        self.out_channels, self.num_classes = previous, num_classes
        self.stride = 2 ** (len(channels) - 1)

    def feature_map(self, x) -> Tensor:
        return self.body(x)

    def features(self, x) -> Tensor:
        probabilities = F.sigmoid(self(x))
        return probabilities.reshape(probabilities.shape[0], -1)

    def attention_map(self, x) -> Tensor:
        fmap = self.feature_map(x)
        N, _, h, w = fmap.shape
        ys, xs = np.meshgrid(np.linspace(-1, 1, h), np.linspace(-1, 1, w), indexing="ij")
        where = np.broadcast_to(np.stack([xs, ys]), (N, 2, h, w)).astype(fmap.dtype)
        return concat([fmap, F.sigmoid(self.head(fmap)), Tensor(where)], axis=1)

    def forward(self, x) -> Tensor:
        return self.head(self.feature_map(x))
