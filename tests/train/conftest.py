import numpy as np
import pytest


@pytest.fixture
def blobs():
    """A tiny, learnable 3-class problem on 1x4x4 "images": 120 training, 60 validation.

    The class is the argmax of the first three pixels, so a small MLP learns it in a few
    epochs.
    """
    generator = np.random.default_rng(1)
    x = generator.standard_normal((180, 1, 4, 4)).astype(np.float32)
    y = x.reshape(180, -1)[:, :3].argmax(axis=1).astype(np.int64)
    return x[:120], y[:120], x[120:], y[120:]
