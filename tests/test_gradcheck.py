"""gradcheck itself: it must pass correct gradients and catch wrong ones."""

import numpy as np
import pytest

import visiongrad as vg


class WrongSquare(vg.Function):
    """y = x^2 with a deliberately wrong backward (dx = x instead of 2x)."""

    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, grad_out):
        return grad_out * self.x


def test_gradcheck_accepts_a_correct_gradient():
    x = np.random.default_rng(0).standard_normal((4, 5))
    assert vg.gradcheck(lambda t: (t * t).sum(), [x]) < 1e-8


def test_gradcheck_catches_a_wrong_gradient():
    x = np.random.default_rng(0).standard_normal((4, 5))
    assert vg.gradcheck(WrongSquare.apply, [x]) > 0.1


def test_gradcheck_samples_coordinates_of_large_inputs():
    x = np.random.default_rng(0).standard_normal(10_000)
    calls = []

    def fn(t):
        calls.append(1)
        return (t * t).sum()

    assert vg.gradcheck(fn, [x], max_coords=20) < 1e-5  # a sum of 1e4 terms: f rounds at ~1e-12
    assert len(calls) == 1 + 2 * 20


def test_gradcheck_passes_integer_inputs_through():
    x = np.random.default_rng(0).standard_normal((3, 4))
    index = np.array([2, 0, 1])
    assert vg.gradcheck(lambda t, i: t[np.arange(3), i.data], [x, index]) < 1e-8


def test_relative_error_definition():
    assert vg.relative_error([1.0, 2.0], [1.0, 2.2]) == pytest.approx(0.2 / 2.2)
    assert vg.relative_error([0.0], [0.0]) == 0.0
    with pytest.raises(ValueError, match=r"\(2,\) and \(3,\)"):
        vg.relative_error(np.ones(2), np.ones(3))


def test_numerical_gradient_matches_a_known_derivative():
    x = np.array([0.3, -1.2, 2.0])
    grad = vg.numerical_gradient(lambda: float(np.sin(x).sum()), x)
    np.testing.assert_allclose(grad, np.cos(x), rtol=1e-8)


@pytest.mark.parametrize("layout", ["transposed", "strided", "fortran"])
def test_gradcheck_of_non_contiguous_inputs(layout):
    """A transposed or sliced input is perturbed where fn reads it (a flat copy would leave
    every numerical gradient at 0 and the error at 1)."""
    base = np.random.default_rng(0).standard_normal((6, 8))
    x = {"transposed": base.T, "strided": base[::2, 1::3],
         "fortran": np.asfortranarray(base)}[layout]
    assert not x.flags.c_contiguous
    assert vg.gradcheck(lambda t: (t * t * t).sum(), [x]) < 1e-7
    assert vg.gradcheck(lambda t: (t * t * t).sum(), [vg.tensor(x, requires_grad=True)]) < 1e-7
    assert vg.gradcheck(WrongSquare.apply, [x]) > 0.1


def test_numerical_gradient_of_a_non_contiguous_array_and_a_read_only_one():
    x = np.random.default_rng(1).standard_normal((4, 6))[:, ::2]
    grad = vg.numerical_gradient(lambda: float(np.sin(x).sum()), x)
    np.testing.assert_allclose(grad, np.cos(x), rtol=1e-7)
    x.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        vg.numerical_gradient(lambda: float(np.sin(x).sum()), x)
