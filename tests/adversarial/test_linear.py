"""The linear case: attacks on the classic Softmax and LinearSVM, the closed-form FGSM
against the autograd one, and the lecture's eps |w|_1 margin shift."""

import numpy as np
import pytest
from adversarial_helpers import fashion

from visiongrad import adversarial as adv
from visiongrad.classic import LinearSVM, Softmax


@pytest.fixture(scope="module", params=[Softmax, LinearSVM])
def linear(request):
    x, y = fashion("train", 2000)
    classifier = request.param(n_epochs=5, seed=0).fit(x.reshape(len(x), -1), y)
    test_x, test_y = fashion("test", 200)
    return classifier, test_x, test_y


def test_closed_form_fgsm_equals_the_autograd_one(linear):
    classifier, x, y = linear
    module = adv.LinearScores(classifier)
    autograd = adv.fgsm(module, x, y, 0.05, loss_fn=adv.linear_loss(classifier))
    closed = adv.linear_fgsm(classifier, x, y, 0.05)
    gradient = adv.linear_loss_gradient(classifier, x, y)
    differ = autograd != closed
    # only where the float64 gradient is within float32 rounding of zero may signs differ
    assert np.abs(gradient[differ]).max(initial=0) < 1e-6 * np.abs(gradient).max()
    print(f"{type(classifier).__name__}: {100 * differ.mean():.3f}% of pixels flipped")
    assert differ.mean() < 0.01  # the border pixels, whose weights stay near zero


def test_closed_form_gradient_matches_autograd(linear):
    classifier, x, y = linear
    from visiongrad.autograd import Tensor

    inputs = Tensor(x.astype(np.float64), requires_grad=True)
    module = adv.LinearScores(classifier)
    for parameter in module.parameters():
        parameter.data = parameter.data.astype(np.float64)
    adv.linear_loss(classifier)(module(inputs), y).backward()
    np.testing.assert_allclose(inputs.grad, adv.linear_loss_gradient(classifier, x, y),
                               rtol=1e-6, atol=1e-12)


def test_the_margin_moves_by_eps_times_the_l1_norm(linear):
    classifier, x, y = linear
    W, eps = classifier.W_.astype(np.float64), 0.01
    rival = (y + 1) % 10
    direction = -np.sign(W[y] - W[rival]).reshape(x.shape)
    scores = [classifier.decision_function((x + eps * direction * d).reshape(len(x), -1))
              for d in (0, 1)]
    rows = np.arange(len(y))
    shift = [(s[rows, y] - s[rows, rival]).astype(np.float64) for s in scores]
    expected = eps * np.abs(W[y] - W[rival]).sum(axis=1)
    np.testing.assert_allclose(shift[0] - shift[1], expected, rtol=1e-4)


def test_linear_models_fall_to_fgsm_too(linear):
    classifier, x, y = linear
    module = adv.LinearScores(classifier)
    clean = adv.robust_accuracy(module, (x, y), None)
    closed_form = adv.robust_accuracy(module, (x, y), lambda m, a, b: adv.linear_fgsm(
        classifier, a, b, 0.1))
    pgd = adv.robust_accuracy(module, (x, y), adv.build_attack("pgd", 0.1, steps=10))
    print(f"{type(classifier).__name__}: clean {clean:.3f}, closed-form FGSM {closed_form:.3f}"
          f", PGD-10 {pgd:.3f} at eps 0.1")
    assert clean > 0.6 and closed_form < clean - 0.2 and pgd < clean / 2


def test_labels_outside_the_classes_are_refused(linear):
    classifier, x, _ = linear
    with pytest.raises(ValueError, match="labels must be among the classifier's classes"):
        adv.linear_fgsm(classifier, x[:2], np.array([0, 42]), 0.1)


def test_an_unfitted_classifier_is_refused():
    with pytest.raises(ValueError, match="Softmax is not fitted"):
        adv.LinearScores(Softmax())
