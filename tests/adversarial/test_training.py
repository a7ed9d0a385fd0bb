"""Adversarial training as the Trainer's adversary: it raises robust accuracy, each method's
loss is the one its paper defines, and the model's modes and statistics are handled."""

import numpy as np
import pytest
from adversarial_helpers import fashion, small_convnet, train_quickly

import visiongrad as vg
from visiongrad import adversarial as adv
from visiongrad import functional as F
from visiongrad import optim
from visiongrad.autograd import Tensor
from visiongrad.train import Trainer


def test_fgsm_training_raises_robust_accuracy():
    x, y = fashion("train", 3000)
    test = fashion("test", 200)
    attack = adv.build_attack("pgd", 0.1, steps=10)
    vg.manual_seed(0)
    plain = train_quickly(small_convnet(), x, y)
    vg.manual_seed(0)
    model = small_convnet()
    Trainer(model, optim.Adam(model.parameters(), lr=2e-3), epochs=2, progress=False,
            adversary=adv.AdversarialTraining("fgsm", eps=0.1, seed=0)).fit(x, y)
    model.eval()
    robust = [adv.robust_accuracy(m, test, attack) for m in (plain, model)]
    assert robust[1] > robust[0] + 0.08, robust


@pytest.mark.parametrize("method", ["pgd", "trades"])
def test_the_loss_is_the_papers(method):
    x, y = fashion("train", 32)
    vg.manual_seed(0)
    model = small_convnet(batch_norm=True)
    model.train()
    adversary = adv.AdversarialTraining(method, eps=0.1, steps=2, beta=2.0, seed=3)
    model.eval()  # the attack's images, crafted as the adversary does: in eval mode
    expected_images = adv.pgd(model, x, y, 0.1, 0.125, 2, random_start=True, seed=3)
    model.train()
    means = model[1].running_mean.copy()
    scores, loss = adversary.loss(model, x, y)
    assert model.training
    # one training pass (two for TRADES) moved the running statistics, the attack none
    passes = 1 if method == "pgd" else 2
    assert model[1].num_batches_tracked == passes and not np.array_equal(
        means, model[1].running_mean)
    if method == "pgd":
        np.testing.assert_allclose(scores.data, model(Tensor(expected_images)).data, atol=1e-5)
        expected = F.cross_entropy(scores, y).item()
    else:
        clean = model(Tensor(x))
        p = np.exp(F.log_softmax(clean, 1).data)
        kl = (p * (F.log_softmax(clean, 1).data - F.log_softmax(scores, 1).data)).sum() / 32
        expected = F.cross_entropy(clean, y).item() + 2.0 * kl
    assert loss.item() == pytest.approx(expected, rel=1e-5)


def test_the_trainer_steps_on_the_adversarial_loss():
    x, y = fashion("train", 128)
    vg.manual_seed(0)
    model = small_convnet()
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=0.05), epochs=1, progress=False,
                      batch_size=64, adversary=adv.AdversarialTraining("pgd", 0.1, steps=2))
    trainer.fit(x, y)
    assert len(trainer.history["loss"]) == 2 and np.isfinite(trainer.history["loss"]).all()


def test_training_on_standardised_images_attacks_pixels():
    x, y = fashion("train", 16)
    mean, std = np.array([0.3]), np.array([0.35])
    standardised = ((x - 0.3) / 0.35).astype(np.float32)
    model = small_convnet().eval()
    on_pixels = adv.OnPixels(model, mean, std)
    np.testing.assert_allclose(on_pixels(Tensor(x)).data, model(Tensor(standardised)).data,
                               atol=1e-5)
    np.testing.assert_allclose(on_pixels.to_pixels(standardised), x, atol=1e-6)
    adversary = adv.AdversarialTraining("fgsm", eps=0.1, mean=mean, std=std, seed=0)
    scores, _ = adversary.loss(model, standardised, y)
    changed = on_pixels.from_pixels(x)  # the scores are those of images within 0.1 of x
    assert scores.shape == (16, 10) and np.isfinite(changed).all()


def test_the_validation_score_is_robust_accuracy_on_the_first_val_images():
    x, y = fashion("train", 40)
    vg.manual_seed(0)
    model = train_quickly(small_convnet(), x, y, epochs=1)
    model.train()
    mean, std = np.array([0.3]), np.array([0.35])
    standardised = ((x - 0.3) / 0.35).astype(np.float32)
    adversary = adv.AdversarialTraining("pgd", eps=0.1, mean=mean, std=std, val_images=30,
                                        val_steps=4)
    score = adversary.robust_accuracy(model, standardised, y)
    assert model.training  # given back in the mode it came in
    model.eval()
    pixels = np.clip(x[:30], 0.0, 1.0)  # the attack is PGD-4 in pixel space, from seed 0
    attacked = adv.pgd(adv.OnPixels(model, mean, std), pixels, y[:30], 0.1, 0.0625, 4,
                       random_start=True, seed=0)
    right = (model(Tensor((attacked - 0.3) / np.float32(0.35))).data.argmax(1) == y[:30])
    assert score == pytest.approx(right.mean())
    assert score < (model(Tensor(standardised[:30])).data.argmax(1) == y[:30]).mean()


class ScriptedAdversary:
    """Plain training loss, and robust validation accuracies read from a script."""

    def __init__(self, scores):
        self.scores = iter(scores)

    def loss(self, model, images, labels, loss_fn):
        scores = model(Tensor(images))
        return scores, loss_fn(scores, labels)

    def robust_accuracy(self, model, images, labels):
        return next(self.scores)


def test_the_trainer_keeps_the_most_robust_epoch():
    x, y = fashion("train", 64)
    vg.manual_seed(0)
    model = small_convnet()
    trainer = Trainer(model, optim.Adam(model.parameters(), lr=2e-3), epochs=3, batch_size=32,
                      progress=False, adversary=ScriptedAdversary([0.3, 0.6, 0.4]))
    trainer.fit(x, y, x, y)
    assert trainer.history["val_robust_accuracy"] == [0.3, 0.6, 0.4]
    assert (trainer.best_epoch, trainer.best_val_accuracy) == (2, 0.6)
    kept = trainer.best_state
    assert all(np.array_equal(model.state_dict()[name].data, kept[name]) for name in kept)


@pytest.mark.parametrize(("arguments", "message"), [
    ({"method": "free"}, "method must be one of ('fgsm', 'pgd', 'trades')"),
    ({"eps": 0.0}, "eps must be a finite number > 0"),
    ({"steps": 0}, "steps must be an integer >= 1"),
    ({"mean": [0.5]}, "give both mean and std"),
    ({"box": (1, 0)}, "box must be (lo, hi)"),
    ({"val_images": 0}, "val_images must be an integer >= 1"),
    ({"val_steps": 2.5}, "val_steps must be an integer >= 1"),
])
def test_bad_options_are_refused(arguments, message):
    with pytest.raises(ValueError) as error:
        adv.AdversarialTraining(**arguments)
    assert message in str(error.value)
