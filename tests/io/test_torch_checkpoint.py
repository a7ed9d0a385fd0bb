"""load_torch_checkpoint: a torch.save'd state_dict loads without torch and gives the same
logits; views, dtypes and nesting survive; crafted pickles are refused and run nothing;
inconsistent archives are refused before anything is allocated."""

import io
import json
import pickle
import struct
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest
from helpers import torch_or_skip
from zoo_reference import randomize_batch_norm, torchvision_model

from visiongrad import models
from visiongrad.io import (
    CheckpointFormatError,
    UnsafeCheckpointError,
    convert_torch_checkpoint,
    load_torch_checkpoint,
)


@pytest.mark.slow
def test_state_dict_loads_without_torch_and_gives_the_same_logits(tmp_path):
    torch = torch_or_skip()
    source = models.create("resnet18", num_classes=10)
    randomize_batch_norm(source)
    reference = torchvision_model("resnet18", num_classes=10)
    reference.load_state_dict({k: torch.tensor(v) for k, v in source.state_dict().items()},
                              assign=True)
    path = tmp_path / "resnet18.pth"
    torch.save(reference.state_dict(), path)
    x = np.random.default_rng(0).standard_normal((1, 3, 64, 64)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    with torch.no_grad():
        expected = reference.eval()(torch.tensor(x)).numpy()
    script = textwrap.dedent(f"""
        import sys
        sys.modules["torch"] = None  # any import of torch now fails
        import json, numpy as np, visiongrad as vg
        from visiongrad import models
        from visiongrad.io import load_torch_checkpoint
        model = models.create("resnet18", num_classes=10).eval()
        model.load_state_dict(load_torch_checkpoint({str(path)!r}))
        with vg.no_grad():
            logits = model(vg.tensor(np.load({str(tmp_path / "x.npy")!r}))).data
        print(json.dumps(logits.tolist()))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True)
    logits = np.array(json.loads(done.stdout.strip().splitlines()[-1]), dtype=np.float32)
    assert np.abs(logits - expected).max() / np.abs(expected).max() < 1e-4


def test_views_dtypes_and_nesting_survive(tmp_path):
    torch = torch_or_skip()
    x = torch.randn(6, 5)
    saved = {"view": x[1:, ::2], "transposed": x.T, "long": torch.arange(4),
             "half": x.half(), "bfloat16": x.bfloat16(), "flags": torch.tensor([True, False]),
             "empty": torch.zeros(0, 3), "scalar": torch.tensor(2.5),
             "meta": {"epoch": 3, "names": ["a", "b"]}, "param": torch.nn.Parameter(x)}
    torch.save(saved, tmp_path / "mixed.pt")
    loaded = load_torch_checkpoint(tmp_path / "mixed.pt")
    for key, value in saved.items():
        if key == "meta":
            assert loaded[key] == value
        elif key == "bfloat16":
            np.testing.assert_array_equal(loaded[key], value.float().numpy())
        else:
            np.testing.assert_array_equal(loaded[key], value.detach().numpy())
            assert loaded[key].dtype == value.detach().numpy().dtype


def test_convert_writes_safetensors(tmp_path):
    torch = torch_or_skip()
    from safetensors.numpy import load_file
    state = torch.nn.Linear(3, 2).state_dict()
    torch.save(state, tmp_path / "linear.pth")
    convert_torch_checkpoint(tmp_path / "linear.pth", tmp_path / "linear.safetensors")
    written = load_file(str(tmp_path / "linear.safetensors"))
    assert set(written) == {"weight", "bias"}
    np.testing.assert_array_equal(written["weight"], state["weight"].numpy())
    torch.save({"state_dict": state, "epoch": 1}, tmp_path / "nested.pth")
    with pytest.raises(ValueError, match="does not hold a state_dict"):
        convert_torch_checkpoint(tmp_path / "nested.pth", tmp_path / "nested.safetensors")


def write_checkpoint(path, payload: bytes, storages=None):
    """A zip in torch.save's layout around a hand-made pickle ``payload``."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", payload)
        archive.writestr("archive/byteorder", "little")
        for key, data in (storages or {}).items():
            archive.writestr(f"archive/data/{key}", data)


def exploit_pickle(module: str, name: str, argument: str) -> bytes:
    """A protocol-2 pickle that calls ``module.name(argument)`` when loaded."""
    arg = argument.encode()
    return (b"\x80\x02c" + f"{module}\n{name}\n".encode() + b"X" + struct.pack("<I", len(arg))
            + arg + b"\x85R.")


@pytest.mark.parametrize("module, name", [("os", "system"), ("posix", "system"),
                                          ("builtins", "eval"), ("builtins", "exec"),
                                          ("subprocess", "getoutput")])
def test_a_crafted_pickle_is_refused_and_runs_nothing(tmp_path, module, name):
    marker = tmp_path / "ran"
    command = (f"open({str(marker)!r}, 'w').close()" if module == "builtins"
               else f"touch {marker}")
    payload = exploit_pickle(module, name, command)
    pickle.loads(payload)  # the payload is a real exploit: plain pickle runs it
    assert marker.exists()
    marker.unlink()
    path = tmp_path / "evil.pth"
    write_checkpoint(path, payload)
    with pytest.raises(UnsafeCheckpointError, match=f"refusing to load global {module}.{name}"):
        load_torch_checkpoint(path)
    assert not marker.exists()


def test_other_protocols_and_classes_are_refused_too(tmp_path):
    for protocol in (0, 4, 5):
        payload = pickle.dumps(io.BytesIO, protocol=protocol)  # any class at all
        write_checkpoint(tmp_path / "class.pth", payload)
        with pytest.raises(UnsafeCheckpointError, match="_io.BytesIO|io.BytesIO"):
            load_torch_checkpoint(tmp_path / "class.pth")


def torch_saved_bytes(tmp_path, tensor):
    torch = torch_or_skip()
    torch.save({"w": tensor}, tmp_path / "ok.pth")
    with zipfile.ZipFile(tmp_path / "ok.pth") as archive:
        prefix = archive.namelist()[0].split("/")[0]
        return (archive.read(f"{prefix}/data.pkl"), archive.read(f"{prefix}/data/0"))


def test_wrong_storage_sizes_and_out_of_range_tensors_are_refused(tmp_path):
    torch = torch_or_skip()
    payload, data = torch_saved_bytes(tmp_path, torch.arange(6, dtype=torch.float32))
    write_checkpoint(tmp_path / "short.pth", payload, {"0": data[:-4]})
    with pytest.raises(CheckpointFormatError, match="should hold 6 FloatStorage elements"):
        load_torch_checkpoint(tmp_path / "short.pth")
    write_checkpoint(tmp_path / "missing.pth", payload)
    with pytest.raises(CheckpointFormatError, match="storage '0' is missing"):
        load_torch_checkpoint(tmp_path / "missing.pth")
    # the same storage, but the tensor claims size (60,): offset 0, size BININT1 6 -> 60
    assert payload.count(b"QK\x00K\x06\x85") == 1
    bigger = payload.replace(b"QK\x00K\x06\x85", b"QK\x00K<\x85")
    write_checkpoint(tmp_path / "overrun.pth", bigger, {"0": data})
    with pytest.raises(CheckpointFormatError, match="reaches element 59 of a storage of 6"):
        load_torch_checkpoint(tmp_path / "overrun.pth")


def test_not_a_zip_checkpoint(tmp_path):
    (tmp_path / "legacy.pth").write_bytes(pickle.dumps({"w": 1}))
    with pytest.raises(CheckpointFormatError, match="not a zip-format PyTorch checkpoint"):
        load_torch_checkpoint(tmp_path / "legacy.pth")


def flag_member(content: bytes, name: bytes, flag: int) -> bytes:
    """``content`` (a zip) with ``flag`` set in the central-directory entry of ``name``."""
    data = bytearray(content)
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        length = struct.unpack_from("<H", data, at + 28)[0]
        if data[at + 46:at + 46 + length] == name:
            struct.pack_into("<H", data, at + 8, struct.unpack_from("<H", data, at + 8)[0] | flag)
        at = data.find(b"PK\x01\x02", at + 4)
    return bytes(data)


def test_an_encrypted_member_is_refused_in_one_clear_error(tmp_path):
    """zipfile raises RuntimeError (encrypted) or NotImplementedError (patched, strong
    encryption) on such members; the reader names them instead."""
    plain = tmp_path / "plain.pth"
    write_checkpoint(plain, pickle.dumps({"w": 1}, protocol=2), {"0": b"\0" * 4})
    for flag in (0x1, 0x20, 0x40):
        path = tmp_path / f"flag{flag}.pth"
        path.write_bytes(flag_member(plain.read_bytes(), b"archive/data/0", flag))
        with pytest.raises(CheckpointFormatError, match=r"encrypted or patched member\(s\) "
                                                        r"\['archive/data/0'\]"):
            load_torch_checkpoint(path)
