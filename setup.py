"""visiongrad's compiled kernels (``visiongrad/accel/kernels/*.c``), built as one plain C
library that ``visiongrad/accel/native.py`` loads with ctypes.

The extension is optional: where it cannot be compiled, the install goes on and every op
takes its NumPy path. Everything else is in ``pyproject.toml``.
"""

import sys

from setuptools import Extension, setup

KERNELS = "visiongrad/accel/kernels/"

setup(ext_modules=[Extension(
    "visiongrad._native",
    [KERNELS + name for name in ("direct_conv.c", "relu.c", "cross_entropy.c", "optimizer_steps.c",
                                    "tsne.c", "batch_norm.c", "max_pool.c", "batched_conv.c",
                                    "int8_gemm.c", "recurrent.c", "few_rows_linear.c",
                                    "epilogue.c", "parallel.c", "conv_parts.c")],
    depends=[KERNELS + "vector_math.h", KERNELS + "conv_tiles.h", KERNELS + "parallel.h",
             KERNELS + "vector_clones.h"],
    extra_compile_args=["-O3"] + ([] if sys.platform == "win32" else ["-pthread"]),
    extra_link_args=[] if sys.platform == "win32" else ["-pthread"],
    libraries=[] if sys.platform == "win32" else ["m"],
    optional=True)])
