"""The compiled kernels are built by ``pip install`` and loaded, so that the tests of their
fast paths run here rather than skip; with ``VISIONGRAD_NATIVE=0`` or a damaged library
every op runs on NumPy."""

import os
import subprocess
import sys

from visiongrad.accel import native


def test_the_compiled_kernels_are_built_and_loaded():
    if os.environ.get("VISIONGRAD_NATIVE") == "0":
        assert native.LIBRARY is None
        return
    assert native.LIBRARY is not None, (
        "visiongrad/_native was not built (no C compiler when pip installed it?); reinstall "
        "with a compiler, or set VISIONGRAD_NATIVE=0 to run on the NumPy paths alone")
    for name in ("RELU_BACKWARD", "CROSS_ENTROPY_FORWARD", "CROSS_ENTROPY_BACKWARD",
                 "SGD_MOMENTUM_STEP"):
        assert getattr(native, name) is not None, name


def test_visiongrad_native_0_leaves_every_op_on_numpy():
    """With the kernels off, every kernel is None and the fast paths decline; a float32
    convolution that would take the direct kernel still runs (on im2col) and gives the
    right sum."""
    code = ("from visiongrad import accel\n"
            "from visiongrad.accel import native\n"
            "from visiongrad.ops import conv\n"
            "import numpy as np\n"
            "assert native.LIBRARY is None and native.DIRECT_CONV is None\n"
            "assert native.RELU_BACKWARD is None and native.SGD_MOMENTUM_STEP is None\n"
            "assert native.CROSS_ENTROPY_FORWARD is None\n"
            "s = np.zeros((4, 3), np.float32)\n"
            "assert accel.cross_entropy(s, np.zeros(4, np.int64)) is None\n"
            "assert accel.relu_backward(s, s) is None\n"
            "assert not accel.sgd_momentum_step(s, s.copy(), s.copy(), 0.1, 0.9, 0, 0, False)\n"
            "x = np.ones((1, 16, 4, 4), np.float32)\n"
            "w = np.ones((16, 16, 3, 3), np.float32)\n"
            "assert accel.direct_conv2d(x, w, (1, 1), (1, 1), (4, 4)) is None\n"
            "assert not accel.direct_conv.avx512_tiles(True)\n"
            "print(conv.conv_output(x, w, None, (1, 1), (1, 1))[0, 0, 1, 1])")
    env = dict(os.environ, VISIONGRAD_NATIVE="0")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert float(result.stdout) == 144.0


def test_a_library_that_cannot_be_loaded_leaves_numpy(tmp_path, monkeypatch):
    damaged = tmp_path / "_native.so"
    damaged.write_bytes(b"not a shared library")
    spec = type("Spec", (), {"origin": str(damaged)})()
    monkeypatch.setattr(native.importlib.util, "find_spec", lambda name: spec)
    monkeypatch.delenv("VISIONGRAD_NATIVE", raising=False)
    assert native._load() is None
