"""Tabular Q-learning and SARSA: their update rules by hand, seeding, and the acceptance
levels on FrozenLake (slippery) and Taxi."""

import numpy as np
import pytest

gym = pytest.importorskip("gymnasium")
rl = pytest.importorskip("visiongrad.rl")
from visiongrad.rl.envs import EnvError  # noqa: E402
from visiongrad.rl.schedules import ExponentialSchedule, LinearSchedule  # noqa: E402
from visiongrad.rl.tabular import SARSA, QLearning  # noqa: E402


def test_linear_and_exponential_schedules():
    schedule = LinearSchedule(1.0, 0.1, 10)
    assert [schedule(step) for step in (0, 5, 10, 50)] == pytest.approx([1.0, 0.55, 0.1, 0.1])
    assert ExponentialSchedule(1.0, 0.2, 0.5)(2) == 0.25
    assert ExponentialSchedule(1.0, 0.2, 0.5)(5) == 0.2
    with pytest.raises(ValueError, match="decay must be in"):
        ExponentialSchedule(1.0, 0.1, 1.5)


@pytest.mark.parametrize("agent_class, expected", [(QLearning, 2.0 + 0.5 * (0.9 * 5 - 2.0)),
                                                     (SARSA, 2.0 + 0.5 * (0.9 * -1 - 2.0))])
def test_one_episode_step_moves_toward_the_td_target(agent_class, expected):
    """From state 14 of the deterministic lake, 'up' (3) reaches 10, where Q(10) = [5, -1,
    -1, -1] and the next action is 1 (epsilon 1 and a rigged generator): Q-learning's target
    is gamma * 5, SARSA's gamma * Q(10, 1) = -gamma."""
    agent = agent_class("FrozenLake-v1", lr=0.5, gamma=0.9,
                        epsilon=LinearSchedule(1.0, 1.0, 0), seed=0)
    agent.env = gym.make("FrozenLake-v1", is_slippery=False)
    actions = iter([3, 1, 0, 0, 0, 0])
    agent.explore = lambda state: next(actions)
    agent.env.reset(seed=0)
    agent.env.unwrapped.s = 14
    agent.Q[10] = [5.0, -1.0, -1.0, -1.0]
    agent.Q[14, 3] = 2.0
    agent.env.reset = lambda seed=None: (14, {})
    agent.env.step = _one_step_then_end(agent.env.step)
    agent._learn_some()
    assert agent.Q[14, 3] == pytest.approx(expected)


def _one_step_then_end(step):
    """Take the real step, but end the episode (truncated: still bootstrapped) after it."""
    def step_once(action):
        next_state, reward, terminated, _, info = step(action)
        return next_state, reward, terminated, True, info
    return step_once


def test_no_bootstrap_through_termination():
    """A hole ends the episode: its Q row must never enter a target."""
    agent = QLearning("FrozenLake-v1", lr=1.0, gamma=0.9, seed=1)
    agent.Q[[5, 7, 11, 12]] = 100.0  # the holes' rows: poison if bootstrapped
    agent.learn(3000)
    reachable = np.setdiff1d(np.arange(16), [5, 7, 11, 12, 15])
    assert agent.Q[reachable].max() <= 1.0 + 1e-12


def test_the_same_seed_gives_the_same_table():
    first = QLearning("FrozenLake-v1", seed=3).learn(2000)
    second = QLearning("FrozenLake-v1", seed=3).learn(2000)
    third = QLearning("FrozenLake-v1", seed=4).learn(2000)
    np.testing.assert_array_equal(first.Q, second.Q)
    assert first.episode_returns == second.episode_returns
    assert not np.array_equal(first.Q, third.Q)


def test_tabular_agents_refuse_continuous_spaces():
    with pytest.raises(EnvError, match="discrete observation space"):
        QLearning("CartPole-v1")
    with pytest.raises(EnvError, match="q-learning needs a discrete action space"):
        QLearning("Pendulum-v1")


def test_q_learning_solves_slippery_frozen_lake():
    agent = QLearning("FrozenLake-v1", lr=0.02, gamma=0.999,
                      epsilon=LinearSchedule(1.0, 0.05, 100_000), seed=0).learn(200_000)
    policy = agent.Q.argmax(axis=1)
    lake = rl.MDP.from_env(gym.make("FrozenLake-v1"), gamma=1.0)
    exact = rl.policy_evaluation(lake, policy, method="iterative", max_iterations=100)[0]
    measured = agent.evaluate(1000, seed=10_000).mean()
    assert exact >= 0.70
    assert measured >= 0.70 - 3 * np.sqrt(0.25 / 1000)  # 0.70 within sampling error


def test_q_learning_solves_taxi():
    agent = QLearning("Taxi-v4", lr=0.5, gamma=0.99,
                      epsilon=LinearSchedule(1.0, 0.05, 100_000), seed=0).learn(200_000)
    assert agent.evaluate(100, seed=0).mean() >= 7.5
