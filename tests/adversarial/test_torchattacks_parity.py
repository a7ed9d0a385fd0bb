"""Parity with torchattacks on the same weights and batch: FGSM and PGD give the same
images up to float32 rounding (pixels where the gradient is within rounding of zero may
take the other sign: their share is reported and bounded), the same robust accuracy; C&W
and DeepFool succeed at least as often with changes no larger (the median over the images
of the L2 change, a failure counting as infinite; the median over the images both attacks
fool is printed beside it)."""

import numpy as np
import pytest

from visiongrad import adversarial as adv
from visiongrad.adversarial.arguments import l2_norms, predict_scores

torch = pytest.importorskip("torch", reason="PyTorch is a test-only reference; not installed")
torchattacks = pytest.importorskip("torchattacks", reason="torchattacks is a test-only "
                                   "reference; not installed")


def torch_twin(model):
    """The same network in PyTorch, loaded from visiongrad's state_dict (same keys)."""
    twin = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.ReLU(),
                               torch.nn.MaxPool2d(2), torch.nn.Flatten(),
                               torch.nn.Linear(8 * 14 * 14, 10))
    twin.load_state_dict({name: torch.from_numpy(np.array(value.data if hasattr(value, "data")
                                                          else value))
                          for name, value in model.state_dict().items()})
    return twin.eval()


def torch_attack(attack, x, y):
    return attack(torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))).numpy()


def differences(ours, theirs, x, eps):
    """max |d| over pixels that agree, and the share of pixels whose step took the other
    sign (they differ by a multiple of the step, 2 alpha or more)."""
    gap = np.abs(ours - theirs)
    flipped = gap > 1e-5
    return (gap[~flipped].max() if (~flipped).any() else 0.0), flipped.mean()


def test_the_twin_gives_the_same_scores(trained):
    model, x, _ = trained
    scores = torch_twin(model)(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(predict_scores(model, x), scores, atol=1e-4)


@pytest.mark.parametrize("method", ["fgsm", "pgd", "pgd-targeted"])
def test_fgsm_and_pgd_match_torchattacks(trained, method):
    model, x, y = trained
    twin = torch_twin(model)
    if method == "fgsm":
        ours = adv.fgsm(model, x, y, 0.1)
        theirs = torch_attack(torchattacks.FGSM(twin, eps=0.1), x, y)
    elif method == "pgd":
        ours = adv.pgd(model, x, y, 0.1, 0.01, 10)
        theirs = torch_attack(torchattacks.PGD(twin, eps=0.1, alpha=0.01, steps=10,
                                               random_start=False), x, y)
    else:
        targets = (y + 1) % 10
        ours = adv.pgd(model, x, targets, 0.1, 0.01, 10, targeted=True)
        reference = torchattacks.PGD(twin, eps=0.1, alpha=0.01, steps=10, random_start=False)
        reference.set_mode_targeted_by_function(lambda images, labels: (labels + 1) % 10)
        theirs = torch_attack(reference, x, y)
    largest, flipped_share = differences(ours, theirs, x, 0.1)
    print(f"{method}: max |d| {largest:.2e} where the signs agree; "
          f"{100 * flipped_share:.3f}% of pixels flipped")
    assert largest <= 1e-5
    assert flipped_share < 0.005
    ours_accuracy = adv.robust_accuracy(model, (ours, y), None)
    theirs_accuracy = adv.robust_accuracy(model, (theirs, y), None)
    assert abs(ours_accuracy - theirs_accuracy) <= 1 / len(y)


def test_pgd_l2_matches_torchattacks(trained):
    model, x, y = trained
    ours = adv.pgd(model, x, y, 1.0, 0.2, 10, norm="2")
    theirs = torch_attack(torchattacks.PGDL2(torch_twin(model), eps=1.0, alpha=0.2, steps=10,
                                             random_start=False), x, y)
    apart = np.abs(ours - theirs).reshape(len(x), -1).max(axis=1) > 1e-4
    print(f"pgd-l2: {apart.sum()} of {len(x)} images differ by more than 1e-4 (float32 sums "
          "of the norms differ in the last bits, and ReLU and max-pool kinks amplify them)")
    assert apart.mean() < 0.05
    np.testing.assert_allclose(ours[~apart], theirs[~apart], atol=1e-4)
    assert adv.robust_accuracy(model, (ours, y), None) == pytest.approx(
        adv.robust_accuracy(model, (theirs, y), None), abs=2 / len(y))


def success_and_median(model, x, y, adversarial):
    """The share of images fooled, and the median L2 change over all images with a failure
    counting as an infinite change (the median least change the attack found)."""
    fooled = predict_scores(model, adversarial).argmax(axis=1) != y
    sizes = np.where(fooled, l2_norms((adversarial - x).astype(np.float64)), np.inf)
    return fooled.mean(), np.median(sizes)


@pytest.mark.parametrize("method", ["deepfool", "cw"])
def test_least_change_attacks_beat_torchattacks(trained, method):
    model, x, y = trained
    twin = torch_twin(model)
    if method == "deepfool":
        # torchattacks' DeepFool loops over images and loses each step's push on pixels at
        # 0 to clipping, so it needs many steps there: a few images away from the bounds
        x = np.float32(0.1) + np.float32(0.8) * x
        correct = predict_scores(model, x).argmax(axis=1) == y
        x, y = x[correct][:16], y[correct][:16]
        ours = adv.deepfool(model, x, y, steps=10, overshoot=0.02)
        theirs = torch_attack(torchattacks.DeepFool(twin, steps=10, overshoot=0.02), x, y)
    else:
        correct = predict_scores(model, x).argmax(axis=1) == y
        x, y = x[correct][:40], y[correct][:40]
        ours = adv.carlini_wagner_l2(model, x, y, steps=50, lr=0.01, binary_search_steps=5)
        theirs = torch_attack(torchattacks.CW(twin, c=1, kappa=0, steps=50, lr=0.01), x, y)
    (our_rate, our_median), (their_rate, their_median) = (
        success_and_median(model, x, y, images) for images in (ours, theirs))
    both = ((predict_scores(model, ours).argmax(axis=1) != y)
            & (predict_scores(model, theirs).argmax(axis=1) != y))
    sizes = [np.median(l2_norms((a - x).astype(np.float64))[both]) if both.any() else np.nan
             for a in (ours, theirs)]
    print(f"{method}: success {our_rate:.3f} (torchattacks {their_rate:.3f}); median L2, "
          f"failures infinite: {our_median:.4f} (torchattacks {their_median:.4f}); on the "
          f"{both.sum()} images both fooled: {sizes[0]:.4f} (torchattacks {sizes[1]:.4f})")
    assert our_rate >= their_rate and our_rate > 0.3
    # the same steps as torchattacks where both succeed: equal up to float32 rounding of
    # the steps (2.6e-5 relative seen on DeepFool), hence 1e-4
    assert our_median <= their_median * (1 + 1e-4)
