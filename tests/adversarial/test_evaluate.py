"""Robust accuracy, the accuracy-vs-eps curve, attacks by name, the transfer attack and the
gradient-masking checks."""

from functools import partial

import numpy as np
import pytest
from adversarial_helpers import fashion, small_convnet, train_quickly

import visiongrad as vg
from visiongrad import adversarial as adv
from visiongrad.data import DataLoader


def test_robust_accuracy_counts_what_the_attack_leaves(trained):
    model, x, y = trained
    clean = adv.robust_accuracy(model, (x, y), None)
    expected = np.mean(model(vg.tensor(x)).data.argmax(axis=1) == y)
    assert clean == pytest.approx(expected)
    identity = adv.robust_accuracy(model, (x, y), lambda m, a, b: a.copy(), batch_size=7)
    assert identity == pytest.approx(clean)
    loader = DataLoader((x, y), batch_size=50)
    assert adv.robust_accuracy(model, loader, None) == pytest.approx(clean)


def test_the_curve_falls_with_eps(trained):
    model, x, y = trained
    curve = adv.accuracy_curve(model, (x, y), lambda eps: adv.build_attack("pgd", eps, 5),
                               [0.0, 0.02, 0.05, 0.1])
    assert curve[0] == pytest.approx(adv.robust_accuracy(model, (x, y), None))
    assert (np.diff(curve) <= 0).all() and curve[-1] < curve[0] - 0.3


@pytest.mark.parametrize("method", adv.METHODS)
def test_every_named_attack_runs_and_keeps_its_budget(trained, method):
    model, x, y = trained
    attack = adv.build_attack(method, 0.1 if method not in ("pgd-l2", "deepfool", "cw")
                              else 1.0, steps=5, queries=20)
    result = attack(model, x[:20], y[:20])
    change = (result - x[:20]).reshape(20, -1).astype(np.float64)
    if method in ("pgd-l2", "deepfool", "cw"):
        assert np.sqrt((change ** 2).sum(axis=1)).max() <= 1.0 + 1e-5
    else:
        assert np.abs(change).max() <= 0.1 + 1e-6


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="method must be one of"):
        adv.build_attack("hopskipjump", 0.1)


def test_transfer_attack_crafts_on_the_surrogate_only(trained):
    model, x, y = trained
    images, labels = fashion("train", 3000)
    vg.manual_seed(1)
    surrogate = train_quickly(small_convnet(), images[::-1].copy(), labels[::-1].copy(), seed=1)
    calls = []

    def spy(victim, a, b):
        calls.append(victim)
        return adv.pgd(victim, a, b, 0.1, 0.025, 10)

    blind = adv.transfer_attack(surrogate, spy)
    transferred = adv.robust_accuracy(model, (x, y), blind)
    white_box = adv.robust_accuracy(model, (x, y), partial(adv.pgd, eps=0.1, alpha=0.025,
                                                           steps=10))
    clean = adv.robust_accuracy(model, (x, y), None)
    assert all(victim is surrogate for victim in calls)
    assert white_box <= transferred < clean - 0.1


def test_gradient_masking_checks_pass_on_an_honest_model(trained):
    model, x, y = trained
    report = adv.gradient_masking_checks(model, (x[:100], y[:100]), eps=0.1, steps=5,
                                         restarts=2, queries=100)
    assert all(report["checks"].values()), report


def test_gradient_masking_checks_catch_a_masked_gradient(trained):
    model, x, y = trained

    class Masked(vg.nn.Module):
        """Scores rounded to a staircase of the input: zero gradient almost everywhere."""

        def __init__(self):
            super().__init__()
            self.inner = model

        def forward(self, images):
            stepped = vg.tensor(np.round(images.data * 4) / 4)
            return self.inner(stepped) + 0 * images.sum()

    report = adv.gradient_masking_checks(Masked(), (x[:100], y[:100]), eps=0.1, steps=5,
                                         restarts=2, queries=200)
    assert not all(report["checks"].values()), report
