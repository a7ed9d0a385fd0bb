"""The attacks' contract (inputs untouched, box, shape, dtype, one clear error per bad
argument) and what each attack must achieve on a trained convnet."""

from functools import partial

import numpy as np
import pytest
from adversarial_helpers import small_convnet

from visiongrad import adversarial as adv
from visiongrad.adversarial.arguments import l2_norms, predict_scores

EPS = 0.1


def accuracy(model, images, labels):
    return float((predict_scores(model, images).argmax(axis=1) == labels).mean())


ATTACKS = {
    "fgsm": partial(adv.fgsm, eps=EPS),
    "pgd": partial(adv.pgd, eps=EPS, alpha=0.02, steps=5),
    "pgd-l2-restarts": partial(adv.pgd, eps=1.0, alpha=0.3, steps=5, norm="2",
                               random_start=True, restarts=2, seed=0),
    "bim": partial(adv.bim, eps=EPS, alpha=0.02, steps=5),
    "mi-fgsm": partial(adv.mi_fgsm, eps=EPS, alpha=0.02, steps=5),
    "deepfool": partial(adv.deepfool, steps=10),
    "cw": partial(adv.carlini_wagner_l2, steps=10, binary_search_steps=2, lr=0.05),
    "square": partial(adv.square_attack, eps=EPS, queries=300, seed=0),
}


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attack_keeps_inputs_box_shape_and_dtype(trained, name):
    model, x, y = trained
    images, labels = np.clip(x[:16], 0.1, 0.9), y[:16].copy()
    before, labels_before = images.copy(), labels.copy()
    result = ATTACKS[name](model, images, labels, box=(0.1, 0.9))
    np.testing.assert_array_equal(images, before)
    np.testing.assert_array_equal(labels, labels_before)
    assert result.shape == images.shape and result.dtype == images.dtype
    assert result.min() >= 0.1 and result.max() <= 0.9
    assert not np.shares_memory(result, images)
    assert not model.training


@pytest.mark.parametrize("name", ["fgsm", "pgd", "bim", "mi-fgsm", "square"])
def test_linf_attacks_stay_in_the_ball_and_lower_accuracy(trained, name):
    model, x, y = trained
    result = ATTACKS[name](model, x, y)
    assert np.abs(result - x).max() <= EPS + 1e-6
    assert accuracy(model, result, y) < accuracy(model, x, y) - 0.2


def test_pgd_l2_stays_in_its_ball(trained):
    model, x, y = trained
    result = ATTACKS["pgd-l2-restarts"](model, x, y)
    assert l2_norms((result - x).astype(np.float64)).max() <= 1.0 + 1e-5
    assert accuracy(model, result, y) < accuracy(model, x, y) - 0.2


def test_float64_images_stay_float64(trained):
    model, x, y = trained
    assert adv.pgd(model, x[:4].astype(np.float64), y[:4], EPS, 0.02, 2).dtype == np.float64


def test_pgd_is_stronger_than_fgsm_and_restarts_never_hurt(trained):
    model, x, y = trained
    fgsm = accuracy(model, adv.fgsm(model, x, y, EPS), y)
    pgd = accuracy(model, adv.pgd(model, x, y, EPS, 0.025, 10), y)
    one = accuracy(model, adv.pgd(model, x, y, 0.03, 0.01, 5, random_start=True, seed=1), y)
    three = accuracy(model, adv.pgd(model, x, y, 0.03, 0.01, 5, random_start=True, seed=1,
                                    restarts=3), y)
    assert pgd <= fgsm and three <= one


def test_targeted_pgd_reaches_the_targets(trained):
    model, x, y = trained
    targets = (y + 1) % 10
    result = adv.pgd(model, x, targets, 0.3, 0.02, 40, targeted=True)
    hit = (predict_scores(model, result).argmax(axis=1) == targets).mean()
    untouched = (predict_scores(model, x).argmax(axis=1) == targets).mean()
    assert hit > 0.8 and untouched < 0.2


def test_targeted_fgsm_steps_down_the_gradient(trained):
    model, x, y = trained
    targets = (y + 3) % 10
    down = adv.fgsm(model, x, targets, 0.02, targeted=True)
    up = adv.fgsm(model, x, targets, 0.02)
    scores = [predict_scores(model, a)[np.arange(len(y)), targets].mean() for a in (down, up)]
    assert scores[0] > scores[1]


def test_mi_fgsm_is_not_bim(trained):
    model, x, y = trained
    assert not np.array_equal(ATTACKS["mi-fgsm"](model, x, y), ATTACKS["bim"](model, x, y))


@pytest.mark.parametrize("name", ["deepfool", "cw"])
def test_least_change_attacks_fool_with_small_changes(trained, name):
    model, x, y = trained
    correct = predict_scores(model, x).argmax(axis=1) == y
    attack = (partial(adv.deepfool, steps=50) if name == "deepfool"
              else partial(adv.carlini_wagner_l2, steps=50, binary_search_steps=4, lr=0.05))
    result = attack(model, x[correct], y[correct])
    fooled = predict_scores(model, result).argmax(axis=1) != y[correct]
    sizes = l2_norms((result - x[correct]).astype(np.float64))
    assert fooled.mean() > 0.9
    assert np.median(sizes[fooled]) < 2.0  # an L-inf 0.1 change can reach L2 2.8


def test_cw_binary_search_shrinks_the_change(trained):
    model, x, y = trained
    images, labels = x[:40], y[:40]
    one, five = (adv.carlini_wagner_l2(model, images, labels, c=10.0, steps=30, lr=0.05,
                                       binary_search_steps=rounds) for rounds in (1, 5))
    fooled = [predict_scores(model, a).argmax(axis=1) != labels for a in (one, five)]
    sizes = [l2_norms((a - images).astype(np.float64)) for a in (one, five)]
    assert fooled[0].sum() > 20 and (fooled[1] >= fooled[0]).all()
    assert (sizes[1][fooled[0]] <= sizes[0][fooled[0]] + 1e-6).all()
    assert np.median(sizes[1][fooled[0]]) < 0.9 * np.median(sizes[0][fooled[0]])


def test_square_attack_only_queries_scores(trained, monkeypatch):
    model, x, y = trained
    import visiongrad.adversarial.arguments as arguments

    monkeypatch.setattr(arguments, "loss_gradient", None)  # any gradient call would fail
    result = adv.square_attack(model, x, y, EPS, queries=300, seed=0)
    assert accuracy(model, result, y) < accuracy(model, x, y) - 0.2


BAD = [
    ({"eps": -0.1}, "eps must be a finite number >= 0, got -0.1"),
    ({"eps": float("nan")}, "eps must be"),
    ({"box": (1.0, 0.0)}, "box must be (lo, hi) with finite lo < hi"),
    ({"box": (0.5, 0.5)}, "lo < hi"),
    ({"box": (0.2, 0.9)}, "images must lie inside the box"),
    ({"labels": np.array([0, 10, 3, 1])}, "labels must be classes in [0, 10), got [10]"),
    ({"labels": np.array([0, 1])}, "labels must be 4 integer classes, one per image"),
    ({"alpha": -1.0}, "alpha must be"),
    ({"steps": 0}, "steps must be an integer >= 1"),
    ({"norm": "1"}, "norm must be one of"),
    ({"restarts": 3}, "restarts=3 needs random_start=True"),
]


@pytest.mark.parametrize(("change", "message"), BAD)
def test_pgd_refuses_bad_arguments(trained, change, message):
    model, x, y = trained
    arguments = {"images": x[:4], "labels": y[:4], "eps": 0.1, "alpha": 0.01, "steps": 2,
                 **change}
    with pytest.raises(ValueError) as error:
        adv.pgd(model, **arguments)
    assert message in str(error.value)


def test_targets_outside_the_classes_are_refused(trained):
    model, x, _ = trained
    with pytest.raises(ValueError, match=r"labels must be classes in \[0, 10\), got \[-1\]"):
        adv.fgsm(model, x[:2], np.array([-1, 2]), 0.1, targeted=True)


@pytest.mark.parametrize("attack", [partial(adv.fgsm, eps=0.1), partial(adv.deepfool),
                                    partial(adv.square_attack, eps=0.1, queries=2)])
def test_a_batch_norm_model_in_training_mode_is_refused(attack):
    model = small_convnet(batch_norm=True)
    model.train()
    x = np.full((2, 1, 28, 28), 0.5, dtype=np.float32)
    before = model[1].running_mean.copy()
    with pytest.raises(ValueError, match="training mode.*call model.eval"):
        attack(model, x, np.array([0, 1]))
    np.testing.assert_array_equal(model[1].running_mean, before)
    model.eval()
    assert attack(model, x, np.array([0, 1])).shape == x.shape
    assert model.training is False


def test_a_model_without_batch_norm_may_stay_in_training_mode(trained):
    model, x, y = trained
    model.train()
    try:
        result = adv.fgsm(model, x[:4], y[:4], 0.1)
        assert model.training
    finally:
        model.eval()
    np.testing.assert_array_equal(result, adv.fgsm(model, x[:4], y[:4], 0.1))


def test_unbounded_eps_fools_every_image(trained):
    model, x, y = trained
    assert accuracy(model, adv.pgd(model, x, y, 1.0, 0.1, 20), y) == 0.0
