"""Replay buffers, networks, target updates and the deep agents' mechanics on tiny runs."""

import numpy as np
import pytest

pytest.importorskip("gymnasium")
import visiongrad as vg  # noqa: E402
from visiongrad import nn  # noqa: E402
from visiongrad.rl import A2C, DQN, PPO, REINFORCE  # noqa: E402
from visiongrad.rl.networks import DuelingHead, orthogonal_, q_network  # noqa: E402
from visiongrad.rl.replay import PrioritizedReplayBuffer, ReplayBuffer  # noqa: E402


def filled(buffer_class, count=10, **options):
    buffer = buffer_class(8, (2,), np.random.default_rng(0), **options)
    for i in range(count):
        buffer.add([i, -i], i % 3, float(i), [i + 1, -i - 1], i == count - 1)
    return buffer


def test_replay_is_a_ring_of_the_last_transitions():
    buffer = filled(ReplayBuffer)
    assert len(buffer) == 8
    assert sorted(buffer.rewards) == [2.0, 3, 4, 5, 6, 7, 8, 9]  # 0 and 1 overwritten
    batch = buffer.sample(5)
    assert batch["observations"].shape == (5, 2) and batch["actions"].dtype == np.int64
    np.testing.assert_array_equal(batch["next_observations"][:, 0],
                                  batch["observations"][:, 0] + 1)
    np.testing.assert_array_equal(batch["rewards"], batch["observations"][:, 0])
    assert (batch["weights"] == 1).all()
    copy = ReplayBuffer(8, (2,), np.random.default_rng(0))
    copy.load_state_dict(buffer.state_dict())
    np.testing.assert_array_equal(copy.observations, buffer.observations)
    assert copy.position == buffer.position == 2


def test_prioritised_replay_samples_by_td_error_and_corrects_with_weights():
    buffer = filled(PrioritizedReplayBuffer, alpha=1.0, beta=1.0)
    slots = np.arange(8)
    buffer.update_priorities(slots, np.where(slots == 3, 100.0, 1.0))
    batch = buffer.sample(2000)
    share = (batch["indices"] == 3).mean()
    assert share == pytest.approx(100 / 107, abs=0.03)
    # w_i = (N P(i))^-beta / max w: the frequent slot gets the smallest weight
    assert batch["weights"].max() == 1.0
    assert batch["weights"][batch["indices"] == 3].max() == pytest.approx(1 / 100, rel=1e-4)


def test_dueling_head_mean_over_actions_is_the_value():
    head = DuelingHead(4, 3)
    features = vg.tensor(np.random.default_rng(1).normal(size=(5, 4)).astype(np.float32))
    q = head(features).data
    np.testing.assert_allclose(q.mean(axis=1), head.value(features).data[:, 0], rtol=1e-5,
                               atol=1e-6)


def test_orthogonal_init_has_orthonormal_rows_times_the_gain():
    layer = nn.Linear(10, 4)
    orthogonal_(layer.weight, gain=2.0)
    np.testing.assert_allclose(layer.weight.data @ layer.weight.data.T, 4 * np.eye(4),
                               atol=1e-5)


def test_q_networks_for_vectors_and_frames():
    assert q_network((4,), 2, (8, 8))(vg.tensor(np.zeros((3, 4), np.float32))).shape == (3, 2)
    frames = vg.tensor(np.zeros((3, 4, 10, 10), np.float32))
    assert q_network((4, 10, 10), 3, (32,), dueling=True)(frames).shape == (3, 3)


@pytest.mark.parametrize("tau", [1.0, 0.25])
def test_target_update_is_a_polyak_average(tau):
    agent = DQN("CartPole-v1", hidden=(8,), tau=tau, seed=0)
    target_before = [p.data.copy() for p in agent.target_net.parameters()]
    for p in agent.q_net.parameters():
        p.data += 1.0
    agent.update_target()
    for before, online, target in zip(target_before, agent.q_net.parameters(),
                                      agent.target_net.parameters(), strict=True):
        np.testing.assert_allclose(target.data, tau * online.data + (1 - tau) * before,
                                   rtol=1e-6)


@pytest.mark.parametrize("options", [{}, {"double": True, "dueling": True,
                                          "prioritized": True}])
def test_dqn_updates_follow_the_schedule_and_lower_the_td_loss(options):
    agent = DQN("CartPole-v1", hidden=(16,), learning_starts=64, train_freq=8,
                gradient_steps=2, batch_size=32, target_update_interval=40, seed=0, **options)
    agent.learn(200)
    # updates only after learning_starts, gradient_steps after each train_freq chunk
    assert agent.steps == 200 and agent.updates == 2 * len(range(72, 201, 8))
    losses = [agent.update() for _ in range(300)]
    assert np.mean(losses[-50:]) < np.mean(losses[:50])


def test_minatar_frames_train_a_convolutional_dqn():
    pytest.importorskip("minatar")
    agent = DQN("MinAtar/Breakout-v1", hidden=(32,), learning_starts=32, batch_size=8,
                buffer_size=500, seed=0).learn(100)
    assert agent.replay.observations.dtype == np.uint8 and agent.updates > 0
    assert agent.act(agent.replay.observations[0].astype(np.float32)) in (0, 1, 2)


@pytest.mark.parametrize("agent_class, options", [
    (A2C, {"n_envs": 2, "n_steps": 5}),
    (PPO, {"n_envs": 2, "n_steps": 16, "batch_size": 8, "n_epochs": 2, "ent_coef": 0.01}),
    (REINFORCE, {"episodes_per_update": 2}),
])
def test_policy_gradient_agents_step_and_are_seeded(agent_class, options):
    runs = [agent_class("CartPole-v1", seed=3, **options).learn(100) for _ in range(2)]
    assert runs[0].steps >= 100
    for a, b in zip(runs[0].policy.parameters(), runs[1].policy.parameters(), strict=True):
        np.testing.assert_array_equal(a.data, b.data)
    other = agent_class("CartPole-v1", seed=4, **options).learn(100)
    assert not np.array_equal(next(other.policy.parameters()).data,
                              next(runs[0].policy.parameters()).data)


def test_ppo_rollout_bootstraps_truncated_episodes_from_their_last_observation():
    agent = PPO("CartPole-v1", n_envs=2, n_steps=8, seed=0)
    # every step's next value becomes 7 for the last observation of a truncated episode
    agent.policy.value = lambda observations: np.full(len(observations), 7.0)
    original_step = agent.envs.step

    def step(actions):
        observations, rewards, terminated, truncated, info = original_step(actions)
        truncated = np.array([True, False])
        info = {**info, "final_obs": np.array([observations[0], None], dtype=object)}
        return observations, rewards, np.array([False, False]), truncated, info

    agent.envs.step = step
    rollout = agent.collect_rollout()
    next_values = rollout["next_values"].reshape(8, 2)
    assert (next_values[:, 0] == 7.0).all()
    assert rollout["ends"].reshape(8, 2)[:, 0].all()
