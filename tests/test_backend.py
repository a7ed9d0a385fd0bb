"""The backend: the array namespace, the default dtype, and ``to_numpy``. (What makes the
ops fast is tested in tests/accel/.)"""

import numpy as np
import pytest

from visiongrad import backend


def test_xp_is_numpy_and_the_default_dtype_is_float32_or_float64():
    assert backend.xp is np
    assert backend.get_default_dtype() == np.float32  # tests/conftest.py resets it
    backend.set_default_dtype(np.float64)
    assert backend.get_default_dtype() == np.float64
    with pytest.raises(ValueError, match="default dtype must be float32 or float64, got int64"):
        backend.set_default_dtype(np.int64)


def test_to_numpy_returns_numpy_arrays_and_copies_device_arrays_to_the_host():
    a = np.arange(3.0)
    assert backend.to_numpy(a) is a
    np.testing.assert_array_equal(backend.to_numpy([1, 2]), [1, 2])

    class DeviceArray:  # CuPy's protocol: .get() copies to the host
        def get(self):
            return a

    assert backend.to_numpy(DeviceArray()) is a
