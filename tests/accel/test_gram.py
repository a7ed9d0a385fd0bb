"""The Gram matrix's products cut over the cores (``accel.gram``) against the one-product
NumPy lines of ``visualize.losses.Gram``, and the op with and without them."""

import numpy as np
import pytest

import visiongrad as vg
from visiongrad import accel
from visiongrad.accel import gram as fast_gram
from visiongrad.accel import threads
from visiongrad.visualize import gram_matrix


@pytest.fixture
def three_cores(monkeypatch):
    """Every array large enough to split, over three cores (parts of uneven lengths)."""
    monkeypatch.setattr(fast_gram, "MIN_BYTES", 0)
    monkeypatch.setattr(threads, "available_cores", lambda: 3)


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_products_over_parts_match_one_product(three_cores, dtype, rtol):
    rng = np.random.default_rng(3)
    rows = rng.standard_normal((2, 37, 5)).astype(dtype)
    matrix = rng.standard_normal((2, 5, 5)).astype(dtype)
    gram = accel.gram_of_rows(rows)
    np.testing.assert_allclose(gram, rows.transpose(0, 2, 1) @ rows, rtol=rtol)
    assert gram.dtype == dtype
    product = accel.rows_times(rows, matrix)
    np.testing.assert_allclose(product, rows @ matrix, rtol=rtol, atol=rtol)
    assert product.dtype == dtype and product.shape == rows.shape


def test_small_rows_or_one_core_take_the_reference(monkeypatch):
    rows = np.ones((1, 8, 3), np.float32)
    assert accel.gram_of_rows(rows) is None  # 96 bytes: one product is faster
    monkeypatch.setattr(fast_gram, "MIN_BYTES", 0)
    monkeypatch.setattr(threads, "available_cores", lambda: 1)
    assert accel.gram_of_rows(rows) is None and accel.rows_times(rows, np.eye(3)) is None


def test_gram_op_over_parts_equals_its_reference(three_cores, monkeypatch):
    """Channels-last float32 features: G and dF by the parts, and by the op's own lines
    (the fast path declining), agree to float32 rounding, and the parts did run."""
    rng = np.random.default_rng(4)
    nhwc = rng.standard_normal((2, 6, 7, 8)).astype(np.float32)
    upstream = rng.standard_normal((2, 8, 8)).astype(np.float32)
    calls = []
    for name in ("gram_of_rows", "rows_times"):
        original = getattr(fast_gram, name)
        monkeypatch.setattr(accel, name, lambda *a, f=original, n=name: calls.append(n) or f(*a))

    def both():
        features = vg.tensor(nhwc.transpose(0, 3, 1, 2), requires_grad=True)
        gram = gram_matrix(features)
        (gram * upstream).sum().backward()
        return gram.data, features.grad

    fast, grad = both()
    assert calls == ["gram_of_rows", "rows_times"]
    monkeypatch.setattr(accel, "gram_of_rows", lambda rows: None)
    monkeypatch.setattr(accel, "rows_times", lambda rows, matrix: None)
    reference, reference_grad = both()
    np.testing.assert_allclose(fast, reference, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(grad, reference_grad, rtol=1e-5, atol=1e-7)
    assert grad.strides == reference_grad.strides
