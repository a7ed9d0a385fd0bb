"""visiongrad's compiled kernels (``ops/direct_conv.c``, ``ops/activation.c``,
``ops/loss.c``, ``optim/sgd_step.c``), built as one plain C library that
``visiongrad/native.py`` loads with ctypes.

The extension is optional: where it cannot be compiled, the install goes on and every op
takes its NumPy path. Everything else is in ``pyproject.toml``.
"""

import sys

from setuptools import Extension, setup

setup(ext_modules=[Extension(
    "visiongrad._native",
    ["visiongrad/ops/direct_conv.c", "visiongrad/ops/activation.c", "visiongrad/ops/loss.c",
     "visiongrad/optim/sgd_step.c"],
    extra_compile_args=["-O3"], libraries=[] if sys.platform == "win32" else ["m"],
    optional=True)])
