"""Deep Q-learning (Mnih et al., 2015) with Double DQN and dueling heads as options.

Each chunk of ``train_freq`` environment steps acts epsilon-greedily in Q and stores the
transitions in a replay buffer; after ``learning_starts`` steps each chunk is followed by
``gradient_steps`` updates on replayed batches:

    y = r + gamma (1 - terminated) Q_target(s', argmax_a' Q(s', a'))     (Double DQN)
    y = r + gamma (1 - terminated) max_a' Q_target(s', a')                (DQN)
    L = mean huber(Q(s, a) - y);  grads clipped to norm ``max_grad_norm``; Adam step

and every ``target_update_interval`` steps the target moves toward the online network,
theta_target <- tau theta + (1 - tau) theta_target (tau = 1: a hard copy). The schedule of
``train_freq``, ``gradient_steps`` and the target updates is Stable-Baselines3's, so that
the same hyperparameters mean the same run.
"""

from __future__ import annotations

import copy

import numpy as np

from .. import optim
from ..autograd import Tensor, no_grad
from .agent import Agent
from .envs import discrete_actions, make_env, observation_shape
from .losses import dqn_targets, td_loss
from .networks import q_network
from .replay import PrioritizedReplayBuffer, ReplayBuffer
from .schedules import LinearSchedule


def as_input(observations) -> Tensor:
    """A batch of observations (frames stored as uint8) as a float32 tensor."""
    return Tensor(np.asarray(observations, dtype=np.float32))


class DQN(Agent):
    """Deep Q-network agent on a discrete-action Gymnasium environment.

    Parameters
    ----------
    env_id : str
    lr, batch_size, buffer_size, gamma : float, int, int, float
    learning_starts : int
        Random actions and no updates for this many steps.
    train_freq, gradient_steps : int
        Updates after each ``train_freq`` steps, ``gradient_steps`` of them (-1: as many
        as steps taken).
    target_update_interval : int
        Steps between target-network updates.
    tau : float
        Polyak coefficient of the target update (1: hard copy).
    epsilon : callable
        step -> exploration probability (default 1 -> 0.05 over 10,000 steps).
    max_grad_norm : float
    hidden : tuple of int
        MLP widths (for frames, the last one is the torso's linear width).
    double, dueling, prioritized : bool
        Double DQN targets; a dueling head; proportional prioritised replay.
    seed : int

    Examples
    --------
    >>> from visiongrad.rl import DQN
    >>> agent = DQN('CartPole-v1', learning_starts=50, buffer_size=1000, seed=0)
    >>> _ = agent.learn(total_steps=100)
    >>> agent.evaluate(episodes=2).shape          # the return of each episode
    (2,)
    """

    algorithm = "dqn"

    def __init__(self, env_id: str, lr: float = 1e-4, batch_size: int = 32,
                 buffer_size: int = 100_000, gamma: float = 0.99, learning_starts: int = 100,
                 train_freq: int = 4, gradient_steps: int = 1,
                 target_update_interval: int = 1000, tau: float = 1.0, epsilon=None,
                 max_grad_norm: float = 10.0, hidden=(64, 64), double: bool = False,
                 dueling: bool = False, prioritized: bool = False, seed: int = 0):
        super().__init__(env_id, seed)
        self.env = make_env(env_id)
        n_actions = discrete_actions(self.env, self.algorithm)
        shape = observation_shape(self.env)
        self.q_net = q_network(shape, n_actions, tuple(hidden), dueling)
        self.target_net = copy.deepcopy(self.q_net)
        self.optimizer = optim.Adam(self.q_net.parameters(), lr=lr)
        buffer_class = PrioritizedReplayBuffer if prioritized else ReplayBuffer
        self.replay = buffer_class(buffer_size, shape, self.rng,
                                   np.uint8 if len(shape) == 3 else np.float32)
        self.epsilon = epsilon if epsilon is not None else LinearSchedule(1.0, 0.05, 10_000)
        self.n_actions, self.gamma, self.batch_size = n_actions, gamma, batch_size
        self.learning_starts, self.train_freq = learning_starts, train_freq
        self.gradient_steps = train_freq if gradient_steps < 0 else gradient_steps
        self.target_update_interval, self.tau = target_update_interval, tau
        self.max_grad_norm, self.double = max_grad_norm, double
        self.updates = 0
        self.observation, self.episode_return = None, 0.0

    def modules(self) -> dict:
        return {"q_net": self.q_net, "target_net": self.target_net}

    def act(self, observation) -> int:
        with no_grad():
            return int(self.q_net(as_input(observation[None])).data[0].argmax())

    def explore(self, observation) -> int:
        if self.steps < self.learning_starts or self.rng.random() < self.epsilon(self.steps):
            return int(self.rng.integers(self.n_actions))
        return self.act(observation)

    def _learn_some(self) -> None:
        """``train_freq`` environment steps, then ``gradient_steps`` updates."""
        if self.observation is None:
            self.observation, _ = self.env.reset(seed=self.first_reset_seed())
        for _ in range(self.train_freq):
            action = self.explore(self.observation)
            next_observation, reward, terminated, truncated, _ = self.env.step(action)
            self.steps += 1
            self.replay.add(self.observation, action, reward, next_observation, terminated)
            self.episode_return += reward
            if terminated or truncated:
                self.finish_episode(self.episode_return)
                next_observation, _ = self.env.reset()
                self.episode_return = 0.0
            self.observation = next_observation
            if self.steps % self.target_update_interval == 0:
                self.update_target()
        if self.steps > self.learning_starts:
            for _ in range(self.gradient_steps):
                self.update()

    def update(self) -> float:
        """One gradient step on a replayed batch; returns the loss."""
        batch = self.replay.sample(self.batch_size)
        next_observations = as_input(batch["next_observations"])
        with no_grad():
            next_q_target = self.target_net(next_observations).data
            next_q_online = self.q_net(next_observations).data if self.double else None
        targets = dqn_targets(batch["rewards"], next_q_target, batch["terminated"],
                              self.gamma, next_q_online)
        q_values = self.q_net(as_input(batch["observations"]))
        weights = batch["weights"] if isinstance(self.replay, PrioritizedReplayBuffer) else None
        loss = td_loss(q_values, batch["actions"], targets, weights)
        self.optimizer.zero_grad()
        loss.backward()
        optim.clip_grad_norm_(self.q_net.parameters(), self.max_grad_norm)
        self.optimizer.step()
        taken = q_values.data[np.arange(len(targets)), batch["actions"]]
        self.replay.update_priorities(batch["indices"], taken - targets)
        self.updates += 1
        return float(loss.data)

    def update_target(self) -> None:
        """theta_target <- tau theta + (1 - tau) theta_target."""
        for target, online in zip(self.target_net.parameters(), self.q_net.parameters(),
                                  strict=True):
            target.data[...] = self.tau * online.data + (1.0 - self.tau) * target.data

    def state_dict(self) -> dict:
        return {**super().state_dict(), "updates": self.updates,
                "replay": self.replay.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.updates = int(state["updates"])
        self.replay.load_state_dict(state["replay"])
        self.observation, self.episode_return = None, 0.0
