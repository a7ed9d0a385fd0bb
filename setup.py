"""visiongrad's compiled kernels (``ops/direct_conv.c``, ``ops/activation.c``,
``optim/sgd_step.c``), built as one plain C library that ``visiongrad/native.py`` loads
with ctypes.

The extension is optional: where it cannot be compiled, the install goes on and every op
takes its NumPy path. Everything else is in ``pyproject.toml``.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension(
    "visiongrad._native",
    ["visiongrad/ops/direct_conv.c", "visiongrad/ops/activation.c", "visiongrad/optim/sgd_step.c"],
    extra_compile_args=["-O3"], optional=True)])
