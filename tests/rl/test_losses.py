"""Every loss gradient-checked in float64, the DQN target against a hand-computed batch
(no bootstrap through termination, bootstrap through truncation), GAE against its
definition, and the losses' values against PyTorch where it has the same formula."""

import numpy as np
import pytest

pytest.importorskip("gymnasium")
import visiongrad as vg  # noqa: E402
from tests.helpers import assert_gradcheck, torch_or_skip  # noqa: E402
from visiongrad.rl import losses  # noqa: E402

RNG = np.random.default_rng(0)
ACTIONS = np.array([0, 2, 1, 2, 0])
ADVANTAGES = RNG.normal(size=5)


def logits():
    return RNG.normal(size=(5, 3))


def test_td_loss_gradcheck():
    # targets away from the Huber kink (|d| = 1) so the numerical gradient is smooth
    q = logits()
    targets = q[np.arange(5), ACTIONS] + np.array([0.3, -2.0, 1.7, -0.4, 0.05])
    assert_gradcheck(lambda x: losses.td_loss(x, ACTIONS, targets), [q])
    weights = RNG.random(5)
    assert_gradcheck(lambda x: losses.td_loss(x, ACTIONS, targets, weights), [q])


def test_policy_gradient_loss_gradcheck():
    assert_gradcheck(lambda x: losses.policy_gradient_loss(
        losses.log_prob(x, ACTIONS), ADVANTAGES), [logits()])


def test_clipped_surrogate_gradcheck_inside_and_outside_the_clip():
    x = logits()
    old = np.log(np.exp(x) / np.exp(x).sum(1, keepdims=True))[np.arange(5), ACTIONS]
    # ratios 1 +- 0.5 put some samples outside [0.8, 1.2] (gradient zero) and keep every
    # ratio away from the clip's corners
    old = old + np.array([0.5, -0.5, 0.05, -0.05, 0.4])
    assert_gradcheck(lambda z: losses.clipped_surrogate_loss(
        losses.log_prob(z, ACTIONS), old, ADVANTAGES, 0.2), [x])


def test_value_and_entropy_gradcheck():
    returns = RNG.normal(size=5)
    assert_gradcheck(lambda v: losses.value_loss(v, returns), [RNG.normal(size=5)])
    assert_gradcheck(losses.entropy, [logits()])


def test_losses_match_their_formulas():
    x = logits()
    log_pi = x - np.log(np.exp(x).sum(1, keepdims=True))
    pi = np.exp(log_pi)
    t = vg.tensor(x)
    assert losses.entropy(t).item() == pytest.approx(-(pi * log_pi).sum(1).mean())
    taken = log_pi[np.arange(5), ACTIONS]
    np.testing.assert_allclose(losses.log_prob(t, ACTIONS).data, taken)
    old = taken + np.array([0.5, -0.5, 0.05, -0.05, 0.4])
    ratio = np.exp(taken - old)
    expected = -np.minimum(ratio * ADVANTAGES, np.clip(ratio, 0.8, 1.2) * ADVANTAGES).mean()
    assert losses.clipped_surrogate_loss(losses.log_prob(t, ACTIONS), old, ADVANTAGES,
                                         0.2).item() == pytest.approx(expected)


def test_td_loss_matches_torch_smooth_l1():
    torch = torch_or_skip()
    q, targets = logits(), RNG.normal(size=5) * 3
    ours = losses.td_loss(vg.tensor(q), ACTIONS, targets).item()
    theirs = torch.nn.functional.smooth_l1_loss(
        torch.tensor(q)[torch.arange(5), torch.tensor(ACTIONS)], torch.tensor(targets))
    assert ours == pytest.approx(theirs.item())


def test_dqn_targets_by_hand():
    """Three transitions: an ordinary one, a termination (no bootstrap) and a time-limit
    truncation (stored as not terminated, so it bootstraps from its last observation)."""
    rewards = np.array([1.0, 1.0, 1.0])
    next_q_target = np.array([[2.0, 5.0], [7.0, 3.0], [4.0, 6.0]])
    terminated = np.array([0.0, 1.0, 0.0])  # the third was truncated, not terminated
    y = losses.dqn_targets(rewards, next_q_target, terminated, gamma=0.9)
    np.testing.assert_allclose(y, [1 + 0.9 * 5, 1.0, 1 + 0.9 * 6])
    # Double DQN: the online network chooses the action, the target network values it
    next_q_online = np.array([[9.0, 0.0], [0.0, 9.0], [9.0, 0.0]])
    y = losses.dqn_targets(rewards, next_q_target, terminated, 0.9, next_q_online)
    np.testing.assert_allclose(y, [1 + 0.9 * 2, 1.0, 1 + 0.9 * 4])


def test_discounted_returns_and_gae_by_hand():
    np.testing.assert_allclose(losses.discounted_returns([1.0, 0.0, 2.0], 0.5),
                               [1.5, 1.0, 2.0])
    # one environment, three steps; the episode terminates at t = 1, a new one starts
    rewards = np.array([[1.0], [2.0], [3.0]])
    values = np.array([[0.5], [0.2], [0.1]])
    next_values = np.array([[0.2], [9.9], [0.4]])  # 9.9: a terminal value, never used
    terminated = ends = np.array([[0.0], [1.0], [0.0]])
    gamma, lam = 0.9, 0.8
    delta = [1 + 0.9 * 0.2 - 0.5, 2.0 - 0.2, 3 + 0.9 * 0.4 - 0.1]
    expected = [delta[0] + gamma * lam * delta[1], delta[1], delta[2]]
    advantages = losses.generalized_advantages(rewards, values, next_values, terminated,
                                               ends, gamma, lam)
    np.testing.assert_allclose(advantages[:, 0], expected)
    # lambda = 1 and no ends: the n-step return minus V (next_values[t] = values[t + 1])
    next_values = np.array([[0.2], [0.1], [0.4]])
    advantages = losses.generalized_advantages(rewards, values, next_values,
                                               np.zeros((3, 1)), np.zeros((3, 1)), 0.9, 1.0)
    n_step = 1 + 0.9 * 2 + 0.81 * 3 + 0.729 * 0.4
    assert advantages[0, 0] == pytest.approx(n_step - 0.5)


def test_truncation_bootstraps_and_termination_does_not_in_gae():
    rewards, values = np.ones((1, 2)), np.zeros((1, 2))
    next_values = np.full((1, 2), 10.0)
    terminated = np.array([[1.0, 0.0]])  # env 0 terminated; env 1 was truncated
    ends = np.ones((1, 2))
    advantages = losses.generalized_advantages(rewards, values, next_values, terminated,
                                               ends, 0.9, 0.95)
    np.testing.assert_allclose(advantages, [[1.0, 1.0 + 0.9 * 10.0]])
