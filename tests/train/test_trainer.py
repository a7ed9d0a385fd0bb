import copy
import json
import math
import os

import numpy as np
import pytest
from helpers import set_in

import visiongrad as vg
from visiongrad import models, optim, train
from visiongrad.train.checkpoint import CheckpointError


def small_net(hidden=16, dropout=0.2):
    return models.create("fc", hidden_dims=[hidden], input_shape=(1, 4, 4), num_classes=3,
                         dropout=dropout)


def make_trainer(epochs, lr=0.1, **options):
    """A freshly seeded tiny MLP with momentum SGD and a step schedule."""
    vg.manual_seed(0)
    model = small_net()
    optimizer = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.8)
    options.setdefault("restore_best", False)
    options.setdefault("progress", False)
    return train.Trainer(model, optimizer, scheduler=scheduler, epochs=epochs, batch_size=32,
                         **options)


def assert_same_weights(a, b):
    state_a, state_b = a.state_dict(), b.state_dict()
    assert state_a.keys() == state_b.keys()
    for name in state_a:
        np.testing.assert_array_equal(np.asarray(state_a[name]), np.asarray(state_b[name]),
                                      err_msg=name)


def test_history_layout(blobs):
    trainer = make_trainer(6).fit(*blobs)
    history = trainer.history
    assert len(history["loss"]) == trainer.iteration == 6 * math.ceil(120 / 32)
    for key in ("train_accuracy", "val_accuracy", "val_loss", "lr", "epoch_seconds"):
        assert len(history[key]) == 6, key
    assert history["lr"] == pytest.approx([0.1 * 0.8**epoch for epoch in range(6)])
    assert history["update_ratio_iteration"] == list(range(0, trainer.iteration, 10))
    weights = {name for name, p in trainer.model.named_parameters() if p.data.ndim >= 2}
    assert set(history["update_ratio"]) == weights
    for ratios in history["update_ratio"].values():
        assert len(ratios) == len(history["update_ratio_iteration"])
        assert all(0 < r < 1 for r in ratios)
    assert history["stop_reason"] is None
    assert history["val_accuracy"][-1] > 0.6  # well above chance (1/3)


def test_update_ratio_is_relative_change_of_the_weights(blobs):
    trainer = make_trainer(1, ratio_every=1)
    before = {name: weight.data.copy() for name, weight in trainer._weights}
    trainer.fit(blobs[0][:32], blobs[1][:32])  # one batch: exactly one step
    assert trainer.iteration == 1
    for name, weight in trainer._weights:
        change = np.linalg.norm(weight.data - before[name]) / np.linalg.norm(before[name])
        assert trainer.history["update_ratio"][name] == pytest.approx([change], rel=1e-5)


def test_exact_resume_matches_uninterrupted_training(blobs, tmp_path):
    straight = make_trainer(4).fit(*blobs)
    first_half = make_trainer(2, checkpoint_path=tmp_path / "run").fit(*blobs)
    assert first_half.epoch == 2
    resumed = make_trainer(4).load_checkpoint(tmp_path / "run.safetensors")
    vg.manual_seed(123)  # whatever happened since: the checkpoint restores the generator
    resumed.load_checkpoint(tmp_path / "run.safetensors").fit(*blobs)
    assert resumed.epoch == 4
    assert_same_weights(straight.model, resumed.model)
    assert resumed.history["loss"] == straight.history["loss"]
    assert resumed.history["val_accuracy"] == straight.history["val_accuracy"]
    assert resumed.history["lr"] == straight.history["lr"]


def test_best_weights_are_restored_at_the_end(blobs):
    trainer = make_trainer(4, restore_best=True).fit(*blobs)
    best = int(np.argmax(trainer.history["val_accuracy"])) + 1
    assert trainer.best_epoch == best
    assert trainer.best_val_accuracy == max(trainer.history["val_accuracy"])
    assert trainer.evaluate(*blobs[2:])["accuracy"] == pytest.approx(trainer.best_val_accuracy)


def test_explosion_stops_training_with_a_message(blobs):
    trainer = make_trainer(5, lr=1e4).fit(*blobs)
    assert trainer.stop_reason is not None
    assert "initial loss" in trainer.stop_reason or "not finite" in trainer.stop_reason
    assert "lower the learning rate" in trainer.stop_reason
    assert trainer.epoch < 5
    loss = trainer.history["loss"]
    assert not math.isfinite(loss[-1]) or loss[-1] > 3 * loss[0]
    assert all(math.isfinite(v) and v <= 3 * loss[0] for v in loss[:-1])


def test_explosion_can_raise(blobs):
    with pytest.raises(train.TrainingDiverged, match="stopped at epoch"):
        make_trainer(5, lr=1e4, raise_on_explosion=True).fit(*blobs)


def test_gradient_clipping_bounds_each_update(blobs):
    clipped = make_trainer(1, lr=0.1, clip_grad_norm=1e-3, ratio_every=1).fit(*blobs)
    free = make_trainer(1, lr=0.1, ratio_every=1).fit(*blobs)
    name = next(iter(free.history["update_ratio"]))
    first_clipped, first_free = (t.history["update_ratio"][name][0] for t in (clipped, free))
    assert first_clipped < first_free / 10


def test_snapshots_are_kept_per_epoch(blobs):
    trainer = make_trainer(3, snapshot_every=1).fit(*blobs)
    assert len(trainer.snapshots) == 3
    final = trainer.model.state_dict()
    for name in final:
        np.testing.assert_array_equal(trainer.snapshots[-1][name], np.asarray(final[name]))


def test_evaluate_and_predict_proba(blobs):
    trainer = make_trainer(2).fit(*blobs)
    x_val, y_val = blobs[2:]
    probabilities = trainer.predict_proba(x_val)
    assert probabilities.shape == (60, 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(probabilities, trainer.predict_proba(x_val))  # eval: no dropout
    scores = trainer.evaluate(x_val, y_val)
    assert scores["accuracy"] == pytest.approx(np.mean(probabilities.argmax(1) == y_val))
    assert scores["confusion"].shape == (3, 3) and scores["confusion"].sum() == 60
    assert scores["per_class_accuracy"].shape == (3,)
    assert trainer.model.training  # evaluation restored the training mode


def test_bad_data_and_options(blobs):
    x, y = blobs[:2]
    with pytest.raises(ValueError, match="same|shapes"):
        make_trainer(1).fit(x, y[:10])
    with pytest.raises(TypeError, match="integers"):
        make_trainer(1).fit(x, y.astype(np.float32))
    with pytest.raises(ValueError, match="both"):
        make_trainer(1).fit(x, y, x)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        train.Trainer(small_net(), None, batch_size=0)


def test_checkpoint_write_interrupted_keeps_the_previous_one(blobs, tmp_path, monkeypatch):
    trainer = make_trainer(1).fit(*blobs)
    path = trainer.save_checkpoint(tmp_path / "ckpt")
    saved = {k: np.array(v) for k, v in trainer.model.state_dict().items()}
    good_bytes = open(path, "rb").read()

    trainer.epochs = 2
    trainer.fit(*blobs)  # the weights change

    def fail(_descriptor):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", fail)  # the new file is written, then fsync fails
    with pytest.raises(OSError, match="disk full"):
        trainer.save_checkpoint(tmp_path / "ckpt")
    monkeypatch.undo()
    assert open(path, "rb").read() == good_bytes
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]  # no temporary file left behind
    restored = train.load_checkpoint(path)["model"]
    for name, value in saved.items():
        np.testing.assert_array_equal(restored[name], value)


def test_checkpoint_from_another_architecture_names_the_mismatch(blobs, tmp_path):
    path = make_trainer(1).fit(*blobs).save_checkpoint(tmp_path / "ckpt")
    other = small_net(hidden=8)
    with pytest.raises(ValueError, match=r"shape mismatches: .*\(checkpoint \(16, 16\), "
                                         r"model \(8, 16\)\)"):
        train.load_model_state(other, train.load_checkpoint(path)["model"])
    deeper = models.create("fc", hidden_dims=[16, 16], input_shape=(1, 4, 4), num_classes=3)
    with pytest.raises(ValueError, match="missing keys"):
        train.Trainer(deeper, optim.SGD(deeper.parameters(), lr=0.1)).load_checkpoint(path)


def test_not_a_checkpoint(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00" * 20)
    with pytest.raises(ValueError, match="not a safetensors file"):
        train.load_checkpoint(bad)
    with pytest.raises(FileNotFoundError, match="not found"):
        train.load_checkpoint(tmp_path / "missing.safetensors")


def test_checkpoint_round_trips_config_history_and_state(tmp_path):
    model = small_net()
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    state = {"note": "x", "arrays": [np.arange(3)], "scalar": np.float32(2.5), "nan": math.nan}
    path = train.save_checkpoint(tmp_path / "c", model, optimizer, history={"loss": [1.0]},
                                 config={"model": "fc"}, state=state)
    contents = train.load_checkpoint(path)
    assert contents["config"] == {"model": "fc"} and contents["history"] == {"loss": [1.0]}
    np.testing.assert_array_equal(contents["state"]["arrays"][0], np.arange(3))
    assert contents["state"]["scalar"] == 2.5 and math.isnan(contents["state"]["nan"])
    assert contents["rng"] == vg.random.get_state()
    optimizer.load_state_dict(contents["optimizer"])


def augmenting_loader(blobs, rng=7):
    from visiongrad.data import DataLoader
    from visiongrad.data import transforms as T
    return DataLoader(blobs[:2], batch_size=32, shuffle=True, rng=rng,
                      transform=T.Compose([T.RandomHorizontalFlip(rng=rng + 1)]))


def test_fit_iterates_a_dataloader_and_resumes_its_randomness_exactly(blobs, tmp_path):
    straight = make_trainer(4).fit(augmenting_loader(blobs), x_val=blobs[2], y_val=blobs[3])
    make_trainer(2, checkpoint_path=tmp_path / "run").fit(augmenting_loader(blobs),
                                                          x_val=blobs[2], y_val=blobs[3])
    resumed = make_trainer(4).load_checkpoint(tmp_path / "run.safetensors")
    resumed.fit(augmenting_loader(blobs), x_val=blobs[2], y_val=blobs[3])
    assert_same_weights(straight.model, resumed.model)
    assert resumed.history["loss"] == straight.history["loss"]
    # The loader's generators are what made it exact: a fresh loader does not resume.
    fresh = make_trainer(4).load_checkpoint(tmp_path / "run.safetensors")
    fresh._loader_state = None
    fresh.fit(augmenting_loader(blobs), x_val=blobs[2], y_val=blobs[3])
    assert fresh.history["loss"] != straight.history["loss"]


def test_epoch_loss_is_the_mean_over_the_epoch_and_is_printed_with_val_loss(blobs, capsys):
    trainer = make_trainer(2, progress=True).fit(*blobs)
    sizes = [32, 32, 32, 24]
    for epoch in range(2):
        losses = trainer.history["loss"][4 * epoch:4 * epoch + 4]
        expected = np.dot(losses, sizes) / 120
        assert trainer.history["epoch_loss"][epoch] == pytest.approx(expected)
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("epoch 2/2"))
    assert f"loss {trainer.history['epoch_loss'][1]:.4f}," in line
    assert f"val loss {trainer.history['val_loss'][1]:.4f}" in line
    assert 0 <= trainer.history["train_accuracy"][1] <= 1


def test_fit_argument_errors(blobs):
    loader = augmenting_loader(blobs)
    with pytest.raises(ValueError, match="not with a DataLoader"):
        make_trainer(1).fit(loader, blobs[1])
    with pytest.raises(ValueError, match="training images and y_train"):
        make_trainer(1).fit(blobs[0])


def test_integer_images_are_scaled_like_the_loader_does(blobs):
    trainer = make_trainer(1).fit(*blobs)
    images = np.random.default_rng(0).integers(0, 256, (5, 1, 4, 4)).astype(np.uint8)
    np.testing.assert_array_equal(trainer.predict_proba(images),
                                  trainer.predict_proba(images.astype(np.float32) / 255))


def with_ema(trainer):
    trainer.ema = optim.EMA(trainer.model.parameters(), decay=0.9)
    return trainer


def rewritten(path, tmp_path, change):
    """A copy of checkpoint ``path`` whose JSON header ``change`` (a function of the decoded
    header) edited, the tensors kept: what a crafted or damaged file looks like."""
    from safetensors import safe_open
    from safetensors.numpy import load_file, save_file

    with safe_open(str(path), framework="np") as handle:
        header = json.loads(handle.metadata()["visiongrad"])
    change(header)
    out = tmp_path / "crafted.safetensors"
    save_file(load_file(str(path)), str(out), metadata={"visiongrad": json.dumps(header)})
    return out


@pytest.mark.parametrize("change,message", [
    (set_in(("state", "epoch"), "x"), "epoch must be a whole number"),
    (set_in(("state", "epoch"), -3), "epoch must be a whole number"),
    (set_in(("state", "iteration"), 1.5), "iteration must be a whole number"),
    (set_in(("state", "best_epoch"), [1]), "best_epoch must be"),
    (set_in(("state", "best_epoch"), 99), "best_epoch must be a whole number from 0 to epoch"),
    (set_in(("state", "best_val_accuracy"), "x"), "best_val_accuracy must be a number"),
    (set_in(("state", "trained_state"), 5), "trained_state must map names to tensors"),
    (set_in(("state", "trained_state"), "abc"), "trained_state must map names to tensors"),
    (set_in(("state", "best_state"), {"w": 1}), "best_state must map names to tensors"),
    (set_in(("state", "ema"), "x"), "ema must be an object"),
    (set_in(("state", "loader"), "x"), "loader must hold a list"),
    (set_in(("state", "loader"), {"generators": [{"bit_generator": "PCG64"}]}),
     "loader generator 0: not a valid PCG64 state"),
    (set_in(("rng",), {"bit_generator": "os.system"}), "rng: not a NumPy bit generator state"),
    (set_in(("rng", "state", "state"), "x"), "rng: not a valid PCG64 state"),
    (set_in(("history",), "x"), "history must be an object"),
    (set_in(("history", "loss"), ["a"]), "history 'loss' must be a list of numbers"),
    (set_in(("history", "val_robust_accuracy"), 3), "history 'val_robust_accuracy'"),
    (set_in(("history", "update_ratio"), [1]), "history 'update_ratio' must map"),
    (set_in(("history", "stop_reason"), 3), "history 'stop_reason' must be text"),
])
def test_crafted_trainer_state_is_refused_on_loading_naming_file_and_field(
        blobs, tmp_path, change, message):
    """Every field a resumed run reads is checked when the checkpoint is loaded: one
    ValueError naming the file and the field, nothing loaded, and the next file reads as
    before (a crafted state used to fail half-way into training, with a traceback, or to
    be taken silently)."""
    good = with_ema(make_trainer(2, restore_best=True)).fit(*blobs).save_checkpoint(
        tmp_path / "good")
    trainer = with_ema(make_trainer(3))
    before = copy.deepcopy(trainer.model.state_dict())
    with pytest.raises(CheckpointError, match=message) as info:
        trainer.load_checkpoint(rewritten(good, tmp_path, change))
    assert "crafted.safetensors" in str(info.value) and "\n" not in str(info.value)
    for name, value in before.items():
        np.testing.assert_array_equal(np.asarray(trainer.model.state_dict()[name]),
                                      np.asarray(value))
    assert trainer.load_checkpoint(good).fit(*blobs).epoch == 3


@pytest.mark.parametrize("state,message", [
    ({"decay": "x", "num_updates": 1, "shadow": []}, "decay must be a number"),
    ({"decay": 1.5, "num_updates": 1, "shadow": []}, r"decay must be in \[0.0, 1.0\)"),
    ({"decay": 0.9, "num_updates": -1, "shadow": []}, "num_updates must be a whole number"),
    ({"decay": 0.9, "num_updates": 1, "shadow": "x"}, "must hold a list of arrays"),
    ("x", "must hold a list of arrays"),
])
def test_ema_refuses_a_state_of_another_kind(state, message):
    ema = optim.EMA(small_net().parameters(), decay=0.9)
    with pytest.raises(ValueError, match=message):
        ema.load_state_dict(state)
