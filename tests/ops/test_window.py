"""The shared window geometry: pairs, the output-size formula, and the checks that name
what does not fit."""

import pytest

from visiongrad.models.layers import conv_output_size
from visiongrad.nn.conv import pair as nn_pair
from visiongrad.ops import window


def test_pair_takes_an_int_or_two_and_names_the_argument():
    assert window.pair(3, "stride") == (3, 3)
    assert window.pair((2, 5), "stride") == (2, 5)
    assert window.pair([1, 4], "padding") == (1, 4)
    with pytest.raises(ValueError, match=r"kernel_size must be an int or a pair of ints "
                                         r"\(h, w\), got \(1, 2, 3\)"):
        window.pair((1, 2, 3), "kernel_size")
    assert nn_pair is window.pair  # one definition, used by ops, nn and models


@pytest.mark.parametrize("size, kernel, stride, padding", [
    (28, 5, 1, 2), (28, 2, 2, 0), (7, 3, 2, 1), (5, 5, 1, 0), (6, 3, 3, 1), (1, 1, 1, 0)])
def test_output_size_counts_the_window_positions(size, kernel, stride, padding):
    """floor((size + 2p - k) / s) + 1: the positions a window of k starting at -p, -p + s,
    ... takes before it would leave the padded input."""
    positions = [start for start in range(-padding, size + padding, stride)
                 if start + kernel <= size + padding]
    assert window.output_size(size, kernel, stride, padding) == len(positions)
    assert conv_output_size(size, kernel, stride, padding) == len(positions)
    assert window.output_hw((size, size + 1), (kernel, kernel), (stride, stride),
                            (padding, padding)) == (
        len(positions), window.output_size(size + 1, kernel, stride, padding))


def test_checks_name_what_does_not_fit():
    assert window.check_window("op", (2, 3, 7, 6), (3, 2), (2, 1), (1, 0)) == (4, 5)
    with pytest.raises(ValueError, match=r"op expects input of shape \(N, C, H, W\)"):
        window.check_window("op", (3, 7, 6), (3, 3), (1, 1), (0, 0))
    with pytest.raises(ValueError, match="op: stride must be positive"):
        window.check_window("op", (1, 1, 5, 5), (3, 3), (0, 1), (0, 0))
    with pytest.raises(ValueError, match="op: padding must be non-negative"):
        window.check_window("op", (1, 1, 5, 5), (3, 3), (1, 1), (-1, 0))
    with pytest.raises(ValueError, match="op: kernel size must be positive"):
        window.check_window("op", (1, 1, 5, 5), (0, 3), (1, 1), (0, 0))
    with pytest.raises(ValueError, match=r"kernel \(6, 6\) is larger than the padded input"):
        window.check_window("op", (1, 1, 5, 5), (6, 6), (1, 1), (0, 0))
    with pytest.raises(ValueError, match="an input of size 3 is too small for kernel 5"):
        window.checked_output_size(3, 5)
