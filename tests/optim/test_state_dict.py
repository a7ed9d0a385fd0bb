"""Optimizer and schedule state: 10 steps straight equal 5 + save/load into fresh objects + 5."""

import copy
import json

import numpy as np
import pytest

import visiongrad as vg
from visiongrad import functional as F
from visiongrad import nn, optim
from visiongrad.optim import lr_scheduler

X = np.random.default_rng(0).standard_normal((16, 4)).astype(np.float32)
Y = np.random.default_rng(1).standard_normal((16, 2)).astype(np.float32)

BUILDERS = {
    "sgd-nesterov": lambda p: optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True),
    "momentum": lambda p: optim.Momentum(p, lr=0.05),
    "nesterov": lambda p: optim.Nesterov(p, lr=0.05),
    "adagrad": lambda p: optim.AdaGrad(p, lr=0.05, lr_decay=0.01),
    "rmsprop": lambda p: optim.RMSProp(p, lr=0.01, momentum=0.5, centered=True),
    "adam": lambda p: optim.Adam(p, lr=0.01, amsgrad=True),
    "adamw": lambda p: optim.AdamW(p, lr=0.01),
    "lbfgs": lambda p: optim.LBFGS(p, lr=0.5, max_iter=3, history_size=4,
                                   line_search_fn="strong_wolfe"),
}


def model_and_optimizer(name):
    vg.manual_seed(3)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
    return model, BUILDERS[name](model.parameters())


def train(model, optimizer, steps, schedule=None):
    def closure():
        optimizer.zero_grad()
        loss = F.mse_loss(model(vg.tensor(X)), vg.tensor(Y))
        loss.backward()
        return loss

    for _ in range(steps):
        optimizer.step(closure)
        if schedule is not None:
            schedule.step()


def through_json(state):
    """The state as a checkpoint stores it: arrays kept, tuples become lists."""
    def encode(value):
        if isinstance(value, dict):
            return {key: encode(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [encode(item) for item in value]
        return value
    return encode(copy.deepcopy(state))


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_resume_is_exact(name):
    straight, opt = model_and_optimizer(name)
    train(straight, opt, 10)

    first, opt = model_and_optimizer(name)
    train(first, opt, 5)
    saved_model, saved_opt = first.state_dict(), through_json(opt.state_dict())

    resumed, opt = model_and_optimizer(name)
    resumed.load_state_dict(saved_model)
    opt.load_state_dict(saved_opt)
    train(resumed, opt, 5)
    for (key, a), b in zip(straight.state_dict().items(), resumed.state_dict().values(),
                           strict=True):
        np.testing.assert_array_equal(a, b, err_msg=f"{name}: {key}")


def test_state_dict_numbers_parameters_and_copies_state():
    model, opt = model_and_optimizer("adam")
    train(model, opt, 2)
    state = opt.state_dict()
    assert sorted(state["state"]) == [0, 1, 2, 3]
    assert state["param_groups"][0]["params"] == [0, 1, 2, 3]
    before = state["state"][0]["exp_avg"].copy()
    train(model, opt, 1)
    np.testing.assert_array_equal(state["state"][0]["exp_avg"], before)


def test_loaded_state_is_not_shared_with_the_dict():
    model, opt = model_and_optimizer("sgd-nesterov")
    train(model, opt, 2)
    state = opt.state_dict()
    buffer = state["state"][0]["momentum_buffer"].copy()
    opt.load_state_dict(state)
    train(model, opt, 2)
    np.testing.assert_array_equal(state["state"][0]["momentum_buffer"], buffer)


def test_load_rejects_a_different_layout():
    model, opt = model_and_optimizer("adam")
    other = optim.Adam(list(model.parameters())[:2], lr=0.1)
    with pytest.raises(ValueError, match="parameter group 0 has 2 parameters, the loaded "
                                         "state's has 4"):
        other.load_state_dict(opt.state_dict())
    two_groups = optim.Adam([{"params": list(model.parameters())[:2]},
                             {"params": list(model.parameters())[2:]}])
    with pytest.raises(ValueError, match="1 parameter groups, this optimizer has 2"):
        two_groups.load_state_dict(opt.state_dict())


def test_float32_state_stays_float32_after_load():
    model, opt = model_and_optimizer("adam")
    train(model, opt, 1)
    state = opt.state_dict()
    state["state"][0]["exp_avg"] = state["state"][0]["exp_avg"].astype(np.float64)
    opt.load_state_dict(state)
    train(model, opt, 1)
    assert next(model.parameters()).dtype == np.float32


def test_schedule_resumes_with_the_optimizer():
    def build():
        model, opt = model_and_optimizer("sgd-nesterov")
        cosine = lr_scheduler.CosineAnnealingLR(opt, T_max=6, eta_min=0.001)
        return model, opt, lr_scheduler.LinearWarmup(opt, warmup_steps=3, after=cosine)

    model, opt, schedule = build()
    train(model, opt, 8, schedule)
    expected_lr = opt.param_groups[0]["lr"]

    model, opt, schedule = build()
    train(model, opt, 4, schedule)
    saved = json.loads(json.dumps(schedule.state_dict()))
    saved_model, saved_opt = model.state_dict(), opt.state_dict()

    model, opt, schedule = build()
    model.load_state_dict(saved_model)
    opt.load_state_dict(saved_opt)
    schedule.load_state_dict(saved)
    train(model, opt, 4, schedule)
    assert opt.param_groups[0]["lr"] == expected_lr
