"""Speed and accuracy measurements of visiongrad beside PyTorch and scikit-learn.

Importing visiongrad first lets it set the OpenBLAS thread policy before NumPy loads
OpenBLAS (see ``visiongrad.backend.BLAS_SPIN_CYCLES_LOG2``).
"""

import visiongrad  # noqa: F401
