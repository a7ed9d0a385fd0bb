"""Tabular Q-learning and SARSA with epsilon-greedy exploration.

Both keep Q (S, A) and move Q(s, a) toward a one-step target by a step ``lr``:

    Q(s, a) <- Q(s, a) + lr [target - Q(s, a)]
    Q-learning (off-policy):  target = r + gamma max_a' Q(s', a')
    SARSA (on-policy):        target = r + gamma Q(s', a'),  a' the action taken next

with no bootstrap after a termination (target = r) and a bootstrap after a time-limit
truncation, as Gymnasium defines the two. Actions are epsilon-greedy with epsilon from a
schedule of the step; ties among greedy actions are broken at random. ``ValueIteration``
is the planning baseline beside them: the optimal policy of the environment's own table.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from .agent import Agent
from .envs import EnvError, discrete_actions, make_env
from .mdp import MDP, value_iteration
from .schedules import LinearSchedule


class QLearning(Agent):
    """Tabular Q-learning on an environment with discrete states and actions.

    Parameters
    ----------
    env_id : str
    lr : float
        Step size of each update.
    gamma : float
        Discount.
    epsilon : callable
        step -> exploration probability (default: 1 -> 0.05 over 100,000 steps).
    seed : int

    Examples
    --------
    >>> from visiongrad.rl import QLearning
    >>> agent = QLearning('FrozenLake-v1', seed=0)
    >>> _ = agent.learn(total_steps=200)
    >>> agent.evaluate(episodes=2).shape          # the return of each episode
    (2,)
    """

    algorithm = "q-learning"

    def __init__(self, env_id: str, lr: float = 0.1, gamma: float = 0.99, epsilon=None,
                 seed: int = 0):
        super().__init__(env_id, seed)
        self.env = make_env(env_id)
        n_actions = discrete_actions(self.env, self.algorithm)
        if not isinstance(self.env.observation_space, gym.spaces.Discrete):
            raise EnvError(f"{self.algorithm} needs a discrete observation space (a table of "
                           f"states); {env_id} has {self.env.observation_space}")
        self.lr, self.gamma = lr, gamma
        self.epsilon = epsilon if epsilon is not None else LinearSchedule(1.0, 0.05, 100_000)
        self.Q = np.zeros((self.env.observation_space.n, n_actions))
        self.state = None

    def act(self, observation) -> int:
        return int(self.Q[int(observation)].argmax())

    def explore(self, state: int) -> int:
        """Epsilon-greedy action, greedy ties broken at random."""
        if self.rng.random() < self.epsilon(self.steps):
            return int(self.rng.integers(self.Q.shape[1]))
        row = self.Q[state]
        return int(self.rng.choice(np.flatnonzero(row == row.max())))

    def next_value(self, next_state: int, next_action: int) -> float:
        """max_a' Q(s', a')."""
        return self.Q[next_state].max()

    def _learn_some(self) -> None:
        """One episode."""
        state, _ = self.env.reset(seed=self.first_reset_seed())
        action, episode_return, done = self.explore(state), 0.0, False
        while not done:
            next_state, reward, terminated, truncated, _ = self.env.step(action)
            self.steps += 1
            next_action = self.explore(next_state)
            target = reward if terminated else (
                reward + self.gamma * self.next_value(next_state, next_action))
            self.Q[state, action] += self.lr * (target - self.Q[state, action])
            state, action, episode_return = next_state, next_action, episode_return + reward
            done = terminated or truncated
        self.finish_episode(episode_return)

    def state_dict(self) -> dict:
        return {**super().state_dict(), "Q": self.Q.copy()}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.Q = np.array(state["Q"], dtype=np.float64)


class SARSA(QLearning):
    """Tabular SARSA: the target bootstraps on the action actually taken next.

    Examples
    --------
    >>> from visiongrad.rl import SARSA
    >>> agent = SARSA('FrozenLake-v1', seed=0)
    >>> _ = agent.learn(total_steps=200)
    >>> agent.evaluate(episodes=2).shape          # the return of each episode
    (2,)
    """

    algorithm = "sarsa"

    def next_value(self, next_state: int, next_action: int) -> float:
        """Q(s', a')."""
        return self.Q[next_state, next_action]


class ValueIteration(Agent):
    """Planning, not learning: the optimal policy of the environment's own transition table
    (toy-text environments) by :func:`~visiongrad.rl.mdp.value_iteration`. ``learn``
    solves the MDP and takes no environment step.

    Examples
    --------
    >>> from visiongrad.rl import ValueIteration
    >>> agent = ValueIteration('FrozenLake-v1', seed=0)
    >>> _ = agent.learn(total_steps=1)
    >>> agent.act(0) in range(4)
    True
    """

    algorithm = "value-iteration"

    def __init__(self, env_id: str, gamma: float = 0.99, tol: float = 1e-10, seed: int = 0):
        super().__init__(env_id, seed)
        env = make_env(env_id)
        discrete_actions(env, self.algorithm)
        try:
            self.mdp = MDP.from_env(env, gamma)
        except ValueError as error:
            raise EnvError(f"value-iteration needs a toy-text environment: {error}") from None
        self.tol = tol
        self.V = np.zeros(self.mdp.n_states)
        self.policy = np.zeros(self.mdp.n_states, np.int64)

    def learn(self, total_steps: int = 0, callback=None):
        self.V, self.policy = value_iteration(self.mdp, self.tol)
        if callback is not None:
            callback(self)
        return self

    def act(self, observation) -> int:
        return int(self.policy[int(observation)])

    def state_dict(self) -> dict:
        return {**super().state_dict(), "V": self.V.copy(), "policy": self.policy.copy()}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.V = np.asarray(state["V"], dtype=np.float64)
        self.policy = np.asarray(state["policy"], dtype=np.int64)
