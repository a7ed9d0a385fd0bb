"""Checkpoint files against crafted headers, non-finite numbers, killed writes, and states of
another optimizer or schedule (issue 14, items 4-5)."""

import json
import math
import os
import time

import numpy as np
import pytest
from safetensors import safe_open
from safetensors.numpy import save_file

from visiongrad import models, optim
from visiongrad.train.checkpoint import (
    FORMAT,
    STALE_TEMPORARY_SECONDS,
    CheckpointError,
    load_checkpoint,
    load_model_state,
    save_checkpoint,
)


def small_model():
    return models.create("fc", hidden_dims=[4], input_shape=(1, 2, 2), num_classes=3)


def header_of(path) -> str:
    with safe_open(str(path), framework="np") as handle:
        return handle.metadata()["visiongrad"]


def test_non_finite_numbers_round_trip_through_strict_json(tmp_path):
    state = {"best": -math.inf, "worst": math.inf, "loss": [1.0, math.nan], "ok": 0.5}
    path = save_checkpoint(tmp_path / "c", small_model(), state=state)

    def refuse(name):
        raise AssertionError(f"non-strict JSON constant {name} in the header")

    json.loads(header_of(path), parse_constant=refuse)  # strict JSON only
    loaded = load_checkpoint(path)["state"]
    assert loaded["best"] == -math.inf and loaded["worst"] == math.inf
    assert math.isnan(loaded["loss"][1]) and loaded["ok"] == 0.5


def crafted(tmp_path, header, tensors=None):
    path = tmp_path / "crafted.safetensors"
    metadata = {"visiongrad": header if isinstance(header, str) else json.dumps(header)}
    save_file(tensors or {"model/w": np.zeros(2, np.float32)}, str(path), metadata=metadata)
    return path


def good_header(**changes):
    header = {"format": FORMAT, "model": {"w": {"__tensor__": "model/w"}}, "optimizer": None,
              "scheduler": None, "history": None, "config": None, "state": None, "rng": None}
    return {**header, **changes}


@pytest.mark.parametrize("header,message", [
    ([1, 2], "must be a JSON object"),
    ("not json", "malformed"),
    (json.dumps(good_header(config={"lr": "x"})).replace('"x"', "-Infinity"), "strict JSON"),
    (json.dumps(good_header(config={"lr": "x"})).replace('"x"', "NaN"), "strict JSON"),
    (good_header(model={"w": {"__tensor__": "model/missing"}}), "model/missing"),
    (good_header(model=[{"__tensor__": "model/w"}]), "'model' must map names to tensors"),
    (good_header(model={"w": 3}), "'model' must map names to tensors"),
    (good_header(history={"__items__": 5}), "__items__"),
    (good_header(history={"__float__": "big"}), "unknown float"),
    (good_header(config=json.loads("[" * 100 + "]" * 100)), "nesting deeper"),
    ("[" * 100_000 + "]" * 100_000, "malformed"),
    (good_header(format="other/2"), "unsupported checkpoint format"),
])
def test_crafted_headers_give_one_clear_error_naming_the_file(tmp_path, header, message):
    with pytest.raises(CheckpointError, match=message) as info:
        load_checkpoint(crafted(tmp_path, header))
    assert "crafted.safetensors" in str(info.value)
    assert isinstance(info.value, ValueError) and "\n" not in str(info.value)


def test_wrong_shapes_and_dtypes_of_weights_are_named(tmp_path):
    model = small_model()
    state = {name: np.asarray(value) for name, value in model.state_dict().items()}
    state["0.weight" if "0.weight" in state else next(iter(state))] = np.zeros((9, 9), np.float32)
    with pytest.raises(ValueError, match=r"shape mismatches: .*\(checkpoint \(9, 9\)"):
        load_model_state(model, state)
    state = {name: np.asarray(value).astype(np.int64) for name, value in
             model.state_dict().items()}
    with pytest.raises(ValueError, match="dtype mismatches: .*int64"):
        load_model_state(model, state)


def test_leftover_temporary_files_are_removed_and_nothing_else(tmp_path):
    path = save_checkpoint(tmp_path / "ckpt", small_model())
    name = os.path.basename(path)
    stale = tmp_path / f".{name}.k1ll3d_x.tmp"  # what a SIGKILL mid-write leaves
    fresh = tmp_path / f".{name}.inflight.tmp"  # a write that may still be running
    others = [tmp_path / f".{name}.notours!.tmp", tmp_path / "notes.tmp",
              tmp_path / ".other.safetensors.k1ll3d_x.tmp", tmp_path / f"{name}.bak"]
    for file in [stale, fresh, *others]:
        file.write_bytes(b"x" * 100)
    old = time.time() - STALE_TEMPORARY_SECONDS - 10
    for file in [stale, *others]:
        os.utime(file, (old, old))
    save_checkpoint(tmp_path / "ckpt", small_model())
    assert not stale.exists()
    assert fresh.exists() and all(file.exists() for file in others)


def test_sgd_state_into_adam_is_refused_naming_both():
    model = small_model()
    sgd = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    adam = optim.Adam(model.parameters(), lr=1e-3)
    with pytest.raises(ValueError, match="from SGD; this optimizer is Adam"):
        adam.load_state_dict(sgd.state_dict())
    legacy = sgd.state_dict()
    del legacy["type"]  # written before the type was recorded, or by PyTorch
    with pytest.raises(ValueError, match=r"does not fit Adam: .*\['amsgrad', 'betas'"):
        adam.load_state_dict(legacy)
    with pytest.raises(ValueError, match="needs a dict with 'state'"):
        adam.load_state_dict([1, 2])
    adam.load_state_dict(optim.Adam(model.parameters(), lr=5e-4).state_dict())
    assert adam.param_groups[0]["lr"] == 5e-4


def test_steplr_state_into_cosine_schedule_is_refused_naming_both():
    model = small_model()
    step = optim.lr_scheduler.StepLR(optim.SGD(model.parameters(), lr=0.1), step_size=2)
    cosine = optim.lr_scheduler.CosineAnnealingLR(optim.SGD(model.parameters(), lr=0.1),
                                                  T_max=10)
    with pytest.raises(ValueError, match="from a StepLR schedule; this schedule is a "
                                         "CosineAnnealingLR"):
        cosine.load_state_dict(step.state_dict())
    legacy = step.state_dict()
    del legacy["type"]
    with pytest.raises(ValueError, match="does not fit a CosineAnnealingLR schedule"):
        cosine.load_state_dict(legacy)
    plateau = optim.lr_scheduler.ReduceLROnPlateau(optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(ValueError, match="from a StepLR schedule"):
        plateau.load_state_dict(step.state_dict())
