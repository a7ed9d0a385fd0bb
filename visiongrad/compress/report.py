"""The per-layer table of Deep Compression (Han et al., 2016, tables 2 and 3), from the real
byte counts of a ``.vgz`` file's sections.

Columns: the layer, its number of weights, the fraction kept by pruning (P), the bits per
stored weight and per relative index after pruning and quantisation (P+Q: fixed widths)
and after Huffman coding too (P+Q+H), and the layer's compression rate each way (its
float32 bytes over the bytes of its codebook and both streams). Bits per entry count the
filler entries among the entries, so they are what the file spends per stored entry.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

HEADER = ("layer", "#weights", "weights% (P)", "weight bits (P+Q)", "weight bits (P+Q+H)",
          "index bits (P+Q)", "index bits (P+Q+H)", "compress rate (P+Q)",
          "compress rate (P+Q+H)")


def _bits(entry: dict, section: int) -> float:
    return 8 * entry["sections"][section] / max(entry["entries"], 1)


def layer_rows(fixed: Sequence[dict], coded: Sequence[dict], densities: dict[str, float]
               ) -> list[dict]:
    """One row per shared weight, from the header entries that ``encode_vgz`` returned
    for the same state with fixed widths (``fixed``) and with Huffman coding (``coded``).
    ``densities`` maps each weight to the fraction of its weights that are non-zero."""
    rows = []
    for plain, huffman in zip(fixed, coded, strict=True):
        if plain["encoding"] != "shared":
            continue
        size = 4 * math.prod(plain["shape"])
        rows.append({"layer": plain["name"], "weights": math.prod(plain["shape"]),
                     "density": densities[plain["name"]],
                     "weight_bits": _bits(plain, 2), "weight_bits_huffman": _bits(huffman, 2),
                     "index_bits": _bits(plain, 1), "index_bits_huffman": _bits(huffman, 1),
                     "rate": size / plain["bytes"], "rate_huffman": size / huffman["bytes"]})
    return rows


def format_rows(rows: Sequence[dict], total: dict) -> list[list[str]]:
    """The rows as table cells (``total``: ``{"weights", "density", "rate",
    "rate_huffman"}`` over the whole file), in :data:`HEADER`'s order."""
    cells = [[row["layer"], f"{row['weights']:,}", f"{100 * row['density']:.1f}%",
              f"{row['weight_bits']:.1f}", f"{row['weight_bits_huffman']:.1f}",
              f"{row['index_bits']:.1f}", f"{row['index_bits_huffman']:.1f}",
              f"{row['rate']:.1f}x", f"{row['rate_huffman']:.1f}x"] for row in rows]
    cells.append(["total", f"{total['weights']:,}", f"{100 * total['density']:.1f}%",
                  "", "", "", "", f"{total['rate']:.1f}x", f"{total['rate_huffman']:.1f}x"])
    return cells
