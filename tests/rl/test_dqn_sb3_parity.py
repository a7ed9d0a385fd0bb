"""visiongrad's DQN is Stable-Baselines3's algorithm for the settings benchmarks/rl.py
passes both: the same update from the same weights and replayed batch (target, Huber mean,
gradient clipping, Adam), and the same schedule of updates, target copies and epsilon."""

import numpy as np
import pytest

pytest.importorskip("gymnasium")
pytest.importorskip("minatar")
torch = pytest.importorskip("torch")
sb3 = pytest.importorskip("stable_baselines3")
from stable_baselines3.common.logger import configure  # noqa: E402

from benchmarks.rl import MinAtarExtractor  # noqa: E402
from visiongrad.recipes import rl as recipe  # noqa: E402
from visiongrad.rl import DQN  # noqa: E402
from visiongrad.rl.envs import make_env  # noqa: E402


def sb3_dqn(env_id, **arguments):
    model = sb3.DQN("MlpPolicy", make_env(env_id), device="cpu", seed=0, **arguments)
    model.set_logger(configure(None, []))
    return model


def copy_weights(agent, model):
    """visiongrad's Q-network (the MinAtar torso and a linear head) into SB3's q_net and
    its target, in the order both list their parameters."""
    ours = [p.data for p in agent.q_net.parameters()]
    for network in (model.q_net, model.q_net_target):
        theirs = list(network.parameters())
        assert [tuple(p.shape) for p in theirs] == [a.shape for a in ours]
        with torch.no_grad():
            for parameter, array in zip(theirs, ours, strict=True):
                parameter.copy_(torch.from_numpy(array.copy()))


def test_one_update_equals_stable_baselines3s_from_the_same_weights_and_batch():
    settings = dict(lr=2.5e-4, batch_size=32, gamma=0.99, max_grad_norm=0.02)
    agent = DQN("MinAtar/Breakout-v1", hidden=(128,), buffer_size=500, seed=0, **{
        k: v for k, v in settings.items() if k != "lr"}, lr=settings["lr"])
    model = sb3_dqn("MinAtar/Breakout-v1", learning_rate=settings["lr"], buffer_size=500,
                    batch_size=32, gamma=0.99, max_grad_norm=0.02, policy_kwargs={
                        "features_extractor_class": MinAtarExtractor(),
                        "features_extractor_kwargs": {"hidden": 128}, "net_arch": []})
    copy_weights(agent, model)
    # the same 300 transitions (random play, episodes ending by termination) in both buffers
    env, rng = make_env("MinAtar/Breakout-v1"), np.random.default_rng(1)
    observation, _ = env.reset(seed=1)
    for _ in range(300):
        action = int(rng.integers(3))
        next_observation, reward, terminated, truncated, _ = env.step(action)
        agent.replay.add(observation, action, reward, next_observation, terminated)
        model.replay_buffer.add(observation[None], next_observation[None], np.array([action]),
                                np.array([reward]), np.array([terminated]),
                                [{"TimeLimit.truncated": truncated}])
        observation = env.reset()[0] if terminated or truncated else next_observation
    assert agent.replay.terminated.sum() >= 1  # some targets do not bootstrap
    clipped_norms = []
    for update in range(5):  # SB3 samples with np.random.randint: give visiongrad the same
        indices = np.random.RandomState(update).randint(0, 300, size=32)
        agent.replay.indices = lambda batch_size, indices=indices: indices
        np.random.seed(update)
        loss = agent.update()
        model.train(gradient_steps=1, batch_size=32)
        assert loss == pytest.approx(model.logger.name_to_value["train/loss"], rel=1e-5)
        # the gradients each stepped with (after clipping) are the same
        for ours, theirs in zip(agent.q_net.parameters(), model.q_net.parameters(),
                                strict=True):
            np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-3, atol=1e-7)
        clipped_norms.append(np.sqrt(sum((p.grad.astype(np.float64) ** 2).sum()
                                         for p in agent.q_net.parameters())))
    assert np.isclose(clipped_norms, 0.02, rtol=1e-4).any(), clipped_norms  # clipping bit
    for ours, theirs in zip(agent.q_net.parameters(), model.q_net.parameters(), strict=True):
        np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-4, atol=1e-6)


def test_updates_target_copies_and_epsilon_follow_stable_baselines3s_schedule():
    steps = 120
    hyper = dict(learning_starts=30, train_freq=4, gradient_steps=3, target_update_interval=7,
                 exploration_fraction=0.5, exploration_final_eps=0.1, hidden=(8,),
                 buffer_size=500, batch_size=8)
    config = recipe.Config(env="CartPole-v1", algo="dqn", steps=steps, seed=0,
                           hyperparameters=hyper)
    agent = recipe.make_agent(config)
    ours = {"updates": [], "targets": []}
    update, update_target = agent.update, agent.update_target
    agent.update = lambda: ours["updates"].append(agent.steps) or update()
    agent.update_target = lambda: ours["targets"].append(agent.steps) or update_target()
    agent.learn(steps)

    model = sb3_dqn("CartPole-v1", policy_kwargs={"net_arch": [8]}, **{
        k: v for k, v in hyper.items() if k != "hidden"})
    theirs = {"updates": [], "targets": [], "epsilon": []}
    train = model.train
    model.train = lambda gradient_steps, batch_size: (
        theirs["updates"].extend([model.num_timesteps] * gradient_steps),
        train(gradient_steps, batch_size))
    polyak = sb3.dqn.dqn.polyak_update

    def record_polyak(source, target, tau):
        if not theirs["targets"] or theirs["targets"][-1] != model.num_timesteps:
            theirs["targets"].append(model.num_timesteps)
        polyak(source, target, tau)

    class Epsilon(sb3.common.callbacks.BaseCallback):
        def _on_step(self):  # the rate the step just taken acted with (set one step before)
            theirs["epsilon"].append(self.model.exploration_rate)
            return True

    sb3.dqn.dqn.polyak_update = record_polyak
    try:
        model.learn(steps, callback=Epsilon())
    finally:
        sb3.dqn.dqn.polyak_update = polyak
    assert ours["updates"] == theirs["updates"] and len(ours["updates"]) == 3 * 23
    assert ours["targets"] == theirs["targets"] == list(range(7, steps + 1, 7))
    # SB3's rate before its first step is 0 (no action uses it while learning_starts > 0)
    np.testing.assert_allclose([agent.epsilon(step) for step in range(1, steps)],
                               theirs["epsilon"][1:], rtol=1e-12)
