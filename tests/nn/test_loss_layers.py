"""nn's loss layers against torch.nn's: same options, same values and gradients."""

import numpy as np
import pytest
from helpers import assert_matches_torch

from visiongrad import nn

RNG = np.random.default_rng(0)
N, C = 6, 4
SCORES = RNG.standard_normal((N, C))
LABELS = RNG.integers(0, C, N)
LABELS[1] = -100
PROBABILITIES = RNG.dirichlet(np.ones(C), N)
VALUES = RNG.standard_normal((N, C)) * 2
TARGETS = RNG.standard_normal((N, C)) * 2
LOG_PROBABILITIES = np.log(PROBABILITIES)
BINARY = RNG.integers(0, 2, (N, C)).astype(float)
WEIGHT = RNG.uniform(0.5, 2.0, C)

# (layer name, keyword options, input, target); the target is passed as a constant
CASES = [
    ("CrossEntropyLoss", {}, SCORES, np.where(LABELS < 0, 0, LABELS)),
    ("CrossEntropyLoss", {"weight": WEIGHT, "label_smoothing": 0.2}, SCORES, LABELS),
    ("CrossEntropyLoss", {"reduction": "sum"}, SCORES, PROBABILITIES),
    ("NLLLoss", {"weight": WEIGHT, "reduction": "none"}, LOG_PROBABILITIES, LABELS),
    ("BCEWithLogitsLoss", {"pos_weight": WEIGHT}, SCORES, BINARY),
    ("BCELoss", {"reduction": "sum"}, PROBABILITIES, BINARY),
    ("MSELoss", {}, VALUES, TARGETS),
    ("L1Loss", {"reduction": "none"}, VALUES, TARGETS),
    ("SmoothL1Loss", {"beta": 0.5}, VALUES, TARGETS),
    ("HuberLoss", {"delta": 1.5, "reduction": "sum"}, VALUES, TARGETS),
    ("KLDivLoss", {"reduction": "batchmean"}, LOG_PROBABILITIES, PROBABILITIES),
    ("KLDivLoss", {"log_target": True}, LOG_PROBABILITIES, LOG_PROBABILITIES[::-1].copy()),
]


@pytest.mark.parametrize("name, options, x, target", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_loss_layer_matches_torch(name, options, x, target):
    torch = pytest.importorskip("torch", reason="PyTorch is a test-only reference")
    to_torch = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v
                for k, v in options.items()}
    ours, theirs = getattr(nn, name)(**options), getattr(torch.nn, name)(**to_torch)
    torch_target = torch.tensor(target)
    assert_matches_torch(lambda a: ours(a, target), lambda a: theirs(a, torch_target), [x],
                         dtype=np.float64)


def test_multimargin_is_the_course_hinge():
    scores, labels = SCORES, np.where(LABELS < 0, 0, LABELS)
    margins = np.maximum(0, scores - scores[np.arange(N), labels][:, None] + 1.0)
    margins[np.arange(N), labels] = 0
    loss = nn.MultiMarginLoss()(scores, labels)
    np.testing.assert_allclose(loss.item(), margins.sum(axis=1).mean(), rtol=1e-12)


def test_bad_reduction_is_refused():
    with pytest.raises(ValueError, match="reduction must be one of"):
        nn.MSELoss(reduction="batchmean")
    assert nn.KLDivLoss(reduction="batchmean").reduction == "batchmean"
