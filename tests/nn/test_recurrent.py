"""nn.RNN / nn.LSTM / nn.GRU: PyTorch's parameter names, shapes and init range; state_dicts
moved both ways and outputs, final states and every gradient compared with torch on random
configurations; dropout between layers; truncated BPTT with detach; clipping; bad input."""

import math

import numpy as np
import pytest
from helpers import torch_or_skip

import visiongrad as vg
from visiongrad import nn, optim

MODES = ["RNN", "RNN_relu", "LSTM", "GRU"]


def build(library, mode, *args, **kwargs):
    """The same layer in visiongrad (``library=nn``) or torch (``library=torch.nn``)."""
    if mode == "RNN_relu":
        return library.RNN(*args, nonlinearity="relu", **kwargs)
    return getattr(library, mode)(*args, **kwargs)


def random_config(seed):
    rng = np.random.default_rng(seed)
    return rng, dict(num_layers=int(rng.integers(1, 3)), bidirectional=bool(rng.integers(2)),
                     batch_first=bool(rng.integers(2)), bias=bool(rng.random() < 0.8))


def run(module, x, state, mode):
    output, final = module(x, state)
    return output, (final if mode == "LSTM" else (final,))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("seed", range(4))
def test_matches_torch(mode, seed):
    """float64, both directions of state_dict transfer, with and without initial states."""
    torch = torch_or_skip()
    vg.set_default_dtype(np.float64)
    rng, config = random_config(seed + 10 * MODES.index(mode))
    N, T, D, H = 2, int(rng.integers(1, 5)), 3, 4
    ours, theirs = build(nn, mode, D, H, **config), build(torch.nn, mode, D, H, **config).double()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    if seed % 2:  # torch -> visiongrad
        ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    else:  # visiongrad -> torch
        theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})

    shape = (N, T, D) if config["batch_first"] else (T, N, D)
    x = rng.standard_normal(shape)
    layers = config["num_layers"] * (2 if config["bidirectional"] else 1)
    states = [rng.standard_normal((layers, N, H)) for _ in range(2 if mode == "LSTM" else 1)]
    with_state = seed < 2
    vx, tx = vg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    vs = [vg.tensor(s, requires_grad=True) for s in states]
    ts = [torch.tensor(s, requires_grad=True) for s in states]
    pack = (lambda s: tuple(s) if mode == "LSTM" else s[0]) if with_state else (lambda s: None)
    v_out, v_final = run(ours, vx, pack(vs), mode)
    t_out, t_final = run(theirs, tx, pack(ts), mode)
    np.testing.assert_allclose(v_out.data, t_out.detach().numpy(), rtol=1e-10, atol=1e-12)
    for v, t in zip(v_final, t_final, strict=True):
        np.testing.assert_allclose(v.data, t.detach().numpy(), rtol=1e-10, atol=1e-12)

    upstream = [rng.standard_normal(t.shape) for t in (t_out, *t_final)]
    loss = sum(((v * vg.tensor(u)).sum()
                for v, u in zip((v_out, *v_final), upstream, strict=True)), start=vg.tensor(0.0))
    loss.backward()
    sum((t * torch.tensor(u)).sum()
        for t, u in zip((t_out, *t_final), upstream, strict=True)).backward()
    np.testing.assert_allclose(vx.grad, tx.grad.numpy(), rtol=1e-9, atol=1e-12)
    if with_state:
        for v, t in zip(vs, ts, strict=True):
            np.testing.assert_allclose(v.grad, t.grad.numpy(), rtol=1e-9, atol=1e-12)
    torch_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, torch_params[name].grad.numpy(), rtol=1e-9,
                                   atol=1e-12, err_msg=name)


@pytest.mark.parametrize("mode", ["LSTM", "GRU"])
def test_unbatched_input_and_float32(mode):
    torch = torch_or_skip()
    ours = build(nn, mode, 3, 5, num_layers=2, bidirectional=True)
    theirs = build(torch.nn, mode, 3, 5, num_layers=2, bidirectional=True)
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((6, 3)).astype(np.float32)
    v_out, v_final = run(ours, x, None, mode)
    t_out, t_final = run(theirs, torch.tensor(x), None, mode)
    assert v_out.dtype == np.float32 and v_out.shape == (6, 10)
    np.testing.assert_allclose(v_out.data, t_out.detach().numpy(), rtol=1e-5, atol=1e-6)
    for v, t in zip(v_final, t_final, strict=True):
        assert v.shape == (4, 5)
        np.testing.assert_allclose(v.data, t.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_names_shapes_init_and_repr():
    torch = torch_or_skip()
    for mode, gates in (("RNN", 1), ("LSTM", 4), ("GRU", 3)):
        kwargs = dict(num_layers=2, bidirectional=True, batch_first=True, dropout=0.25)
        ours, theirs = build(nn, mode, 7, 6, **kwargs), build(torch.nn, mode, 7, 6, **kwargs)
        assert {k: v.shape for k, v in ours.state_dict().items()} == \
            {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
        assert ours.weight_ih_l1_reverse.shape == (gates * 6, 12)
        assert repr(ours) == repr(theirs)
        bound = 1 / math.sqrt(6)
        values = np.concatenate([p.data.ravel() for p in ours.parameters()])
        assert values.min() >= -bound and values.max() <= bound
        assert values.std() == pytest.approx(bound / math.sqrt(3), rel=0.1)  # U(-a, a)
    # NOTE: unlike PyTorch's, the repr names a relu nonlinearity
    assert repr(nn.RNN(2, 3, nonlinearity="relu", bias=False)) == \
        "RNN(2, 3, nonlinearity='relu', bias=False)"
    vg.manual_seed(3)
    first = nn.LSTM(2, 3).weight_hh_l0.data.copy()
    vg.manual_seed(3)
    np.testing.assert_array_equal(nn.LSTM(2, 3).weight_hh_l0.data, first)


def test_dropout_between_layers_only_in_training():
    torch = torch_or_skip()
    ours = nn.GRU(3, 4, num_layers=2, dropout=0.5)
    theirs = torch.nn.GRU(3, 4, num_layers=2, dropout=0.5)
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    x = np.random.default_rng(1).standard_normal((5, 2, 3)).astype(np.float32)
    first, second = ours(x)[0].data, ours(x)[0].data
    assert not np.allclose(first, second)  # fresh masks each call
    ours.eval()
    theirs.eval()
    np.testing.assert_allclose(ours(x)[0].data, theirs(torch.tensor(x))[0].detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    single = nn.GRU(3, 4, num_layers=1, dropout=0.5)  # no layer after the last: no dropout
    np.testing.assert_array_equal(single(x)[0].data, single(x)[0].data)


def test_truncated_bptt_detach_stops_gradients():
    """The second chunk's loss reaches the parameters but not the first chunk's input."""
    vg.set_default_dtype(np.float64)
    rng = np.random.default_rng(2)
    lstm = nn.LSTM(3, 4, batch_first=True)
    chunk1 = vg.tensor(rng.standard_normal((2, 5, 3)), requires_grad=True)
    chunk2 = rng.standard_normal((2, 5, 3))
    _, (h, c) = lstm(chunk1)
    h, c = h.detach(), c.detach()
    assert not h.requires_grad and h.is_leaf
    out, _ = lstm(chunk2, (h, c))
    out.sum().backward()
    assert chunk1.grad is None
    carried = [p.grad.copy() for p in lstm.parameters()]
    lstm.zero_grad()  # the same chunk from the same state given as plain arrays
    lstm(chunk2, (h.numpy().copy(), c.numpy().copy()))[0].sum().backward()
    for before, p in zip(carried, lstm.parameters(), strict=True):
        np.testing.assert_allclose(before, p.grad, rtol=1e-12)
    lstm.zero_grad()  # without detach the gradient does reach chunk 1
    _, (h, c) = lstm(chunk1)
    lstm(chunk2, (h, c))[0].sum().backward()
    assert chunk1.grad is not None and np.abs(chunk1.grad).sum() > 0


def test_clip_grad_norm_on_lstm():
    torch = torch_or_skip()
    ours = nn.LSTM(3, 8, num_layers=2)
    theirs = torch.nn.LSTM(3, 8, num_layers=2)
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    x = np.random.default_rng(3).standard_normal((20, 4, 3)).astype(np.float32)
    (ours(x)[0] ** 2).sum().backward()
    (theirs(torch.tensor(x))[0] ** 2).sum().backward()
    by_hand = math.sqrt(sum(float((p.grad.astype(np.float64) ** 2).sum())
                            for p in ours.parameters()))
    total = optim.clip_grad_norm_(ours.parameters(), max_norm=0.5)
    torch_total = torch.nn.utils.clip_grad_norm_(theirs.parameters(), max_norm=0.5)
    assert total == pytest.approx(by_hand, rel=1e-5) and by_hand > 0.5
    assert total == pytest.approx(float(torch_total), rel=1e-4)
    clipped = math.sqrt(sum(float((p.grad.astype(np.float64) ** 2).sum())
                            for p in ours.parameters()))
    assert clipped == pytest.approx(0.5, rel=1e-4)
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters(), strict=True):
        np.testing.assert_allclose(p.grad, q.grad.numpy(), rtol=1e-3, atol=1e-6, err_msg=name)


def test_bad_input():
    lstm = nn.LSTM(3, 4, num_layers=2)
    x = np.zeros((5, 2, 3), dtype=np.float32)
    with pytest.raises(ValueError, match="input has 2 features, the layer expects input_size=3"):
        lstm(x[..., :2])
    with pytest.raises(ValueError, match=r"input must be \(L, N, H_in\)"):
        lstm(x[None])
    with pytest.raises(TypeError, match=r"hx must be a pair \(h0, c0\)"):
        lstm(x, np.zeros((2, 2, 4)))
    with pytest.raises(ValueError, match=r"c0 must have shape \(2, 2, 4\)"):
        lstm(x, (np.zeros((2, 2, 4)), np.zeros((1, 2, 4))))
    with pytest.raises(ValueError, match=r"GRU: h0 must have shape \(2, 2, 4\)"):
        nn.GRU(3, 4, bidirectional=True)(x, np.zeros((1, 2, 4)))
    with pytest.raises(ValueError, match="nonlinearity must be 'tanh' or 'relu'"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match=r"dropout must be a probability in \[0, 1\]"):
        nn.GRU(3, 4, dropout=1.5)
    with pytest.raises(ValueError, match="hidden_size must be a positive integer"):
        nn.LSTM(3, 0)
