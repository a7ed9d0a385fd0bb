"""``visiongrad convert``: a torch.save'd state_dict to safetensors, refusing hostile files."""

import pickle
import zipfile

import numpy as np
import pytest
from helpers import torch_or_skip

from visiongrad import models
from visiongrad.cli import main
from visiongrad.io import load_torch_checkpoint


def test_converts_a_state_dict_that_loads_with_the_same_logits(tmp_path, capsys):
    torch = torch_or_skip()
    from safetensors.numpy import load_file

    model = models.create("lenet5", input_shape=(1, 28, 28), num_classes=10)
    source, out = tmp_path / "lenet.pth", tmp_path / "lenet.safetensors"
    torch.save({k: torch.from_numpy(v) for k, v in model.state_dict().items()}, source)
    assert main(["convert", str(source), str(out)]) == 0
    assert "10 tensors (61,706 values) written" in capsys.readouterr().out
    state = load_file(str(out))
    assert state.keys() == model.state_dict().keys()
    twin = models.create("lenet5", input_shape=(1, 28, 28), num_classes=10)
    twin.load_state_dict(state)
    x = np.random.default_rng(0).normal(size=(2, 1, 28, 28)).astype(np.float32)
    np.testing.assert_array_equal(twin(x).data, model(x).data)
    assert main(["convert", str(source), str(out)]) == 1
    assert "exists; pass --force" in capsys.readouterr().err
    assert main(["convert", str(source), str(out), "--force"]) == 0


class RunsAShellCommand:
    def __reduce__(self):
        import os
        return os.system, ("touch pwned",)


def malicious_checkpoint(path):
    """A torch.save-shaped zip whose pickle would run ``os.system`` if unpickled."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps({"w": RunsAShellCommand()}))
        archive.writestr("archive/version", "3\n")


def test_malicious_checkpoint_is_refused_in_one_line_and_runs_nothing(tmp_path, capsys,
                                                                      monkeypatch):
    monkeypatch.chdir(tmp_path)
    malicious_checkpoint(tmp_path / "evil.pth")
    out = tmp_path / "evil.safetensors"
    assert main(["convert", "evil.pth", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("visiongrad: error: cannot convert evil.pth:") and err.count("\n") == 1
    assert "system" in err
    assert not (tmp_path / "pwned").exists() and not out.exists()
    assert not list(tmp_path.glob("*.partial"))
    with pytest.raises(pickle.UnpicklingError):
        load_torch_checkpoint(tmp_path / "evil.pth")


@pytest.mark.parametrize("content, message", [
    (b"not a zip at all", "not a zip-format PyTorch checkpoint"),
    (None, "does not hold a state_dict")])
def test_bad_checkpoints_are_one_line_errors(tmp_path, capsys, content, message):
    source = tmp_path / "bad.pth"
    if content is None:  # a valid checkpoint of a list, not a state_dict
        torch = torch_or_skip()
        torch.save([torch.zeros(2)], source)
    else:
        source.write_bytes(content)
    assert main(["convert", str(source), str(tmp_path / "x.safetensors")]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


@pytest.mark.parametrize("args, message", [
    (["missing.pth", "x.safetensors"], "checkpoint not found"),
    (["{src}", "x.pt"], "must end in .safetensors"),
    (["{src}", "nowhere/x.safetensors"], "folder nowhere not found")])
def test_usage_errors(tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.pth").write_bytes(b"")
    assert main(["convert", *(a.format(src="a.pth") for a in args)]) == 1
    assert message in capsys.readouterr().err
