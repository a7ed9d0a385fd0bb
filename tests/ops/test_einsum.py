"""einsum (ops/einsum.py), whose backward is einsum: float64 gradient checks (no PyTorch
needed) and PyTorch parity on the course's contractions and on diagonals, traces, summed-away
letters, ellipses and implicit outputs."""

import numpy as np
import pytest
from helpers import assert_gradcheck, assert_matches_torch, torch_or_skip

import visiongrad as vg

CASES = [
    ("ij,jk->ik", [(3, 4), (4, 5)]),          # matmul
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),  # batched matmul
    ("nchw,nc->nhw", [(2, 3, 4, 4), (2, 3)]),  # weighted channel sum (CAM)
    ("nchw,ndhw->ncd", [(2, 3, 4, 4), (2, 3, 4, 4)]),  # Gram matrices (style transfer)
    ("i,j->ij", [(3,), (4,)]),                 # outer product
    ("i,i->", [(5,), (5,)]),                   # dot product
    ("ii->", [(4, 4)]),                        # trace
    ("ii->i", [(4, 4)]),                       # diagonal
    ("ij->", [(3, 4)]),                        # total sum
    ("ij->j", [(3, 4)]),                       # column sums
    ("ij,jk", [(3, 4), (4, 2)]),               # implicit output "ik"
    ("...ij->...ji", [(2, 3, 4, 5)]),          # batched transpose
    ("...ij,...jk->...ik", [(2, 3, 4), (2, 4, 5)]),
    ("ijk,ik->ij", [(2, 3, 4), (2, 4)]),
    ("bii,bj->bij", [(2, 3, 3), (2, 4)]),      # diagonal beside another operand
    ("ab,cd,bd->ac", [(2, 3), (4, 5), (3, 5)]),  # three operands
    ("ij,kl->", [(2, 3), (4, 5)]),             # letters summed away in one operand only
]


@pytest.mark.parametrize("equation, shapes", CASES, ids=[c[0] for c in CASES])
def test_einsum(equation, shapes):
    rng = np.random.default_rng(len(equation))
    arrays = [rng.standard_normal(s) for s in shapes]
    fn = lambda *ts: vg.einsum(equation, *ts)  # noqa: E731
    assert_gradcheck(fn, arrays)
    torch_fn = lambda *ts: torch_or_skip().einsum(equation, *ts)  # noqa: E731
    assert_matches_torch(fn, torch_fn, arrays, dtype=np.float64)
    assert_matches_torch(fn, torch_fn, arrays, dtype=np.float32, tolerance=3e-5)


def test_einsum_takes_a_list_and_agrees_with_matmul():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    np.testing.assert_allclose(vg.einsum("ij,jk->ik", [a, b]).data, a @ b)


def test_bad_equations_are_refused():
    a = np.zeros((2, 3))
    with pytest.raises(ValueError, match="operands"):
        vg.einsum("ij,jk->ik", a)
    with pytest.raises(ValueError, match="dims"):
        vg.einsum("ijk->i", a)
    with pytest.raises(ValueError, match="sizes"):
        vg.einsum("ij,ij->i", a, np.zeros((3, 2)))
    with pytest.raises(ValueError, match="output"):
        vg.einsum("ij->k", a)


def test_einsum_of_a_0d_tensor_to_a_scalar_has_a_0d_gradient():
    a = vg.tensor(np.array(2.5), requires_grad=True)
    vg.einsum("->", a).backward()
    assert a.grad.shape == () and a.grad == 1.0
