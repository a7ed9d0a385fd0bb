"""The backend: the array namespace of each array, the devices, the default dtype and
``to_numpy``. (What makes the ops fast is tested in tests/accel/.)"""

import ctypes
import sys
from collections import Counter

import numpy as np
import pytest
import stand_in_array as standin

import visiongrad as vg
from visiongrad import accel, backend, models, optim
from visiongrad import functional as F


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


# ----- the array-module seam, through a stand-in for another array library ----------------
# tests/stand_in_array.py: an array type that is not numpy.ndarray, with NumPy's API in its
# own namespace that counts its calls, and (as CuPy) no implicit conversion to NumPy and no
# raw pointer. Training the course's three-layer convnet through it shows that every op on
# the way takes its namespace from its inputs and that no compiled kernel is reached.


@pytest.fixture
def device():
    standin.register()
    standin.CALLS.clear()
    yield standin.DEVICE
    standin.unregister()


@pytest.fixture
def kernel_calls(monkeypatch):
    """Calls into the compiled library (accel/native's ctypes functions), by kernel name,
    counted wherever an accel module holds one."""
    calls = Counter()

    def counting(kernel, name):
        def call(*args):
            calls[name] += 1
            return kernel(*args)
        return call

    for module_name, module in list(sys.modules.items()):
        if module_name.startswith("visiongrad.accel"):
            for name, value in list(vars(module).items()):
                if isinstance(value, ctypes._CFuncPtr):
                    monkeypatch.setattr(module, name, counting(value, name))
    return calls


def test_the_stand_in_is_no_numpy_array_and_refuses_numpy_and_raw_pointers(device):
    a = standin.namespace.arange(6.0).reshape(2, 3)
    assert not isinstance(a, np.ndarray) and standin.CALLS["namespace.arange"] == 1
    with pytest.raises(TypeError, match="implicit"):
        np.asarray(a)
    with pytest.raises(TypeError):
        np.exp(a)
    with pytest.raises(AttributeError, match="raw host pointer"):
        a.ctypes  # noqa: B018
    np.testing.assert_array_equal(backend.to_numpy(a), np.arange(6.0).reshape(2, 3))


def test_array_module_is_numpy_by_default_and_the_inputs_library_otherwise(device):
    a = standin.namespace.ones(3)
    assert backend.array_module(np.ones(3)) is np and backend.array_module([1.0], 2) is np
    assert backend.array_module(np.ones(3), a) is standin.namespace
    assert backend.array_module(vg.tensor(a)) is standin.namespace  # a Tensor's data
    assert backend.device_of(a) == "standin" and backend.device_of(np.ones(1)) == "cpu"
    assert backend.is_host(np.ones(1), np.float32(1)) and not backend.is_host(np.ones(1), a)
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        backend.to_device(np.ones(1), "tpu")


def test_tensor_device_and_to(device):
    x = vg.tensor(np.arange(3.0, dtype=np.float32))
    assert x.device == "cpu" and x.to("cpu") is x
    y = x.to("standin")
    assert y.device == "standin" and isinstance(y.data, standin.StandInArray)
    assert (y * 2 + 1).device == "standin"
    np.testing.assert_array_equal(y.to("cpu").numpy(), [0.0, 1.0, 2.0])


def test_the_host_guards_send_other_arrays_to_the_reference(device, kernel_calls):
    x = standin.namespace.asarray(np.linspace(-1, 1, 64, dtype=np.float32).reshape(4, 16))
    labels = standin.namespace.asarray(np.arange(4) % 16)
    assert accel.relu(x) is None and accel.relu_backward(x, x) is None
    assert accel.cross_entropy(x, labels) is None
    assert accel.sgd_momentum_step(x, x, x, 0.1, 0.9, 0.0, 0.0, False) is False
    assert accel.max_pool2d(x.reshape(1, 1, 4, 16), (2, 2), (2, 2), (0, 0), (2, 8)) is None
    assert not accel.batch_norm_fits(x)
    image, weight = x.reshape(1, 16, 2, 2), standin.namespace.ones((16, 16, 1, 1), np.float32)
    assert accel.direct_conv2d(image, weight, (1, 1), (0, 0), (2, 2)) is None
    assert accel.direct_conv2d_weight_grad(image, image, (1, 1), (1, 1), (0, 0)) is None
    assert accel.direct_conv2d_input_grad(image, weight, image.shape, (1, 1), (0, 0)) is None
    assert not kernel_calls


def _train_convnet(device: str, steps: int = 3):
    """Three SGD-with-momentum steps of the course's three-layer convnet on a fixed batch,
    everything on ``device``; the final parameters on the host."""
    vg.manual_seed(0)
    model = models.create("three_layer_convnet", input_shape=(1, 12, 12), num_filters=16,
                          filter_size=3, hidden_dim=32, num_classes=10).to(device)
    rng = np.random.default_rng(1)
    images = backend.to_device(rng.standard_normal((8, 1, 12, 12)).astype(np.float32), device)
    labels = backend.to_device(rng.integers(0, 10, 8), device)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for _ in range(steps):
        opt.zero_grad()
        loss = F.cross_entropy(model(vg.Tensor(images)), vg.Tensor(labels))
        loss.backward()
        opt.step()
    assert loss.device == device
    return [backend.to_numpy(p.data) for p in model.to("cpu").parameters()], loss.item()


def test_the_convnet_trains_through_the_stand_in_to_numpys_weights_without_kernels(
        device, kernel_calls):
    reference, reference_loss = _train_convnet("cpu")
    on_host = dict(kernel_calls)
    kernel_calls.clear()
    standin.CALLS.clear()
    weights, loss = _train_convnet(device)
    assert not kernel_calls, f"compiled kernels called for the stand-in: {dict(kernel_calls)}"
    if accel.native.LIBRARY is not None:  # the counter sees the kernels NumPy arrays reach
        assert on_host, "no kernel counted for NumPy arrays: the counter is blind"
    assert sum(standin.CALLS.values()) > 100  # the work went through the stand-in's namespace
    assert np.isfinite(loss) and loss == pytest.approx(reference_loss, rel=1e-5)
    for got, want in zip(weights, reference, strict=True):
        assert got.dtype == want.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
