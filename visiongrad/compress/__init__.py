"""Efficient inference: quantization (post-training int8 with integer kernels,
quantization-aware training, binary and ternary weights).

>>> from visiongrad import compress
>>> int8_model = compress.quantize_model(model, calibration_images)  # doctest: +SKIP
"""

from .int8 import QuantizedClassifier, int8_gemm_reference
from .observers import (
    ActivationObserver,
    affine_qparams,
    quantize_affine,
    quantize_symmetric,
    symmetric_scales,
)
from .quantize import fold_batch_norm, layer_table, plan_blocks, quantize_model

__all__ = ["ActivationObserver", "QuantizedClassifier", "affine_qparams", "fold_batch_norm",
           "int8_gemm_reference", "layer_table", "plan_blocks", "quantize_affine",
           "quantize_model", "quantize_symmetric", "symmetric_scales"]
