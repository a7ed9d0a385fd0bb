"""Embedding: rows of a weight matrix looked up by integer index."""

from __future__ import annotations

from ..autograd import Function, Tensor
from ..backend import array_module


class Embedding(Function):
    """Look up one row of W per index (word vectors in the course's captioning RNN).

    Forward:  y[i..., :] = W[idx[i...], :]
    Backward: dW[v, :] = sum of dy[i..., :] over every position i with idx[i...] = v
              (a scatter-add: an index that repeats sums its gradients); the indices get none
    Shapes:   idx (...) integers in [0, V), W (V, D) -> y (..., D)

    The scatter-add is ``add.at``: never far from a bincount or a one-hot product, and the
    best on large vocabularies (benchmarks/results/).
    """

    def forward(self, indices, weight):
        if indices.dtype.kind not in "iu":
            raise TypeError(f"embedding: indices must be integers, got dtype {indices.dtype}")
        if weight.ndim != 2:
            raise ValueError(f"embedding: weight must be (V, D), got shape {weight.shape}")
        vocabulary = weight.shape[0]
        if indices.size and (indices.min() < 0 or indices.max() >= vocabulary):
            bad = indices[(indices < 0) | (indices >= vocabulary)].reshape(-1)[0]
            raise IndexError(f"embedding: index {bad} is out of range for a weight with "
                             f"{vocabulary} rows (valid: 0 to {vocabulary - 1})")
        self.indices, self.weight_shape = indices, weight.shape
        return weight[indices]

    def backward(self, grad_out):
        xp = array_module(grad_out)
        dweight = xp.zeros(self.weight_shape, dtype=grad_out.dtype)
        xp.add.at(dweight, self.indices.reshape(-1), grad_out.reshape(-1, self.weight_shape[1]))
        return None, dweight


# ----- functional forms (``torch.nn.functional``'s names and arguments) --------------


def embedding(indices, weight) -> Tensor:
    """Rows of ``weight`` (V, D) at integer ``indices`` (...) -> (..., D).

    Examples
    --------
    >>> F.embedding(np.array([[0, 2]]), vg.arange(6.0).reshape(3, 2))
    Tensor([[[0. 1.]
      [4. 5.]]])
    """
    return Embedding.apply(indices, weight)
