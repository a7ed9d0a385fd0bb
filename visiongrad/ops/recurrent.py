"""Recurrent ops in the course's form: vanilla RNN, LSTM and GRU over whole sequences,
the temporal affine layer and the temporal softmax loss.

Each sequence op is ONE graph node for the whole sequence: its forward loops over time
(never over the batch) and keeps what the backward needs in preallocated time-major
(T, N, ...) arrays; its backward is a single reverse loop over time (backpropagation
through time), so a 1,000-step sequence costs one node, not a thousand. The
input-to-hidden products do not depend on the recurrence and are batched over all time
steps: [x_t, 1] (T*N, D+1) @ [Wx; b] before the forward loop (the bias by a column of
ones), dgates (T*N, G*H) @ Wx^T after the backward loop, and every weight and bias
gradient from the rows [x_t, 1, h_{t-1}] in one product with dgates (``_weight_grads``).

Layouts (the course's): x (N, T, D), h0 (N, H), Wx (D, G*H), Wh (H, G*H), b (G*H,) with
G = 1 (RNN), 4 (LSTM), 3 (GRU) gate blocks side by side along the last axis of Wx, Wh and
b; the output h is (N, T, H). PyTorch's modules keep W_ih as (G*H, D): ``nn.LSTM`` passes
``weight_ih.T`` (a transposed view, differentiable) and the gate order it uses.

The single-step forms ``rnn_step``, ``lstm_step``, ``gru_step`` are the sequence ops
with T = 1, so the step's algebra lives in one place.
"""

from __future__ import annotations

from ..accel import recurrent as fused
from ..autograd import Function, Tensor, array_of, as_tensor
from ..backend import array_module
from .activation import array_log_softmax

LSTM_GATE_ORDERS = ("ifog", "ifgo")  # the course's, PyTorch's
NONLINEARITIES = ("tanh", "relu")


def _check_sequence(name: str, x, h0, Wx, Wh, b, gates: int) -> None:
    """Shapes x (N, T, D), h0 (N, H), Wx (D, G*H), Wh (H, G*H), b (G*H,); ValueError naming
    the first argument that does not fit."""
    if x.ndim != 3:
        raise ValueError(f"{name}: x must be (N, T, D), got shape {x.shape}")
    if x.dtype.kind != "f":
        raise TypeError(f"{name}: x must be floating point, got dtype {x.dtype}")
    N, T, D = x.shape
    if T == 0:
        raise ValueError(f"{name}: x has no time steps (shape {x.shape})")
    if Wh.ndim != 2 or Wh.shape[1] != gates * Wh.shape[0]:
        raise ValueError(f"{name}: Wh must be (H, {gates}H), got shape {Wh.shape}")
    H = Wh.shape[0]
    for arg, array, shape in (("Wx", Wx, (D, gates * H)), ("h0", h0, (N, H)),
                              ("b", b, (gates * H,))):
        if array.shape != shape:
            raise ValueError(f"{name}: {arg} must have shape {shape} for x of shape "
                             f"{x.shape} and Wh of shape {Wh.shape}, got {array.shape}")


def _sigmoid_(a):
    """sigmoid(a) in place, as (1 + tanh(a / 2)) / 2: equal to 1 / (1 + e^-a), no
    exponential to overflow, and no temporary array (the gates are updated where they lie)."""
    xp = array_module(a)
    a *= 0.5
    xp.tanh(a, out=a)
    a *= 0.5
    a += 0.5
    return a


def _time_major_with_ones(x):
    """x (N, T, D) as a C-contiguous (T, N, D + 1) array of rows [x_t, 1]: the column of ones
    carries the bias through the products (``_input_projection``, ``_weight_grads``)."""
    xp = array_module(x)
    N, T, D = x.shape
    x1 = xp.empty((T, N, D + 1), dtype=x.dtype)
    x1[:, :, :D], x1[:, :, D] = x.transpose(1, 0, 2), 1
    return x1


def _input_projection(x1, Wx, b):
    """x_t Wx + b for every step at once: one (T*N, D+1) @ (D+1, G*H) product of the rows
    [x_t, 1] and the stacked [Wx; b] -> (T, N, G*H)."""
    T, N, D1 = x1.shape
    return (x1.reshape(T * N, D1) @ array_module(x1).concatenate([Wx, b[None]])
            ).reshape(T, N, -1)


def _weight_grads(needs, x1, h0, h, dgx, dgh, Wx):
    """dx, dWx, dWh, db_x, db_h from the per-step gradients of the pre-activations.

    dgx (T, N, G*H) is the gradient of x_t Wx + b (input side), dgh that of h_{t-1} Wh
    (+ b_h) (hidden side; the same array except in the GRU). h (T, N, H) holds h_1..h_T,
    so the hidden state entering step t is h0 for t = 1 and h[t - 2] after. Every weight
    and bias gradient comes from the rows s_t = [x_t, 1, h_{t-1}] (T*N, D+1+H) in one
    product: s^T dgates = [dWx; db; dWh] where dgx is dgh (RNN, LSTM), else (GRU)
    [x_t, 1]^T dgx = [dWx; db_x] and [1, h_{t-1}]^T dgh = [db_h; dWh].
    """
    xp, (T, N, D1), D = array_module(dgx), x1.shape, x1.shape[2] - 1
    flat_x = dgx.reshape(T * N, -1)
    dx = (flat_x @ Wx.T).reshape(T, N, D).transpose(1, 0, 2) if needs[0] else None
    if not any(needs[1:]):
        return dx, None, None, None, None
    rows = xp.empty((T, N, D1 + h0.shape[1]), dtype=x1.dtype)
    rows[:, :, :D1], rows[0, :, D1:], rows[1:, :, D1:] = x1, h0, h[:-1]
    rows = rows.reshape(T * N, -1)
    if dgx is dgh:
        sums = rows.T @ flat_x
        dWx, db_x, dWh, db_h = sums[:D], sums[D], sums[D1:], None
    else:
        sums_x, sums_h = rows[:, :D1].T @ flat_x, rows[:, D:].T @ dgh.reshape(T * N, -1)
        dWx, db_x, db_h, dWh = sums_x[:D], sums_x[D], sums_h[0], sums_h[1:]
    grads = (dWx, dWh, db_x, db_h)
    return (dx,) + tuple(g if need else None for g, need in zip(grads, needs[1:], strict=True))


class RNN(Function):
    """Vanilla RNN over a whole sequence (the course's rnn_forward / rnn_backward).

    Forward:  h_t = tanh(x_t Wx + h_{t-1} Wh + b), t = 1..T, from h_0 = h0
              (``nonlinearity="relu"``: h_t = max(0, .), as ``torch.nn.RNN``)
    Backward: with dh_t = dout_t + da_{t+1} Wh^T (upstream plus what step t+1 sends back):
              da_t = dh_t * (1 - h_t^2)   (relu: dh_t * [h_t > 0])
              dx_t = da_t Wx^T,  dWx = sum_t x_t^T da_t,  dWh = sum_t h_{t-1}^T da_t,
              db = sum_{t,n} da_t,  dh0 = da_1 Wh^T
    Shapes:   x (N, T, D), h0 (N, H), Wx (D, H), Wh (H, H), b (H,) -> h (N, T, H)
    """

    def forward(self, x, h0, Wx, Wh, b, nonlinearity="tanh"):
        xp = array_module(x)
        _check_sequence("rnn", x, h0, Wx, Wh, b, gates=1)
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(f"rnn: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.x1, self.h0, self.Wx, self.Wh = _time_major_with_ones(x), h0, Wx, Wh
        self.relu = nonlinearity == "relu"
        h = _input_projection(self.x1, Wx, b)  # a_t, turned into h_t in place
        prev = h0
        for t in range(len(h)):
            h[t] += prev @ Wh
            prev = xp.maximum(h[t], 0, out=h[t]) if self.relu else xp.tanh(h[t], out=h[t])
        self.h = h
        return h.transpose(1, 0, 2)

    def backward(self, grad_out):
        xp = array_module(grad_out)
        dout, h = grad_out.transpose(1, 0, 2), self.h
        da = xp.empty_like(h)
        dh_next = xp.zeros_like(self.h0)
        for t in reversed(range(len(h))):
            dh = dout[t] + dh_next
            da[t] = dh * (h[t] > 0) if self.relu else dh * (1 - h[t] * h[t])
            dh_next = da[t] @ self.Wh.T
        needs = self.needs_input_grad
        dx, dWx, dWh, db, _ = _weight_grads(needs[:1] + needs[2:] + (False,), self.x1,
                                            self.h0, h, da, da, self.Wx)
        return dx, dh_next, dWx, dWh, db


def _gate_slots(gate_order: str, H: int) -> dict[str, slice]:
    """Where each LSTM gate's H columns sit in the 4H-wide block, by ``gate_order``."""
    if gate_order not in LSTM_GATE_ORDERS:
        raise ValueError(f"lstm: gate_order must be 'ifog' (the course's) or 'ifgo' "
                         f"(PyTorch's), got {gate_order!r}")
    return {gate: slice(k * H, (k + 1) * H) for k, gate in enumerate(gate_order)}


class LSTM(Function):
    """LSTM over a whole sequence (the course's lstm_forward / lstm_backward).

    Forward:  a_t = x_t Wx + h_{t-1} Wh + b, split into four H-wide blocks a_i, a_f, a_o, a_g
              (in ``gate_order``: "ifog" is the course's, "ifgo" PyTorch's),
              i = sigmoid(a_i), f = sigmoid(a_f), o = sigmoid(a_o), g = tanh(a_g),
              c_t = f * c_{t-1} + i * g,  h_t = o * tanh(c_t),  from h0 and c0
    Backward: with dh_t = dout_t + da_{t+1} Wh^T and dc_t = dc_{t+1} * f_{t+1} +
              dh_t * o * (1 - tanh(c_t)^2) (plus the upstream dc_T of the final cell):
              da_i = dc_t g i (1 - i),  da_f = dc_t c_{t-1} f (1 - f),
              da_o = dh_t tanh(c_t) o (1 - o),  da_g = dc_t i (1 - g^2),
              then dx, dWx, dWh, db as in ``RNN``; dh0 = da_1 Wh^T, dc0 = dc_1 * f_1
    Shapes:   x (N, T, D), h0, c0 (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,) -> h (N, T, H);
              with ``return_cell`` the output is (N, T + 1, H), its last step being c_T
              (one node returns one array; ``lstm`` splits it)
    """

    def forward(self, x, h0, c0, Wx, Wh, b, gate_order="ifog", return_cell=False):
        xp = array_module(x)
        _check_sequence("lstm", x, h0, Wx, Wh, b, gates=4)
        if c0.shape != h0.shape:
            raise ValueError(f"lstm: c0 must have h0's shape {h0.shape}, got {c0.shape}")
        H = h0.shape[1]
        self.slots = slots = _gate_slots(gate_order, H)
        self.x1, self.h0, self.c0, self.Wx, self.Wh = _time_major_with_ones(x), h0, c0, Wx, Wh
        self.return_cell = return_cell
        self.gates = gates = _input_projection(self.x1, Wx, b)  # a_t, activated in place
        T, N = gates.shape[:2]
        h = xp.empty((T + return_cell, N, H), dtype=gates.dtype)
        self.c, self.tanh_c = xp.empty((2, T, N, H), dtype=gates.dtype)
        if not fused.lstm_forward(gates, Wh, h0, c0, self.c, self.tanh_c, h, slots):
            hidden_part = xp.empty((N, 4 * H), dtype=gates.dtype)  # h_{t-1} Wh, reused
            prev_h = h0
            for t in range(T):
                a = gates[t]
                a += xp.matmul(prev_h, Wh, out=hidden_part)
                i, f, o, g = (a[:, slots[gate]] for gate in "ifog")
                for gate in (i, f, o):
                    _sigmoid_(gate)
                xp.tanh(g, out=g)
                xp.multiply(f, c0 if t == 0 else self.c[t - 1], out=self.c[t])
                self.c[t] += i * g
                xp.tanh(self.c[t], out=self.tanh_c[t])
                prev_h = xp.multiply(o, self.tanh_c[t], out=h[t])
        if return_cell:
            h[T] = self.c[T - 1]
        self.h = h[:T]
        return h.transpose(1, 0, 2)

    def backward(self, grad_out):
        xp = array_module(grad_out)
        dout, slots, T = grad_out.transpose(1, 0, 2), self.slots, len(self.gates)
        dgates = xp.empty_like(self.gates)
        dh_next = xp.zeros_like(self.h0)
        dc_next = dout[T] if self.return_cell else xp.zeros_like(self.c0)
        compiled = fused.lstm_backward(grad_out, self.gates, self.c, self.tanh_c, self.c0,
                                       self.Wh, slots, dgates, dc_next)
        if compiled:
            dh_next, dc_next = compiled
        for t in reversed(range(0 if compiled else T)):
            i, f, o, g = (self.gates[t][:, slots[gate]] for gate in "ifog")
            prev_c, tanh_c = self.c0 if t == 0 else self.c[t - 1], self.tanh_c[t]
            dh = dout[t] + dh_next
            dc = dh * o
            dc *= 1 - tanh_c * tanh_c
            dc += dc_next
            d = dgates[t]
            d_i, d_f, d_o, d_g = (d[:, slots[gate]] for gate in "ifog")
            xp.multiply(dc, g, out=d_i)
            d_i *= i * (1 - i)
            xp.multiply(dc, prev_c, out=d_f)
            d_f *= f * (1 - f)
            xp.multiply(dh, tanh_c, out=d_o)
            d_o *= o * (1 - o)
            xp.multiply(dc, i, out=d_g)
            d_g *= 1 - g * g
            dh_next, dc_next = d @ self.Wh.T, dc * f
        needs = self.needs_input_grad
        dx, dWx, dWh, db, _ = _weight_grads(needs[:1] + needs[3:] + (False,), self.x1,
                                            self.h0, self.h, dgates, dgates, self.Wx)
        return dx, dh_next, dc_next, dWx, dWh, db


class GRU(Function):
    """GRU over a whole sequence, in PyTorch's form and gate order r, z, n.

    Forward:  gx = x_t Wx + b, gh = h_{t-1} Wh + bh, each split into H-wide blocks r, z, n:
              r = sigmoid(gx_r + gh_r),  z = sigmoid(gx_z + gh_z),
              n = tanh(gx_n + r * gh_n),  h_t = (1 - z) * n + z * h_{t-1}
    Backward: with dh_t = dout_t + (what step t+1 sends back):
              da_n = dh_t (1 - z) (1 - n^2),  da_z = dh_t (h_{t-1} - n) z (1 - z),
              da_r = da_n gh_n r (1 - r);  d(gx) = [da_r, da_z, da_n],
              d(gh) = [da_r, da_z, da_n * r];  dh_{t-1} = dh_t z + d(gh) Wh^T;
              dWx = sum_t x_t^T d(gx), dWh = sum_t h_{t-1}^T d(gh), db = sum d(gx),
              dbh = sum d(gh)
    Shapes:   x (N, T, D), h0 (N, H), Wx (D, 3H), Wh (H, 3H), b, bh (3H,) -> h (N, T, H)

    The hidden-side bias ``bh`` is separate from ``b`` because its n block sits inside
    r * (.): this is what lets ``nn.GRU`` match PyTorch exactly (b = b_ih, bh = b_hh). The
    course's single-bias form is bh = 0.
    """

    def forward(self, x, h0, Wx, Wh, b, bh):
        xp = array_module(x)
        _check_sequence("gru", x, h0, Wx, Wh, b, gates=3)
        if bh.shape != b.shape:
            raise ValueError(f"gru: bh must have b's shape {b.shape}, got {bh.shape}")
        H = h0.shape[1]
        self.x1, self.h0, self.Wx, self.Wh = _time_major_with_ones(x), h0, Wx, Wh
        self.gates = gates = _input_projection(self.x1, Wx, b)  # -> r, z, n in place
        T, N = gates.shape[:2]
        self.h, self.gh_n = xp.empty((2, T, N, H), dtype=gates.dtype)
        h, gh_n = self.h, self.gh_n
        compiled = fused.gru_forward(gates, Wh, bh, h0, h, gh_n)
        hidden_part = xp.empty((N, 3 * H), dtype=gates.dtype)  # h_{t-1} Wh + bh, reused
        prev = h0
        for t in range(0 if compiled else T):
            gh = xp.matmul(prev, Wh, out=hidden_part)
            gh += bh
            a = gates[t]
            a[:, :2 * H] += gh[:, :2 * H]
            _sigmoid_(a[:, :2 * H])
            r, z, n = a[:, :H], a[:, H:2 * H], a[:, 2 * H:]
            gh_n[t] = gh[:, 2 * H:]
            n += r * gh_n[t]
            xp.tanh(n, out=n)
            prev = xp.add(n, z * (prev - n), out=h[t])
        return h.transpose(1, 0, 2)

    def backward(self, grad_out):
        xp = array_module(grad_out)
        dout, H = grad_out.transpose(1, 0, 2), self.h0.shape[1]
        dgx, dgh = xp.empty_like(self.gates), xp.empty_like(self.gates)
        compiled = fused.gru_backward(grad_out, self.gates, self.gh_n, self.h, self.h0,
                                      self.Wh, dgx, dgh)
        dh_next = xp.zeros_like(self.h0) if compiled is None else compiled
        for t in reversed(range(0 if compiled is not None else len(self.gates))):
            a = self.gates[t]
            r, z, n = a[:, :H], a[:, H:2 * H], a[:, 2 * H:]
            prev = self.h0 if t == 0 else self.h[t - 1]
            dh = dout[t] + dh_next
            da_n = dh * (1 - z) * (1 - n * n)
            dgx[t, :, 2 * H:] = da_n
            dgx[t, :, :H] = da_n * self.gh_n[t] * r * (1 - r)
            dgx[t, :, H:2 * H] = dh * (prev - n) * z * (1 - z)
            dgh[t, :, :2 * H] = dgx[t, :, :2 * H]
            dgh[t, :, 2 * H:] = da_n * r
            dh_next = dh * z + dgh[t] @ self.Wh.T
        needs = self.needs_input_grad
        dx, dWx, dWh, db, dbh = _weight_grads(needs[:1] + needs[2:], self.x1, self.h0,
                                              self.h, dgx, dgh, self.Wx)
        return dx, dh_next, dWx, dWh, db, dbh


def _zeros_like(t):
    xp = array_module(t)
    return xp.zeros_like(t.data if isinstance(t, Tensor) else xp.asarray(t))


def _one_step(name: str, x) -> Tensor:
    """x (N, D) as a one-step sequence (N, 1, D)."""
    x = as_tensor(x)
    if x.ndim != 2:
        raise ValueError(f"{name}: x must be (N, D), got shape {x.shape}")
    return x.reshape(x.shape[0], 1, x.shape[1])


def rnn_step(x, prev_h, Wx, Wh, b, nonlinearity: str = "tanh") -> Tensor:
    """next_h = tanh(x Wx + prev_h Wh + b): ``RNN`` with T = 1.

    Examples
    --------
    >>> F.rnn_step(vg.ones(2, 3), vg.zeros(2, 4), vg.zeros(3, 4), vg.zeros(4, 4), vg.ones(4))
    Tensor([[0.7616 0.7616 0.7616 0.7616]
     [0.7616 0.7616 0.7616 0.7616]])
    """
    x = _one_step("rnn_step", x)
    return RNN.apply(x, prev_h, Wx, Wh, b, nonlinearity=nonlinearity)[:, 0]


def lstm(x, h0, Wx, Wh, b, *, c0=None, gate_order: str = "ifog", return_cell: bool = False):
    """LSTM over x (N, T, D) from h0 and c0 (zeros by default, as in the course) -> h
    (N, T, H), or with ``return_cell`` the pair (h, c_T), split from the op's one
    (N, T + 1, H) output; gate order i, f, o, g unless told.

    Examples
    --------
    >>> N, T, D, H = 2, 5, 3, 4
    >>> x, h0 = vg.randn(N, T, D), vg.zeros(N, H)
    >>> F.lstm(x, h0, vg.randn(D, 4 * H), vg.randn(H, 4 * H), vg.zeros(4 * H)).shape
    (2, 5, 4)
    """
    c0 = _zeros_like(h0) if c0 is None else c0
    out = LSTM.apply(x, h0, c0, Wx, Wh, b, gate_order=gate_order, return_cell=return_cell)
    return (out[:, :-1], out[:, -1]) if return_cell else out


def lstm_step(x, prev_h, prev_c, Wx, Wh, b, gate_order: str = "ifog") -> tuple[Tensor, Tensor]:
    """(next_h, next_c) of one LSTM step: ``LSTM`` with T = 1.

    Examples
    --------
    >>> Wx, Wh, b = vg.randn(3, 16), vg.randn(4, 16), vg.zeros(16)
    >>> h, c = F.lstm_step(vg.ones(2, 3), vg.zeros(2, 4), vg.zeros(2, 4), Wx, Wh, b)
    >>> h.shape, c.shape
    ((2, 4), (2, 4))
    """
    x = _one_step("lstm_step", x)
    h, next_c = lstm(x, prev_h, Wx, Wh, b, c0=prev_c, gate_order=gate_order, return_cell=True)
    return h[:, 0], next_c


def gru(x, h0, Wx, Wh, b, bh=None) -> Tensor:
    """``GRU``; ``bh`` None means zeros (the single-bias form).

    Examples
    --------
    >>> N, T, D, H = 2, 5, 3, 4
    >>> x, h0 = vg.randn(N, T, D), vg.zeros(N, H)
    >>> F.gru(x, h0, vg.randn(D, 3 * H), vg.randn(H, 3 * H), vg.zeros(3 * H)).shape
    (2, 5, 4)
    """
    return GRU.apply(x, h0, Wx, Wh, b, _zeros_like(b) if bh is None else bh)


def gru_step(x, prev_h, Wx, Wh, b, bh=None) -> Tensor:
    """next_h of one GRU step: ``GRU`` with T = 1.

    Examples
    --------
    >>> Wx, Wh, b = vg.randn(3, 12), vg.randn(4, 12), vg.zeros(12)
    >>> F.gru_step(vg.ones(2, 3), vg.zeros(2, 4), Wx, Wh, b).shape
    (2, 4)
    """
    return gru(_one_step("gru_step", x), prev_h, Wx, Wh, b, bh)[:, 0]


class TemporalAffine(Function):
    """The course's temporal affine layer: the same affine map at every time step.

    Forward:  y_t = x_t w + b           x (N, T, D), w (D, M), b (M,) -> y (N, T, M)
    Backward: dx = dy w^T,  dw = sum_{n,t} x_{n,t}^T dy_{n,t},  db = sum_{n,t} dy_{n,t}
              (N and T flattened into one axis: one product each)
    """

    def forward(self, x, w, b):
        if x.ndim != 3 or w.ndim != 2 or x.shape[2] != w.shape[0] or b.shape != w.shape[1:]:
            raise ValueError(f"temporal_affine: need x (N, T, D), w (D, M), b (M,), got "
                             f"x {x.shape}, w {w.shape}, b {b.shape}")
        N, T, D = x.shape
        self.x_flat, self.w = x.reshape(N * T, D), w
        out = self.x_flat @ w
        out += b
        return out.reshape(N, T, -1)

    def backward(self, grad_out):
        N, T, M = grad_out.shape
        dy = grad_out.reshape(N * T, M)
        dx = (dy @ self.w.T).reshape(N, T, -1) if self.needs_input_grad[0] else None
        dw = self.x_flat.T @ dy if self.needs_input_grad[1] else None
        return dx, dw, dy.sum(axis=0) if self.needs_input_grad[2] else None


class TemporalSoftmaxLoss(Function):
    """The course's temporal softmax loss: cross-entropy at every step, masked.

    Forward:  L = -(1/N) sum_{n,t} mask_{n,t} log softmax(x_{n,t})[y_{n,t}]
              (summed over time, averaged over the batch; masked-out steps add nothing)
    Backward: dx_{n,t} = dL * mask_{n,t} (softmax(x_{n,t}) - onehot(y_{n,t})) / N
    Shapes:   x (N, T, V), y (N, T) integers in [0, V), mask (N, T) booleans or 0/1 -> L ()
    """

    def forward(self, x, y, mask=None):
        xp = array_module(x)
        if x.ndim != 3:
            raise ValueError(f"temporal_softmax_loss: x must be (N, T, V), got shape {x.shape}")
        if y.dtype.kind not in "iu":
            raise TypeError(f"temporal_softmax_loss: y must be integers, got dtype {y.dtype}")
        mask = xp.ones(x.shape[:2], dtype=x.dtype) if mask is None else xp.asarray(mask)
        for arg, array in (("y", y), ("mask", mask)):
            if array.shape != x.shape[:2]:
                raise ValueError(f"temporal_softmax_loss: {arg} must have shape {x.shape[:2]} "
                                 f"(N, T) for x of shape {x.shape}, got {array.shape}")
        V = x.shape[2]
        if y.size and (y.min() < 0 or y.max() >= V):
            bad = y[(y < 0) | (y >= V)][0]
            raise ValueError(f"temporal_softmax_loss: label {bad} is out of range for a "
                             f"vocabulary of {V} (valid: 0 to {V - 1})")
        log_p = array_log_softmax(x, dim=2)
        self.y, self.mask = y, mask.astype(x.dtype)
        self.p = xp.exp(log_p)
        picked = xp.take_along_axis(log_p, y[..., None], axis=2)[..., 0]
        return xp.asarray(-(picked * self.mask).sum() / x.shape[0])

    def backward(self, grad_out):
        xp = array_module(grad_out)
        dx = self.p.copy()
        xp.put_along_axis(dx, self.y[..., None], xp.take_along_axis(
            dx, self.y[..., None], axis=2) - 1, axis=2)
        dx *= (grad_out / dx.shape[0]) * self.mask[..., None]
        return dx, None


# ----- functional forms (``torch.nn.functional``'s names and arguments) --------------


def rnn(x, h0, Wx, Wh, b, nonlinearity: str = "tanh") -> Tensor:
    """Vanilla RNN over x (N, T, D) from h0 (N, H) -> h (N, T, H); BPTT in one node.

    Examples
    --------
    >>> N, T, D, H = 2, 5, 3, 4
    >>> x, h0 = vg.randn(N, T, D), vg.zeros(N, H)
    >>> F.rnn(x, h0, vg.randn(D, H), vg.randn(H, H), vg.zeros(H)).shape
    (2, 5, 4)
    """
    return RNN.apply(x, h0, Wx, Wh, b, nonlinearity=nonlinearity)


def temporal_affine(x, w, b) -> Tensor:
    """The same affine map at every step: x (N, T, D) @ w (D, M) + b -> (N, T, M).

    Examples
    --------
    >>> F.temporal_affine(vg.ones(2, 5, 3), vg.ones(3, 7), vg.zeros(7)).shape
    (2, 5, 7)
    """
    return TemporalAffine.apply(x, w, b)


def temporal_softmax_loss(x, y, mask=None) -> Tensor:
    """Softmax cross-entropy of x (N, T, V) against y (N, T), summed over the steps where
    ``mask`` (N, T) is true (all when None) and averaged over the batch.

    Examples
    --------
    >>> F.temporal_softmax_loss(vg.zeros(2, 3, 4), np.zeros((2, 3), dtype=int))
    Tensor(4.1589)
    """
    return TemporalSoftmaxLoss.apply(x, y, mask=None if mask is None else array_of(mask))
