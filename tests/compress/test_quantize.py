"""Post-training int8 quantization: quantization parameters, calibration, batch-norm
folding, the integer model against the float one, and saving it."""

import numpy as np
import pytest

import visiongrad as vg
from visiongrad import compress, models, nn
from visiongrad.accel.int8 import supported_paths
from visiongrad.autograd import no_grad, tensor
from visiongrad.compress.int8 import QuantizedClassifier
from visiongrad.compress.observers import ActivationObserver, fake_quantize_affine, mse_range
from visiongrad.train.checkpoint import load_checkpoint, save_checkpoint

rng = np.random.default_rng(3)


def test_affine_qparams_by_hand():
    scale, zero = compress.affine_qparams(-1.0, 3.0)
    assert scale == pytest.approx(4.0 / 255) and zero == 64  # round(1 / (4 / 255)) = 64
    assert compress.affine_qparams(0.5, 2.0) == (pytest.approx(2.0 / 255), 0)  # widened to 0
    assert compress.affine_qparams(-2.0, -1.0) == (pytest.approx(2.0 / 255), 255)
    assert compress.affine_qparams(0.0, 0.0) == (1.0, 0)
    q = compress.quantize_affine(np.array([-1.0, 0.0, 3.0, 5.0]), scale, zero)
    np.testing.assert_array_equal(q, [0, 64, 255, 255])  # 0.0 exact, 5.0 clamped


def test_symmetric_per_channel_by_hand():
    w = np.array([[0.5, -1.27], [0.0, 0.0], [0.02, -0.005]], np.float32)
    scales = compress.symmetric_scales(w)
    np.testing.assert_allclose(scales, [0.01, 1.0, 0.02 / 127], rtol=1e-6)
    np.testing.assert_array_equal(compress.quantize_symmetric(w, scales),
                                  [[50, -127], [0, 0], [127, -32]])  # -31.75 -> -32


def test_observers_minmax_percentile_and_mse():
    values = np.concatenate([rng.standard_normal(100000), [40.0, -30.0]]).astype(np.float32)
    observers = {method: ActivationObserver(method) for method in ("minmax", "percentile",
                                                                   "mse")}
    for observer in observers.values():
        for part in np.array_split(values, 4):
            observer.observe(part)
    assert observers["minmax"].range() == (-30.0, 40.0)
    lo, hi = observers["percentile"].range()
    assert -6 < lo < -3 and 3 < hi < 6  # the two outliers are clipped
    errors = {}
    for method, observer in observers.items():
        scale, zero = observer.qparams()
        errors[method] = np.mean((fake_quantize_affine(values.astype(np.float64), scale, zero)
                                  - values) ** 2)
    assert errors["mse"] < errors["minmax"]
    bulk = values[:-2].astype(np.float64)
    clipped, full = (np.mean((fake_quantize_affine(bulk, *observers[m].qparams()) - bulk) ** 2)
                     for m in ("percentile", "minmax"))
    assert clipped < full / 10  # finer steps for all but the two outliers
    with pytest.raises(ValueError, match="calibration method"):
        ActivationObserver("entropy")
    with pytest.raises(ValueError, match="no values"):
        ActivationObserver().range()


def test_mse_range_keeps_the_full_range_of_uniform_values():
    sample = np.linspace(-1, 1, 1001)
    assert mse_range(sample, -1.0, 1.0, 8) == (-1.0, 1.0)


def test_folding_batch_norm_gives_the_same_outputs():
    conv, norm = nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4)
    norm.running_mean[:] = rng.standard_normal(4)
    norm.running_var[:] = rng.random(4) + 0.5
    norm.weight.data[:] = rng.standard_normal(4)
    norm.bias.data[:] = rng.standard_normal(4)
    norm.eval()
    x = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    weight, bias = compress.fold_batch_norm(conv.weight.data, conv.bias.data, norm)
    with no_grad():
        expected = norm(conv(tensor(x))).data
        folded = vg.functional.conv2d(tensor(x), tensor(weight), tensor(bias), 1, 1).data
    np.testing.assert_allclose(folded, expected, rtol=1e-4, atol=1e-5)


NETWORKS = [("three_layer_convnet", {"num_filters": 8, "hidden_dim": 20}),
            ("vgg_small", {"width": 8, "hidden_dim": 16, "dropout": 0.5}),
            ("lenet5", {}), ("two_layer", {})]


def small_network(name, options):
    vg.manual_seed(0)
    net = models.create(name, input_shape=(1, 28, 28), num_classes=10, **options)
    for module in net.modules():  # batch norm statistics that are not the identity
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean[:] = rng.standard_normal(module.num_features) * 0.1
            module.running_var[:] = rng.random(module.num_features) + 0.5
    return net.eval()


@pytest.mark.parametrize("name, options", NETWORKS)
def test_int8_model_follows_the_float_model(name, options):
    net = small_network(name, options)
    x = rng.standard_normal((48, 1, 28, 28)).astype(np.float32)
    with no_grad():
        expected = net(tensor(x)).data
    outputs = {path: compress.quantize_model(net, x, path=path)(tensor(x)).data
               for path in ("numpy", None, *supported_paths())}
    for path, output in outputs.items():  # every compiled path == the reference
        np.testing.assert_array_equal(output, outputs["numpy"], err_msg=path)
    error = np.abs(outputs[None] - expected).max() / np.abs(expected).max()
    assert error < 0.05, error


def test_layer_table_names_each_weighted_layer():
    net = small_network(*NETWORKS[1])
    x = rng.standard_normal((16, 1, 28, 28)).astype(np.float32)
    rows = compress.layer_table(net, compress.quantize_model(net, x), x)
    assert [row["kind"] for row in rows] == ["conv"] * 4 + ["linear"] * 2
    assert [row["layer"] for row in rows] == ["0", "3", "7", "10", "15", "18"]
    assert all(row["sqnr_db"] > 20 for row in rows)
    assert rows[-1]["out_scale"] is None and rows[0]["out_zero_point"] == 0  # ReLU: 0 up
    assert rows[1]["int8_bytes"] == 8 * 8 * 9 + 8 * 8


def test_saved_and_rebuilt_int8_model_gives_the_same_scores(tmp_path):
    net = small_network(*NETWORKS[0])
    x = rng.standard_normal((8, 1, 28, 28)).astype(np.float32)
    quantized = compress.quantize_model(net, x, method="percentile")
    path = save_checkpoint(tmp_path / "q", quantized, config={"int8": quantized.spec()})
    contents = load_checkpoint(path)
    assert contents["model"]["layers.0.weight_q"].dtype == np.int8
    rebuilt = QuantizedClassifier.from_spec(contents["config"]["int8"], contents["model"])
    np.testing.assert_array_equal(rebuilt(tensor(x)).data, quantized(tensor(x)).data)


def test_unsupported_models_are_refused_by_name():
    with pytest.raises(ValueError, match="layer 1 .Tanh."):
        compress.quantize_model(nn.Sequential(nn.Flatten(), nn.Tanh(), nn.Linear(4, 2)),
                                np.zeros((1, 4), np.float32))
    with pytest.raises(ValueError, match="Sequential"):
        compress.quantize_model(models.create("resnet_small", input_shape=(1, 28, 28),
                                              num_classes=10), np.zeros((1, 1, 28, 28)))
    with pytest.raises(ValueError, match="at least one calibration image"):
        compress.quantize_model(small_network(*NETWORKS[3]), np.zeros((0, 1, 28, 28)))
