"""The compression and distillation recipes on a small synthetic problem: configs refuse
bad values; compression writes a file whose decoded weights give the reported accuracy;
a distilled student learns."""

import numpy as np
import pytest

import visiongrad as vg
from visiongrad import models, nn
from visiongrad.compress import read_vgz
from visiongrad.recipes import compress, distill
from visiongrad.train.predict import evaluate


def problem(seed=0, count=240):
    rng = np.random.default_rng(seed)
    labels = np.arange(count) % 4
    images = rng.standard_normal((count, 1, 8, 8)).astype(np.float32)
    images[np.arange(count), 0, labels * 2, :] += 3.0  # class c: bright row 2c
    return images, labels


INFO = {"model": "fc", "input_shape": [1, 8, 8], "classes": list("abcd"),
        "normalize": {"scale": 1.0, "mean": [0.0], "std": [1.0]},
        "input_ranges": {"brightness": [0.1, 0.9]}, "options": {"lr": 1}}


@pytest.mark.parametrize("bad", [{"prune": 1.0}, {"prune_scope": "model"},
                                 {"cluster_bits": 17}, {"prune_steps": 0},
                                 {"retrain_epochs": -1}, {"lr": 0.0}])
def test_compress_config_refuses(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        compress.Config(out="x", **bad)


def test_compress_run_writes_what_it_reports(tmp_path):
    vg.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 4))
    train, test = problem(0), problem(1)
    config = compress.Config(out=str(tmp_path), prune=0.8, prune_steps=2, cluster_bits=3,
                             retrain_epochs=3, lr=1e-2, batch_size=32, half=True)
    result = compress.run(config, model, INFO, train, test)
    state, stored = read_vgz(tmp_path / "model.vgz")
    assert stored == {key: INFO[key] for key in compress.STORED_CONFIG}
    assert result["file_bytes"] == (tmp_path / "model.vgz").stat().st_size
    assert result["float32_bytes"] == 4 * (64 * 32 + 32 + 32 * 4 + 4)
    fresh = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 4))
    fresh.load_state_dict(state)
    assert evaluate(fresh, *test)["accuracy"] == result["accuracy_after"]
    assert result["accuracy_after"] > 0.9
    assert [row["layer"] for row in result["rows"]] == ["1.weight", "3.weight"]
    assert result["total"]["density"] == pytest.approx(0.2, abs=0.01)
    assert len(np.unique(state["1.weight"])) <= 8


def test_distill_config_refuses():
    with pytest.raises(ValueError, match="T must be positive"):
        distill.Config(temperature=0)
    with pytest.raises(ValueError, match="epochs"):
        distill.Config(epochs=0)


def test_distilled_student_learns_from_the_teacher():
    train, test = problem(0), problem(1)
    vg.manual_seed(0)
    teacher = models.create("fc", hidden_dims=[64], input_shape=(1, 8, 8), num_classes=4)
    distill.run(distill.Config(alpha=0.0, epochs=5, lr=1e-2, batch_size=16), teacher, teacher,
                train, test)
    student = models.create("fc", hidden_dims=[8], input_shape=(1, 8, 8), num_classes=4)
    result = distill.run(distill.Config(alpha=1.0, epochs=10, lr=1e-2, batch_size=16),
                         teacher, student, train, test)
    # alpha = 1: no label is seen, all it knows comes from the teacher's outputs
    assert result["student_accuracy"] > 0.9 and result["teacher_accuracy"] > 0.9
    assert result["student_parameters"] * 4 < result["teacher_parameters"]


def test_distilled_and_label_arms_differ_only_in_the_loss():
    """alpha = 1, T = 1 on a teacher as sure as the labels (logits 100 x one-hot) has the
    cross-entropy's gradient, so from the same initial weights and seed both arms end on
    the same weights: the same batches in the same order."""
    images, labels = problem(0)
    sure_teacher = 100.0 * np.eye(4, dtype=np.float32)[labels]
    vg.manual_seed(0)
    initial = models.create("fc", hidden_dims=[8], input_shape=(1, 8, 8), num_classes=4)
    weights = []
    for alpha, logits in ((0.0, None), (1.0, sure_teacher)):
        student = models.create("fc", hidden_dims=[8], input_shape=(1, 8, 8), num_classes=4)
        student.load_state_dict(initial.state_dict())
        config = distill.Config(temperature=1.0, alpha=alpha, epochs=2, batch_size=16, seed=3)
        distill.train_student(config, student, (images, labels), logits)
        weights.append(student.state_dict())
    for name, value in weights[0].items():
        np.testing.assert_allclose(weights[1][name], value, atol=1e-5, err_msg=name)
    assert not np.allclose(weights[0]["1.weight"], initial.state_dict()["1.weight"])


def test_train_student_refuses_missing_teacher_logits():
    images, labels = problem(0)
    student = models.create("fc", hidden_dims=[8], input_shape=(1, 8, 8), num_classes=4)
    with pytest.raises(ValueError, match="needs the teacher's logits on all 240"):
        distill.train_student(distill.Config(alpha=0.5), student, (images, labels), None)
    with pytest.raises(ValueError, match="needs the teacher's logits"):
        distill.train_student(distill.Config(alpha=0.5), student, (images, labels),
                              np.zeros((10, 4), dtype=np.float32))
