"""DCGAN's networks and the GAN wrapper (generative/dcgan.py)."""

import numpy as np
import pytest

from visiongrad.generative import GAN
from visiongrad.generative.dcgan import LOSSES
from visiongrad.recipes.generate import build, step, train


def test_shapes_and_initialisation():
    gan = GAN("gan", width=8, rng=0)
    images = gan.generator(gan.noise(4, rng=0))
    assert images.shape == (4, 1, 28, 28) and np.abs(images.data).max() <= 1
    assert gan.discriminator(images).shape == (4, 1)
    first = gan.discriminator[0].weight.data
    assert abs(first.std() - 0.02) < 0.005


def test_sampling_is_seeded_and_in_unit_range():
    gan = GAN("lsgan", width=8, rng=0)
    a = gan.sample(5, rng=1)
    assert a.shape == (5, 1, 28, 28) and 0 <= a.min() and a.max() <= 1
    np.testing.assert_array_equal(a, gan.sample(5, rng=1))
    assert gan.generator.training


@pytest.mark.parametrize("name", ["dcgan", "lsgan"])
def test_a_step_updates_both_networks(name):
    gan = build(name, width=4)
    from visiongrad import optim

    opts = (optim.Adam(gan.discriminator.parameters(), lr=1e-3),
            optim.Adam(gan.generator.parameters(), lr=1e-3))
    before = [p.data.copy() for p in gan.parameters()]
    terms = step(gan, np.random.default_rng(0).integers(0, 256, (6, 1, 28, 28)), opts,
                 np.random.default_rng(1))
    assert set(terms) == {"d_loss", "g_loss"}
    assert all(not np.array_equal(b, p.data) for b, p in zip(before, gan.parameters(), strict=True))


def test_generator_loss_takes_no_gradient_for_the_discriminator_weights():
    """G's loss back-propagates through D into G only: D's weights get no gradient (its
    flags restored, its training mode kept), and G's gradient is the one computed with D's
    weights taking gradients too."""
    import visiongrad as vg

    gan = GAN("gan", width=4, rng=0)
    noise = gan.noise(5, rng=0)

    def generator_grads(loss_of):
        gan.zero_grad()
        loss_of(gan.generator(vg.tensor(noise))).backward()
        return [p.grad.copy() for p in gan.generator.parameters()]

    held = generator_grads(gan.generator_step_loss)
    assert all(p.grad is None and p.requires_grad for p in gan.discriminator.parameters())
    assert gan.discriminator.training
    free = generator_grads(lambda fake: LOSSES["gan"][1](gan.discriminator(fake)))
    assert all(p.grad is not None for p in gan.discriminator.parameters())
    for a, b in zip(held, free, strict=True):
        np.testing.assert_array_equal(a, b)


def test_training_history_and_bad_loss():
    gan = build("dcgan", width=4)
    history = train(gan, np.zeros((8, 1, 28, 28), dtype=np.uint8), 1, 4, log=lambda m: None)
    assert len(history) == 1 and {"d_loss", "g_loss", "seconds"} <= set(history[0])
    with pytest.raises(ValueError, match="loss"):
        GAN("wgan")


def test_samples_come_from_the_moving_average_of_the_generator():
    from visiongrad import optim

    gan = build("dcgan", width=4)
    opts = (optim.Adam(gan.discriminator.parameters(), lr=1e-2),
            optim.Adam(gan.generator.parameters(), lr=1e-2))
    images = np.random.default_rng(0).integers(0, 256, (6, 1, 28, 28))
    averages = []
    for t in range(3):
        before = [p.data.copy() for p in gan.generator_average.parameters()]
        step(gan, images, opts, np.random.default_rng(t))
        decay = min(0.999, (1 + t) / (10 + t))  # the warm-up: 0.1, 0.18, 0.25
        for old, average, current in zip(before, gan.generator_average.parameters(),
                                         gan.generator.parameters(), strict=True):
            np.testing.assert_allclose(average.data, decay * old + (1 - decay) * current.data,
                                       rtol=1e-5, atol=1e-7)
        averages.append(gan.generator_average[1].running_mean.copy())
    assert int(gan.average_steps) == 3 and not np.array_equal(averages[0], averages[2])
    assert not any(p.requires_grad for p in gan.generator_average.parameters())
    drawn = gan.sample(3, rng=5)
    gan.generator, gan.generator_average = gan.generator_average, gan.generator
    assert not np.array_equal(drawn, gan.sample(3, rng=5))  # not the live generator's
    last_iterate = GAN("gan", width=4, rng=0, average_decay=0.0)
    last_iterate.generator_average = None
    assert last_iterate.sample(2, rng=0).shape == (2, 1, 28, 28)
    with pytest.raises(ValueError, match=r"average_decay must be in \[0, 1\), got 1.0"):
        GAN("gan", average_decay=1.0)


def test_checkpoint_round_trip_keeps_the_average_and_resumes_alike(tmp_path):
    from visiongrad import optim
    from visiongrad.train.checkpoint import load_checkpoint, save_checkpoint

    def optimizers(gan):
        return (optim.Adam(gan.discriminator.parameters(), lr=1e-3, betas=(0.5, 0.999)),
                optim.Adam(gan.generator.parameters(), lr=1e-3, betas=(0.5, 0.999)))

    gan = build("dcgan", width=4)
    d_opt, g_opt = optimizers(gan)
    images = np.random.default_rng(0).integers(0, 256, (6, 1, 28, 28))
    for t in range(3):
        step(gan, images, (d_opt, g_opt), np.random.default_rng(t))
    path = save_checkpoint(tmp_path / "gan", gan, g_opt, state={"d_optimizer": d_opt.state_dict()})
    loaded = load_checkpoint(path)
    again = build("dcgan", width=4, rng=7)  # other initial weights, replaced by the file's
    again.load_state_dict(loaded["model"])
    np.testing.assert_array_equal(again.sample(4, rng=1), gan.sample(4, rng=1))
    assert int(again.average_steps) == 3
    d_again, g_again = optimizers(again)
    g_again.load_state_dict(loaded["optimizer"])
    d_again.load_state_dict(loaded["state"]["d_optimizer"])
    for model, opts in ((gan, (d_opt, g_opt)), (again, (d_again, g_again))):
        step(model, images, opts, np.random.default_rng(9))
    np.testing.assert_allclose(again.sample(4, rng=2), gan.sample(4, rng=2), atol=1e-6)
