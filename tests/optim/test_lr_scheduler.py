"""Learning-rate schedules against torch.optim.lr_scheduler over a run of steps."""

import math

import numpy as np
import pytest
from helpers import torch_or_skip

import visiongrad as vg
from visiongrad import optim
from visiongrad.optim import lr_scheduler

BASE_LRS = (0.1, 0.03)


def optimizers(torch):
    """A visiongrad and a torch SGD, each with two groups of different base rates."""
    ours = optim.SGD([{"params": [vg.Tensor(np.zeros(1), requires_grad=True)], "lr": lr}
                      for lr in BASE_LRS], lr=1.0)
    theirs = torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)], "lr": lr}
                              for lr in BASE_LRS], lr=1.0)
    return ours, theirs


def lr_history(optimizer, schedule, steps, metrics=None):
    history = [[g["lr"] for g in optimizer.param_groups]]
    for t in range(steps):
        optimizer.step()
        schedule.step() if metrics is None else schedule.step(metrics[t])
        history.append([g["lr"] for g in optimizer.param_groups])
    return np.array(history)


CASES = {
    "step": (lambda o: lr_scheduler.StepLR(o, step_size=4, gamma=0.5),
             lambda t, o: t.optim.lr_scheduler.StepLR(o, step_size=4, gamma=0.5)),
    "multistep": (lambda o: lr_scheduler.MultiStepLR(o, milestones=[9, 3], gamma=0.2),
                  lambda t, o: t.optim.lr_scheduler.MultiStepLR(o, milestones=[3, 9],
                                                                gamma=0.2)),
    "exponential": (lambda o: lr_scheduler.ExponentialLR(o, gamma=0.9),
                    lambda t, o: t.optim.lr_scheduler.ExponentialLR(o, gamma=0.9)),
    "inverse-time": (lambda o: lr_scheduler.InverseTimeLR(o, decay_rate=0.5),
                     lambda t, o: t.optim.lr_scheduler.LambdaLR(o, lambda k: 1 / (1 + 0.5 * k))),
    "cosine": (lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=10, eta_min=0.001),
               lambda t, o: t.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10,
                                                                   eta_min=0.001)),
    "warmup": (lambda o: lr_scheduler.LinearWarmup(o, warmup_steps=5, start_factor=0.2),
               lambda t, o: t.optim.lr_scheduler.LinearLR(o, start_factor=0.2, total_iters=5)),
    "warmup-cosine": (
        lambda o: lr_scheduler.LinearWarmup(
            o, warmup_steps=4, start_factor=0.25,
            after=lr_scheduler.CosineAnnealingLR(o, T_max=12)),
        lambda t, o: t.optim.lr_scheduler.SequentialLR(
            o, [t.optim.lr_scheduler.LinearLR(o, start_factor=0.25, total_iters=4),
                t.optim.lr_scheduler.CosineAnnealingLR(o, T_max=12)], milestones=[4])),
}


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_pytorch(name):
    torch = torch_or_skip()
    ours, theirs = optimizers(torch)
    build_ours, build_theirs = CASES[name]
    mine = lr_history(ours, build_ours(ours), 20)
    reference = lr_history(theirs, build_theirs(torch, theirs), 20)
    np.testing.assert_allclose(mine, reference, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("options", [
    {"mode": "min", "patience": 2},
    {"mode": "min", "patience": 1, "cooldown": 2, "factor": 0.5, "min_lr": [0.02, 0.0]},
    {"mode": "max", "patience": 1, "threshold": 0.05, "threshold_mode": "abs"},
])
def test_reduce_on_plateau_matches_pytorch(options):
    torch = torch_or_skip()
    metrics = [1.0, 0.9, 0.9, 0.95, 0.91, 0.8, 0.85, 0.85, 0.86, 0.7, 0.9, 0.9, 0.9, 0.9,
               0.9, 0.6, 0.6, 0.6, 0.6, 0.6]
    ours, theirs = optimizers(torch)
    mine = lr_history(ours, lr_scheduler.ReduceLROnPlateau(ours, **options), 20, metrics)
    reference = lr_history(theirs, torch.optim.lr_scheduler.ReduceLROnPlateau(theirs, **options),
                           20, metrics)
    np.testing.assert_allclose(mine, reference, rtol=1e-12)
    assert mine[-1, 0] < BASE_LRS[0], "the schedule never reduced the rate"


def test_formulas_by_hand():
    ours = optim.SGD([vg.Tensor(np.zeros(1), requires_grad=True)], lr=0.1)
    schedule = lr_scheduler.InverseTimeLR(ours, decay_rate=1.0)
    for _ in range(3):
        schedule.step()
    assert math.isclose(ours.param_groups[0]["lr"], 0.1 / 4)
    assert schedule.get_last_lr() == [ours.param_groups[0]["lr"]]
    assert ours.param_groups[0]["initial_lr"] == 0.1


def test_bad_arguments():
    ours = optim.SGD([vg.Tensor(np.zeros(1), requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match="step_size must be at least 1, got 0"):
        lr_scheduler.StepLR(ours, step_size=0)
    with pytest.raises(ValueError, match="mode must be 'min' or 'max'"):
        lr_scheduler.ReduceLROnPlateau(ours, mode="lowest")
    with pytest.raises(TypeError, match="visiongrad Optimizer"):
        lr_scheduler.StepLR(object(), step_size=1)
    with pytest.raises(TypeError, match="closed-form schedule"):
        lr_scheduler.LinearWarmup(ours, 3, after=lr_scheduler.ReduceLROnPlateau(ours))
