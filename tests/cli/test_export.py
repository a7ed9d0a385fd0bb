"""``visiongrad export``: checkpoint -> plain state_dict -> PyTorch, identical logits."""

import numpy as np
import pytest

import visiongrad as vg
from visiongrad.cli import main
from visiongrad.cli.network import load_network


@pytest.mark.parametrize("model", ["two_layer"])
def test_export_loads_into_pytorch_with_identical_logits(model, tiny_fashion, tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file
    out = tmp_path / "run"
    assert main(["train", "--model", model, "--epochs", "1", "--dataset", "fashion-mnist",
                 "--data-dir", str(tiny_fashion), "--out", str(out)]) == 0
    assert main(["export", str(out / "checkpoint.safetensors"),
                 str(tmp_path / "w.safetensors")]) == 0
    state = load_file(str(tmp_path / "w.safetensors"))
    ours, normalize, _ = load_network(str(out / "checkpoint.safetensors"))
    assert set(state) == set(ours.state_dict())
    hidden, inputs = state["1.weight"].shape
    twin = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(inputs, hidden),
                               torch.nn.ReLU(), torch.nn.Linear(hidden, 10))
    twin.load_state_dict(state)  # strict: the same keys and shapes, nothing else
    x = normalize(np.random.default_rng(0).integers(0, 256, (4, 1, 28, 28)).astype(np.uint8))
    expected = ours(vg.tensor(x)).data
    np.testing.assert_allclose(twin(torch.from_numpy(x)).detach().numpy(), expected,
                               rtol=1e-5, atol=1e-5)


def test_export_errors(trained, tmp_path, user_error):
    _, checkpoint = trained
    user_error(["export", checkpoint, str(tmp_path / "w.bin")], ".safetensors")
    user_error(["export", checkpoint, str(tmp_path / "nowhere" / "w.safetensors")],
               "cannot write")
