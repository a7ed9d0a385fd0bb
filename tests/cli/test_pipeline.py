"""Issue 14's acceptance: a batch-norm model goes train -> checkpoint -> evaluate -> resume
-> export -> PyTorch with identical logits, every step through the command line."""

import numpy as np
import pytest

from visiongrad.cli import main
from visiongrad.cli.network import load_network
from visiongrad.data import load_dataset
from visiongrad.train import evaluate, predict_logits
from visiongrad.train.checkpoint import load_checkpoint


def torch_small_vgg(torch, width=32, hidden=256, classes=10):
    """SmallVGG as its docstring describes it, built in PyTorch: [conv3x3-BN-relu] x2 -
    pool - [conv3x3(2w)-BN-relu] x2 - pool - fc - relu - fc (28x28 grey input); the
    convolutions before batch norm have no bias, as is usual."""
    nn = torch.nn

    def conv_bn_relu(cin, cout):
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

    return nn.Sequential(*conv_bn_relu(1, width), *conv_bn_relu(width, width), nn.MaxPool2d(2),
                         *conv_bn_relu(width, 2 * width), *conv_bn_relu(2 * width, 2 * width),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(2 * width * 7 * 7, hidden),
                         nn.ReLU(), nn.Linear(hidden, classes))


def test_batch_norm_model_train_evaluate_resume_export_pytorch(tiny_fashion, tmp_path, capsys):
    data = ["--dataset", "fashion-mnist", "--data-dir", str(tiny_fashion)]
    run = tmp_path / "r"
    checkpoint = str(run / "checkpoint.safetensors")
    assert main(["train", "--model", "vgg_small", "--epochs", "1", "--batch-size", "16",
                 *data, "--out", str(run)]) == 0
    first = load_checkpoint(checkpoint)
    assert first["state"]["epoch"] == 1
    assert first["model"]["1.num_batches_tracked"].shape == ()  # a 0-d buffer stays 0-d

    capsys.readouterr()
    assert main(["evaluate", checkpoint, *data]) == 0
    printed = capsys.readouterr().out
    model, normalize, info = load_network(checkpoint)
    test_images = load_dataset("fashion-mnist", split="test", data_dir=str(tiny_fashion))
    expected = evaluate(model, normalize(test_images.images), test_images.labels)
    assert f"accuracy {expected['accuracy']:.4f}" in printed

    assert main(["train", "--resume", str(run), "--epochs", "2"]) == 0
    resumed = load_checkpoint(checkpoint)
    assert resumed["state"]["epoch"] == 2 and len(resumed["history"]["epoch_loss"]) == 2
    assert resumed["config"]["commands"][0].startswith("visiongrad train --model vgg_small")
    assert resumed["config"]["commands"][1] == f"visiongrad train --resume {run} --epochs 2"
    assert (run / "report.html").stat().st_size > 10_000

    exported = tmp_path / "out.safetensors"
    assert main(["export", checkpoint, str(exported)]) == 0
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file
    twin = torch_small_vgg(torch)
    twin.load_state_dict(load_file(str(exported)))  # strict: same names and shapes only
    twin.eval()
    ours, normalize, _ = load_network(checkpoint)
    x = normalize(test_images.images)
    with torch.no_grad():
        theirs = twin(torch.from_numpy(np.ascontiguousarray(x))).numpy()
    np.testing.assert_allclose(theirs, predict_logits(ours, x), rtol=1e-4, atol=1e-5)
    running_var = load_file(str(exported))["1.running_var"].numpy()
    assert not np.allclose(running_var, 1.0)  # trained statistics, not the initial ones
