"""visiongrad.random: the one generator-argument rule every package follows."""

import numpy as np
import pytest

import visiongrad as vg
from visiongrad.random import as_generator, optional_generator


def test_none_means_the_library_generator():
    assert as_generator(None) is vg.random.get_generator()
    assert optional_generator(None) is None


def test_ints_seed_a_fresh_generator_and_generators_pass_through():
    assert as_generator(7).random() == np.random.default_rng(7).random()
    generator = np.random.default_rng(1)
    assert as_generator(generator) is generator


@pytest.mark.parametrize("bad", [-1, 1.5, True, "3"])
def test_anything_else_is_refused(bad):
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        as_generator(bad)
