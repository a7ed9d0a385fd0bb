"""Recurrent layers with PyTorch's names, layouts and gate orders: ``RNN``, ``LSTM``, ``GRU``.

Parameters are ``weight_ih_l{k}`` (G*H, D_in), ``weight_hh_l{k}`` (G*H, H), ``bias_ih_l{k}``
and ``bias_hh_l{k}`` (G*H,), with ``_reverse`` for the backward direction of a
bidirectional layer, registered in PyTorch's order, so a ``state_dict`` moves between the
two unchanged. Gate blocks follow PyTorch: LSTM i, f, g, o; GRU r, z, n.

Each layer and direction is one call of the course-form sequence op in
``ops/recurrent.py`` (one graph node, BPTT inside it): the op takes ``weight_ih.T`` (a
transposed view, differentiable), PyTorch's LSTM gate order through its ``gate_order``
argument, and b_ih + b_hh as its bias (the GRU keeps both biases apart, as its n gate
needs). The reverse direction runs the op on the time-reversed sequence.

Truncated backpropagation through time: pass the previous chunk's final state, detached,
as the next chunk's initial state (``h = h.detach()``; for the LSTM both h and c).
"""

from __future__ import annotations

import math

from .. import functional as F
from ..autograd import Tensor, as_tensor, concat, stack
from ..backend import xp
from . import init
from .linear import check_positive, empty_parameter
from .module import Module

GATES = {"RNN": 1, "LSTM": 4, "GRU": 3}


class RNNBase(Module):
    """The machinery the three layers share: parameters, state checks, layers, directions.

    NOTE: unlike PyTorch, no ``proj_size`` (LSTM projections) and no packed sequences.
    """

    mode = "RNN"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False):
        super().__init__()
        name = type(self).__name__
        check_positive(name, input_size=input_size, hidden_size=hidden_size,
                       num_layers=num_layers)
        if not 0 <= dropout <= 1 or isinstance(dropout, bool):
            raise ValueError(f"{name}: dropout must be a probability in [0, 1], got {dropout}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional = bidirectional
        self.num_directions = 2 if bidirectional else 1
        gate_size = GATES[self.mode] * hidden_size
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * self.num_directions
            for direction in range(self.num_directions):
                suffix = self._suffix(layer, direction)
                setattr(self, "weight_ih" + suffix, empty_parameter(gate_size, layer_input))
                setattr(self, "weight_hh" + suffix, empty_parameter(gate_size, hidden_size))
                if bias:
                    setattr(self, "bias_ih" + suffix, empty_parameter(gate_size))
                    setattr(self, "bias_hh" + suffix, empty_parameter(gate_size))
        self.reset_parameters()

    @staticmethod
    def _suffix(layer: int, direction: int) -> str:
        return f"_l{layer}" + ("_reverse" if direction else "")

    def reset_parameters(self) -> None:
        """PyTorch's default: every weight and bias ~ U(-1/sqrt(H), 1/sqrt(H))."""
        bound = 1 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def _check_state(self, arg: str, state, batch: int | None, like) -> Tensor:
        """``state`` (L*dirs, N, H) (or (L*dirs, H) unbatched), zeros when None."""
        shape = (self.num_layers * self.num_directions,) + \
            ((batch,) if batch is not None else ()) + (self.hidden_size,)
        if state is None:
            return Tensor._wrap(xp.zeros(shape, dtype=like.dtype))
        state = as_tensor(state)
        if tuple(state.shape) != shape:
            raise ValueError(f"{type(self).__name__}: {arg} must have shape {shape} "
                             f"(num_layers * num_directions, batch, hidden_size), got "
                             f"{tuple(state.shape)}")
        return state

    def _run(self, x, h0, c0=None, *, layer: int, direction: int):
        """One layer in one direction over x (N, T, D) -> (h (N, T, H), h_T, c_T or None)."""
        suffix = self._suffix(layer, direction)
        w_ih, w_hh = getattr(self, "weight_ih" + suffix), getattr(self, "weight_hh" + suffix)
        b_ih = getattr(self, "bias_ih" + suffix) if self.bias else \
            Tensor._wrap(xp.zeros(w_ih.shape[0], dtype=w_ih.dtype))
        b_hh = getattr(self, "bias_hh" + suffix) if self.bias else None
        c_n = None
        if direction:
            x = x[:, ::-1]
        if self.mode == "GRU":
            h = F.gru(x, h0, w_ih.T, w_hh.T, b_ih, b_hh)
        else:
            b = b_ih if b_hh is None else b_ih + b_hh
            if self.mode == "LSTM":
                h, c_n = F.lstm(x, h0, w_ih.T, w_hh.T, b, c0=c0, gate_order="ifgo",
                                return_cell=True)
            else:
                h = F.rnn(x, h0, w_ih.T, w_hh.T, b, nonlinearity=self.nonlinearity)
        h_n = h[:, -1]
        return (h[:, ::-1] if direction else h), h_n, c_n

    def _forward(self, input, hx, cx=None):
        """The layers over ``input``; returns (output, h_n, c_n) in PyTorch's layouts."""
        name = type(self).__name__
        x = as_tensor(input)
        if x.ndim not in (2, 3):
            raise ValueError(f"{name}: input must be (L, N, H_in), (N, L, H_in) with "
                             f"batch_first, or unbatched (L, H_in); got shape {tuple(x.shape)}")
        if x.shape[-1] != self.input_size:
            raise ValueError(f"{name}: input has {x.shape[-1]} features, the layer expects "
                             f"input_size={self.input_size}")
        batched = x.ndim == 3
        if not batched:
            x = x.reshape(1, *x.shape)
        elif not self.batch_first:
            x = x.transpose(1, 0, 2)
        batch = x.shape[0] if batched else None
        states = [self._check_state("h0", hx, batch, x)]
        if self.mode == "LSTM":
            states.append(self._check_state("c0", cx, batch, x))
        if not batched:
            states = [s.reshape(s.shape[0], 1, s.shape[1]) for s in states]
        h_ns, c_ns = [], []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(self.num_directions):
                k = layer * self.num_directions + direction
                h, h_n, c_n = self._run(x, *(s[k] for s in states), layer=layer,
                                        direction=direction)
                outputs.append(h)
                h_ns.append(h_n)
                c_ns.append(c_n)
            x = outputs[0] if len(outputs) == 1 else concat(outputs, axis=2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, p=self.dropout, training=True)
        h_n = stack(h_ns, axis=0)
        c_n = stack(c_ns, axis=0) if self.mode == "LSTM" else None
        if not batched:
            return x[0], h_n[:, 0], None if c_n is None else c_n[:, 0]
        return (x if self.batch_first else x.transpose(1, 0, 2)), h_n, c_n

    def extra_repr(self) -> str:
        """PyTorch's text. NOTE: unlike PyTorch, a relu RNN's says nonlinearity='relu'."""
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            text += f", nonlinearity={self.nonlinearity!r}"
        for option, default in (("bias", True), ("batch_first", False), ("dropout", 0.0),
                                ("bidirectional", False)):
            if getattr(self, option) != default:
                text += f", {option}={getattr(self, option)}"
        return text


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu), per layer.

    Parameters
    ----------
    input_size, hidden_size, num_layers : int
    nonlinearity : {"tanh", "relu"}
    bias : bool
    batch_first : bool
        Input and output (N, L, H) instead of (L, N, H); the states stay (layers, N, H).
    dropout : float
        Dropout on each layer's output except the last, in training mode only.
    bidirectional : bool
        A second pass over the reversed sequence per layer; outputs concatenated.

    Notes
    -----
    Shapes: input (L, N, H_in), h0 (num_layers * num_directions, N, H) -> (output
    (L, N, num_directions * H), h_n like h0), as ``torch.nn.RNN``; unbatched (L, H_in) too.

    Examples
    --------
    >>> import visiongrad as vg
    >>> from visiongrad import nn
    >>> rnn = nn.RNN(4, 8, num_layers=2, batch_first=True)
    >>> output, h_n = rnn(vg.randn(2, 5, 4))  # (N, L, H_in) with batch_first
    >>> output.shape, h_n.shape
    ((2, 5, 8), (2, 2, 8))
    """

    mode = "RNN"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        output, h_n, _ = self._forward(input, hx)
        return output, h_n


class LSTM(RNNBase):
    """Long short-term memory, PyTorch's form and gate order i, f, g, o:

        [i, f, g, o] = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh,  i, f, o through sigmoid,
        g through tanh;  c_t = f * c_{t-1} + i * g,  h_t = o * tanh(c_t)

    Arguments as ``RNN`` (without ``nonlinearity``). ``forward(input, (h0, c0))`` returns
    ``(output, (h_n, c_n))`` as ``torch.nn.LSTM``; the states default to zeros.

    Examples
    --------
    >>> import visiongrad as vg
    >>> from visiongrad import nn
    >>> lstm = nn.LSTM(4, 8, batch_first=True)
    >>> output, (h_n, c_n) = lstm(vg.randn(2, 5, 4))
    >>> output.shape, h_n.shape, c_n.shape
    ((2, 5, 8), (1, 2, 8), (1, 2, 8))
    """

    mode = "LSTM"

    def forward(self, input, hx=None):
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError(f"LSTM: hx must be a pair (h0, c0), got {type(hx).__name__}")
        h0, c0 = (None, None) if hx is None else hx
        output, h_n, c_n = self._forward(input, h0, c0)
        return output, (h_n, c_n)


class GRU(RNNBase):
    """Gated recurrent unit, PyTorch's form and gate order r, z, n:

        r = sigmoid(x_t W_ir^T + b_ir + h_{t-1} W_hr^T + b_hr),  z likewise,
        n = tanh(x_t W_in^T + b_in + r * (h_{t-1} W_hn^T + b_hn)),  h_t = (1 - z) n + z h_{t-1}

    Arguments as ``RNN`` (without ``nonlinearity``); returns ``(output, h_n)``.

    Examples
    --------
    >>> import visiongrad as vg
    >>> from visiongrad import nn
    >>> rnn = nn.GRU(4, 8, batch_first=True)
    >>> output, h_n = rnn(vg.randn(2, 5, 4))  # (N, L, H_in) with batch_first
    >>> output.shape, h_n.shape
    ((2, 5, 8), (1, 2, 8))
    """

    mode = "GRU"

    def forward(self, input, hx=None):
        output, h_n, _ = self._forward(input, hx)
        return output, h_n
