"""The compiled kernels are built by ``pip install`` and loaded, so that the tests of their
fast paths run here rather than skip."""

import os
import subprocess
import sys

from visiongrad import native


def test_the_compiled_kernels_are_built_and_loaded():
    if os.environ.get("VISIONGRAD_NATIVE") == "0":
        assert native.LIBRARY is None
        return
    assert native.LIBRARY is not None, (
        "visiongrad/_native was not built (no C compiler when pip installed it?); reinstall "
        "with a compiler, or set VISIONGRAD_NATIVE=0 to run on the NumPy paths alone")


def test_visiongrad_native_0_leaves_every_op_on_numpy():
    """With the kernels off, a float32 convolution that would take them still runs (on
    im2col) and gives the right sum."""
    code = ("from visiongrad import native; from visiongrad.optim import sgd\n"
            "from visiongrad.ops import activation, conv, direct_conv, loss\n"
            "import numpy as np\n"
            "assert native.LIBRARY is None and sgd.FUSED_STEP is None\n"
            "assert direct_conv.DIRECT_CONV is None and activation.RELU_BACKWARD is None\n"
            "assert loss.CROSS_ENTROPY_FORWARD is None\n"
            "x = np.ones((1, 16, 4, 4), np.float32)\n"
            "w = np.ones((16, 16, 3, 3), np.float32)\n"
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
