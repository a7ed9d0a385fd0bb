"""Efficient methods: Deep Compression (pruning, weight sharing, Huffman coding and the
``.vgz`` file), low-rank factorisation and knowledge distillation.

Deep Compression (Han, Mao and Dally, ICLR 2016) in three stages::

    masks = magnitude_masks(model, sparsity=0.9)          # 1. prune, then retrain with
    apply_masks(model, masks)                             #    MaskedOptimizer(...)
    share_weights(model, bits=5); ...; materialize(model)  # 2. k-means, fine-tune centroids
    data, entries = encode_vgz(model.state_dict(), config, {name: 5 ...})  # 3. Huffman

``decode_vgz``/``read_vgz`` give the state dict back. Nothing below ``compress`` imports it.
"""

from __future__ import annotations

from .distillation import DistillationLoss, distillation_loss
from .huffman import HuffmanError, canonical_codes, code_lengths, decode, encode
from .low_rank import factorize, low_rank_layer, rank_for_energy
from .pruning import (
    MaskedOptimizer,
    apply_masks,
    current_masks,
    geometric_sparsities,
    magnitude_masks,
    prunable_weights,
    sparsity_table,
)
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
from .vgz import VgzError, decode_vgz, encode_vgz, read_vgz

__all__ = ["DistillationLoss", "HuffmanError", "MaskedOptimizer", "SharedWeight",
           "SharedWeightLayer", "VgzError", "apply_masks", "canonical_codes",
           "cluster_weights", "code_lengths", "current_masks", "decode", "decode_vgz",
           "dense_symbols", "distillation_loss", "encode", "encode_vgz", "factorize",
           "geometric_sparsities", "initial_centroids", "kmeans_1d", "low_rank_layer",
           "magnitude_masks", "materialize", "prunable_weights", "rank_for_energy",
           "read_vgz", "relative_indices", "share_weights", "shared_weight",
           "sparsity_table"]
