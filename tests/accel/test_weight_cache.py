"""The weights' blocks kept between inference calls (``accel/weight_cache.py``): reused
only while the same array holds the same values, remade after any change in place, and
equal to ``to_blocks`` every time."""

import gc

import numpy as np

from visiongrad.accel import weight_cache
from visiongrad.accel.batched_conv import to_blocks


def weight(seed=0, shape=(32, 8, 3, 3)):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def test_blocks_are_kept_while_the_weight_is_unchanged():
    w = weight()
    first = weight_cache.weight_blocks(w)
    assert weight_cache.weight_blocks(w) is first
    np.testing.assert_array_equal(first, to_blocks(w))


def test_a_change_in_place_anywhere_gives_new_blocks():
    w = weight()
    first = weight_cache.weight_blocks(w)
    for index in [(0, 0, 0, 0), (31, 7, 2, 2), (17, 3, 1, 0)]:  # first, last, middle value
        w[index] += 1.0
        blocks = weight_cache.weight_blocks(w)
        assert blocks is not first
        np.testing.assert_array_equal(blocks, to_blocks(w))
        first = blocks


def test_an_entry_goes_with_its_array():
    w = weight()
    weight_cache.weight_blocks(w)
    key = id(w)
    assert key in weight_cache._entries
    del w
    gc.collect()
    assert key not in weight_cache._entries


def test_arrays_it_cannot_compare_are_reordered_every_call():
    strided = weight(shape=(32, 8, 3, 6))[:, :, :, ::2]
    first = weight_cache.weight_blocks(strided)
    again = weight_cache.weight_blocks(strided)
    assert again is not first
    np.testing.assert_array_equal(again, to_blocks(np.ascontiguousarray(strided)))
    assert id(strided) not in weight_cache._entries
