"""The one compiled part of visiongrad: the direct convolution kernel ``direct_conv.c``.

It is a plain C library (loaded with ctypes by ``visiongrad/ops/native.py``), built as an
optional extension: where it cannot be compiled, the install goes on and every
convolution takes the NumPy path. Everything else is in ``pyproject.toml``.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("visiongrad.ops._direct_conv", ["visiongrad/ops/direct_conv.c"],
                             extra_compile_args=["-O3"], optional=True)])
