"""Efficient methods: Deep Compression (pruning, weight sharing, Huffman coding and the
``.vgz`` file), low-rank factorisation, knowledge distillation, post-training int8
quantization with integer kernels, quantization-aware training, binary and ternary weights,
and ONNX export (``compress.onnx_export``, the ``onnx`` extra).

Deep Compression (Han, Mao and Dally, ICLR 2016) in three stages::

    masks = magnitude_masks(model, sparsity=0.9)          # 1. prune, then retrain with
    apply_masks(model, masks)                             #    MaskedOptimizer(...)
    share_weights(model, bits=5); ...; materialize(model)  # 2. k-means, fine-tune centroids
    data, entries = encode_vgz(model.state_dict(), config, {name: 5 ...})  # 3. Huffman

``decode_vgz``/``read_vgz`` give the state dict back. Quantization::

    int8_model = quantize_model(model, calibration_images)   # integer inference
    qat_model = prepare_qat(model, bits=4)                   # fake quantization, STE

Nothing below ``compress`` imports it.
"""

from __future__ import annotations

from .distillation import DistillationLoss, distillation_loss
from .huffman import HuffmanError, canonical_codes, code_lengths, decode, encode
from .int8 import QuantizedClassifier, int8_gemm_reference
from .low_rank import factorize, low_rank_layer, rank_for_energy
from .observers import (
    ActivationObserver,
    affine_qparams,
    quantize_affine,
    quantize_symmetric,
    symmetric_scales,
)
from .pruning import (
    MaskedOptimizer,
    apply_masks,
    current_masks,
    geometric_sparsities,
    magnitude_masks,
    prunable_weights,
    sparsity_table,
)
from .qat import ActivationFakeQuantize, calibrate_fake_quant, prepare_qat
from .quantize import fold_batch_norm, layer_table, plan_blocks, quantize_model
from .shared_weights import (
    SharedWeight,
    SharedWeightLayer,
    cluster_weights,
    initial_centroids,
    kmeans_1d,
    materialize,
    share_weights,
    shared_weight,
)
from .sparse import dense_symbols, relative_indices
from .ternary import deployed_weights, low_bit_weights
from .vgz import VgzError, decode_vgz, encode_vgz, read_vgz

__all__ = ["ActivationFakeQuantize", "ActivationObserver", "DistillationLoss", "HuffmanError",
           "MaskedOptimizer", "QuantizedClassifier", "SharedWeight", "SharedWeightLayer",
           "VgzError", "affine_qparams", "apply_masks", "calibrate_fake_quant",
           "canonical_codes", "cluster_weights", "code_lengths", "current_masks", "decode",
           "decode_vgz", "dense_symbols", "deployed_weights", "distillation_loss", "encode",
           "encode_vgz", "factorize", "fold_batch_norm", "geometric_sparsities",
           "initial_centroids", "int8_gemm_reference", "kmeans_1d", "layer_table",
           "low_bit_weights", "low_rank_layer", "magnitude_masks", "materialize",
           "plan_blocks", "prepare_qat", "prunable_weights", "quantize_affine",
           "quantize_model", "quantize_symmetric", "rank_for_energy", "read_vgz",
           "relative_indices", "share_weights", "shared_weight", "sparsity_table",
           "symmetric_scales"]
