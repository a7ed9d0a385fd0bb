"""Barnes-Hut t-SNE's compiled gradient terms (``kernels/tsne.c``), asked for in one call by
``classic/barnes_hut.py``, which returns None where the library lacks them (the caller
then runs its NumPy reference)."""

from __future__ import annotations

import numpy as np

from .native import TSNE_ATTRACTION, TSNE_REPULSION
from .threads import in_parts


def tsne_repulsion(Y: np.ndarray, theta: float):
    """(F_rep (N, 2), Z) of the 2-D embedding ``Y`` by the compiled quadtree, or None; the
    points are cut into one part per core (each part's call builds the tree itself)."""
    if TSNE_REPULSION is None or Y.ndim != 2 or Y.shape[1] != 2:
        return None
    Y = np.ascontiguousarray(Y, dtype=np.float64)
    force = np.empty_like(Y)

    def part(rows: slice) -> float:
        z = np.zeros(1)
        if TSNE_REPULSION(Y.ctypes.data, len(Y), float(theta), rows.start, rows.stop,
                          force.ctypes.data, z.ctypes.data) != 0:
            raise MemoryError("Barnes-Hut t-SNE: out of memory building the quadtree")
        return float(z[0])

    return force, sum(in_parts(part, len(Y), 64 * Y.nbytes))


def tsne_attraction(Y: np.ndarray, indptr: np.ndarray, indices: np.ndarray,
                    values: np.ndarray):
    """F_attr (N, 2) over P's CSR rows by the compiled loop, or None."""
    if TSNE_ATTRACTION is None or Y.ndim != 2 or Y.shape[1] != 2:
        return None
    Y = np.ascontiguousarray(Y, dtype=np.float64)
    arrays = [np.ascontiguousarray(a, dtype=t) for a, t in
              ((indptr, np.int64), (indices, np.int64), (values, np.float64))]
    force = np.empty_like(Y)
    TSNE_ATTRACTION(Y.ctypes.data, len(Y), *(a.ctypes.data for a in arrays), force.ctypes.data)
    return force
