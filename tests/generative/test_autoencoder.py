"""Autoencoders and the contractive penalty (generative/autoencoder.py, ops/contractive.py)."""

import numpy as np
import pytest
from helpers import assert_gradcheck

import visiongrad as vg
from visiongrad.generative import Autoencoder, contractive_penalty
from visiongrad.generative.autoencoder import KINDS


def test_contractive_penalty_gradcheck_wrt_x_weight_and_bias():
    rng = np.random.default_rng(0)
    inputs = [rng.standard_normal((5, 6)), 0.7 * rng.standard_normal((4, 6)),
              rng.standard_normal(4)]
    assert_gradcheck(contractive_penalty, inputs, max_coords=None)


def test_contractive_penalty_is_the_jacobians_frobenius_norm():
    """||dh/dx||_F^2 with the Jacobian taken numerically, averaged over the batch."""
    rng = np.random.default_rng(1)
    x, weight = rng.standard_normal((3, 5)), rng.standard_normal((4, 5))
    bias = rng.standard_normal(4)

    def encode(v):
        return 1 / (1 + np.exp(-(weight @ v + bias)))

    norms = []
    for v in x:
        jacobian = np.stack([(encode(v + 1e-6 * e) - encode(v - 1e-6 * e)) / 2e-6
                             for e in np.eye(5)], axis=1)
        norms.append(np.sum(jacobian ** 2))
    assert contractive_penalty(x, weight, bias).item() == pytest.approx(np.mean(norms), rel=1e-7)


def test_contractive_penalty_checks_shapes():
    with pytest.raises(ValueError, match="x has 3 features"):
        contractive_penalty(np.ones((2, 3)), np.ones((4, 5)), np.ones(4))
    with pytest.raises(ValueError, match="bias"):
        contractive_penalty(np.ones((2, 5)), np.ones((4, 5)), np.ones(3))


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_trains_its_loss_down(kind):
    from visiongrad import optim

    rng = np.random.default_rng(2)
    x = (rng.random((32, 1, 8, 8)) < 0.3).astype(np.float32)
    model = Autoencoder(kind, input_dim=64, code_dim=16, hidden_dim=32, strength=0.01)
    opt = optim.Adam(model.parameters(), lr=1e-2)
    first = None
    for _ in range(30):
        opt.zero_grad()
        loss, terms = model.loss(x, rng=rng)
        loss.backward()
        opt.step()
        first = first if first is not None else loss.item()
    assert loss.item() < first
    assert ("penalty" in terms) == (kind in ("sparse_l1", "sparse_kl", "contractive"))
    assert model(x).shape == x.shape


def test_sparse_kl_penalty_matches_formula():
    model = Autoencoder("sparse_kl", input_dim=6, code_dim=3, strength=2.0, sparsity=0.1)
    x = np.random.default_rng(3).random((4, 6))
    code = model.encode(x.astype(np.float32)).data.astype(np.float64)
    rho, rho_hat = 0.1, code.mean(axis=0)
    kl = rho * np.log(rho / rho_hat) + (1 - rho) * np.log((1 - rho) / (1 - rho_hat))
    expected = 2.0 * np.sum(kl)
    assert model.penalty(x.astype(np.float32), vg.tensor(code.astype(np.float32))).item() == (
        pytest.approx(expected, rel=1e-5))


def test_denoising_corruption_is_seeded_and_zeroes_a_fraction():
    model = Autoencoder("denoising", noise=0.3)
    x = np.ones((50, 784), dtype=np.float32)
    a, b = model.corrupt(x, 7), model.corrupt(x, 7)
    np.testing.assert_array_equal(a, b)
    assert 0.27 < 1 - a.mean() < 0.33


def test_bad_options_name_the_argument():
    with pytest.raises(ValueError, match="kind"):
        Autoencoder("variational")
    with pytest.raises(ValueError, match="code_dim"):
        Autoencoder(code_dim=784)
