"""Efficient inference: post-training int8 quantization with integer kernels, quantization-
aware training, binary and ternary weights, and ONNX export (``compress.onnx_export``,
the ``onnx`` extra).

>>> from visiongrad import compress
>>> int8_model = compress.quantize_model(model, calibration_images)  # doctest: +SKIP
>>> qat_model = compress.prepare_qat(model, bits=4)                  # doctest: +SKIP
"""

from .int8 import QuantizedClassifier, int8_gemm_reference
from .observers import (
    ActivationObserver,
    affine_qparams,
    quantize_affine,
    quantize_symmetric,
    symmetric_scales,
)
from .qat import ActivationFakeQuantize, calibrate_fake_quant, prepare_qat
from .quantize import fold_batch_norm, layer_table, plan_blocks, quantize_model
from .ternary import deployed_weights, low_bit_weights

__all__ = ["ActivationFakeQuantize", "ActivationObserver", "QuantizedClassifier",
           "affine_qparams", "calibrate_fake_quant", "deployed_weights", "fold_batch_norm",
           "int8_gemm_reference", "layer_table", "low_bit_weights", "plan_blocks",
           "prepare_qat", "quantize_affine", "quantize_model", "quantize_symmetric",
           "symmetric_scales"]
