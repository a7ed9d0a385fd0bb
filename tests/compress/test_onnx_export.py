"""ONNX export run by ONNX Runtime on the real Fashion-MNIST test set: the float graph
gives visiongrad's logits (1e-5), the QDQ-int8 graph the int8 model's predictions on at
least 99.5% of the 10,000 images."""

import numpy as np
import pytest

import visiongrad as vg
from visiongrad import compress, data, models, optim
from visiongrad import functional as F
from visiongrad.autograd import tensor
from visiongrad.compress.onnx_export import float_graph, qdq_graph
from visiongrad.train.predict import predict_logits

onnxruntime = pytest.importorskip("onnxruntime", reason="ONNX Runtime is a test-only reference")
pytest.importorskip("onnx", reason="the onnx extra is not installed")


@pytest.fixture(scope="module")
def trained_convnet():
    """The three-layer convnet (8 3x3 filters, hidden 32), 150 Adam steps on Fashion-MNIST."""
    try:
        train = data.load_dataset("fashion-mnist", split="train")
        test = data.load_dataset("fashion-mnist", split="test")
    except FileNotFoundError:
        pytest.skip("Fashion-MNIST is not installed")
    normalize = data.ChannelNormalizer(scale=255.0).fit(train.images[:5000])
    vg.manual_seed(0)
    net = models.create("three_layer_convnet", input_shape=(1, 28, 28), num_classes=10,
                        num_filters=8, filter_size=3, hidden_dim=32)
    optimizer = optim.Adam(net.parameters(), lr=3e-3)
    rng = np.random.default_rng(0)
    for _ in range(150):
        batch = rng.choice(len(train.labels), 64, replace=False)
        loss = F.cross_entropy(net(tensor(normalize(train.images[batch]))),
                               tensor(train.labels[batch]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return net.eval(), normalize, train, test


def session(graph):
    return onnxruntime.InferenceSession(graph.SerializeToString(),
                                        providers=["CPUExecutionProvider"])


def test_onnx_runtime_gives_the_float_and_int8_results(trained_convnet):
    net, normalize, train, test = trained_convnet
    x01 = (test.images / 255.0).astype(np.float32)
    logits = predict_logits(net, normalize(test.images))
    ort_logits = session(float_graph(net, (1, 28, 28), normalize.mean_, normalize.std_)).run(
        None, {"images": x01})[0]
    np.testing.assert_allclose(ort_logits, logits, atol=1e-5, rtol=1e-5)

    int8 = compress.quantize_model(net, normalize(train.images[:1000]))
    int8_predictions = predict_logits(int8, normalize(test.images)).argmax(1)
    ort_int8 = session(qdq_graph(int8, (1, 28, 28), normalize.mean_, normalize.std_)).run(
        None, {"images": x01})[0]
    assert np.mean(ort_int8.argmax(1) == int8_predictions) >= 0.995
    accuracy = {name: np.mean(p == test.labels) for name, p in
                (("float", logits.argmax(1)), ("int8", int8_predictions))}
    assert accuracy["float"] > 0.75 and abs(accuracy["int8"] - accuracy["float"]) < 0.01


def test_batch_norm_networks_export_float_and_folded_int8():
    vg.manual_seed(1)
    net = models.create("vgg_small", input_shape=(1, 12, 12), num_classes=5, width=4,
                        hidden_dim=8, dropout=0.2)
    rng = np.random.default_rng(1)
    for module in net.modules():
        if isinstance(module, vg.nn.BatchNorm2d):
            module.running_mean[:] = rng.standard_normal(module.num_features) * 0.1
            module.running_var[:] = rng.random(module.num_features) + 0.5
    net.eval()
    mean, std = np.array([0.3]), np.array([0.2])
    x01 = rng.random((32, 1, 12, 12)).astype(np.float32)
    x = ((x01 - 0.3) / 0.2).astype(np.float32)
    logits = predict_logits(net, x)
    ort = session(float_graph(net, (1, 12, 12), mean, std)).run(None, {"images": x01})[0]
    np.testing.assert_allclose(ort, logits, atol=1e-5, rtol=1e-5)
    int8 = compress.quantize_model(net, x)
    ours = predict_logits(int8, x)
    ort = session(qdq_graph(int8, (1, 12, 12), mean, std)).run(None, {"images": x01})[0]
    assert np.abs(ort - ours).max() < 0.05 * np.abs(ours).max()


def test_unsupported_layers_are_refused_by_name():
    net = vg.nn.Sequential(vg.nn.Flatten(), vg.nn.Linear(4, 3), vg.nn.Tanh())
    with pytest.raises(ValueError, match="layer 2 .Tanh."):
        float_graph(net, (1, 2, 2), [0.0], [1.0])
