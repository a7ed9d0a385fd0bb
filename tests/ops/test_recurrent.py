"""Recurrent ops: the course's check values, float64 gradient checks of every input (T = 1,
masks, a 200-step sequence), sequence ops against unrolled steps, PyTorch parity through
torch.nn.RNN/LSTM/GRU with weights mapped from the course's layout, and bad input."""

import numpy as np
import pytest
from helpers import assert_gradcheck, torch_or_skip

import visiongrad as vg
from visiongrad import functional as F
from visiongrad.ops import recurrent

GATES = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "lstm_torch_order": 4, "gru": 3}


def course_form(kind):
    """(fn over float inputs, number of weight blocks G) for each sequence op."""
    if kind.startswith("rnn"):
        nonlinearity = kind[4:]
        return lambda x, h0, Wx, Wh, b: F.rnn(x, h0, Wx, Wh, b, nonlinearity=nonlinearity)
    if kind == "lstm":
        return lambda x, h0, c0, Wx, Wh, b: F.lstm(x, h0, Wx, Wh, b, c0=c0)
    if kind == "lstm_torch_order":  # check h and the final cell state together
        def both(x, h0, c0, Wx, Wh, b):
            h, c = F.lstm(x, h0, Wx, Wh, b, c0=c0, gate_order="ifgo", return_cell=True)
            return vg.concat([h, c.reshape(c.shape[0], 1, -1)], axis=1)
        return both
    return F.gru


def random_inputs(kind, N, T, D, H, rng, scale=0.5):
    G = GATES[kind]
    x, h0, c0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H)), \
        rng.standard_normal((N, H))
    Wx, Wh = scale * rng.standard_normal((D, G * H)), scale * rng.standard_normal((H, G * H))
    b, bh = 0.3 * rng.standard_normal(G * H), 0.3 * rng.standard_normal(G * H)
    if kind.startswith("lstm"):
        return [x, h0, c0, Wx, Wh, b]
    return [x, h0, Wx, Wh, b, bh] if kind == "gru" else [x, h0, Wx, Wh, b]


# ----- the course's check values (assignment 3) ------------------------------------------

def linspace(low, high, shape):
    return np.linspace(low, high, num=int(np.prod(shape))).reshape(shape)


def test_rnn_course_values():
    N, D, H = 3, 10, 4
    next_h = F.rnn_step(linspace(-0.4, 0.7, (N, D)), linspace(-0.2, 0.5, (N, H)),
                        linspace(-0.1, 0.9, (D, H)), linspace(-0.3, 0.7, (H, H)),
                        np.linspace(-0.2, 0.4, num=H))
    np.testing.assert_allclose(next_h.data, [
        [-0.58172089, -0.50182032, -0.41232771, -0.31410098],
        [0.66854692, 0.79562378, 0.87755553, 0.92795967],
        [0.97934501, 0.99144213, 0.99646691, 0.99854353]], atol=1e-8)
    N, T, D, H = 2, 3, 4, 5
    h = F.rnn(linspace(-0.1, 0.3, (N, T, D)), linspace(-0.3, 0.1, (N, H)),
              linspace(-0.2, 0.4, (D, H)), linspace(-0.4, 0.1, (H, H)),
              np.linspace(-0.7, 0.1, num=H))
    np.testing.assert_allclose(h.data, [
        [[-0.42070749, -0.27279261, -0.11074945, 0.05740409, 0.22236251],
         [-0.39525808, -0.22554661, -0.0409454, 0.14649412, 0.32397316],
         [-0.42305111, -0.24223728, -0.04287027, 0.15997045, 0.35014525]],
        [[-0.55857474, -0.39065825, -0.19198182, 0.02378408, 0.23735671],
         [-0.27150199, -0.07088804, 0.13562939, 0.33099728, 0.50158768],
         [-0.51014825, -0.30524429, -0.06755202, 0.17806392, 0.40333043]]], atol=1e-8)


def test_lstm_course_values():
    N, D, H = 3, 4, 5
    next_h, next_c = F.lstm_step(
        linspace(-0.4, 1.2, (N, D)), linspace(-0.3, 0.7, (N, H)), linspace(-0.4, 0.9, (N, H)),
        linspace(-2.1, 1.3, (D, 4 * H)), linspace(-0.7, 2.2, (H, 4 * H)),
        np.linspace(0.3, 0.7, num=4 * H))
    np.testing.assert_allclose(next_h.data, [
        [0.24635157, 0.28610883, 0.32240467, 0.35525807, 0.38474904],
        [0.49223563, 0.55611431, 0.61507696, 0.66844003, 0.7159181],
        [0.56735664, 0.66310127, 0.74419266, 0.80889665, 0.858299]], atol=1e-8)
    np.testing.assert_allclose(next_c.data, [
        [0.32986176, 0.39145139, 0.451556, 0.51014116, 0.56717407],
        [0.66382255, 0.76674007, 0.87195994, 0.97902709, 1.08751345],
        [0.74192008, 0.90592151, 1.07717006, 1.25120233, 1.42395676]], atol=1e-8)
    N, D, H, T = 2, 5, 4, 3
    h = F.lstm(linspace(-0.4, 0.6, (N, T, D)), linspace(-0.4, 0.8, (N, H)),
               linspace(-0.2, 0.9, (D, 4 * H)), linspace(-0.3, 0.6, (H, 4 * H)),
               np.linspace(0.2, 0.7, num=4 * H))
    np.testing.assert_allclose(h.data, [
        [[0.01764008, 0.01823233, 0.01882671, 0.0194232],
         [0.11287491, 0.12146228, 0.13018446, 0.13902939],
         [0.31358768, 0.33338627, 0.35304453, 0.37250975]],
        [[0.45767879, 0.4761092, 0.4936887, 0.51041945],
         [0.6704845, 0.69350089, 0.71486014, 0.7346449],
         [0.81733511, 0.83677871, 0.85403753, 0.86935314]]], atol=1e-8)


@pytest.mark.parametrize("N, T, V, p, expected", [
    (100, 1, 10, 1.0, np.log(10)), (100, 10, 10, 1.0, 10 * np.log(10)),
    (5000, 10, 10, 0.1, np.log(10)),
])
def test_temporal_softmax_loss_course_values(N, T, V, p, expected):
    """Near-uniform scores: log V per unmasked step, summed over time, averaged over N."""
    rng = np.random.default_rng(0)
    mask = rng.random((N, T)) <= p
    loss = F.temporal_softmax_loss(1e-3 * rng.standard_normal((N, T, V)),
                                   rng.integers(V, size=(N, T)), mask)
    np.testing.assert_allclose(loss.item(), expected * mask.sum() / (N * T * p), rtol=1e-3)


# ----- gradient checks ---------------------------------------------------------------------

@pytest.mark.parametrize("kind", list(GATES))
@pytest.mark.parametrize("N, T, D, H", [(2, 1, 3, 4), (3, 5, 4, 3)], ids=str)
def test_sequence_gradcheck(kind, N, T, D, H):
    rng = np.random.default_rng(sum(map(ord, kind)) + T)
    assert_gradcheck(course_form(kind), random_inputs(kind, N, T, D, H, rng))


@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm_torch_order", "gru"])
def test_long_sequence_gradcheck(kind):
    """200 steps: gradients that travel the whole sequence back are still exact."""
    rng = np.random.default_rng(7)
    assert_gradcheck(course_form(kind), random_inputs(kind, 1, 200, 2, 3, rng), max_coords=12)


def test_step_gradchecks():
    rng = np.random.default_rng(3)
    x, h, c, Wx, Wh, b = random_inputs("lstm", 3, 1, 4, 5, rng)
    x = x[:, 0]
    assert_gradcheck(lambda *a: vg.stack(list(F.lstm_step(*a))), [x, h, c, Wx, Wh, b])
    assert_gradcheck(F.rnn_step, [x, h, Wx[:, :5], Wh[:, :5], b[:5]])
    assert_gradcheck(F.gru_step, [x, h, Wx[:, :15], Wh[:, :15], b[:15], b[5:]])
    assert_gradcheck(F.gru_step, [x, h, Wx[:, :15], Wh[:, :15], b[:15]])  # bh = 0


def test_temporal_affine_gradcheck_and_value():
    rng = np.random.default_rng(4)
    x, w, b = rng.standard_normal((3, 4, 5)), rng.standard_normal((5, 6)), rng.standard_normal(6)
    assert_gradcheck(F.temporal_affine, [x, w, b])
    np.testing.assert_allclose(F.temporal_affine(x, w, b).data,
                               np.einsum("ntd,dm->ntm", x, w) + b, rtol=1e-12)


@pytest.mark.parametrize("p", [1.0, 0.5, 0.0])
def test_temporal_softmax_loss_gradcheck_and_mask(p):
    rng = np.random.default_rng(5)
    N, T, V = 4, 6, 7
    x, y = rng.standard_normal((N, T, V)), rng.integers(V, size=(N, T))
    mask = rng.random((N, T)) < p
    assert_gradcheck(lambda s: F.temporal_softmax_loss(s, y, mask), [x])
    scores = vg.tensor(x, requires_grad=True)
    loss = F.temporal_softmax_loss(scores, y, mask)
    log_p = x - np.log(np.exp(x).sum(axis=2, keepdims=True))
    by_hand = -np.take_along_axis(log_p, y[..., None], axis=2)[..., 0]
    np.testing.assert_allclose(loss.item(), (by_hand * mask).sum() / N, rtol=1e-12)
    loss.backward()
    assert not scores.grad[~mask].any()  # masked steps get no gradient


# ----- one node for the whole sequence -------------------------------------------------------

def test_sequence_is_one_node_and_matches_unrolled_steps():
    """BPTT inside one LSTM node equals the engine's backward through T step nodes."""
    rng = np.random.default_rng(6)
    x, h0, c0, Wx, Wh, b = random_inputs("lstm", 2, 30, 3, 4, rng)
    upstream = rng.standard_normal((2, 30, 4))
    fused = [vg.tensor(a, requires_grad=True) for a in (x, h0, c0, Wx, Wh, b)]
    h = F.lstm(fused[0], fused[1], *fused[3:], c0=fused[2])
    assert isinstance(h._node, recurrent.LSTM)
    assert h._node.parents == tuple(fused)
    h.backward(upstream)
    steps = [vg.tensor(a, requires_grad=True) for a in (x, h0, c0, Wx, Wh, b)]
    prev_h, prev_c, hs = steps[1], steps[2], []
    for t in range(30):
        prev_h, prev_c = F.lstm_step(steps[0][:, t], prev_h, prev_c, *steps[3:])
        hs.append(prev_h)
    unrolled = vg.stack(hs, axis=1)
    np.testing.assert_allclose(h.data, unrolled.data, rtol=1e-12, atol=1e-14)
    unrolled.backward(upstream)
    for a, s in zip(fused, steps, strict=True):
        np.testing.assert_allclose(a.grad, s.grad, rtol=1e-9, atol=1e-12)


# ----- PyTorch parity ---------------------------------------------------------------------------

def torch_module(torch, kind, D, H, Wx, Wh, b, bh):
    """A one-layer batch-first torch module holding the course-layout weights (gate order
    mapped for the LSTM: the course's i, f, o, g -> PyTorch's i, f, g, o)."""
    cls = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind.split("_")[0]]
    extra = {"nonlinearity": kind[4:]} if kind.startswith("rnn") else {}
    module = cls(D, H, batch_first=True, **extra).double()
    if kind == "lstm":
        order = np.r_[0:2 * H, 3 * H:4 * H, 2 * H:3 * H]  # i, f, g, o picked from i, f, o, g
        Wx, Wh, b = Wx[:, order], Wh[:, order], b[order]
    with torch.no_grad():
        for name, value in (("weight_ih_l0", Wx.T), ("weight_hh_l0", Wh.T), ("bias_ih_l0", b),
                            ("bias_hh_l0", bh)):
            getattr(module, name).copy_(torch.tensor(value))
    return module


@pytest.mark.parametrize("kind", ["rnn_tanh", "rnn_relu", "lstm", "gru"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_torch_modules(kind, seed):
    torch = torch_or_skip()
    rng = np.random.default_rng(seed)
    N, T, D, H = (int(v) for v in rng.integers(1, 6, size=4))
    inputs = random_inputs(kind, N, T, D, H, rng)
    x, h0 = inputs[:2]
    c0 = inputs[2] if kind == "lstm" else np.zeros((N, H))
    Wx, Wh, b = inputs[-3:] if kind != "gru" else inputs[2:5]
    bh = inputs[5] if kind == "gru" else np.zeros_like(b)
    module = torch_module(torch, kind, D, H, Wx, Wh, b, bh)
    tx, th0, tc0 = (torch.tensor(a, requires_grad=True) for a in (x, h0, c0))
    state = (th0[None], tc0[None]) if kind == "lstm" else th0[None]
    expected, _ = module(tx, state)

    ours = [vg.tensor(a, requires_grad=True) for a in (x, h0, c0, Wx, Wh, b, bh)]
    if kind == "lstm":
        h = F.lstm(ours[0], ours[1], *ours[3:6], c0=ours[2])
    elif kind == "gru":
        h = F.gru(ours[0], ours[1], *ours[3:])
    else:
        h = F.rnn(ours[0], ours[1], *ours[3:6], nonlinearity=kind[4:])
    np.testing.assert_allclose(h.data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    upstream = rng.standard_normal((N, T, H))
    h.backward(upstream)
    expected.backward(torch.tensor(upstream))
    np.testing.assert_allclose(ours[0].grad, tx.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours[1].grad, th0.grad.numpy(), rtol=1e-9, atol=1e-12)
    grad_ih = module.weight_ih_l0.grad.numpy().T
    grad_hh = module.weight_hh_l0.grad.numpy().T
    grad_b = module.bias_ih_l0.grad.numpy()
    if kind == "lstm":  # PyTorch's i, f, g, o back to the course's i, f, o, g
        order = np.r_[0:2 * H, 3 * H:4 * H, 2 * H:3 * H]
        grad_ih, grad_hh, grad_b = grad_ih[:, order], grad_hh[:, order], grad_b[order]
        np.testing.assert_allclose(ours[2].grad, tc0.grad.numpy(), rtol=1e-9, atol=1e-12)
    for mine, theirs in ((ours[3], grad_ih), (ours[4], grad_hh), (ours[5], grad_b)):
        np.testing.assert_allclose(mine.grad, theirs, rtol=1e-9, atol=1e-12)
    if kind == "gru":
        np.testing.assert_allclose(ours[6].grad, module.bias_hh_l0.grad.numpy(), rtol=1e-9,
                                   atol=1e-12)


# ----- bad input ----------------------------------------------------------------------------

def test_bad_input():
    x, h0 = np.zeros((2, 3, 4)), np.zeros((2, 5))
    Wx, Wh, b = np.zeros((4, 5)), np.zeros((5, 5)), np.zeros(5)
    with pytest.raises(ValueError, match=r"rnn: x must be \(N, T, D\)"):
        F.rnn(x[0], h0, Wx, Wh, b)
    with pytest.raises(ValueError, match=r"rnn: Wx must have shape \(4, 5\)"):
        F.rnn(x, h0, Wx[:3], Wh, b)
    with pytest.raises(ValueError, match=r"rnn: h0 must have shape \(2, 5\)"):
        F.rnn(x, h0[:1], Wx, Wh, b)
    with pytest.raises(ValueError, match=r"rnn: b must have shape"):
        F.rnn(x, h0, Wx, Wh, b[:2])
    with pytest.raises(TypeError, match="rnn: x must be floating point, got dtype int64"):
        F.rnn(x.astype(np.int64), h0, Wx, Wh, b)
    with pytest.raises(ValueError, match=r"rnn: x has no time steps"):
        F.rnn(x[:, :0], h0, Wx, Wh, b)
    with pytest.raises(ValueError, match="nonlinearity must be 'tanh' or 'relu'"):
        F.rnn(x, h0, Wx, Wh, b, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match=r"lstm: Wh must be \(H, 4H\)"):
        F.lstm(x, h0, Wx, Wh, b)
    W4x, W4h, b4 = np.zeros((4, 20)), np.zeros((5, 20)), np.zeros(20)
    with pytest.raises(ValueError, match="gate_order must be 'ifog'"):
        F.lstm(x, h0, W4x, W4h, b4, gate_order="fico")
    with pytest.raises(ValueError, match=r"lstm: c0 must have h0's shape"):
        F.lstm(x, h0, W4x, W4h, b4, c0=np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"lstm_step: x must be \(N, D\)"):
        F.lstm_step(x, h0, h0, W4x, W4h, b4)
    with pytest.raises(ValueError, match=r"gru: bh must have b's shape"):
        F.gru(x, h0, np.zeros((4, 15)), np.zeros((5, 15)), np.zeros(15), np.zeros(5))
    with pytest.raises(ValueError, match=r"temporal_affine: need x \(N, T, D\)"):
        F.temporal_affine(x, np.zeros((3, 2)), np.zeros(2))
    scores, y = np.zeros((2, 3, 4)), np.zeros((2, 3), dtype=np.int64)
    with pytest.raises(ValueError, match=r"label 4 is out of range for a vocabulary of 4"):
        F.temporal_softmax_loss(scores, y + 4)
    with pytest.raises(ValueError, match=r"label -1 is out of range"):
        F.temporal_softmax_loss(scores, y - 1)
    with pytest.raises(TypeError, match="y must be integers"):
        F.temporal_softmax_loss(scores, y.astype(float))
    with pytest.raises(ValueError, match=r"mask must have shape \(2, 3\)"):
        F.temporal_softmax_loss(scores, y, np.ones((2, 2), dtype=bool))
    with pytest.raises(ValueError, match=r"y must have shape \(2, 3\)"):
        F.temporal_softmax_loss(scores, y[:, :2])
