"""Barnes-Hut t-SNE's two approximations (van der Maaten, 2014), vectorised in NumPy.

Input affinities on the k = min(N - 1, floor(3 perplexity)) nearest neighbours only (exact
kNN in blocks), each row's precision bisected to the perplexity as in exact t-SNE, then
symmetrised: P = (P_cond + P_cond^T) / (2N), a sparse matrix held as (rows, cols, values).

The gradient dC/dy_i = 4 (F_attr,i - F_rep,i / Z) splits into

    F_attr,i = sum_j p_ij w_ij (y_i - y_j),    w_ij = (1 + |y_i - y_j|^2)^-1   (P's edges)
    F_rep,i  = sum_{j != i} w_ij^2 (y_i - y_j),  Z = sum_{k != l} w_kl

and the repulsion is summarised by a quadtree: a cell of width s whose centre of mass
y_c is seen from y_i at distance d with s / d < theta stands for its n_c points,

    F_rep,i += n_c w_ic^2 (y_i - y_c),   Z += n_c w_ic,   w_ic = (1 + |y_i - y_c|^2)^-1;

other cells are opened. The tree is built as arrays: points sorted by their Morton code
(the bits of their cell indices interleaved) so that every cell, at every level, is one
run of the sorted points; and it is walked for all points at once, one level at a time,
on the list of (point, cell) pairs still open (the whole walk costs O(N log N) pairs).

Both terms are asked of ``accel`` first (``kernels/tsne.c``: the same tree and walk,
compiled); these NumPy versions are the reference it is tested against.
"""

from __future__ import annotations

import numpy as np

from ..accel.tsne import tsne_attraction, tsne_repulsion

MAX_DEPTH = 21
"""Levels of the quadtree below the root (cells 2^-21 of the bounding square wide; points
closer than that share a cell, which is then summarised, less themselves)."""


def nearest_neighbours(X: np.ndarray, k: int, block: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest other rows of each row of ``X``: squared distances and indices,
    both (N, k), nearest first (exact, in blocks of ``block`` rows)."""
    squares = (X * X).sum(axis=1)
    distances = np.empty((len(X), k))
    indices = np.empty((len(X), k), dtype=np.int64)
    for start in range(0, len(X), block):
        rows = slice(start, min(start + block, len(X)))
        d2 = np.maximum(squares[rows, None] + squares[None] - 2 * X[rows] @ X.T, 0)
        d2[np.arange(d2.shape[0]), np.arange(rows.start, rows.stop)] = np.inf  # not itself
        part = np.argpartition(d2, k - 1, axis=1)[:, :k]
        part_d = np.take_along_axis(d2, part, axis=1)
        order = np.argsort(part_d, axis=1, kind="stable")
        indices[rows] = np.take_along_axis(part, order, axis=1)
        distances[rows] = np.take_along_axis(part_d, order, axis=1)
    return distances, indices


def symmetric_sparse(conditional: np.ndarray, indices: np.ndarray):
    """P = (P_cond + P_cond^T) / (2N) for P_cond given on each row's neighbours, as
    (rows, cols, values) with each unordered pair's both directions present once."""
    n, k = indices.shape
    rows = np.repeat(np.arange(n), k)
    cols = indices.ravel()
    values = conditional.ravel()
    keys = np.concatenate([rows * n + cols, cols * n + rows])
    unique, inverse = np.unique(keys, return_inverse=True)
    summed = np.bincount(inverse, weights=np.concatenate([values, values]))
    return unique // n, unique % n, summed / (2 * n)


def attractive_forces(rows, cols, values, Y: np.ndarray) -> np.ndarray:
    """F_attr,i = sum_j p_ij w_ij (y_i - y_j) over P's edges (``rows`` sorted), (N, d)."""
    if Y.shape[1] == 2:
        indptr = np.r_[0, np.cumsum(np.bincount(rows, minlength=len(Y)))]
        force = tsne_attraction(Y, indptr, cols, values)
        if force is not None:
            return force
    diff = Y[rows] - Y[cols]
    weights = values / (1 + (diff * diff).sum(axis=1))
    return np.stack([np.bincount(rows, weights * diff[:, a], minlength=len(Y))
                     for a in range(Y.shape[1])], axis=1)


def repulsive_forces(Y: np.ndarray, theta: float) -> tuple[np.ndarray, float]:
    """(F_rep (N, 2), Z) by Barnes-Hut with opening angle ``theta`` (exact at 0)."""
    compiled = tsne_repulsion(Y, theta)
    return compiled if compiled is not None else QuadTree(Y).repulsion(Y, theta)


def morton_codes(cells: np.ndarray, depth: int) -> np.ndarray:
    """Interleave the bits of integer cell coordinates (N, 2) at ``depth`` levels."""
    codes = np.zeros(len(cells), dtype=np.int64)
    for bit in range(depth):
        codes |= ((cells[:, 0] >> bit) & 1) << (2 * bit + 1)
        codes |= ((cells[:, 1] >> bit) & 1) << (2 * bit)
    return codes


class QuadTree:
    """The quadtree of 2-D points as arrays, level by level: for level l, ``starts[l]``
    (first sorted position of each non-empty cell), ``counts[l]``, ``centres[l]`` (centre
    of mass, (cells, 2)) and ``children[l]`` ((first, end) indices into level l + 1)."""

    def __init__(self, Y: np.ndarray):
        if Y.ndim != 2 or Y.shape[1] != 2:
            raise ValueError(f"the Barnes-Hut quadtree needs 2-D points (N, 2), got {Y.shape}")
        low = Y.min(axis=0)
        self.width = float(max((Y.max(axis=0) - low).max(), 1e-12)) * (1 + 1e-9)
        scale = 2 ** MAX_DEPTH
        cells = np.minimum(((Y - low) / self.width * scale).astype(np.int64), scale - 1)
        codes = morton_codes(cells, MAX_DEPTH)
        self.order = np.argsort(codes, kind="stable")
        self.position = np.empty(len(Y), dtype=np.int64)
        self.position[self.order] = np.arange(len(Y))
        codes, sorted_y = codes[self.order], Y[self.order]
        self.starts, self.counts, self.centres = [], [], []
        for level in range(MAX_DEPTH + 1):
            keys = codes >> (2 * (MAX_DEPTH - level))
            starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
            counts = np.diff(np.r_[starts, len(Y)])
            self.starts.append(starts)
            self.counts.append(counts)
            self.centres.append(np.add.reduceat(sorted_y, starts, axis=0) / counts[:, None])
            if counts.max() == 1:  # every cell a single point: the deepest level needed
                break
        self.children = [(np.searchsorted(self.starts[l + 1], self.starts[l]),
                          np.searchsorted(self.starts[l + 1], self.starts[l] + self.counts[l]))
                         for l in range(len(self.starts) - 1)]

    def repulsion(self, Y: np.ndarray, theta: float) -> tuple[np.ndarray, float]:
        """(F_rep (N, 2), Z) by the Barnes-Hut walk (exact at theta = 0)."""
        n = len(Y)
        force = np.zeros((n, 2))
        z = 0.0
        points = np.arange(n)
        cells = np.zeros(n, dtype=np.int64)
        last = len(self.starts) - 1
        for level in range(last + 1):
            counts = self.counts[level][cells].astype(np.float64)
            centres = self.centres[level][cells]
            start = self.starts[level][cells]
            inside = (self.position[points] >= start) & (self.position[points] < start + counts)
            if level == last:  # leaves: single points, or points too close to split
                centres = np.where(inside[:, None],
                                   (centres * counts[:, None] - Y[points])
                                   / np.maximum(counts - 1, 1)[:, None], centres)
                counts = counts - inside
            diff = Y[points] - centres
            dist2 = (diff * diff).sum(axis=1)
            size = self.width / 2 ** level
            accept = (~inside & ((size * size < theta * theta * dist2) | (counts == 1))) \
                | (level == last)
            take = accept & (counts > 0)
            w = 1 / (1 + dist2[take])
            weight = counts[take] * w * w
            force[:, 0] += np.bincount(points[take], weight * diff[take, 0], minlength=n)
            force[:, 1] += np.bincount(points[take], weight * diff[take, 1], minlength=n)
            z += float((counts[take] * w).sum())
            open_ = ~accept & ~(inside & (counts == 1))
            if level == last or not open_.any():
                break
            first, end = self.children[level]
            first, end = first[cells[open_]], end[cells[open_]]
            many = end - first
            points = np.repeat(points[open_], many)
            offsets = np.arange(many.sum()) - np.repeat(np.cumsum(many) - many, many)
            cells = np.repeat(first, many) + offsets
        return force, z
