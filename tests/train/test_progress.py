"""The progress helper: its whole-run ETA arithmetic on an injected clock, its format, a
closed stream that never stops the work, the quiet switch (and Ray's trials under it)."""

from __future__ import annotations

import io

import numpy as np
import pytest

from visiongrad import nn, optim
from visiongrad.train.progress import Progress, format_duration, progress_shown, quiet_progress
from visiongrad.train.trainer import Trainer


class Clock:
    """A clock the test moves by hand."""

    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_eta_is_the_whole_runs_elapsed_time_scaled_to_the_units_left():
    clock, lines = Clock(), []
    progress = Progress(10, clock=clock, write=lines.append)
    assert progress.remaining() is None  # nothing done: no estimate yet
    clock.now += 60
    assert progress.step("epoch 1/10") == "epoch 1/10 [1 min 00 s elapsed, about 9 min 00 s left]"
    clock.now += 60
    progress.step("epoch 2/10")
    assert progress.remaining() == pytest.approx(120 / 2 * 8)
    assert progress.remaining(done=5) == pytest.approx(120 / 5 * 5)  # a fraction of the run
    clock.now += 480
    assert progress.update(10, "epoch 10/10") == "epoch 10/10 [10 min 00 s in all]"
    assert lines[1] == "epoch 2/10 [2 min 00 s elapsed, about 8 min 00 s left]"
    assert len(lines) == 3


def test_a_resumed_run_estimates_from_the_units_done_since_it_started():
    clock = Clock()
    progress = Progress(8, done=6, clock=clock, write=None)  # 6 of 8 epochs done earlier
    clock.now += 30
    assert progress.step("epoch 7/8") == "epoch 7/8 [30 s elapsed, about 30 s left]"


def test_update_writes_at_most_one_line_per_interval_but_always_the_last():
    clock, lines = Clock(), []
    progress = Progress(100, every=10, clock=clock, write=lines.append)
    for step in range(1, 101):
        clock.now += 0.5
        progress.update(step, f"step {step}/100")
    # written at 0.5 s (the first), then each time 10 s have passed since the last, and at the end
    assert [line.split(" [")[0] for line in lines] == [
        "step 1/100", "step 21/100", "step 41/100", "step 61/100", "step 81/100",
        "step 100/100"]
    assert lines[-1].endswith("[50 s in all]")


def test_format_duration():
    assert [format_duration(s) for s in (0, 59.4, 60, 3599, 3600, 7384)] == [
        "0 s", "59 s", "1 min 00 s", "59 min 59 s", "1 h 00 min", "2 h 03 min"]
    with pytest.raises(ValueError, match="finite"):
        format_duration(float("nan"))


@pytest.mark.parametrize("total, done", [(0, 0), (-1, 0), (float("inf"), 0), (5, 6)])
def test_bad_totals_are_refused(total, done):
    with pytest.raises(ValueError, match="total|done"):
        Progress(total, done=done)


class GoneReader(io.StringIO):
    def write(self, text):
        raise BrokenPipeError(32, "Broken pipe")


def test_a_reader_that_has_gone_never_stops_the_work():
    progress = Progress(3, stream=GoneReader())
    for epoch in range(1, 4):  # no exception, each line still returned
        assert progress.step(f"epoch {epoch}/3").startswith(f"epoch {epoch}/3 [")


def test_the_default_stream_is_stderr(capsys):
    Progress(2).step("model 1/2: resnet18")
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("model 1/2: resnet18 [")


def blobs(n=24, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    x = (rng.normal(size=(n, 1, 2, 2)) + y[:, None, None, None]).astype(np.float32)
    return x, y


def fit_small(**options):
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=0.1), epochs=2, batch_size=8,
                      **options)
    x, y = blobs()
    return trainer.fit(x, y, x, y)


def test_the_trainers_epoch_lines_carry_the_whole_runs_eta(capsys):
    fit_small()
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("epoch")]
    assert lines[0].startswith("epoch 1/2: ") and " elapsed, about " in lines[0]
    assert lines[1].startswith("epoch 2/2: ") and lines[1].endswith(" in all]")


def test_quiet_progress_silences_lines_and_the_trainer(capsys):
    with quiet_progress():
        assert not progress_shown()
        lines = []
        assert Progress(2, write=lines.append).step("epoch 1/2").startswith("epoch 1/2 [")
        assert lines == []
        assert fit_small().progress is False
    assert progress_shown()
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_a_ray_trial_runs_quietly(capsys):
    """The task a Ray worker runs (tested directly, without Ray): the trial's Trainer
    shows no bar and no epoch line, which Ray would forward to the driver's log."""
    from visiongrad.train.ray_trials import _run_trial

    def objective(lr):
        return max(fit_small().history["val_accuracy"])

    row = _run_trial(objective, {"lr": 0.1})
    assert row["status"] == "ok"
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    assert progress_shown()  # the switch is off again after the task


def test_lines_during_an_epoch_count_its_done_fraction():
    clock, lines = Clock(), []
    progress = Progress(2, every=10, clock=clock, write=lines.append)
    report = progress.during("epoch 1/2")
    for batch in range(1, 5):
        clock.now += 6
        report(batch, 4)  # written at 6 s (the first line), then after 10 s more: 18 s
    assert lines == ["epoch 1/2, batch 1/4 [6 s elapsed, about 42 s left]",
                     "epoch 1/2, batch 3/4 [18 s elapsed, about 30 s left]"]
    progress.step("epoch 1/2: loss 0.5")
    assert lines[-1] == "epoch 1/2: loss 0.5 [24 s elapsed, about 24 s left]"


def test_descend_epoch_reports_each_batch():
    from visiongrad import optim as vg_optim
    from visiongrad.train.epochs import descend_epoch

    model = nn.Linear(2, 1)
    x = np.ones((10, 2), dtype=np.float32)
    calls = []
    descend_epoch(lambda batch: model(x[batch]).sum(), 10, 4,
                  vg_optim.SGD(model.parameters(), lr=0.01), np.random.default_rng(0),
                  on_batch=lambda done, count: calls.append((done, count)))
    assert calls == [(1, 3), (2, 3), (3, 3)]
