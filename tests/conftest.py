import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))  # tests import `helpers`

import visiongrad as vg  # noqa: E402


@pytest.fixture(autouse=True)
def _seeded():
    """Every test starts from the same library seed and default dtype."""
    vg.manual_seed(0)
    vg.set_default_dtype(np.float32)
    yield
