"""The LSTM's and GRU's compiled time loops (``accel/recurrent.py``, ``kernels/recurrent.c``)
against the ops' NumPy loops: every output and gradient in float32, both LSTM gate orders,
the final cell's gradient, the whole-loop LSTM kernel (H a multiple of 64, odd batch sizes
that leave partial row tiles, parts on two threads) and the per-step cells (other H), an
upstream gradient that is not contiguous, the cases they decline, and every op on NumPy
with ``VISIONGRAD_NATIVE=0``."""

import os
import subprocess
import sys

import numpy as np
import pytest
from helpers import each_tile_set

import visiongrad as vg
from visiongrad import functional as F
from visiongrad.accel import recurrent, threads

NOT_BUILT = "the compiled kernels are not built here (tests/accel/test_native.py says why)"
needs_kernels = pytest.mark.skipif(recurrent.LSTM_CELL_FORWARD is None, reason=NOT_BUILT)
KERNELS = ("LSTM_CELL_FORWARD", "LSTM_CELL_BACKWARD", "GRU_CELL_FORWARD", "GRU_CELL_BACKWARD",
           "LSTM_FORWARD_ROWS", "LSTM_BACKWARD_ROWS", "GRU_FORWARD_ROWS", "GRU_BACKWARD_ROWS")


def inputs(kind, N, T, D, H, seed=0):
    """Float32 x, h0, c0, Wx, Wh, b, bh with weights of PyTorch's scale (1/sqrt(fan-in))."""
    rng = np.random.default_rng(seed)
    G = 3 if kind == "gru" else 4
    shapes = {"x": (N, T, D), "h0": (N, H), "c0": (N, H), "Wx": (D, G * H), "Wh": (H, G * H),
              "b": (G * H,), "bh": (G * H,)}
    scale = {"Wx": 1 / np.sqrt(D), "Wh": 1 / np.sqrt(H)}
    return {name: (scale.get(name, 1) * rng.standard_normal(shape)).astype(np.float32)
            for name, shape in shapes.items()}


def run(kind, arrays, compiled, monkeypatch, transposed_upstream=False):
    """Outputs and every gradient, by the compiled loops or by the ops' NumPy loops."""
    with monkeypatch.context() as patch:
        if not compiled:
            for name in KERNELS:
                patch.setattr(recurrent, name, None)
        t = {name: vg.tensor(a, requires_grad=True) for name, a in arrays.items()}
        if kind == "gru":
            out = F.gru(t["x"], t["h0"], t["Wx"], t["Wh"], t["b"], t["bh"])
            extra = 0
        else:
            out, c_T = F.lstm(t["x"], t["h0"], t["Wx"], t["Wh"], t["b"], c0=t["c0"],
                              gate_order="ifgo" if kind == "lstm_torch" else "ifog",
                              return_cell=True)
            extra = (c_T * c_T).sum()
        weights = np.random.default_rng(1).standard_normal(out.shape).astype(np.float32)
        if transposed_upstream:  # an upstream gradient in (T, N, H) memory
            weights = np.ascontiguousarray(weights.transpose(1, 0, 2)).transpose(1, 0, 2)
        ((out * vg.tensor(weights)).sum() + extra).backward()
    return [out.data] + [t[name].grad for name in arrays if t[name].grad is not None]


def assert_close(ours, theirs):
    """Equal up to float32 rounding, the sums of a gradient's terms included: to 2e-6 of
    the array's largest value."""
    np.testing.assert_allclose(ours, theirs, rtol=2e-5, atol=2e-6 * np.abs(theirs).max())


@needs_kernels
@pytest.mark.parametrize("kind", ["lstm", "lstm_torch", "gru"])
@pytest.mark.parametrize("shape", [(13, 4, 5, 64), (3, 2, 3, 8), (8, 3, 4, 48)],
                         ids=["whole loop, partial tiles", "per-step cells", "H of 16s"])
def test_compiled_loops_match_the_numpy_loops(kind, shape, monkeypatch):
    arrays = inputs(kind, *shape)
    compiled = run(kind, arrays, True, monkeypatch)
    reference = run(kind, arrays, False, monkeypatch)
    assert len(compiled) == len(reference)
    for ours, theirs in zip(compiled, reference, strict=True):
        assert_close(ours, theirs)


@needs_kernels
def test_the_whole_loop_on_two_threads_and_a_strided_upstream(monkeypatch):
    """64 rows are cut into one part per core (two here): each part's steps run alone."""
    monkeypatch.setattr(threads, "available_cores", lambda: 2)
    monkeypatch.setattr(threads, "PARALLEL_MIN_BYTES", 0)
    for kind in ("lstm_torch", "gru"):
        arrays = inputs(kind, 64, 3, 8, 128, seed=2)
        compiled = run(kind, arrays, True, monkeypatch, transposed_upstream=True)
        reference = run(kind, arrays, False, monkeypatch, transposed_upstream=True)
        for ours, theirs in zip(compiled, reference, strict=True):
            assert_close(ours, theirs)


@needs_kernels
def test_the_avx512_tile_products_agree_with_the_portable_loop_to_the_bit(monkeypatch):
    """The whole loops' products on AVX-512 registers take each sum's terms in the same
    order, one FMA each, as the portable loop: full and partial row tiles (13 rows), tiles
    of 64 columns (the LSTM, both backward loops) and of 48 (the GRU's forward)."""
    if list(each_tile_set()) != ["avx2", "avx512"]:
        pytest.skip("this CPU has no AVX-512F")
    for kind in ("lstm_torch", "gru"):
        arrays = inputs(kind, 13, 3, 5, 64, seed=3)
        results = [run(kind, arrays, True, monkeypatch) for _ in each_tile_set()]
        for portable, avx512 in zip(*results, strict=True):
            np.testing.assert_array_equal(avx512, portable)


def test_the_fast_paths_decline_float64_and_leave_the_arrays():
    a = inputs("gru", 2, 2, 3, 16)
    gates = np.zeros((2, 2, 48))
    h = np.zeros((2, 2, 16))
    assert recurrent.gru_forward(gates, a["Wh"].astype(np.float64), a["bh"], a["h0"], h,
                                 h.copy()) is False
    assert not h.any()
    slots = {gate: slice(16 * k, 16 * (k + 1)) for k, gate in enumerate("ifog")}
    assert recurrent.lstm_backward(np.zeros((2, 2, 16)), np.zeros((2, 2, 64)), h, h, h[0],
                                   np.zeros((16, 64)), slots, np.zeros((2, 2, 64)),
                                   h[0]) is None


def test_packed_weights_hold_the_columns_the_kernels_read():
    H = 32
    Wh = np.arange(H * 4 * H, dtype=np.float32).reshape(H, 4 * H)
    slots = {gate: slice(H * k, H * (k + 1)) for k, gate in enumerate("ifgo")}  # PyTorch's
    packed = recurrent.packed_forward_weight(Wh, [slots[gate] for gate in "ifog"])
    assert packed.shape == (2, H, 64)
    # panel 1, row k = 3, gate o (third in the panel) unit 16 + 5 -> column slot_o + 21
    assert packed[1, 3, 2 * 16 + 5] == Wh[3, slots["o"].start + 21]
    backward = recurrent.packed_backward_weight(np.arange(64 * 256, dtype=np.float32)
                                                .reshape(64, 256))
    assert backward.shape == (1, 256, 64)
    assert backward[0, 7, 9] == 9 * 256 + 7  # Wh^T[7, 9] = Wh[9, 7]


@needs_kernels
def test_the_cells_tanh_and_sigmoid_are_float32_accurate():
    """One LSTM step with zero hidden part and c_prev = 0 returns sigmoid(a) in the i slot
    and tanh(a) in the g slot: within 2 units in the last place (tanh, as NumPy's float32
    tanh) and 1e-7 absolute (sigmoid) of float64 over [-20, 20] and tiny arguments."""
    a = np.concatenate([np.linspace(-20, 20, 40001), np.geomspace(1e-30, 1, 300),
                        -np.geomspace(1e-30, 1, 300)]).astype(np.float32)
    H = a.size
    gates = np.zeros((1, 4 * H), np.float32)
    gates[0, :H] = gates[0, 3 * H:] = a
    hidden, c_prev = np.zeros_like(gates), np.zeros((1, H), np.float32)
    c, tanh_c, h = np.empty((3, 1, H), np.float32)
    pointers = [array.__array_interface__["data"][0]
                for array in (gates, hidden, c_prev, c, tanh_c, h)]
    recurrent.LSTM_CELL_FORWARD(*pointers, 1, H, 0, H, 2 * H, 3 * H)
    exact = np.tanh(a.astype(np.float64))
    ulps = np.abs(gates[0, 3 * H:] - exact) / np.spacing(np.abs(exact).astype(np.float32))
    assert ulps.max() <= 2
    sigmoid = 1 / (1 + np.exp(-a.astype(np.float64)))
    assert np.abs(gates[0, :H] - sigmoid).max() <= 1e-7


def test_visiongrad_native_0_runs_the_numpy_loops():
    code = ("import numpy as np\n"
            "import visiongrad as vg\n"
            "from visiongrad import nn\n"
            "from visiongrad.accel import recurrent\n"
            "from visiongrad import accel\n"
            "assert recurrent.LSTM_FORWARD_ROWS is None and recurrent.GRU_CELL_FORWARD is None\n"
            "assert accel.leaky_relu(np.ones(3, np.float32), 0.1) is None\n"
            "lstm = nn.LSTM(3, 64)\n"
            "x = vg.tensor(np.ones((2, 1, 3), np.float32), requires_grad=True)\n"
            "out, _ = lstm(x)\n"
            "out.sum().backward()\n"
            "print(out.shape, x.grad.shape)")
    env = dict(os.environ, VISIONGRAD_NATIVE="0")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["(2,", "1,", "64)", "(2,", "1,", "3)"]
